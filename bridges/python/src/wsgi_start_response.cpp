// start_response() and write(), and the rules that frame a WSGI body.
//
// Framing, decided by the engine's ways to send (hb_response_write alone =
// one buffer with Content-Length after the app is done; with
// hb_response_flush = chunked on HTTP/1.1, close-delimited on 1.0, or, after
// hb_response_set_length, identity with that Content-Length on either):
//   - a block is sent (flushed) before the next one is asked for, unless it
//     completes the app's Content-Length: then nothing more may follow, and
//     the response goes out whole, with that Content-Length, at the end;
//   - the app's Content-Length is declared to the engine at the first flush
//     only: a list, tuple or single-block body, the common case, goes out as
//     one write the engine frames itself, with no extra call per request;
//   - never more than the app's Content-Length (the engine would refuse it
//     too): a block is clipped, one warning per response goes to stderr, and
//     the iterable is not asked for more (PEP 3333); fewer, and the
//     connection is cut once what there is has been sent, so the client can
//     tell (the engine closes a response short of its declared length).
#include "wsgi.hpp"

#include <charconv>
#include <cstring>
#include <string_view>

namespace hbpy
{

PyTypeObject *g_responder_type = nullptr;

namespace
{

struct ResponderObject {
    PyObject_HEAD WsgiResponse *response; // nullptr when unbound
    PyObject *start_response;             // both bound to this object (a cycle
    PyObject *write;                      // unbind_responder breaks)
};

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if ((x >= 'A' && x <= 'Z' ? x | 0x20 : x) != (y >= 'A' && y <= 'Z' ? y | 0x20 : y))
            return false;
    }
    return true;
}

// PEP 3333: the app must not set these; they belong to the connection. By
// length first: this runs for every header of every response.
bool is_hop_by_hop(std::string_view name)
{
    switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "upgrade") || iequals(name, "trailer");
    case 8: return iequals(name, "trailers");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 17: return iequals(name, "transfer-encoding");
    case 18: return iequals(name, "proxy-authenticate");
    case 19: return iequals(name, "proxy-authorization");
    default: return false;
    }
}

bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

WsgiResponse *bound(PyObject *self, const char *what)
{
    WsgiResponse *r = reinterpret_cast<ResponderObject *>(self)->response;
    if (r == nullptr)
        PyErr_Format(PyExc_RuntimeError, "%s called after its request was answered", what);
    return r;
}

// A header name or value: str, as latin-1 bytes. *keep receives a new
// reference when a conversion was needed.
bool latin1_bytes(PyObject *obj, const char *what, std::string_view *out, PyObject **keep)
{
    *keep = nullptr;
    if (!PyUnicode_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "start_response(): %s must be str, not %.100s", what,
                     Py_TYPE(obj)->tp_name);
        return false;
    }
    if (PyUnicode_IS_COMPACT_ASCII(obj)) {
        *out = {static_cast<const char *>(PyUnicode_DATA(obj)),
                static_cast<std::size_t>(PyUnicode_GET_LENGTH(obj))};
        return true;
    }
    if ((*keep = PyUnicode_AsLatin1String(obj)) == nullptr)
        return false; // UnicodeEncodeError: PEP 3333 strings are latin-1
    *out = {PyBytes_AS_STRING(*keep), static_cast<std::size_t>(PyBytes_GET_SIZE(*keep))};
    return true;
}

// "200 OK" -> 200. PEP 3333: three digits, a space, a reason phrase.
int parse_status(PyObject *status)
{
    std::string_view text;
    PyObject *keep;
    if (!latin1_bytes(status, "status", &text, &keep))
        return -1;
    int code = -1;
    if (text.size() >= 3 && (text.size() == 3 || text[3] == ' '))
        std::from_chars(text.data(), text.data() + 3, code);
    Py_XDECREF(keep);
    if (code < 100 || text.find_first_not_of("0123456789") < 3) {
        PyErr_Format(PyExc_ValueError, "start_response(): status must be like '200 OK', not %R", status);
        return -1;
    }
    if (code < 200) {
        PyErr_Format(PyExc_ValueError, "start_response(): %R: informational (1xx) answers are the server's",
                     status);
        return -1;
    }
    return code;
}

// A Content-Length value: digits only (no sign, no "1,2"), around them the
// optional whitespace HTTP allows; -1 for anything else or past 2^63.
std::int64_t parse_length(std::string_view v)
{
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t'))
        v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
        v.remove_suffix(1);
    if (v.empty() || v.find_first_not_of("0123456789") != std::string_view::npos)
        return -1;
    std::int64_t n = -1;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    return ec == std::errc() && end == v.data() + v.size() ? n : -1;
}

