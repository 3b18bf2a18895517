#include "objects.hpp"

#include "dispatch.hpp"

#include <climits>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace hbpy
{

PyTypeObject *g_request_type = nullptr;
PyTypeObject *g_writer_type = nullptr;

namespace
{

// ---- helpers -------------------------------------------------------------

PyObject *stale(const char *what)
{
    PyErr_Format(PyExc_RuntimeError, "%s used after its handler returned", what);
    return nullptr;
}

// HTTP header text is bytes; latin-1 maps each byte to one code point, losslessly.
PyObject *latin1(hb_str s)
{
    return PyUnicode_DecodeLatin1(s.len ? s.data : "", static_cast<Py_ssize_t>(s.len), nullptr);
}

// The classes of httpbridge._headers, imported on first use.
PyObject *headers_class(const char *name)
{
    static PyObject *module = nullptr;
    if (module == nullptr && (module = PyImport_ImportModule("httpbridge._headers")) == nullptr)
        return nullptr;
    return PyObject_GetAttrString(module, name);
}

// ---- Request -------------------------------------------------------------

// The common methods as shared str objects: reading req.method allocates nothing.
constexpr const char *kMethodNames[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"};
constexpr int kMethodCount = sizeof kMethodNames / sizeof kMethodNames[0];
PyObject *g_method_strings[kMethodCount];

PyObject *make_method(const hb_request &v)
{
    for (int i = 0; i < kMethodCount; ++i) {
        std::string_view name = kMethodNames[i];
        if (v.method.len == name.size() && std::memcmp(v.method.data, name.data(), name.size()) == 0) {
            Py_INCREF(g_method_strings[i]);
            return g_method_strings[i];
        }
    }
    return latin1(v.method);
}

PyObject *make_path(const hb_request &v)
{
    return latin1(v.path);
}
PyObject *make_query(const hb_request &v)
{
    return latin1(v.query);
}
PyObject *make_url(const hb_request &v)
{
    return latin1(v.target);
}
PyObject *make_host(const hb_request &v)
{
    return latin1(v.host);
}
PyObject *make_remote_addr(const hb_request &v)
{
    return latin1(v.remote_addr);
}

PyObject *make_body(const hb_request &v)
{
    return PyBytes_FromStringAndSize(v.body.len ? v.body.data : "", static_cast<Py_ssize_t>(v.body.len));
}

PyObject *make_headers(const hb_request &v)
{
    PyObject *cls = headers_class("Headers");
    if (cls == nullptr)
        return nullptr;
    PyObject *items = PyList_New(static_cast<Py_ssize_t>(v.header_count));
    for (std::size_t i = 0; items != nullptr && i < v.header_count; ++i) {
        PyObject *name = latin1(v.headers[i].name);
        PyObject *value = latin1(v.headers[i].value);
        PyObject *pair = name && value ? PyTuple_Pack(2, name, value) : nullptr;
        Py_XDECREF(name);
        Py_XDECREF(value);
        if (pair == nullptr)
            Py_CLEAR(items);
        else
            PyList_SET_ITEM(items, static_cast<Py_ssize_t>(i), pair);
    }
    PyObject *headers = items ? PyObject_CallOneArg(cls, items) : nullptr;
    Py_XDECREF(items);
    Py_DECREF(cls);
    return headers;
}

// A getter that makes the field on first access and keeps it until unbind.
template <PyObject *RequestObject::*Slot, PyObject *(*Make)(const hb_request &)>
PyObject *cached(PyObject *self, void *)
{
    auto *r = reinterpret_cast<RequestObject *>(self);
    if (r->view == nullptr)
        return stale("Request");
    if (!pthread_equal(r->thread, pthread_self())) {
        // The view is the io thread's, and goes when its handler returns.
        PyErr_SetString(PyExc_RuntimeError, "Request used off its handler's thread; read it in the handler");
        return nullptr;
    }
    PyObject *&slot = r->*Slot;
    if (slot == nullptr) {
        if ((slot = Make(*r->view)) == nullptr)
            return nullptr;
        r->materialized = true;
    }
    Py_INCREF(slot);
    return slot;
}

void clear_cache(RequestObject *r)
{
    Py_CLEAR(r->method);
    Py_CLEAR(r->path);
    Py_CLEAR(r->query);
    Py_CLEAR(r->url);
    Py_CLEAR(r->host);
    Py_CLEAR(r->remote_addr);
    Py_CLEAR(r->headers);
    Py_CLEAR(r->body);
    r->materialized = false;
}

void request_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    clear_cache(reinterpret_cast<RequestObject *>(self));
    type->tp_free(self);
    Py_DECREF(type);
}

PyObject *request_repr(PyObject *self)
{
    auto *r = reinterpret_cast<RequestObject *>(self);
    if (r->view == nullptr)
        return PyUnicode_FromString("<Request (handler returned)>");
    PyObject *method = latin1(r->view->method);
    PyObject *url = latin1(r->view->target);
    PyObject *repr = method && url ? PyUnicode_FromFormat("<Request %U %U>", method, url) : nullptr;
    Py_XDECREF(method);
    Py_XDECREF(url);
    return repr;
}

PyGetSetDef request_getset[] = {
    {"method", cached<&RequestObject::method, make_method>, nullptr, "The request method, e.g. 'GET' (str).",
     nullptr},
    {"path", cached<&RequestObject::path, make_path>, nullptr,
     "The path of the target, before any '?', not percent-decoded (str).", nullptr},
    {"query", cached<&RequestObject::query, make_query>, nullptr,
     "The query string after '?', without it; '' when absent (str).", nullptr},
    {"url", cached<&RequestObject::url, make_url>, nullptr,
     "The request target as sent, e.g. '/search?q=1' (str).", nullptr},
    {"host", cached<&RequestObject::host, make_host>, nullptr, "The Host header; '' when absent (str).",
     nullptr},
    {"remote_addr", cached<&RequestObject::remote_addr, make_remote_addr>, nullptr,
     "The client as 'ip:port' ('[ip6]:port' for IPv6) (str).", nullptr},
    {"headers", cached<&RequestObject::headers, make_headers>, nullptr,
     "The request headers: a case-insensitive httpbridge.Headers mapping that keeps repeats.", nullptr},
    {"body", cached<&RequestObject::body, make_body>, nullptr, "The whole request body, de-chunked (bytes).",
     nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot request_slots[] = {
    {Py_tp_doc, const_cast<char *>("One HTTP request, as passed to a handler.\n\n"
                                   "Valid only while its handler runs: afterwards every attribute raises\n"
                                   "RuntimeError. Text attributes are str decoded as latin-1 (each byte one\n"
                                   "character, nothing lost); each is made on first access.")},
    {Py_tp_dealloc, reinterpret_cast<void *>(request_dealloc)},
    {Py_tp_repr, reinterpret_cast<void *>(request_repr)},
    {Py_tp_getset, request_getset},
    {0, nullptr},
};

PyType_Spec request_spec = {
    "httpbridge.Request",
    sizeof(RequestObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
    request_slots,
};

// ---- ResponseWriter -------------------------------------------------------

// The writer's context if it may be used here and now, else nullptr with an error.
ThreadContext *usable(WriterObject *w)
{
    if (w->ctx == nullptr) {
        stale("ResponseWriter");
        return nullptr;
    }
    if (!pthread_equal(w->ctx->thread, pthread_self())) {
        PyErr_SetString(PyExc_RuntimeError,
                        "ResponseWriter used off its handler's thread; write from the handler");
        return nullptr;
    }
    return w->ctx;
}

PyObject *raise_hb(int rc)
{
    switch (rc) {
    case HB_E_HANDLE: return stale("ResponseWriter");
    case HB_E_THREAD:
        PyErr_SetString(PyExc_RuntimeError, "ResponseWriter used off its handler's thread");
        return nullptr;
    case HB_E_SENT:
        PyErr_SetString(PyExc_RuntimeError, "status and headers were already sent by flush()");
        return nullptr;
    case HB_E_NOMEM: return PyErr_NoMemory();
    case HB_E_IO:
        PyErr_SetString(PyExc_ConnectionError, "the connection failed while flushing");
        return nullptr;
    case HB_E_TIMEOUT:
        PyErr_SetString(PyExc_TimeoutError,
                        "the client read nothing for the read timeout (or the server stopped)");
        return nullptr;
    case HB_E_AGAIN:
        PyErr_SetString(PyExc_BlockingIOError,
                        "the client has not read what was flushed before; the bytes are kept and sent later");
        return nullptr;
    default: PyErr_SetString(PyExc_ValueError, hb_strerror(rc)); return nullptr;
    }
}

// The bytes of a header name or value: str (latin-1) or bytes. *keep receives
// a new reference when a conversion was needed.
bool header_bytes(PyObject *obj, const char *what, std::string_view *out, PyObject **keep)
{
    *keep = nullptr;
    if (PyUnicode_Check(obj) && PyUnicode_IS_COMPACT_ASCII(obj)) {
        *out = {static_cast<const char *>(PyUnicode_DATA(obj)),
                static_cast<std::size_t>(PyUnicode_GET_LENGTH(obj))};
        return true;
    }
    if (PyUnicode_Check(obj)) {
        if ((*keep = PyUnicode_AsLatin1String(obj)) == nullptr)
            return false; // UnicodeEncodeError, a ValueError
        obj = *keep;
    }
    if (!PyBytes_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "header %s must be str or bytes, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return false;
    }
    *out = {PyBytes_AS_STRING(obj), static_cast<std::size_t>(PyBytes_GET_SIZE(obj))};
    return true;
}

PyObject *set_or_add_header(PyObject *self, PyObject *const *args, Py_ssize_t nargs, bool replace)
{
    auto *w = reinterpret_cast<WriterObject *>(self);
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "%s_header() takes 2 arguments (name, value), %zd given",
                     replace ? "set" : "add", nargs);
        return nullptr;
    }
    ThreadContext *ctx = usable(w);
    if (ctx == nullptr)
        return nullptr;
    std::string_view name, value;
    PyObject *keep_name, *keep_value = nullptr;
    bool ok = header_bytes(args[0], "name", &name, &keep_name) &&
              header_bytes(args[1], "value", &value, &keep_value) &&
              buffer_header(*ctx, name, value, replace);
    Py_XDECREF(keep_name);
    Py_XDECREF(keep_value);
    if (!ok)
        return nullptr;
    Py_RETURN_NONE;
}

PyObject *writer_set_header(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return set_or_add_header(self, args, nargs, true);
}

PyObject *writer_add_header(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    return set_or_add_header(self, args, nargs, false);
}

PyObject *writer_del_header(PyObject *self, PyObject *name_obj)
{
    ThreadContext *ctx = usable(reinterpret_cast<WriterObject *>(self));
    if (ctx == nullptr)
        return nullptr;
    std::string_view name;
    PyObject *keep;
    if (!header_bytes(name_obj, "name", &name, &keep))
        return nullptr;
    std::size_t removed = remove_header(*ctx, name);
    Py_XDECREF(keep);
    return PyLong_FromSize_t(removed);
}

PyObject *writer_header_items(PyObject *self, PyObject *)
{
    ThreadContext *ctx = usable(reinterpret_cast<WriterObject *>(self));
    if (ctx == nullptr)
        return nullptr;
    PyObject *items = PyList_New(static_cast<Py_ssize_t>(ctx->header_count));
    for (std::size_t i = 0; items != nullptr && i < ctx->header_count; ++i) {
        const PendingHeader &h = ctx->headers[i];
        PyObject *pair = Py_BuildValue("(N N)", latin1({h.name.data(), h.name.size()}),
                                       latin1({h.value.data(), h.value.size()}));
        if (pair == nullptr)
            Py_CLEAR(items);
        else
            PyList_SET_ITEM(items, static_cast<Py_ssize_t>(i), pair);
    }
    return items;
}

PyObject *writer_write(PyObject *self, PyObject *data)
{
    auto *w = reinterpret_cast<WriterObject *>(self);
    if (usable(w) == nullptr)
        return nullptr;
    const char *bytes;
    Py_ssize_t size;
    Py_buffer view{};
    bool release = false;
    if (PyBytes_Check(data)) {
        bytes = PyBytes_AS_STRING(data);
        size = PyBytes_GET_SIZE(data);
    } else if (PyUnicode_Check(data)) {
        if ((bytes = PyUnicode_AsUTF8AndSize(data, &size)) == nullptr)
            return nullptr;
    } else if (PyObject_CheckBuffer(data)) {
        if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) != 0)
            return nullptr;
        bytes = static_cast<const char *>(view.buf);
        size = view.len;
        release = true;
    } else {
        PyErr_Format(PyExc_TypeError, "write() takes bytes or str, not %.100s", Py_TYPE(data)->tp_name);
        return nullptr;
    }
    int rc = hb_response_write(w->handle, bytes, static_cast<std::size_t>(size));
    if (release)
        PyBuffer_Release(&view);
    if (rc == HB_E_INVAL) { // the only way a write with a buffer fails so
        PyErr_Format(PyExc_ValueError, "write() of %zd bytes goes past the length set by set_length()", size);
        return nullptr;
    }
    if (rc != HB_OK)
        return raise_hb(rc);
    return PyLong_FromSsize_t(size);
}

PyObject *writer_set_status(PyObject *self, PyObject *code)
{
    auto *w = reinterpret_cast<WriterObject *>(self);
    if (usable(w) == nullptr)
        return nullptr;
    if (!PyLong_Check(code)) {
        PyErr_Format(PyExc_TypeError, "status must be an int, not %.100s", Py_TYPE(code)->tp_name);
        return nullptr;
    }
    int overflow = 0;
    long status = PyLong_AsLongAndOverflow(code, &overflow);
    if (status == -1 && PyErr_Occurred())
        return nullptr;
    // The range is the engine's rule: anything that does not fit an int is as invalid as 0.
    bool fits = overflow == 0 && status >= INT_MIN && status <= INT_MAX;
    int rc = hb_response_set_status(w->handle, fits ? static_cast<int>(status) : 0);
    if (rc == HB_E_INVAL) {
        PyErr_Format(PyExc_ValueError,
                     "status %R is out of range: an HTTP status has three digits, 100 to 999", code);
        return nullptr;
    }
    if (rc != HB_OK)
        return raise_hb(rc);
    Py_RETURN_NONE;
}

PyObject *writer_set_length(PyObject *self, PyObject *length)
{
    auto *w = reinterpret_cast<WriterObject *>(self);
    if (usable(w) == nullptr)
        return nullptr;
    if (!PyLong_Check(length)) {
        PyErr_Format(PyExc_TypeError, "length must be an int, not %.100s", Py_TYPE(length)->tp_name);
        return nullptr;
    }
    unsigned long long n = PyLong_AsUnsignedLongLong(length);
    if (n == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_OverflowError))
            return nullptr;
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "length %R is not a byte count", length);
        return nullptr;
    }
    int rc = hb_response_set_length(w->handle, static_cast<std::uint64_t>(n));
    if (rc == HB_E_INVAL) {
        PyErr_Format(PyExc_ValueError, "length %R is less than what was written already", length);
        return nullptr;
    }
    if (rc != HB_OK)
        return raise_hb(rc);
    Py_RETURN_NONE;
}

