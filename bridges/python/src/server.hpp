// The server's lifecycle for Python: cold paths, bound with pybind11.
#pragma once

#include "dispatch.hpp"
#include "wsgi.hpp"

#include <pybind11/pybind11.h>

#include <atomic>
#include <list>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hbpy
{

namespace py = pybind11;

class Server
{
public:
    // ValueError for options the engine refuses. limits: hb_options fields by
    // name (header_limit, body_limit, *_timeout_ms, max_connections).
    Server(long long threads, bool reuse_port, const std::map<std::string, long long> &limits = {});
    ~Server();
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    // Route pattern to handler for methods (None: all). Before start only.
    void handle(const std::string &pattern, py::object handler,
                std::optional<std::vector<std::string>> methods);
    // Serve every path with a WSGI app; base_environ holds the server-wide
    // keys. Alone, before start only (wsgi_dispatch.cpp).
    void handle_wsgi(py::object app, py::dict base_environ);
    // Bind; OSError naming host:port when that fails.
    void listen(const std::string &host, unsigned port);
    int port() const;
    void start();
    // Wait for the server to end, in slices with the GIL released, checking for
    // signals between them. True once it ended, False when timeout ran out.
    bool wait(std::optional<double> timeout);
    // start() (if needed) and wait(None); on an exception from a signal
    // handler, stop and drain first, then re-raise.
    void serve();
    void stop();  // async-signal-safe underneath; idempotent
    void close(); // stop, drain, join and free; idempotent

    // close() every server still open: the interpreter must not finalize under io threads.
    static void close_all();

private:
    struct Orphan {
    };
    Server(Orphan, Server &dropped); // takes over a server dropped where it cannot be freed

    bool usable() const { return server_ != nullptr && !closing_; } // with the GIL held
    int wait_unlocked(int timeout_ms);                              // hb_server_wait with the GIL released

    // Threads other than the one closing may be inside hb_server_wait with the
    // GIL released: close() marks closing_ (under the GIL), then frees the
    // server only once waiters_ is back to 0.
    hb_server *server_ = nullptr;
    bool closing_ = false;
    std::atomic<int> waiters_{0};
    std::list<Route> routes_;      // stable addresses: the engine keeps pointers to them
    std::list<WsgiApp> wsgi_apps_; // likewise
    bool started_ = false;
    bool listening_ = false;
    bool orphan_ = false; // owned by open_servers(), deleted by close_all()
};

} // namespace hbpy
