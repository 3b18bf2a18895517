// wsgi.input: a read-only file over the request body, which the engine has
// already received whole (up to its body limit) and de-chunked. Reads copy
// straight out of the engine's buffer; nothing is copied before the app asks.
#include "wsgi.hpp"

#include <cstring>

namespace hbpy
{

PyTypeObject *g_input_type = nullptr;

namespace
{

struct InputObject {
    PyObject_HEAD const char *data; // the body, borrowed; nullptr when unbound
    Py_ssize_t size;
    Py_ssize_t pos;
};

InputObject *bound(PyObject *self)
{
    auto *in = reinterpret_cast<InputObject *>(self);
    if (in->data == nullptr) {
        PyErr_SetString(PyExc_ValueError, "wsgi.input read after its request ended");
        return nullptr;
    }
    return in;
}

// The optional size argument: absent, None or negative means "all".
bool size_arg(PyObject *const *args, Py_ssize_t nargs, const char *name, Py_ssize_t *out)
{
    *out = -1;
    if (nargs > 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most 1 argument (%zd given)", name, nargs);
        return false;
    }
    if (nargs == 0 || args[0] == Py_None)
        return true;
    if (!PyLong_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "%s() size must be an int or None, not %.100s", name,
                     Py_TYPE(args[0])->tp_name);
        return false;
    }
    *out = PyLong_AsSsize_t(args[0]);
    return !(*out == -1 && PyErr_Occurred());
}

PyObject *take(InputObject *in, Py_ssize_t n)
{
    PyObject *bytes = PyBytes_FromStringAndSize(in->data + in->pos, n);
    if (bytes != nullptr)
        in->pos += n;
    return bytes;
}

// The length of the next line (through '\n'), at most limit (negative: no limit).
Py_ssize_t line_length(const InputObject *in, Py_ssize_t limit)
{
    Py_ssize_t left = in->size - in->pos;
    if (limit >= 0 && limit < left)
        left = limit;
    const void *nl = std::memchr(in->data + in->pos, '\n', static_cast<std::size_t>(left));
    return nl ? static_cast<const char *>(nl) - (in->data + in->pos) + 1 : left;
}

PyObject *input_read(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t size;
    if (!size_arg(args, nargs, "read", &size))
        return nullptr;
    InputObject *in = bound(self);
    if (in == nullptr)
        return nullptr;
    Py_ssize_t left = in->size - in->pos;
    return take(in, size < 0 || size > left ? left : size);
}

PyObject *input_readline(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t size;
    if (!size_arg(args, nargs, "readline", &size))
        return nullptr;
    InputObject *in = bound(self);
    return in ? take(in, line_length(in, size)) : nullptr;
}

PyObject *input_readlines(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    Py_ssize_t hint;
    if (!size_arg(args, nargs, "readlines", &hint))
        return nullptr;
    InputObject *in = bound(self);
    if (in == nullptr)
        return nullptr;
    PyObject *lines = PyList_New(0);
    Py_ssize_t total = 0;
    while (lines != nullptr && in->pos < in->size && (hint <= 0 || total < hint)) {
        Py_ssize_t n = line_length(in, -1);
        PyObject *line = take(in, n);
        if (line == nullptr || PyList_Append(lines, line) != 0)
            Py_CLEAR(lines);
        Py_XDECREF(line);
        total += n;
    }
    return lines;
}

PyObject *input_iternext(PyObject *self)
{
    InputObject *in = bound(self);
    if (in == nullptr || in->pos >= in->size)
        return nullptr; // the error, or the end (StopIteration)
    return take(in, line_length(in, -1));
}

PyObject *input_readable(PyObject *, PyObject *)
{
    Py_RETURN_TRUE;
}

PyObject *input_repr(PyObject *self)
{
    auto *in = reinterpret_cast<InputObject *>(self);
    if (in->data == nullptr)
        return PyUnicode_FromString("<httpbridge wsgi.input (request ended)>");
    return PyUnicode_FromFormat("<httpbridge wsgi.input at %zd of %zd bytes>", in->pos, in->size);
}

void input_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    type->tp_free(self);
    Py_DECREF(type);
}

#define FASTCALL(f) reinterpret_cast<PyCFunction>(reinterpret_cast<void *>(f)), METH_FASTCALL

PyMethodDef input_methods[] = {
    {"read", FASTCALL(input_read),
     "read($self, size=-1, /)\n--\n\nUp to size bytes (all that is left when size is omitted, None or\n"
     "negative); b'' at the end of the body."},
    {"readline", FASTCALL(input_readline),
     "readline($self, size=-1, /)\n--\n\nThe next line, with its b'\\n', at most size bytes; b'' at the "
     "end."},
    {"readlines", FASTCALL(input_readlines),
     "readlines($self, hint=-1, /)\n--\n\nThe remaining lines, as a list; stops once hint bytes were read."},
    {"readable", input_readable, METH_NOARGS, "readable($self, /)\n--\n\nTrue."},
    {nullptr, nullptr, 0, nullptr},
};

PyType_Slot input_slots[] = {
    {Py_tp_doc, const_cast<char *>("wsgi.input: the request body as a read-only binary file.\n\n"
                                   "Iterating yields lines. Valid while its request is being answered;\n"
                                   "afterwards every read raises ValueError.")},
    {Py_tp_dealloc, reinterpret_cast<void *>(input_dealloc)},
    {Py_tp_repr, reinterpret_cast<void *>(input_repr)},
    {Py_tp_iter, reinterpret_cast<void *>(PyObject_SelfIter)},
    {Py_tp_iternext, reinterpret_cast<void *>(input_iternext)},
    {Py_tp_methods, input_methods},
    {0, nullptr},
};

PyType_Spec input_spec = {
    "httpbridge.WsgiInput",
    sizeof(InputObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
    input_slots,
};

} // namespace

bool add_input_type(PyObject *module)
{
    auto *type = reinterpret_cast<PyTypeObject *>(PyType_FromSpec(&input_spec));
    if (type == nullptr ||
        PyModule_AddObjectRef(module, "WsgiInput", reinterpret_cast<PyObject *>(type)) != 0) {
        Py_XDECREF(type);
        return false;
    }
    g_input_type = type; // kept for the life of the process
    return true;
}

PyObject *new_input()
{
    auto *in = PyObject_New(InputObject, g_input_type);
    if (in == nullptr)
        return nullptr;
    in->data = nullptr;
    in->size = in->pos = 0;
    return reinterpret_cast<PyObject *>(in);
}

void bind_input(PyObject *input, hb_str body)
{
    auto *in = reinterpret_cast<InputObject *>(input);
    in->data = body.len ? body.data : "";
    in->size = static_cast<Py_ssize_t>(body.len);
    in->pos = 0;
}

void unbind_input(PyObject *input)
{
    auto *in = reinterpret_cast<InputObject *>(input);
    in->data = nullptr;
    in->size = in->pos = 0;
}

} // namespace hbpy