// One (name, value) of the app's headers into the context's buffer.
bool add_header(WsgiResponse &r, PyObject *item)
{
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
        PyErr_Format(PyExc_TypeError, "start_response(): each header must be a (name, value) tuple, not %R",
                     item);
        return false;
    }
    std::string_view name, value;
    PyObject *keep_name, *keep_value = nullptr;
    bool ok = latin1_bytes(PyTuple_GET_ITEM(item, 0), "header names", &name, &keep_name) &&
              latin1_bytes(PyTuple_GET_ITEM(item, 1), "header values", &value, &keep_value);
    if (ok && iequals(name, "Content-Length")) {
        // The engine writes Content-Length itself; the app's is the promise it is held to.
        std::int64_t length = parse_length(value);
        if (length < 0) {
            PyErr_Format(PyExc_ValueError, "start_response(): Content-Length %R is not a byte count",
                         PyTuple_GET_ITEM(item, 1));
            ok = false;
        } else if (r.declared >= 0 && r.declared != length) {
            PyErr_Format(PyExc_ValueError, "start_response(): two different Content-Length values (%lld and %R)",
                         static_cast<long long>(r.declared), PyTuple_GET_ITEM(item, 1));
            ok = false;
        } else {
            r.declared = length;
        }
    } else if (ok && is_hop_by_hop(name)) {
        PyErr_Format(PyExc_ValueError,
                     "start_response(): %R is a hop-by-hop header, which only the server may set (PEP 3333)",
                     PyTuple_GET_ITEM(item, 0));
        ok = false;
    } else if (ok) {
        ok = buffer_header(*r.ctx, name, value, false); // checks the token and CR/LF/NUL
    }
    Py_XDECREF(keep_name);
    Py_XDECREF(keep_value);
    return ok;
}

PyObject *reraise(PyObject *exc_info)
{
    if (!PyTuple_Check(exc_info) || PyTuple_GET_SIZE(exc_info) != 3) {
        PyErr_SetString(PyExc_TypeError, "start_response(): exc_info must be None or sys.exc_info()");
        return nullptr;
    }
    PyObject *type = PyTuple_GET_ITEM(exc_info, 0), *value = PyTuple_GET_ITEM(exc_info, 1),
             *tb = PyTuple_GET_ITEM(exc_info, 2);
    PyErr_Restore(Py_NewRef(type), Py_NewRef(value), tb == Py_None ? nullptr : Py_NewRef(tb));
    return nullptr;
}

// start_response(status, response_headers, exc_info=None) -> write
PyObject *start_response(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *arg[3] = {nullptr, nullptr, Py_None};
    static const char *const names[3] = {"status", "response_headers", "exc_info"};
    if (nargs > 3) {
        PyErr_Format(PyExc_TypeError, "start_response() takes at most 3 arguments (%zd given)", nargs);
        return nullptr;
    }
    for (Py_ssize_t i = 0; i < nargs; ++i)
        arg[i] = args[i];
    for (Py_ssize_t i = 0; kwnames != nullptr && i < PyTuple_GET_SIZE(kwnames); ++i) {
        PyObject *kw = PyTuple_GET_ITEM(kwnames, i);
        int at = 0;
        while (at < 3 && PyUnicode_CompareWithASCIIString(kw, names[at]) != 0)
            ++at;
        if (at == 3 || at < nargs) {
            PyErr_Format(PyExc_TypeError, "start_response() got an unexpected keyword argument %R", kw);
            return nullptr;
        }
        arg[at] = args[nargs + i];
    }
    if (arg[0] == nullptr || arg[1] == nullptr) {
        PyErr_SetString(PyExc_TypeError, "start_response() takes (status, response_headers, exc_info=None)");
        return nullptr;
    }
    WsgiResponse *r = bound(self, "start_response()");
    if (r == nullptr)
        return nullptr;
    if (arg[2] != Py_None) {
        if (r->ctx->headers_sent) // the status is on its way: too late to change it
            return reraise(arg[2]);
    } else if (r->started) {
        PyErr_SetString(PyExc_RuntimeError,
                        "start_response() called again without exc_info (PEP 3333 allows that only to "
                        "replace the headers after an error)");
        return nullptr;
    }
    int code = parse_status(arg[0]);
    if (code < 0)
        return nullptr;
    if (!PyList_Check(arg[1]) && !PyTuple_Check(arg[1])) {
        PyErr_Format(PyExc_TypeError, "start_response(): response_headers must be a list, not %.100s",
                     Py_TYPE(arg[1])->tp_name);
        return nullptr;
    }
    r->ctx->header_count = 0; // replacing: exc_info, before anything was sent
    r->declared = -1;
    r->produced = 0;
    r->overran = false;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(arg[1]);
    PyObject **items = PySequence_Fast_ITEMS(arg[1]);
    for (Py_ssize_t i = 0; i < n; ++i) {
        if (!add_header(*r, items[i])) {
            r->ctx->header_count = 0;
            r->declared = -1;
            return nullptr;
        }
    }
    hb_response_set_status(r->res, code); // cannot fail: in range, and nothing was flushed
    r->status = code;
    r->no_body = r->head || !status_has_body(code);
    r->started = true;
    auto *responder = reinterpret_cast<ResponderObject *>(self);
    return Py_NewRef(responder->write);
}

