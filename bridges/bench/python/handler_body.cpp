// The handler's own crossing back into C++: hello(w, r) calls w.write once.
// With the GIL held and vectorcall, so each differs from call/vectorcall
// (the empty handler) by the write alone.
#include "fixture.hpp"

namespace
{

using hbbench::call_handler;
using hbbench::fixture;

// w.write(b"...") as a plain pybind11 binding would define it: pybind11's
// dispatcher allocates its argument vectors and looks the C++ type up by
// name on every call.
void write_bytes_pybind11_method(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s)
            if (!call_handler(s, fixture().hello, fixture().pybind11_writer))
                break;
    });
}

// The same write as a METH_O C method, which CPython 3.11 calls directly
// (what bridges/python's ResponseWriter.write is).
void write_bytes_c_method(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s)
            if (!call_handler(s, fixture().hello, fixture().c_writer))
                break;
    });
}

// w.write("...") with str, as the reference's example does: the writer reads
// the string's UTF-8 (cached for ASCII, so no encoding per call).
void write_str_pybind11_method(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s)
            if (!call_handler(s, fixture().hello_str, fixture().pybind11_writer))
                break;
    });
}

} // namespace

BENCHMARK(write_bytes_pybind11_method)->Name("handler/write_bytes_pybind11_method");
BENCHMARK(write_bytes_c_method)->Name("handler/write_bytes_c_method");
BENCHMARK(write_str_pybind11_method)->Name("handler/write_str_pybind11_method");