PyObject *writer_flush(PyObject *self, PyObject *)
{
    auto *w = reinterpret_cast<WriterObject *>(self);
    ThreadContext *ctx = usable(w);
    if (ctx == nullptr)
        return nullptr;
    int rc = send_headers(*ctx, w->handle);
    if (rc == HB_OK) {
        Py_BEGIN_ALLOW_THREADS // the socket may be slow: let other threads run
            rc = hb_response_flush(w->handle);
        Py_END_ALLOW_THREADS
    }
    if (rc != HB_OK)
        return raise_hb(rc);
    Py_RETURN_NONE;
}

PyObject *writer_wait(PyObject *self, PyObject *)
{
    auto *w = reinterpret_cast<WriterObject *>(self);
    if (usable(w) == nullptr)
        return nullptr;
    int rc;
    Py_BEGIN_ALLOW_THREADS // blocks until the client reads: let other threads run
        rc = hb_response_wait(w->handle);
    Py_END_ALLOW_THREADS
    if (rc != HB_OK)
        return raise_hb(rc);
    Py_RETURN_NONE;
}

PyObject *writer_headers(PyObject *self, void *)
{
    auto *w = reinterpret_cast<WriterObject *>(self);
    if (usable(w) == nullptr)
        return nullptr;
    PyObject *cls = headers_class("ResponseHeaders");
    if (cls == nullptr)
        return nullptr;
    PyObject *headers = PyObject_CallOneArg(cls, self);
    Py_DECREF(cls);
    return headers;
}

