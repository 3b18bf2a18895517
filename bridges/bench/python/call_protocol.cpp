// Calling `def empty(w, r): pass` with the GIL held, through each calling
// convention a binding might use; the handler does nothing, so what differs is
// how the two arguments reach it.
#include "fixture.hpp"

#include <pybind11/pybind11.h>

namespace
{

using hbbench::fixture;

bool check(benchmark::State &state, PyObject *result)
{
    if (result == nullptr) {
        PyErr_Print();
        state.SkipWithError("the call raised");
        return false;
    }
    Py_DECREF(result);
    return true;
}

// PEP 590: the arguments stay in a C array, no tuple is built (our binding).
void vectorcall(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        PyObject *args[] = {fixture().c_writer, fixture().request};
        for (auto _ : s)
            if (!check(s, PyObject_Vectorcall(fixture().empty, args, 2, nullptr)))
                break;
    });
}

// The classic varargs helper (the reference's era): walks a va_list, then vectorcalls.
void call_function_obj_args(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s)
            if (!check(s, PyObject_CallFunctionObjArgs(fixture().empty, fixture().c_writer, fixture().request,
                                                       nullptr)))
                break;
    });
}

// An argument tuple built per call and passed to PyObject_Call.
void tuple_call(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s) {
            PyObject *args = PyTuple_Pack(2, fixture().c_writer, fixture().request);
            PyObject *result = PyObject_Call(fixture().empty, args, nullptr);
            Py_DECREF(args);
            if (!check(s, result))
                break;
        }
    });
}

// pybind11's py::object::operator(): a tuple as above, plus its own argument
// collection and result wrapping.
void pybind11_operator_call(benchmark::State &state)
{
    hbbench::with_gil_on_new_thread(state, [](benchmark::State &s) {
        auto fn = pybind11::reinterpret_borrow<pybind11::object>(fixture().empty);
        auto w = pybind11::reinterpret_borrow<pybind11::object>(fixture().c_writer);
        auto r = pybind11::reinterpret_borrow<pybind11::object>(fixture().request);
        for (auto _ : s) {
            pybind11::object result = fn(w, r);
            benchmark::DoNotOptimize(result.ptr());
        }
    });
}

} // namespace

BENCHMARK(vectorcall)->Name("call/vectorcall");
BENCHMARK(call_function_obj_args)->Name("call/call_function_obj_args");
BENCHMARK(tuple_call)->Name("call/tuple_call");
BENCHMARK(pybind11_operator_call)->Name("call/pybind11_operator_call");