// write(data): the legacy imperative body (PEP 3333); bytes-like only.
PyObject *write(PyObject *self, PyObject *data)
{
    WsgiResponse *r = bound(self, "write()");
    if (r == nullptr)
        return nullptr;
    if (!r->started) {
        PyErr_SetString(PyExc_RuntimeError, "write() before start_response()");
        return nullptr;
    }
    if (PyBytes_Check(data)) {
        if (!send_block(*r, PyBytes_AS_STRING(data), static_cast<std::size_t>(PyBytes_GET_SIZE(data)), true))
            return nullptr;
        Py_RETURN_NONE;
    }
    if (PyUnicode_Check(data) || !PyObject_CheckBuffer(data)) {
        PyErr_Format(PyExc_TypeError, "write() takes bytes, not %.100s (PEP 3333 bodies are bytes)",
                     Py_TYPE(data)->tp_name);
        return nullptr;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) != 0)
        return nullptr;
    bool ok = send_block(*r, static_cast<const char *>(view.buf), static_cast<std::size_t>(view.len), true);
    PyBuffer_Release(&view);
    if (!ok)
        return nullptr;
    Py_RETURN_NONE;
}

PyMethodDef start_response_def = {
    "start_response", reinterpret_cast<PyCFunction>(reinterpret_cast<void *>(start_response)),
    METH_FASTCALL | METH_KEYWORDS,
    "start_response(status, response_headers, exc_info=None)\n--\n\n"
    "PEP 3333: set the status ('200 OK') and headers ([(name, value), ...]); returns write()."};

PyMethodDef write_def = {"write", write, METH_O,
                         "write(data)\n--\n\nPEP 3333: send body bytes now (prefer returning an iterable)."};

void responder_dealloc(PyObject *self)
{
    PyTypeObject *type = Py_TYPE(self);
    type->tp_free(self);
    Py_DECREF(type);
}

PyType_Slot responder_slots[] = {
    {Py_tp_doc, const_cast<char *>("The state behind one io thread's start_response and write.")},
    {Py_tp_dealloc, reinterpret_cast<void *>(responder_dealloc)},
    {0, nullptr},
};

PyType_Spec responder_spec = {
    "httpbridge.WsgiResponder",
    sizeof(ResponderObject),
    0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_DISALLOW_INSTANTIATION | Py_TPFLAGS_IMMUTABLETYPE,
    responder_slots,
};

// A client more than the engine's buffer behind (HB_E_AGAIN) is waited for,
// as a blocking socket write would be: the app's next block is not asked for
// until this one is taken. Called without the GIL.
int flush_waiting(hb_response res)
{
    int rc = hb_response_flush(res);
    while (rc == HB_E_AGAIN) {
        rc = hb_response_wait(res);
        if (rc == HB_OK)
            rc = hb_response_flush(res);
    }
    return rc;
}

bool flush(WsgiResponse &r)
{
    int rc = send_headers(*r.ctx, r.res);
    // Streamed with the app's Content-Length: the engine sends that, not chunks.
    if (rc == HB_OK && !r.flushed && r.declared >= 0)
        rc = hb_response_set_length(r.res, static_cast<std::uint64_t>(r.declared));
    if (rc == HB_OK) {
        Py_BEGIN_ALLOW_THREADS // the client may be slow to read: let other threads run
            rc = flush_waiting(r.res);
        Py_END_ALLOW_THREADS
    }
    if (rc != HB_OK) {
        r.broken = true;
        PyErr_SetString(PyExc_ConnectionResetError, rc == HB_E_TIMEOUT
                                                        ? "the client read nothing for the read timeout"
                                                        : "the client closed the connection");
        return false;
    }
    r.flushed = true;
    return true;
}

} // namespace

