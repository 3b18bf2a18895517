// Taking the GIL around each request on a server thread, four ways. Each calls
// the same handler, hello(w, r), with a METH_O C writer (the kind
// bridges/python's ResponseWriter is; see handler/), so that the switching
// stands out; gil/held_throughout is the same call without any switch.
#include "fixture.hpp"

#include "on_thread.hpp"

#include <pybind11/pybind11.h>

namespace
{

using hbbench::call_handler;
using hbbench::fixture;

// What a naive binding does: the thread has no Python thread state, so each
// Ensure builds one (registers it with the interpreter; its first frame maps a
// fresh data stack, one mmap) and each Release tears it down again (munmap).
void ensure_release_per_call(benchmark::State &state)
{
    hbbench::on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s) {
            PyGILState_STATE gil = PyGILState_Ensure();
            bool ok = call_handler(s, fixture().hello, fixture().c_writer);
            PyGILState_Release(gil);
            if (!ok)
                break;
        }
    });
}

// The same through pybind11, what `py::gil_scoped_acquire` in a callback costs
// on a thread pybind11 has not seen before.
void pybind11_gil_scoped_acquire_per_call(benchmark::State &state)
{
    hbbench::on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s) {
            pybind11::gil_scoped_acquire gil;
            if (!call_handler(s, fixture().hello, fixture().c_writer))
                break;
        }
    });
}

// Ensure/Release once the thread keeps a thread state alive (one outer Ensure
// for the thread's life, as CFFI's callbacks arrange): each Ensure then only
// swaps it in.
void ensure_release_kept_tstate(benchmark::State &state)
{
    hbbench::on_new_thread(state, [](benchmark::State &s) {
        PyGILState_STATE outer = PyGILState_Ensure();
        PyThreadState *saved = PyEval_SaveThread();
        for (auto _ : s) {
            PyGILState_STATE gil = PyGILState_Ensure();
            bool ok = call_handler(s, fixture().hello, fixture().c_writer);
            PyGILState_Release(gil);
            if (!ok)
                break;
        }
        PyEval_RestoreThread(saved);
        PyGILState_Release(outer);
    });
}

// What our binding does: one thread state per server thread, made once,
// swapped in and out around each request.
void restore_save_own_tstate(benchmark::State &state)
{
    hbbench::on_new_thread(state, [](benchmark::State &s) {
        PyThreadState *ts = PyThreadState_New(PyInterpreterState_Main());
        for (auto _ : s) {
            PyEval_RestoreThread(ts);
            bool ok = call_handler(s, fixture().hello, fixture().c_writer);
            PyEval_SaveThread();
            if (!ok)
                break;
        }
        PyEval_RestoreThread(ts);
        PyThreadState_Clear(ts);
        PyThreadState_DeleteCurrent();
    });
}

// The floor: the GIL taken once for the whole loop.
void held_throughout(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s)
            if (!call_handler(s, fixture().hello, fixture().c_writer))
                break;
    });
}

} // namespace

BENCHMARK(ensure_release_per_call)->Name("gil/ensure_release_per_call");
BENCHMARK(pybind11_gil_scoped_acquire_per_call)->Name("gil/pybind11_gil_scoped_acquire_per_call");
BENCHMARK(ensure_release_kept_tstate)->Name("gil/ensure_release_kept_tstate");
BENCHMARK(restore_save_own_tstate)->Name("gil/restore_save_own_tstate");
BENCHMARK(held_throughout)->Name("gil/held_throughout");
