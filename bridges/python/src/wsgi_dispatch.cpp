// The hb_handler of a WSGI app: one crossing into Python per request.
//
// On the io thread, with its persistent thread state swapped in (as
// dispatch.cpp does): build the environ, call app(environ, start_response)
// through vectorcall, send the body it returns, call its close(), swap out.
// The GIL is let go only while a streamed block is on its way to a slow
// client. A list or tuple body is walked in C++ (no call per block);
// start_response, write and wsgi.input are C objects reused from request to
// request until the app keeps one.
#include "server.hpp"
#include "wsgi.hpp"

#include <cstring>

namespace hbpy
{
namespace
{

PyObject *g_close = nullptr; // interned "close"

// The reused objects of one io thread (ThreadContext::wsgi).
struct WsgiThread {
    PyObject *responder = nullptr;
    PyObject *input = nullptr;
};

void drop_responder(WsgiThread &t)
{
    if (t.responder != nullptr)
        unbind_responder(t.responder);
    Py_CLEAR(t.responder);
}

void free_wsgi_thread(void *p) // with the GIL held
{
    auto *t = static_cast<WsgiThread *>(p);
    drop_responder(*t);
    Py_CLEAR(t->input);
    delete t;
}

WsgiThread *thread_objects(ThreadContext &ctx)
{
    if (ctx.wsgi == nullptr) {
        ctx.wsgi = new WsgiThread;
        ctx.free_wsgi = free_wsgi_thread;
    }
    auto *t = static_cast<WsgiThread *>(ctx.wsgi);
    if (t->responder == nullptr && (t->responder = new_responder()) == nullptr)
        return nullptr;
    if (t->input == nullptr && (t->input = new_input()) == nullptr)
        return nullptr;
    return t;
}

bool check_started(const WsgiResponse &r)
{
    if (!r.started)
        PyErr_SetString(PyExc_RuntimeError, "the WSGI app gave a body block before calling start_response()");
    return r.started;
}

bool check_block(PyObject *block)
{
    if (PyBytes_Check(block))
        return true;
    PyErr_Format(PyExc_TypeError, "the WSGI app's body must be bytes blocks, not %.100s%s",
                 Py_TYPE(block)->tp_name, PyUnicode_Check(block) ? " (encode it)" : "");
    return false;
}

// A list or tuple: every block is there already; one buffer, no flush.
bool send_sequence(WsgiResponse &r, PyObject *body)
{
    Py_ssize_t n = PySequence_Fast_GET_SIZE(body);
    PyObject **items = PySequence_Fast_ITEMS(body);
    for (Py_ssize_t i = 0; i < n; ++i) {
        PyObject *block = items[i];
        if (!check_started(r) || !check_block(block) ||
            !send_block(r, PyBytes_AS_STRING(block), static_cast<std::size_t>(PyBytes_GET_SIZE(block)),
                        false))
            return false;
    }
    return true;
}

// Whether the app's Content-Length is reached: PEP 3333 has the server stop
// iterating then (an endless generator with a wrong length ends too).
bool complete(const WsgiResponse &r)
{
    return r.declared >= 0 && r.produced == static_cast<std::uint64_t>(r.declared);
}

// Any other iterable: each block goes out before the next is asked for.
bool send_iterable(WsgiResponse &r, PyObject *body)
{
    PyObject *it = PyObject_GetIter(body);
    if (it == nullptr)
        return false;
    bool ok = true;
    while (ok && !complete(r)) {
        PyObject *block = PyIter_Next(it);
        if (block == nullptr) {
            ok = !PyErr_Occurred();
            break;
        }
        ok = check_started(r) && check_block(block) &&
             send_block(r, PyBytes_AS_STRING(block), static_cast<std::size_t>(PyBytes_GET_SIZE(block)), true);
        Py_DECREF(block);
    }
    Py_DECREF(it);
    return ok;
}

bool send_body(WsgiResponse &r, PyObject *body)
{
    if (PyBytes_Check(body) || PyUnicode_Check(body)) {
        PyErr_Format(PyExc_TypeError,
                     "the WSGI app returned %.100s; return an iterable of bytes blocks, e.g. [body]",
                     Py_TYPE(body)->tp_name);
        return false;
    }
    if (PyList_CheckExact(body) || PyTuple_CheckExact(body))
        return send_sequence(r, body);
    return send_iterable(r, body);
}

// PEP 3333: the iterable's close(), if it has one, whatever happened before.
bool close_body(PyObject *body)
{
    if (PyList_CheckExact(body) || PyTuple_CheckExact(body))
        return true;
    PyObject *close = PyObject_GetAttr(body, g_close);
    if (close == nullptr) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return false;
        PyErr_Clear();
        return true;
    }
    PyObject *result = PyObject_CallNoArgs(close);
    Py_DECREF(close);
    Py_XDECREF(result);
    return result != nullptr;
}

const char *outcome(const WsgiResponse &r)
{
    return r.flushed ? "connection closed" : "answered 500";
}

// With the GIL held. 0, or -1: the engine answers 500, or cuts the connection
// when part of the response is out.
int call_app(ThreadContext &ctx, const WsgiApp &mounted, hb_response res, const hb_request &req)
{
    WsgiThread *t = thread_objects(ctx);
    if (t == nullptr) {
        report_exception(req, "WSGI app");
        return -1;
    }
    WsgiResponse r;
    r.res = res;
    r.ctx = &ctx;
    r.head = req.method.len == 4 && std::memcmp(req.method.data, "HEAD", 4) == 0;
    ctx.header_count = 0;
    ctx.headers_sent = false;
    bind_input(t->input, req.body);
    bind_responder(t->responder, &r);

    PyObject *body = nullptr;
    PyObject *environ = build_environ(mounted.environ_template, req, t->input);
    bool ok = environ != nullptr;
    if (ok) {
        PyObject *args[3] = {nullptr, environ, responder_start_response(t->responder)};
        body = PyObject_Vectorcall(mounted.app, args + 1, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
        ok = body != nullptr && send_body(r, body);
    }
    if (body != nullptr) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback); // what went wrong so far waits for close()
        if (!close_body(body)) {
            if (ok)
                PyErr_Fetch(&type, &value, &traceback);
            else
                report_exception(req, "close() of the WSGI app's body", outcome(r));
            ok = false;
        }
        PyErr_Restore(type, value, traceback);
    }
    if (ok && !r.started) {
        PyErr_SetString(PyExc_RuntimeError, "the WSGI app returned without calling start_response()");
        ok = false;
    }
    int rc = -1;
    if (ok)
        rc = finish_response(r, req);
    else if (r.broken)
        PyErr_Clear(); // the client left: nothing to report
    else
        report_exception(req, "WSGI app", outcome(r));
    Py_XDECREF(body);
    Py_XDECREF(environ);

