// An hb_server on 127.0.0.1 with a free port, driven only through httpbridge.h.
//
// Handlers are std::functions so a test can write them inline; they run on the
// server's io threads, so what they record must be handed back under a lock
// (see Recorder). The port is listening when start() returns: no test waits
// for readiness.
#pragma once

#include "httpbridge.h"
#include "test_client.hpp"

#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hbtest
{

using Handler = std::function<int(hb_response res, const hb_request &req)>;

// Defaults for tests: generous timeouts (no test depends on them unless it sets
// its own), and a short drain so teardown never waits long.
hb_options test_options();

std::string str(hb_str s);

// A string literal with its embedded NUL bytes: bytes("a\0b") has 3 bytes.
template <std::size_t N> std::string bytes(const char (&literal)[N])
{
    return std::string(literal, N - 1);
}

// A request view copied out of the handler, so the test thread can look at it.
struct SeenRequest {
    std::string method, target, path, query, host, remote_addr, body;
    std::vector<std::pair<std::string, std::string>> headers;
    int version = 0;
    int keep_alive = -1;
};
SeenRequest copy(const hb_request &req);

// Handlers record what they saw; the test reads it back under the same lock.
class Recorder
{
public:
    void add(const hb_request &req);
    std::vector<SeenRequest> all();
    SeenRequest last(); // a default SeenRequest when nothing was recorded

private:
    std::mutex mutex_;
    std::vector<SeenRequest> seen_;
};

class TestServer
{
public:
    explicit TestServer(const hb_options &options = test_options());
    ~TestServer(); // stop, wait, free
    TestServer(const TestServer &) = delete;
    TestServer &operator=(const TestServer &) = delete;

    // Register before start(); a failure to register fails the test.
    void route(const char *pattern, Handler handler);
    // Listen on 127.0.0.1:0 and start; a failure fails the test.
    void start();

    int port() const { return port_; }
    hb_server *raw() const { return srv_; }
    Client connect(int timeout_ms = 5000) const { return Client(port_, timeout_ms); }

    // "GET /" style probe on a fresh connection: the status, or 0 when no answer.
    int probe(const std::string &path = "/") const;

private:
    static int trampoline(hb_response res, const hb_request *req, void *user_data);

    hb_server *srv_ = nullptr;
    std::list<Handler> handlers_; // stable addresses: passed as user_data
    int port_ = -1;
};

// A one-shot gate: a handler waits on it, the test opens it.
class Latch
{
public:
    void open();
    void wait();
    bool wait_for(int timeout_ms); // false when still closed after the timeout

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool open_ = false;
};

} // namespace hbtest
