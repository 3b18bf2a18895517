#include "server.hpp"

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <set>
#include <thread>

namespace hbpy
{
namespace
{

constexpr int kWaitSliceMs = 100; // how soon a signal (Ctrl-C, SIGTERM) is noticed

std::set<Server *> &open_servers() // touched with the GIL held only
{
    static auto *servers = new std::set<Server *>;
    return *servers;
}

[[noreturn]] void raise_oserror(int err, const std::string &message)
{
    // OSError(errno, message) when the error has an errno, else OSError(message).
    PyObject *args =
        err != 0 ? Py_BuildValue("(is)", err, message.c_str()) : Py_BuildValue("(s)", message.c_str());
    if (args != nullptr) {
        PyErr_SetObject(PyExc_OSError, args);
        Py_DECREF(args);
    }
    throw py::error_already_set();
}

int errno_for(int rc)
{
    switch (rc) {
    case HB_E_ADDRINUSE: return EADDRINUSE;
    case HB_E_ADDRESS: return EADDRNOTAVAIL;
    default: return 0;
    }
}

std::string allow_header(const Route &route)
{
    std::vector<std::string> methods;
    for (const Endpoint &e : route.endpoints)
        for (const std::string &m : e.methods) {
            methods.push_back(m);
            if (m == "GET")
                methods.push_back("HEAD");
        }
    std::sort(methods.begin(), methods.end());
    methods.erase(std::unique(methods.begin(), methods.end()), methods.end());
    std::string allow;
    for (const std::string &m : methods)
        allow += (allow.empty() ? "" : ", ") + m;
    return allow;
}

void set_limits(hb_options &options, const std::map<std::string, long long> &limits)
{
    struct Field {
        const char *name;
        size_t *size;
        unsigned *count; // milliseconds, or max_connections
    } fields[] = {
        {"header_limit", &options.header_limit, nullptr},
        {"body_limit", &options.body_limit, nullptr},
        {"read_timeout_ms", nullptr, &options.read_timeout_ms},
        {"idle_timeout_ms", nullptr, &options.idle_timeout_ms},
        {"drain_timeout_ms", nullptr, &options.drain_timeout_ms},
        {"max_connections", nullptr, &options.max_connections},
    };
    for (const auto &[name, value] : limits) {
        Field *f = std::find_if(std::begin(fields), std::end(fields),
                                [&](const Field &x) { return name == x.name; });
        if (f == std::end(fields))
            throw py::value_error("unknown limit '" + name +
                                  "'; known: header_limit, body_limit, read_timeout_ms, idle_timeout_ms, "
                                  "drain_timeout_ms, max_connections");
        if (value < 0 || (f->count != nullptr && value > 0x7fffffff))
            throw py::value_error(name + " out of range: " + std::to_string(value));
        if (f->size != nullptr)
            *f->size = static_cast<size_t>(value);
        else
            *f->count = static_cast<unsigned>(value);
    }
}

} // namespace

Server::Server(long long threads, bool reuse_port, const std::map<std::string, long long> &limits)
{
    hb_options options;
    hb_options_init(&options);
    // The ranges are the engine's: a count that does not fit is as invalid as 0.
    options.io_threads = threads >= 0 && threads <= UINT_MAX ? static_cast<unsigned>(threads) : 0;
    options.reuse_port = reuse_port ? 1 : 0;
    options.on_thread_start = on_thread_start;
    options.on_thread_stop = on_thread_stop;
    options.hook_data = PyInterpreterState_Get();
    set_limits(options, limits);
    int rc = hb_server_create(&options, &server_);
    if (rc == HB_E_INVAL) {
        const char *problem = hb_options_check(&options);
        throw py::value_error("threads=" + std::to_string(threads) + ": " +
                              (problem != nullptr ? problem : hb_strerror(rc)));
    }
    if (rc != HB_OK)
        throw std::runtime_error(std::string("cannot create the server: ") + hb_strerror(rc));
    open_servers().insert(this);
}

// The last reference to a server dropped on an io thread (by a handler): it
// cannot drain and free there. An orphan takes over the engine server and the
// routes the engine points into, and stops it; close_all() frees it at exit.
// Nothing is left pointing at the Server being destroyed.
Server::Server(Orphan, Server &dropped)
    : server_(dropped.server_), routes_(std::move(dropped.routes_)),
      wsgi_apps_(std::move(dropped.wsgi_apps_)), started_(dropped.started_),
      listening_(dropped.listening_), orphan_(true)
{
    dropped.server_ = nullptr;
    open_servers().erase(&dropped);
    open_servers().insert(this);
    hb_server_stop(server_);
}

Server::~Server()
{
    if (usable() && on_io_thread()) {
        new Server(Orphan{}, *this);
        return;
    }
    try {
        close();
    } catch (...) {
        // close() raises only from an io thread, handled above.
    }
}

void Server::handle(const std::string &pattern, py::object handler,
                    std::optional<std::vector<std::string>> methods)
{
    if (!usable() || started_)
        throw std::runtime_error("routes must be added before the server starts");
    if (!PyCallable_Check(handler.ptr()))
        throw py::type_error("handler must be callable");
    // Method names arrive upper-case and without overlaps: httpbridge._app
    // checks routes once, for route() and Server(routes=...) alike.
    std::vector<std::string> wanted = methods ? std::move(*methods) : std::vector<std::string>{};
    auto route =
        std::find_if(routes_.begin(), routes_.end(), [&](const Route &r) { return r.pattern == pattern; });
    if (route == routes_.end()) {
        routes_.push_back(Route{pattern, {}, {}});
        route = std::prev(routes_.end());
        int rc = hb_server_handle(server_, pattern.c_str(), on_request, &*route);
        if (rc != HB_OK) {
            routes_.pop_back();
            throw py::value_error("cannot route '" + pattern + "': " + hb_strerror(rc));
        }
    }
    route->endpoints.push_back(Endpoint{std::move(wanted), handler.release().ptr()});
    route->allow = allow_header(*route);
}

void Server::listen(const std::string &host, unsigned port)
{
    if (!usable())
        throw std::runtime_error("the server is closed");
    int rc = hb_server_listen(server_, host.c_str(), port);
    if (rc != HB_OK) {
        std::string address = host.find(':') != std::string::npos ? "[" + host + "]" : host;
        raise_oserror(errno_for(rc),
                      "cannot listen on " + address + ":" + std::to_string(port) + ": " + hb_strerror(rc));
    }
    listening_ = true;
}

int Server::port() const
{
    if (!usable() || !listening_)
        throw std::runtime_error("the server is not listening");
    return hb_server_port(server_);
}

void Server::start()
{
    if (!usable())
        throw std::runtime_error("the server is closed");
    if (!listening_)
        throw std::runtime_error("listen() before start()");
    if (started_)
        return;
    int rc = hb_server_start(server_);
    if (rc != HB_OK)
        throw std::runtime_error(std::string("cannot start the server: ") + hb_strerror(rc));
    started_ = true;
}

int Server::wait_unlocked(int timeout_ms)
{
    waiters_.fetch_add(1); // with the GIL held: close() cannot free the server now
    int rc;
    {
        py::gil_scoped_release unlocked; // io threads run handlers meanwhile
        rc = hb_server_wait(server_, timeout_ms);
        waiters_.fetch_sub(1);
    }
    return rc;
}

bool Server::wait(std::optional<double> timeout)
{
    if (!usable() || !started_)
        return true;
    if (on_io_thread())
        throw std::runtime_error("a handler cannot wait for a server; call stop()");
    double left_ms = timeout ? std::max(0.0, *timeout * 1000.0) : HUGE_VAL;
    for (;;) {
        int slice = static_cast<int>(std::min<double>(left_ms, kWaitSliceMs));
        if (wait_unlocked(slice) == HB_OK || !usable())
            return true;
        if (PyErr_CheckSignals() != 0) // runs Python signal handlers; they may raise
            throw py::error_already_set();
        left_ms -= slice;
        if (left_ms <= 0)
            return false;
    }
}

void Server::serve()
{
    start();
    try {
        wait(std::nullopt);
    } catch (py::error_already_set &) {
        stop();
        if (usable())
            wait_unlocked(-1); // drain (bounded by the drain timeout)
        throw;
    }
}

void Server::stop()
{
    if (usable())
        hb_server_stop(server_);
}

void Server::close()
{
    if (!usable())
        return;
    if (on_io_thread())
        throw std::runtime_error("a server cannot be closed from a handler; call stop()");
    closing_ = true;
    hb_server_stop(server_);
    {
        py::gil_scoped_release unlocked; // draining handlers need the GIL
        hb_server_wait(server_, -1);
        while (waiters_.load() != 0) // other waiters return now that it has stopped
            std::this_thread::yield();
        hb_server_free(server_);
    }
    server_ = nullptr;
    for (Route &route : routes_)
        for (Endpoint &e : route.endpoints)
            Py_CLEAR(e.handler);
    routes_.clear();
    wsgi_apps_.clear();
    open_servers().erase(this);
}

void Server::close_all()
{
    std::vector<Server *> servers(open_servers().begin(), open_servers().end());
    for (Server *s : servers) {
        s->close();
        if (s->orphan_)
            delete s;
    }
}

} // namespace hbpy
