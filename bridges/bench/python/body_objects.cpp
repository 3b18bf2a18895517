// Handing a 14-byte body to Python: a fresh object per request, or one kept
// and reused. With the GIL held; each creation is paired with its free.
#include "fixture.hpp"

#include <pybind11/pybind11.h>

namespace
{

using hbbench::kBody;

const char *body()
{
    return kBody.data();
}
Py_ssize_t body_len()
{
    return static_cast<Py_ssize_t>(kBody.size());
}

void bytes_new(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s) {
            PyObject *obj = PyBytes_FromStringAndSize(body(), body_len());
            Py_DECREF(obj);
        }
    });
}

// str must validate and decode the UTF-8 (ASCII here: the fast path).
void str_new(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s) {
            PyObject *obj = PyUnicode_FromStringAndSize(body(), body_len());
            Py_DECREF(obj);
        }
    });
}

void pybind11_bytes_new(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s) {
            pybind11::bytes obj(body(), kBody.size());
            benchmark::DoNotOptimize(obj.ptr());
        }
    });
}

// A cached object handed out again: a reference count up and down.
void bytes_reuse(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        PyObject *cached = PyBytes_FromStringAndSize(body(), body_len());
        for (auto _ : s) {
            Py_INCREF(cached);
            benchmark::ClobberMemory(); // keep the two from folding into nothing
            Py_DECREF(cached);
        }
        Py_DECREF(cached);
    });
}

// A zero-copy view of C++ memory instead of a copy (valid only during the call).
void memoryview_new(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s) {
            PyObject *obj = PyMemoryView_FromMemory(const_cast<char *>(body()), body_len(), PyBUF_READ);
            Py_DECREF(obj);
        }
    });
}

} // namespace

BENCHMARK(bytes_new)->Name("body/bytes_new_14B");
BENCHMARK(str_new)->Name("body/str_new_14B");
BENCHMARK(pybind11_bytes_new)->Name("body/pybind11_bytes_new_14B");
BENCHMARK(memoryview_new)->Name("body/memoryview_new_14B");
BENCHMARK(bytes_reuse)->Name("body/bytes_reuse");