    // A kept object raises from now on; a kept one is not reused.
    unbind_input(t->input);
    if (Py_REFCNT(t->input) > 1)
        Py_CLEAR(t->input);
    bind_responder(t->responder, nullptr);
    if (!responder_reusable(t->responder))
        drop_responder(*t);
    if (rc != 0)
        ctx.header_count = 0;
    return rc;
}

} // namespace

bool add_wsgi_types(PyObject *module)
{
    return (g_close = PyUnicode_InternFromString("close")) != nullptr && init_environ() &&
           add_input_type(module) && add_responder_type(module);
}

int on_wsgi_request(hb_response res, const hb_request *req, void *user_data)
{
    const auto *mounted = static_cast<const WsgiApp *>(user_data);
    ThreadContext *ctx = thread_context();
    if (ctx == nullptr || HBPY_FINALIZING())
        return -1;
    PyEval_RestoreThread(ctx->tstate);
    int rc = call_app(*ctx, *mounted, res, *req);
    PyEval_SaveThread();
    return rc;
}

void Server::handle_wsgi(py::object app, py::dict base_environ)
{
    if (!usable() || started_)
        throw std::runtime_error("a WSGI app must be mounted before the server starts");
    if (!PyCallable_Check(app.ptr()))
        throw py::type_error("the WSGI app must be callable");
    if (!routes_.empty() || !wsgi_apps_.empty())
        throw py::value_error("a WSGI app serves every path: mount it alone");
    WsgiApp &mounted = wsgi_apps_.emplace_back();
    mounted.app = app.release().ptr();
    if ((mounted.environ_template = make_environ_template(base_environ.ptr())) == nullptr) {
        wsgi_apps_.pop_back();
        throw py::error_already_set();
    }
    int rc = hb_server_handle(server_, "/", on_wsgi_request, &mounted);
    if (rc != HB_OK) {
        wsgi_apps_.pop_back();
        throw py::value_error(std::string("cannot mount the WSGI app: ") + hb_strerror(rc));
    }
}

} // namespace hbpy
