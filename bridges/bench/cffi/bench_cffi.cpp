// bench_cffi: the CFFI variant's crossing. The engine calls a C function
// pointer that CFFI generated for an `extern "Python"` callback; CFFI takes
// the GIL (keeping one thread state per C thread alive, its "thread canary"),
// converts the arguments, runs the Python function, and the Python side calls
// back into the C ABI through CFFI for each header and write.
#include "abi_probe.hpp"
#include "engine.hpp"
#include "hello_request.hpp"
#include "on_thread.hpp"

#include <Python.h>
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>

extern "C" int hello_c_handler(hb_response res, const hb_request *req, void *user_data);

namespace
{

hb_handler g_py_empty = nullptr; // def py_empty(res, req, user_data): return 0
hb_handler g_py_hello = nullptr; // the c-callback handler, in Python

// A bare C -> Python -> C round trip: no handle, no ABI call from Python.
void c_calls_empty_callback(benchmark::State &state)
{
    hbbench::on_new_thread(state, [](benchmark::State &s) {
        const hb_request req = hbbench::hello_request();
        for (auto _ : s)
            benchmark::DoNotOptimize(g_py_empty(0, &req, nullptr));
    });
}

// One request as the engine runs it: call_c_handler -> CFFI callback ->
// Python -> hb_response_add_header and hb_response_write through CFFI.
void engine_calls_handler(benchmark::State &state, hb_handler handler)
{
    hbbench::on_new_thread(state, [handler](benchmark::State &s) {
        void *registration = hbbench::new_registration(handler, nullptr);
        hb::Handler entry = hbbench::c_abi_entry();
        const hb_request req = hbbench::hello_request();
        hb::Response res;
        for (auto _ : s) {
            hbbench::reset_response(res);
            if (entry(res, req, registration) != 0) {
                s.SkipWithError("handler failed");
                break;
            }
        }
        hbbench::free_registration(registration);
    });
}

void engine_calls_python_handler(benchmark::State &state)
{
    engine_calls_handler(state, g_py_hello);
}

// The same request with the handler in C (bench_c_abi's c_abi/engine_calls_handler),
// for a ratio within one run.
void engine_calls_c_handler(benchmark::State &state)
{
    engine_calls_handler(state, hello_c_handler);
}

// The callbacks' addresses, from the Python side: 0 when anything failed.
hb_handler callback(PyObject *handlers, const char *name)
{
    PyObject *address = PyObject_CallMethod(handlers, "address", "s", name);
    if (address == nullptr)
        return nullptr;
    auto value = static_cast<std::uintptr_t>(PyLong_AsUnsignedLongLong(address));
    Py_DECREF(address);
    return reinterpret_cast<hb_handler>(value);
}

bool load_callbacks()
{
    PyObject *sys_path = PySys_GetObject("path"); // borrowed
    PyObject *dir = PyUnicode_FromString(HB_CFFI_MODULE_DIR);
    int rc = dir == nullptr ? -1 : PyList_Insert(sys_path, 0, dir);
    Py_XDECREF(dir);
    if (rc != 0)
        return false;
    PyObject *handlers = PyImport_ImportModule("cffi_handlers");
    if (handlers == nullptr)
        return false;
    g_py_empty = callback(handlers, "py_empty");
    g_py_hello = callback(handlers, "py_hello");
    Py_DECREF(handlers);
    return g_py_empty != nullptr && g_py_hello != nullptr;
}

} // namespace

BENCHMARK(c_calls_empty_callback)->Name("cffi/c_calls_empty_callback");
BENCHMARK(engine_calls_python_handler)->Name("cffi/engine_calls_python_handler");
BENCHMARK(engine_calls_c_handler)->Name("c_abi/engine_calls_c_handler");

// The interpreter is up and its GIL free before any benchmark runs, so every
// benchmark thread takes it as a server thread would.
int main(int argc, char **argv)
{
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 1;
    Py_InitializeEx(0);
    if (!load_callbacks()) {
        PyErr_Print();
        std::fprintf(stderr, "bench_cffi: cannot load the CFFI module from %s\n", HB_CFFI_MODULE_DIR);
        return 1;
    }
    PyThreadState *main_state = PyEval_SaveThread();

    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();

    PyEval_RestoreThread(main_state);
    return Py_FinalizeEx() < 0 ? 1 : 0;
}