PyObject *writer_repr(PyObject *self)
{
    auto *w = reinterpret_cast<WriterObject *>(self);
    return PyUnicode_FromString(w->ctx ? "<ResponseWriter>" : "<ResponseWriter (handler returned)>");
}

void writer_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    type->tp_free(self);
    Py_DECREF(type);
}

PyMethodDef writer_methods[] = {
    {"write", writer_write, METH_O,
     "write($self, data, /)\n--\n\n"
     "Append data (bytes-like, or str encoded as UTF-8) to the body; returns its\n"
     "length in bytes. Buffered: the body goes out once, after the handler returns."},
    {"set_status", writer_set_status, METH_O,
     "set_status($self, code, /)\n--\n\nSet the status code (100..999); the default is 200."},
    {"set_header", reinterpret_cast<PyCFunction>(reinterpret_cast<void *>(writer_set_header)), METH_FASTCALL,
     "set_header($self, name, value, /)\n--\n\n"
     "Set a response header, replacing any of that name (case-insensitive).\n"
     "str is encoded as latin-1. Content-Length and Transfer-Encoding are the\n"
     "server's: they, a name that is not an HTTP token, or CR/LF/NUL raise ValueError."},
    {"add_header", reinterpret_cast<PyCFunction>(reinterpret_cast<void *>(writer_add_header)), METH_FASTCALL,
     "add_header($self, name, value, /)\n--\n\nAdd a response header, keeping others of that name."},
    {"del_header", writer_del_header, METH_O,
     "del_header($self, name, /)\n--\n\nRemove every header of that name; returns how many."},
    {"set_length", writer_set_length, METH_O,
     "set_length($self, length, /)\n--\n\n"
     "Declare the body length: the Content-Length sent, even after flush()\n"
     "(the body then streams unchunked). Before the first flush only. A write()\n"
     "past it raises ValueError and sends nothing; returning short sends what\n"
     "was written, then closes the connection. A HEAD answer carries it, no body."},
    {"flush", writer_flush, METH_NOARGS,
     "flush($self, /)\n--\n\n"
     "Send the status, headers and body so far now; the rest follows chunked\n"
     "(or unchunked, framed by the length given to set_length()).\n"
     "Afterwards the status and headers can no longer change. Never waits for\n"
     "the client: BlockingIOError when it has not read earlier output yet (the\n"
     "bytes are kept, sent by a later flush or when the handler returns, or\n"
     "wait() and flush again)."},
    {"wait", writer_wait, METH_NOARGS,
     "wait($self, /)\n--\n\n"
     "Block until the client has read enough that flush() sends again (at once\n"
     "when it would). This io thread serves nothing else meanwhile. TimeoutError\n"
     "when the client read nothing for the read timeout, or the server stopped\n"
     "(the connection is closed); ConnectionError when the client is gone."},
    {"_header_items", writer_header_items, METH_NOARGS,
     "_header_items($self, /)\n--\n\nThe headers set so far, in order."},
    {nullptr, nullptr, 0, nullptr},
};

