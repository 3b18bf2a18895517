// The Python objects bench_python calls, made once in main() before any benchmark.
#pragma once

#include <Python.h>
#include <benchmark/benchmark.h>

#include <string_view>

namespace hbbench
{

inline constexpr std::string_view kBody = "Hello, world.\n";

struct Fixture {
    PyObject *empty = nullptr;           // def empty(w, r): pass
    PyObject *hello = nullptr;           // def hello(w, r): w.write(b"Hello, world.\n")
    PyObject *hello_str = nullptr;       // def hello_str(w, r): w.write("Hello, world.\n")
    PyObject *pybind11_writer = nullptr; // w whose write() is a pybind11 method (our binding)
    PyObject *c_writer = nullptr;        // w whose write() is a plain METH_O C method
    PyObject *request = nullptr;         // r, which the handlers do not read
};

// Needs the GIL for make and destroy; read-only in between.
const Fixture &fixture();
void make_fixture();
void destroy_fixture();

// Runs fn(state) on a new thread with a thread state of its own made current,
// the GIL held throughout, as on a server thread inside a request.
void with_gil_on_new_thread(benchmark::State &state, void (*fn)(benchmark::State &));

// Call fn(w, r) with vectorcall, as our binding does; false (and the error
// reported to state) when it raised.
bool call_handler(benchmark::State &state, PyObject *fn, PyObject *w);

} // namespace hbbench
