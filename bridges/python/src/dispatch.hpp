// The hot path: what happens on a server io thread for each request routed to
// a Python handler, and the per-thread state that makes it cheap.
#pragma once

#include "objects.hpp"

#include <pthread.h>

#include <string>
#include <string_view>
#include <vector>

// Whether the interpreter is shutting down (the name changed in 3.13).
#if PY_VERSION_HEX >= 0x030D0000
#define HBPY_FINALIZING() Py_IsFinalizing()
#else
#define HBPY_FINALIZING() _Py_IsFinalizing()
#endif

namespace hbpy
{

struct PendingHeader {
    std::string name;
    std::string value;
};

// One per server io thread: created by the on_thread_start hook, deleted by
// on_thread_stop. Touched only with the GIL held.
struct ThreadContext {
    PyThreadState *tstate = nullptr;  // persistent, swapped in and out per request
    pthread_t thread{};               // the io thread that owns it
    RequestObject *request = nullptr; // reused while no one else holds it
    WriterObject *writer = nullptr;   // likewise
    // Response headers of the running handler: [0, header_count) are live, the
    // rest keep their string capacity for the next request.
    std::vector<PendingHeader> headers;
    std::size_t header_count = 0;
    bool headers_sent = false; // by ResponseWriter.flush()
    // The WSGI path's reused objects (wsgi_dispatch.cpp); free_wsgi releases
    // them at thread stop, with the GIL held.
    void *wsgi = nullptr;
    void (*free_wsgi)(void *wsgi) = nullptr;
};

// Handlers registered for one pattern; methods empty means every method.
struct Endpoint {
    std::vector<std::string> methods; // upper case
    PyObject *handler;                // strong reference, owned by the Server
};

struct Route {
    std::string pattern;
    std::vector<Endpoint> endpoints;
    std::string allow; // the Allow header of a 405: "GET, HEAD, POST"

    // The handler for method, or nullptr (405). GET also answers HEAD. No GIL needed.
    PyObject *handler_for(hb_str method) const;
};

// hb_options hooks; hook_data is the PyInterpreterState the handlers run in.
void on_thread_start(void *hook_data);
void on_thread_stop(void *hook_data);

// The hb_handler of every Python route; user_data is its Route.
int on_request(hb_response res, const hb_request *req, void *user_data);

// Whether the calling thread is a server io thread (where a server must not be freed).
bool on_io_thread();

// The calling io thread's context; nullptr off the io threads (or when its thread state failed).
ThreadContext *thread_context();

// With the GIL held and a Python error set: say on stderr which request failed in what
// ("handler", "WSGI app") and how it ended, then the traceback; the error is cleared.
void report_exception(const hb_request &req, const char *what = "handler",
                      const char *outcome = "answered 500");

// Response headers, buffered in the context until the handler returns (or flushes).
// false with a Python error set.
bool buffer_header(ThreadContext &ctx, std::string_view name, std::string_view value, bool replace);
std::size_t remove_header(ThreadContext &ctx, std::string_view name);
int send_headers(ThreadContext &ctx, hb_response res); // hb error code

} // namespace hbpy
