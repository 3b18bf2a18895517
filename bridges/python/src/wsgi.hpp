// WSGI (PEP 3333) on the engine: any WSGI app, served by the same io threads,
// thread states and one-crossing rule as the handler path (dispatch.cpp).
//
//   wsgi_environ.cpp         environ, built in C++ from the request view
//   wsgi_input.cpp           wsgi.input over the request body, read in place
//   wsgi_start_response.cpp  start_response() and write(), and the framing rules
//   wsgi_dispatch.cpp        the hb_handler: call the app, send its body, close()
#pragma once

#include "dispatch.hpp"

#include <cstdint>

namespace hbpy
{

// One mounted app; owned by its Server, which frees it (with the GIL) on close.
struct WsgiApp {
    PyObject *app = nullptr;              // strong
    PyObject *environ_template = nullptr; // strong: the keys every request shares
    WsgiApp() = default;
    WsgiApp(const WsgiApp &) = delete;
    WsgiApp &operator=(const WsgiApp &) = delete;
    ~WsgiApp(); // with the GIL held
};

// The hb_handler of a WSGI app; user_data is its WsgiApp.
int on_wsgi_request(hb_response res, const hb_request *req, void *user_data);

// ---- environ (wsgi_environ.cpp) ---------------------------------------------

// The WSGI types and interned strings, at import; false with a Python error set.
bool add_wsgi_types(PyObject *module);

// Intern the keys and common values. Once, at import; false with a Python error set.
bool init_environ();
// A copy of base (the server-wide keys, a dict) with interned keys; new reference or nullptr.
PyObject *make_environ_template(PyObject *base);
// The environ of one request: a fresh dict. New reference, or nullptr with an error set.
PyObject *build_environ(PyObject *environ_template, const hb_request &req, PyObject *input);

// ---- wsgi.input (wsgi_input.cpp) --------------------------------------------

// Create the type; false with a Python error set. (add_wsgi_types calls it.)
bool add_input_type(PyObject *module);
PyObject *new_input(); // an unbound wsgi.input, or nullptr with an error set
void bind_input(PyObject *input, hb_str body);
void unbind_input(PyObject *input); // afterwards every read raises ValueError

// ---- start_response and the response (wsgi_start_response.cpp) --------------

// One response in progress: what start_response set and how much of the body went out.
struct WsgiResponse {
    hb_response res = 0;
    ThreadContext *ctx = nullptr; // its header buffer holds the app's headers until sent
    bool started = false;         // start_response was called
    bool flushed = false;         // status and headers are on the wire (hb_response_flush)
    bool head = false;            // the request is a HEAD
    bool no_body = false;         // HEAD, or a status without a body: body bytes are counted, not sent
    bool broken = false;          // the client went away: stop producing
    bool overran = false;         // the app gave more than its Content-Length (dropped)
    int status = 200;
    std::int64_t declared = -1; // the app's Content-Length, or -1
    std::uint64_t produced = 0; // body bytes the app gave (up to declared)
};

// The start_response and write callables of one io thread, bound to one
// response while its app runs. new_responder() returns a new reference.
bool add_responder_type(PyObject *module);
PyObject *new_responder();
bool responder_reusable(PyObject *responder);            // the app kept none of it
PyObject *responder_start_response(PyObject *responder); // borrowed
void bind_responder(PyObject *responder, WsgiResponse *response);
void unbind_responder(PyObject *responder); // a kept callable then raises RuntimeError

// Add one body block: counted, clipped to the declared length, and sent now
// when more may follow (stream) and the declared length is not yet reached
// (the first such flush declares that length to the engine: no chunks).
// false with a Python error set (a ConnectionError when the client has gone).
bool send_block(WsgiResponse &r, const char *data, std::size_t len, bool stream);
// After the app's iterable ended: the rules that depend on the whole body.
// Returns the handler's result (0, or -1: cut the connection / answer 500).
int finish_response(WsgiResponse &r, const hb_request &req);

} // namespace hbpy
