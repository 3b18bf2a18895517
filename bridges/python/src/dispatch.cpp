// The one crossing per request, and the thread states it runs on.
//
// What keeps it cheap (each measured against servers/c-callback):
//   - every io thread owns one PyThreadState, made when the thread starts; a
//     request swaps it in with PyEval_RestoreThread and out with
//     PyEval_SaveThread. PyGILState_Ensure would look one up (or build and tear
//     one down) on every call;
//   - routing and the 405 answer happen before the GIL is taken;
//   - the Request and ResponseWriter objects are reused from request to
//     request; only when a handler keeps one (its refcount says so) is it left
//     unbound for good and a fresh one made;
//   - the handler is called through vectorcall with both objects on the stack;
//   - request fields become Python objects only when read (objects.cpp), and
//     writes go straight into the engine's buffer, sent once after we return.
#include "dispatch.hpp"

#include <cstring>

namespace hbpy
{
namespace
{

thread_local ThreadContext *t_context = nullptr;

bool iequals(std::string_view a, std::string_view b)
{
    auto lower = [](char c) {
        return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
    };
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

int answer_405(hb_response res, const Route &route)
{
    static const char body[] = "Method Not Allowed\n";
    hb_response_set_status(res, 405);
    hb_response_add_header(res, "Allow", 5, route.allow.data(), route.allow.size());
    hb_response_add_header(res, "Content-Type", 12, "text/plain", 10);
    return hb_response_write(res, body, sizeof body - 1);
}

} // namespace

// A handler raised: say which request on stderr, then the traceback. Not
// PyErr_Print: it would exit the process on SystemExit and keep the frames
// (and so the request objects) alive in sys.last_traceback.
void report_exception(const hb_request &req, const char *what, const char *outcome)
{
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != nullptr && value != nullptr)
        PyException_SetTraceback(value, traceback);
    PyObject *method =
        PyUnicode_DecodeLatin1(req.method.data, static_cast<Py_ssize_t>(req.method.len), nullptr);
    PyObject *target =
        PyUnicode_DecodeLatin1(req.target.data, static_cast<Py_ssize_t>(req.target.len), nullptr);
    if (method != nullptr && target != nullptr)
        PySys_FormatStderr("httpbridge: exception in %s for %U %U (%s)\n", what, method, target, outcome);
    PyErr_Clear();
    Py_XDECREF(method);
    Py_XDECREF(target);
    PyErr_Display(type, value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(traceback);
    PyErr_Clear();
}

namespace
{

// With the GIL held: bind the reused objects, call the handler, unbind.
int call_handler(ThreadContext &ctx, PyObject *handler, hb_response res, const hb_request &req)
{
    if (ctx.request == nullptr)
        ctx.request = new_request();
    if (ctx.writer == nullptr)
        ctx.writer = new_writer();
    RequestObject *request = ctx.request;
    WriterObject *writer = ctx.writer;
    if (request == nullptr || writer == nullptr) {
        report_exception(req);
        return -1;
    }
    bind_request(request, &req);
    writer->handle = res;
    writer->ctx = &ctx;
    ctx.header_count = 0;
    ctx.headers_sent = false;

    // Slot 0 is scratch space the callee may use (PY_VECTORCALL_ARGUMENTS_OFFSET).
    PyObject *args[3] = {nullptr, reinterpret_cast<PyObject *>(writer),
                         reinterpret_cast<PyObject *>(request)};
    PyObject *result = PyObject_Vectorcall(handler, args + 1, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, nullptr);
    int rc = 0;
    if (result == nullptr) {
        report_exception(req);
        rc = -1; // the engine answers 500 if nothing was sent yet
    } else {
        Py_DECREF(result); // the return value is ignored
        if ((rc = send_headers(ctx, res)) != HB_OK)
            PySys_WriteStderr("httpbridge: cannot send the response headers: %s\n", hb_strerror(rc));
    }

    // From here on a kept object raises when used; a kept one is not reused.
    unbind_request(request);
    writer->handle = 0;
    writer->ctx = nullptr;
    if (Py_REFCNT(request) > 1) {
        ctx.request = nullptr;
        Py_DECREF(request);
    }
    if (Py_REFCNT(writer) > 1) {
        ctx.writer = nullptr;
        Py_DECREF(writer);
    }
    return rc;
}

} // namespace

PyObject *Route::handler_for(hb_str method) const
{
    std::string_view m(method.data, method.len);
    for (const Endpoint &e : endpoints) {
        if (e.methods.empty())
            return e.handler;
        for (const std::string &allowed : e.methods)
            if (m == allowed || (m == "HEAD" && allowed == "GET"))
                return e.handler;
    }
    return nullptr;
}

void on_thread_start(void *hook_data)
{
    auto *interp = static_cast<PyInterpreterState *>(hook_data);
    auto *ctx = new ThreadContext;
    ctx->thread = pthread_self();
    // Needs no GIL; it also becomes this thread's PyGILState state, so C
    // extensions that call PyGILState_Ensure from a handler find it.
    ctx->tstate = PyThreadState_New(interp);
    if (ctx->tstate == nullptr) {
        delete ctx; // out of memory: this thread answers 500
        return;
    }
    t_context = ctx;
}

void on_thread_stop(void *)
{
    ThreadContext *ctx = t_context;
    t_context = nullptr;
    if (ctx == nullptr)
        return;
    if (HBPY_FINALIZING()) {
        // Taking the GIL now would end this thread inside CPython; leave it.
        return;
    }
    PyEval_RestoreThread(ctx->tstate);
    Py_CLEAR(ctx->request);
    Py_CLEAR(ctx->writer);
    if (ctx->free_wsgi != nullptr)
        ctx->free_wsgi(ctx->wsgi);
    PyThreadState_Clear(ctx->tstate);
    PyThreadState_DeleteCurrent(); // and releases the GIL
    delete ctx;
}

bool on_io_thread()
{
    return t_context != nullptr;
}

ThreadContext *thread_context()
{
    return t_context;
}

int on_request(hb_response res, const hb_request *req, void *user_data)
{
    const auto *route = static_cast<const Route *>(user_data);
    PyObject *handler = route->handler_for(req->method);
    if (handler == nullptr)
        return answer_405(res, *route);
    ThreadContext *ctx = t_context;
    if (ctx == nullptr || HBPY_FINALIZING())
        return -1;
    PyEval_RestoreThread(ctx->tstate);
    int rc = call_handler(*ctx, handler, res, *req);
    PyEval_SaveThread();
    return rc;
}

bool buffer_header(ThreadContext &ctx, std::string_view name, std::string_view value, bool replace)
{
    if (ctx.headers_sent) {
        PyErr_SetString(PyExc_RuntimeError, "status and headers were already sent by flush()");
        return false;
    }
    // The engine's rule, asked now so that the call that is wrong raises.
    if (const char *problem = hb_header_check(name.data(), name.size(), value.data(), value.size())) {
        PyObject *text = PyUnicode_DecodeLatin1(name.data(), static_cast<Py_ssize_t>(name.size()), nullptr);
        if (text != nullptr)
            PyErr_Format(PyExc_ValueError, "invalid header %R: %s", text, problem);
        Py_XDECREF(text);
        return false;
    }
    if (replace)
        remove_header(ctx, name);
    if (ctx.header_count == ctx.headers.size())
        ctx.headers.emplace_back();
    PendingHeader &h = ctx.headers[ctx.header_count++];
    h.name.assign(name);
    h.value.assign(value);
    return true;
}

std::size_t remove_header(ThreadContext &ctx, std::string_view name)
{
    std::size_t kept = 0;
    for (std::size_t i = 0; i < ctx.header_count; ++i) {
        if (iequals(ctx.headers[i].name, name))
            continue;
        if (kept != i)
            std::swap(ctx.headers[kept], ctx.headers[i]);
        ++kept;
    }
    std::size_t removed = ctx.header_count - kept;
    ctx.header_count = kept;
    return removed;
}

int send_headers(ThreadContext &ctx, hb_response res)
{
    if (ctx.headers_sent)
        return HB_OK;
    for (std::size_t i = 0; i < ctx.header_count; ++i) {
        const PendingHeader &h = ctx.headers[i];
        int rc = hb_response_add_header(res, h.name.data(), h.name.size(), h.value.data(), h.value.size());
        if (rc != HB_OK)
            return rc;
    }
    ctx.header_count = 0;
    ctx.headers_sent = true;
    return HB_OK;
}

} // namespace hbpy