bool add_responder_type(PyObject *module)
{
    auto *type = reinterpret_cast<PyTypeObject *>(PyType_FromSpec(&responder_spec));
    if (type == nullptr ||
        PyModule_AddObjectRef(module, "WsgiResponder", reinterpret_cast<PyObject *>(type)) != 0) {
        Py_XDECREF(type);
        return false;
    }
    g_responder_type = type;
    return true;
}

PyObject *new_responder()
{
    auto *r = PyObject_New(ResponderObject, g_responder_type);
    if (r == nullptr)
        return nullptr;
    r->response = nullptr;
    r->start_response = PyCFunction_New(&start_response_def, reinterpret_cast<PyObject *>(r));
    r->write = PyCFunction_New(&write_def, reinterpret_cast<PyObject *>(r));
    if (r->start_response == nullptr || r->write == nullptr) {
        unbind_responder(reinterpret_cast<PyObject *>(r));
        Py_DECREF(r);
        return nullptr;
    }
    return reinterpret_cast<PyObject *>(r);
}

PyObject *responder_start_response(PyObject *responder)
{
    return reinterpret_cast<ResponderObject *>(responder)->start_response;
}

bool responder_reusable(PyObject *responder)
{
    auto *r = reinterpret_cast<ResponderObject *>(responder);
    // Ours, and the two callables' references to it; anything more was kept by the app.
    return Py_REFCNT(responder) == 3 && Py_REFCNT(r->start_response) == 1 && Py_REFCNT(r->write) == 1;
}

void bind_responder(PyObject *responder, WsgiResponse *response)
{
    reinterpret_cast<ResponderObject *>(responder)->response = response;
}

void unbind_responder(PyObject *responder)
{
    auto *r = reinterpret_cast<ResponderObject *>(responder);
    r->response = nullptr;
    Py_CLEAR(r->start_response);
    Py_CLEAR(r->write);
}

bool send_block(WsgiResponse &r, const char *data, std::size_t len, bool stream)
{
    if (r.broken) {
        PyErr_SetString(PyExc_ConnectionResetError, "the client closed the connection");
        return false;
    }
    if (r.declared >= 0) {
        auto left = static_cast<std::uint64_t>(r.declared) - r.produced;
        if (len > left) {
            len = static_cast<std::size_t>(left);
            r.overran = true;
        }
    }
    if (len == 0)
        return true; // an empty block sends nothing, not even the headers
    r.produced += len;
    if (r.no_body)
        return true;
    int rc = send_headers(*r.ctx, r.res);
    if (rc == HB_OK)
        rc = hb_response_write(r.res, data, len);
    if (rc != HB_OK) {
        PyErr_Format(PyExc_RuntimeError, "cannot send the response: %s", hb_strerror(rc));
        return false;
    }
    bool complete = r.declared >= 0 && r.produced == static_cast<std::uint64_t>(r.declared);
    return !stream || complete || flush(r);
}

int finish_response(WsgiResponse &r, const hb_request &req)
{
    if (r.no_body) {
        // A HEAD answer carries the Content-Length a GET would get: the
        // app's, or what its body came to (counted, never written). A status
        // without a body gets none (the engine leaves it out).
        int rc = send_headers(*r.ctx, r.res);
        if (rc == HB_OK && status_has_body(r.status))
            rc = hb_response_set_length(
                r.res, r.declared >= 0 ? static_cast<std::uint64_t>(r.declared) : r.produced);
        return rc == HB_OK ? 0 : -1;
    }
    if (r.overran)
        PySys_WriteStderr("httpbridge: the WSGI app gave more than its Content-Length (%lld bytes) for "
                          "%.100s: the rest was not sent\n",
                          static_cast<long long>(r.declared),
                          std::string(req.target.data, req.target.len).c_str());
    if (r.declared >= 0 && r.produced < static_cast<std::uint64_t>(r.declared)) {
        PySys_WriteStderr("httpbridge: the WSGI app sent %llu of its Content-Length %lld bytes for "
                          "%.100s: connection closed\n",
                          static_cast<unsigned long long>(r.produced), static_cast<long long>(r.declared),
                          std::string(req.target.data, req.target.len).c_str());
        // Declared to the engine (at the first flush, or now), which sends
        // what there is and then closes: the client sees the body end short.
        if (r.broken)
            return -1;
        int rc = send_headers(*r.ctx, r.res);
        if (rc == HB_OK && !r.flushed)
            rc = hb_response_set_length(r.res, static_cast<std::uint64_t>(r.declared));
        return rc == HB_OK ? 0 : -1;
    }
    return send_headers(*r.ctx, r.res) == HB_OK ? 0 : -1;
}

} // namespace hbpy