PyGetSetDef writer_getset[] = {
    {"headers", writer_headers, nullptr,
     "The response headers as a case-insensitive mutable mapping (httpbridge.ResponseHeaders).", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr},
};

PyType_Slot writer_slots[] = {
    {Py_tp_doc,
     const_cast<char *>("The response to one request, as passed to a handler.\n\n"
                        "Valid only while its handler runs and only on its thread: afterwards\n"
                        "every method raises RuntimeError. Status, headers and body are collected\n"
                        "and sent together when the handler returns (or at flush()).")},
    {Py_tp_dealloc, reinterpret_cast<void *>(writer_dealloc)},
    {Py_tp_repr, reinterpret_cast<void *>(writer_repr)},
    {Py_tp_methods, writer_methods},
    {Py_tp_getset, writer_getset},
    {0, nullptr},
};

PyType_Spec writer_spec = {
    "httpbridge.ResponseWriter",
    sizeof(WriterObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
    writer_slots,
};

} // namespace

bool add_types(PyObject *module)
{
    for (int i = 0; i < kMethodCount; ++i)
        if ((g_method_strings[i] = PyUnicode_InternFromString(kMethodNames[i])) == nullptr)
            return false;
    auto *request = reinterpret_cast<PyTypeObject *>(PyType_FromSpec(&request_spec));
    auto *writer = reinterpret_cast<PyTypeObject *>(PyType_FromSpec(&writer_spec));
    if (request == nullptr || writer == nullptr ||
        PyModule_AddObjectRef(module, "Request", reinterpret_cast<PyObject *>(request)) != 0 ||
        PyModule_AddObjectRef(module, "ResponseWriter", reinterpret_cast<PyObject *>(writer)) != 0) {
        Py_XDECREF(request);
        Py_XDECREF(writer);
        return false;
    }
    g_request_type = request; // kept for the life of the process
    g_writer_type = writer;
    return true;
}

RequestObject *new_request()
{
    auto *r = PyObject_New(RequestObject, g_request_type); // increfs the heap type
    if (r == nullptr)
        return nullptr;
    r->view = nullptr;
    r->materialized = false;
    r->method = r->path = r->query = r->url = r->host = r->remote_addr = r->headers = r->body = nullptr;
    return r;
}

WriterObject *new_writer()
{
    auto *w = PyObject_New(WriterObject, g_writer_type);
    if (w == nullptr)
        return nullptr;
    w->handle = 0;
    w->ctx = nullptr;
    return w;
}

void bind_request(RequestObject *r, const hb_request *view)
{
    r->view = view;
    r->thread = pthread_self();
}

void unbind_request(RequestObject *r)
{
    r->view = nullptr;
    if (r->materialized)
        clear_cache(r);
}

} // namespace hbpy
