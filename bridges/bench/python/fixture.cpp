#include "fixture.hpp"

#include "on_thread.hpp"

#include <pybind11/embed.h>

#include <string>

namespace py = pybind11;

namespace hbbench
{
namespace
{

Fixture g_fixture;

// Both writers buffer on the C++ side like the real binding. The buffer is
// cleared when it grows past a few KiB so it stays in L1 across millions of
// calls (the server clears it per request).
void append_body(std::string &body, std::string_view data)
{
    if (body.size() > 4096)
        body.clear();
    body.append(data);
}

// Accepts bytes (borrowed, no copy into Python) or str (its cached UTF-8).
bool data_of(PyObject *obj, std::string_view *out)
{
    char *data = nullptr;
    Py_ssize_t len = 0;
    if (PyBytes_Check(obj)) {
        PyBytes_AsStringAndSize(obj, &data, &len);
    } else if (PyUnicode_Check(obj)) {
        const char *utf8 = PyUnicode_AsUTF8AndSize(obj, &len);
        if (utf8 == nullptr)
            return false;
        data = const_cast<char *>(utf8);
    } else {
        PyErr_SetString(PyExc_TypeError, "write() takes bytes or str");
        return false;
    }
    *out = std::string_view(data, static_cast<std::size_t>(len));
    return true;
}

struct Pybind11Writer {
    std::string body;
    void write(py::handle data)
    {
        std::string_view view;
        if (!data_of(data.ptr(), &view))
            throw py::error_already_set();
        append_body(body, view);
    }
};

struct CWriter {
    PyObject_HEAD std::string *body;
};

std::string g_c_writer_body;

PyObject *c_writer_write(PyObject *self, PyObject *data)
{
    std::string_view view;
    if (!data_of(data, &view))
        return nullptr;
    append_body(*reinterpret_cast<CWriter *>(self)->body, view);
    Py_RETURN_NONE;
}

PyMethodDef c_writer_methods[] = {
    {"write", c_writer_write, METH_O, "Append bytes or str to the response body."},
    {nullptr, nullptr, 0, nullptr},
};
PyType_Slot c_writer_slots[] = {
    {Py_tp_methods, c_writer_methods},
    {0, nullptr},
};
PyType_Spec c_writer_spec = {"hbbench.CWriter", sizeof(CWriter), 0, Py_TPFLAGS_DEFAULT, c_writer_slots};

const char *kHandlers = R"(
def empty(w, r):
    pass

def hello(w, r):
    w.write(b"Hello, world.\n")

def hello_str(w, r):
    w.write("Hello, world.\n")
)";

} // namespace

PYBIND11_EMBEDDED_MODULE(hbbench, m)
{
    py::class_<Pybind11Writer>(m, "Pybind11Writer").def(py::init<>()).def("write", &Pybind11Writer::write);
}

const Fixture &fixture()
{
    return g_fixture;
}

void make_fixture()
{
    py::module_ m = py::module_::import("hbbench");
    py::dict scope;
    py::exec(kHandlers, scope);
    g_fixture.empty = scope["empty"].cast<py::object>().release().ptr();
    g_fixture.hello = scope["hello"].cast<py::object>().release().ptr();
    g_fixture.hello_str = scope["hello_str"].cast<py::object>().release().ptr();
    g_fixture.pybind11_writer = m.attr("Pybind11Writer")().release().ptr();

    py::object c_writer_type = py::reinterpret_steal<py::object>(PyType_FromSpec(&c_writer_spec));
    if (!c_writer_type)
        throw py::error_already_set();
    PyObject *c_writer = PyType_GenericAlloc(reinterpret_cast<PyTypeObject *>(c_writer_type.ptr()), 0);
    reinterpret_cast<CWriter *>(c_writer)->body = &g_c_writer_body;
    g_fixture.c_writer = c_writer;
    g_fixture.request = py::none().release().ptr();
}

void destroy_fixture()
{
    for (PyObject **obj : {&g_fixture.empty, &g_fixture.hello, &g_fixture.hello_str,
                           &g_fixture.pybind11_writer, &g_fixture.c_writer, &g_fixture.request})
        Py_CLEAR(*obj);
}

void with_gil_on_new_thread(benchmark::State &state, void (*fn)(benchmark::State &))
{
    on_new_thread(state, [fn](benchmark::State &s) {
        PyThreadState *ts = PyThreadState_New(PyInterpreterState_Main());
        PyEval_RestoreThread(ts);
        fn(s);
        PyThreadState_Clear(ts);
        PyThreadState_DeleteCurrent();
    });
}

bool call_handler(benchmark::State &state, PyObject *fn, PyObject *w)
{
    PyObject *args[] = {w, g_fixture.request};
    PyObject *result = PyObject_Vectorcall(fn, args, 2, nullptr);
    if (result == nullptr) {
        PyErr_Print();
        state.SkipWithError("the Python handler raised");
        return false;
    }
    Py_DECREF(result);
    return true;
}

} // namespace hbbench
