// The server's life through the C ABI: create, handle, listen, start, wait,
// stop (from any thread, from a signal handler, with requests in flight), free;
// io threads and their hooks; errors, strerror and the version.
#include "server_fixture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <climits>
#include <csignal>
#include <cstring>
#include <set>
#include <stdexcept>
#include <thread>

namespace
{

using hbtest::Latch;
using hbtest::TestServer;

// A created server, freed at the end of the scope.
struct Created {
    explicit Created(const hb_options &options = hbtest::test_options())
    {
        EXPECT_EQ(hb_server_create(&options, &srv), HB_OK);
    }
    ~Created() { hb_server_free(srv); }
    hb_server *srv = nullptr;
};

int answer_ok(hb_response res, const hb_request *, void *)
{
    return hb_response_write(res, "ok", 2);
}

// ---- errors and version ----------------------------------------------------

TEST(Lifecycle, StrerrorNamesEveryCode)
{
    std::set<std::string> texts;
    for (int code = HB_E_TIMEOUT; code <= HB_OK; ++code) {
        const char *text = hb_strerror(code);
        ASSERT_NE(text, nullptr) << code;
        EXPECT_GT(std::strlen(text), 0u) << code;
        texts.insert(text);
    }
    EXPECT_EQ(texts.size(), static_cast<std::size_t>(HB_OK - HB_E_TIMEOUT + 1)) << "two codes share a text";
    for (int unknown : {1, HB_E_TIMEOUT - 1, -1000, INT_MIN, INT_MAX}) {
        const char *text = hb_strerror(unknown);
        ASSERT_NE(text, nullptr);
        EXPECT_GT(std::strlen(text), 0u);
    }
}

TEST(Lifecycle, VersionMatchesTheMacros)
{
    EXPECT_EQ(hb_version(), static_cast<unsigned>(HB_VERSION_NUMBER));
    std::string expected = std::to_string(HB_VERSION_MAJOR) + "." + std::to_string(HB_VERSION_MINOR) + "." +
                           std::to_string(HB_VERSION_PATCH);
    EXPECT_EQ(std::string(hb_version_string()), expected);
}

TEST(Lifecycle, OptionsInitGivesTheDocumentedDefaults)
{
    hb_options o;
    std::memset(&o, 0xab, sizeof o);
    hb_options_init(&o);
    EXPECT_EQ(o.io_threads, 1u);
    EXPECT_EQ(o.header_limit, 8192u);
    EXPECT_EQ(o.body_limit, std::size_t{8} << 20);
    EXPECT_EQ(o.read_timeout_ms, 10000u);
    EXPECT_EQ(o.idle_timeout_ms, 60000u);
    EXPECT_EQ(o.drain_timeout_ms, 5000u);
    EXPECT_EQ(o.reuse_port, 0);
    EXPECT_EQ(o.on_thread_start, nullptr);
    EXPECT_EQ(o.on_thread_stop, nullptr);
    EXPECT_EQ(o.hook_data, nullptr);
    hb_options_init(nullptr); // harmless
}

// ---- misuse is an error code, never a crash --------------------------------

TEST(Lifecycle, CreateRejectsBadArguments)
{
    hb_server *srv = reinterpret_cast<hb_server *>(1);
    EXPECT_EQ(hb_server_create(nullptr, nullptr), HB_E_INVAL);
    hb_options o = hbtest::test_options();
    o.io_threads = 0;
    EXPECT_EQ(hb_server_create(&o, &srv), HB_E_INVAL);
    EXPECT_EQ(srv, nullptr);
    o = hbtest::test_options();
    o.read_timeout_ms = 0;
    EXPECT_EQ(hb_server_create(&o, &srv), HB_E_INVAL);
    o = hbtest::test_options();
    o.header_limit = 0;
    EXPECT_EQ(hb_server_create(&o, &srv), HB_E_INVAL);

    ASSERT_EQ(hb_server_create(nullptr, &srv), HB_OK); // NULL options: the defaults
    ASSERT_NE(srv, nullptr);
    hb_server_free(srv);
}

TEST(Lifecycle, NullServerIsRefusedEverywhere)
{
    EXPECT_EQ(hb_server_handle(nullptr, "/", answer_ok, nullptr), HB_E_INVAL);
    EXPECT_EQ(hb_server_listen(nullptr, "127.0.0.1", 0), HB_E_INVAL);
    EXPECT_EQ(hb_server_port(nullptr), HB_E_INVAL);
    EXPECT_EQ(hb_server_start(nullptr), HB_E_INVAL);
    EXPECT_EQ(hb_server_wait(nullptr, 0), HB_E_INVAL);
    EXPECT_EQ(hb_server_serve(nullptr), HB_E_INVAL);
    hb_server_stop(nullptr);
    hb_server_free(nullptr);
}

TEST(Lifecycle, HandleRejectsBadPatterns)
{
    Created c;
    EXPECT_EQ(hb_server_handle(c.srv, nullptr, answer_ok, nullptr), HB_E_INVAL);
    EXPECT_EQ(hb_server_handle(c.srv, "/", nullptr, nullptr), HB_E_INVAL);
    EXPECT_EQ(hb_server_handle(c.srv, "", answer_ok, nullptr), HB_E_INVAL);
    EXPECT_EQ(hb_server_handle(c.srv, "no-slash", answer_ok, nullptr), HB_E_INVAL);
    EXPECT_EQ(hb_server_handle(c.srv, "/dup", answer_ok, nullptr), HB_OK);
    EXPECT_EQ(hb_server_handle(c.srv, "/dup", answer_ok, nullptr), HB_E_INVAL);
}

TEST(Lifecycle, CallsOutOfOrderAreStateErrors)
{
    Created c;
    EXPECT_EQ(hb_server_port(c.srv), HB_E_STATE);
    EXPECT_EQ(hb_server_start(c.srv), HB_E_STATE); // not listening yet
    ASSERT_EQ(hb_server_handle(c.srv, "/", answer_ok, nullptr), HB_OK);
    ASSERT_EQ(hb_server_listen(c.srv, "127.0.0.1", 0), HB_OK);
    EXPECT_EQ(hb_server_listen(c.srv, "127.0.0.1", 0), HB_E_STATE);
    ASSERT_EQ(hb_server_start(c.srv), HB_OK);
    EXPECT_EQ(hb_server_start(c.srv), HB_E_STATE);
    EXPECT_EQ(hb_server_handle(c.srv, "/late", answer_ok, nullptr), HB_E_STATE);
    hb_server_stop(c.srv);
    EXPECT_EQ(hb_server_wait(c.srv, 10000), HB_OK);
}

// ---- listen ------------------------------------------------------------------

TEST(Lifecycle, ListenOnABusyPortIsAddrInUse)
{
    TestServer first;
    first.route("/", [](hb_response res, const hb_request &) { return hb_response_write(res, "first", 5); });
    first.start();

    Created second;
    EXPECT_EQ(hb_server_listen(second.srv, "127.0.0.1", static_cast<unsigned>(first.port())), HB_E_ADDRINUSE);
    // The first server is unharmed.
    auto r = first.connect().request(hbtest::get("/"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "first");
}

TEST(Lifecycle, ListenOnAPortHeldByAnotherSocketIsAddrInUse)
{
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len), 0);

    Created c;
    EXPECT_EQ(hb_server_listen(c.srv, "127.0.0.1", ntohs(addr.sin_port)), HB_E_ADDRINUSE);
    ::close(fd);
}

TEST(Lifecycle, ReusePortLetsTwoServersShareAPort)
{
    hb_options o = hbtest::test_options();
    o.reuse_port = 1;
    Created a(o), b(o);
    ASSERT_EQ(hb_server_listen(a.srv, "127.0.0.1", 0), HB_OK);
    int port = hb_server_port(a.srv);
    EXPECT_EQ(hb_server_listen(b.srv, "127.0.0.1", static_cast<unsigned>(port)), HB_OK);
    EXPECT_EQ(hb_server_port(b.srv), port);
}

TEST(Lifecycle, ListenRejectsBadHosts)
{
    for (const char *host : {"not-an-ip", "localhost", "", "127.0.0.256", "1.2.3.4.5", "::g", "127.0.0.1 "}) {
        Created c;
        EXPECT_EQ(hb_server_listen(c.srv, host, 0), HB_E_ADDRESS) << "'" << host << "'";
    }
    {
        Created c; // a numeric address this machine does not have (TEST-NET-1)
        EXPECT_EQ(hb_server_listen(c.srv, "192.0.2.1", 0), HB_E_ADDRESS);
    }
    {
        Created c;
        EXPECT_EQ(hb_server_listen(c.srv, nullptr, 0), HB_E_INVAL);
        EXPECT_EQ(hb_server_listen(c.srv, "127.0.0.1", 65536), HB_E_INVAL);
        // A failed listen leaves the server usable.
        EXPECT_EQ(hb_server_listen(c.srv, "127.0.0.1", 0), HB_OK);
        EXPECT_GT(hb_server_port(c.srv), 0);
    }
}

// ---- start, wait, stop, free ---------------------------------------------------

TEST(Lifecycle, WaitTimesOutWhileServing)
{
    TestServer server;
    server.route("/", [](hb_response, const hb_request &) { return 0; });
    server.start();
    EXPECT_EQ(hb_server_wait(server.raw(), 0), HB_E_TIMEOUT);
    EXPECT_EQ(hb_server_wait(server.raw(), 50), HB_E_TIMEOUT);
    EXPECT_EQ(server.probe(), 200); // still serving
    hb_server_stop(server.raw());
    EXPECT_EQ(hb_server_wait(server.raw(), 10000), HB_OK);
    EXPECT_EQ(hb_server_wait(server.raw(), 0), HB_OK); // and again: already stopped
}

TEST(Lifecycle, StopIsIdempotentAndSeveralThreadsMayWait)
{
    TestServer server;
    server.route("/", [](hb_response, const hb_request &) { return 0; });
    server.start();
    std::atomic<int> results[3] = {{HB_E_STATE}, {HB_E_STATE}, {HB_E_STATE}};
    std::vector<std::thread> waiters;
    for (auto &result : results)
        waiters.emplace_back([&] { result = hb_server_wait(server.raw(), 10000); });
    hb_server_stop(server.raw());
    hb_server_stop(server.raw());
    for (auto &t : waiters)
        t.join();
    for (auto &result : results)
        EXPECT_EQ(result.load(), HB_OK);
    hb_server_stop(server.raw()); // after it has stopped: still harmless
}

TEST(Lifecycle, StopClosesIdleKeepAliveConnections)
{
    TestServer server;
    server.route("/", [](hb_response res, const hb_request &) { return hb_response_write(res, "x", 1); });
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.request(hbtest::get("/")));
    hb_server_stop(server.raw());
    EXPECT_EQ(hb_server_wait(server.raw(), 10000), HB_OK);
    EXPECT_TRUE(client.read_until_close().has_value());
}

TEST(Lifecycle, StopBeforeStartMakesStartANoOp)
{
    Created c;
    ASSERT_EQ(hb_server_handle(c.srv, "/", answer_ok, nullptr), HB_OK);
    ASSERT_EQ(hb_server_listen(c.srv, "127.0.0.1", 0), HB_OK);
    hb_server_stop(c.srv);
    EXPECT_EQ(hb_server_start(c.srv), HB_OK);
    EXPECT_EQ(hb_server_wait(c.srv, 10000), HB_OK);
    EXPECT_EQ(hb_server_serve(c.srv), HB_E_STATE); // it is over; it does not block
}

TEST(Lifecycle, ServeBlocksUntilStopped)
{
    Created c;
    ASSERT_EQ(hb_server_handle(c.srv, "/", answer_ok, nullptr), HB_OK);
    ASSERT_EQ(hb_server_listen(c.srv, "127.0.0.1", 0), HB_OK);
    int port = hb_server_port(c.srv);
    std::atomic<int> served{HB_E_STATE};
    std::thread serving([&] { served = hb_server_serve(c.srv); });
    // The port listens already; the request waits in the backlog until serve starts.
    auto r = hbtest::Client(port).request(hbtest::get("/"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "ok");
    hb_server_stop(c.srv);
    serving.join();
    EXPECT_EQ(served.load(), HB_OK);
}

TEST(Lifecycle, FreeStopsARunningServer)
{
    hb_server *srv = nullptr;
    ASSERT_EQ(hb_server_create(nullptr, &srv), HB_OK);
    ASSERT_EQ(hb_server_handle(srv, "/", answer_ok, nullptr), HB_OK);
    ASSERT_EQ(hb_server_listen(srv, "127.0.0.1", 0), HB_OK);
    ASSERT_EQ(hb_server_start(srv), HB_OK);
    hbtest::Client idle(hb_server_port(srv));
    ASSERT_TRUE(idle.request(hbtest::get("/")));
    hb_server_free(srv); // stop + drain + join, no explicit stop
    EXPECT_TRUE(idle.read_until_close().has_value());
}

TEST(Lifecycle, FreeWithoutStartOrListen)
{
    hb_server *srv = nullptr;
    ASSERT_EQ(hb_server_create(nullptr, &srv), HB_OK);
    hb_server_free(srv);
    ASSERT_EQ(hb_server_create(nullptr, &srv), HB_OK);
    ASSERT_EQ(hb_server_listen(srv, "127.0.0.1", 0), HB_OK);
    hb_server_free(srv);
}

// The handler is blocked when stop is called from another thread: the request
// still gets its whole answer, and wait returns once it has.
TEST(Lifecycle, StopWithARequestInFlightLetsItFinish)
{
    hb_options o = hbtest::test_options();
    o.io_threads = 2;
    o.drain_timeout_ms = 10000; // long: the handler decides when it ends
    TestServer server(o);
    Latch entered, release;
    std::string body(100000, 'z');
    server.route("/slow", [&](hb_response res, const hb_request &) {
        entered.open();
        if (!release.wait_for(10000))
            return -1;
        return hb_response_write(res, body.data(), body.size());
    });
    server.start();

    // The first connection goes to the io thread that also accepts; the second
    // to the other one, so that the stop is seen while the handler is blocked.
    auto bystander = server.connect();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/slow")));
    ASSERT_TRUE(entered.wait_for(5000)) << "the handler never ran";

    std::thread([&] { hb_server_stop(server.raw()); }).join();
    EXPECT_EQ(hb_server_wait(server.raw(), 100), HB_E_TIMEOUT) << "stopped without draining";
    EXPECT_TRUE(bystander.read_until_close().has_value()) << "idle connection kept open while stopping";

    release.open();
    auto r = client.read_response();
    ASSERT_TRUE(r) << "the in-flight request lost its answer";
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->body == body);
    EXPECT_EQ(hb_server_wait(server.raw(), 10000), HB_OK);
    EXPECT_TRUE(client.read_until_close().has_value());
}

// Stop while a request is half received: the rest still arrives and is
// answered, then the connection closes.
TEST(Lifecycle, StopWhileARequestArrivesStillAnswersIt)
{
    hb_options o = hbtest::test_options();
    o.drain_timeout_ms = 10000;
    TestServer server(o);
    server.route("/", [](hb_response res, const hb_request &) { return hb_response_write(res, "done", 4); });
    server.start();
    auto client = server.connect();
    std::string request = hbtest::post("/upload", std::string(1000, 'u'));
    ASSERT_TRUE(client.send(std::string_view(request).substr(0, 500)));
    EXPECT_EQ(server.probe(), 200); // the first half has surely been read by now
    hb_server_stop(server.raw());
    ASSERT_TRUE(client.send(std::string_view(request).substr(500)));
    auto r = client.read_response();
    ASSERT_TRUE(r) << "the request under way lost its answer";
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "done");
    EXPECT_TRUE(client.read_until_close().has_value());
    EXPECT_EQ(hb_server_wait(server.raw(), 10000), HB_OK);
}

TEST(Lifecycle, StopClosesAHalfReceivedRequestAfterTheDrainTimeout)
{
    hb_options o = hbtest::test_options();
    o.read_timeout_ms = 60000; // so only the drain timeout can end it
    o.drain_timeout_ms = 200;
    TestServer server(o);
    server.route("/", [](hb_response, const hb_request &) { return 0; });
    server.start();
    auto slow = server.connect();
    ASSERT_TRUE(slow.send("GET /never-fin"));
    EXPECT_EQ(server.probe(), 200); // the half request has surely been read by now
    hb_server_stop(server.raw());
    EXPECT_EQ(hb_server_wait(server.raw(), 10000), HB_OK);
    EXPECT_TRUE(slow.read_until_close().has_value());
}

hb_server *g_signalled_server = nullptr;

extern "C" void stop_on_signal(int)
{
    hb_server_stop(g_signalled_server);
}

TEST(Lifecycle, StopFromASignalHandler)
{
    TestServer server;
    server.route("/", [](hb_response, const hb_request &) { return 0; });
    server.start();
    g_signalled_server = server.raw();
    struct sigaction action {
    }, previous{};
    action.sa_handler = stop_on_signal;
    sigemptyset(&action.sa_mask);
    ASSERT_EQ(sigaction(SIGUSR1, &action, &previous), 0);
    ASSERT_EQ(raise(SIGUSR1), 0);
    EXPECT_EQ(hb_server_wait(server.raw(), 10000), HB_OK);
    sigaction(SIGUSR1, &previous, nullptr);
    g_signalled_server = nullptr;
}

// ---- io threads and their hooks ---------------------------------------------

struct HookLog {
    std::mutex mutex;
    std::multiset<std::thread::id> started, stopped;
};

extern "C" void on_start(void *data)
{
    auto *log = static_cast<HookLog *>(data);
    std::lock_guard<std::mutex> lock(log->mutex);
    log->started.insert(std::this_thread::get_id());
}

extern "C" void on_stop(void *data)
{
    auto *log = static_cast<HookLog *>(data);
    std::lock_guard<std::mutex> lock(log->mutex);
    log->stopped.insert(std::this_thread::get_id());
}

TEST(Lifecycle, ThreadHooksRunOncePerIoThread)
{
    HookLog log;
    hb_options o = hbtest::test_options();
    o.io_threads = 3;
    o.on_thread_start = on_start;
    o.on_thread_stop = on_stop;
    o.hook_data = &log;
    std::mutex handler_mutex;
    std::set<std::thread::id> handler_threads;
    {
        TestServer server(o);
        server.route("/", [&](hb_response, const hb_request &) {
            std::lock_guard<std::mutex> lock(handler_mutex);
            handler_threads.insert(std::this_thread::get_id());
            return 0;
        });
        server.start();
        for (int i = 0; i < 3; ++i) // one connection per io thread, round-robin
            EXPECT_EQ(server.probe(), 200);
        hb_server_stop(server.raw());
        ASSERT_EQ(hb_server_wait(server.raw(), 10000), HB_OK);
    }
    std::lock_guard<std::mutex> lock(log.mutex);
    EXPECT_EQ(log.started.size(), 3u);
    EXPECT_EQ(std::set<std::thread::id>(log.started.begin(), log.started.end()).size(), 3u);
    EXPECT_EQ(log.started, log.stopped);
    EXPECT_EQ(log.started.count(std::this_thread::get_id()), 0u);
    for (auto id : handler_threads)
        EXPECT_EQ(log.started.count(id), 1u) << "a handler ran off the io threads";
    EXPECT_EQ(handler_threads.size(), 3u);
}

TEST(Lifecycle, ManyClientsOnFourIoThreadsAreAllAnswered)
{
    constexpr int kClients = 8, kRequests = 50;
    hb_options o = hbtest::test_options();
    o.io_threads = 4;
    TestServer server(o);
    std::mutex mutex;
    std::set<std::thread::id> handler_threads;
    server.route("/", [&](hb_response res, const hb_request &req) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            handler_threads.insert(std::this_thread::get_id());
        }
        return hb_response_write(res, req.path.data, req.path.len);
    });
    server.start();

    std::atomic<int> answered{0}, wrong{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c)
        clients.emplace_back([&, c] {
            auto client = server.connect();
            for (int i = 0; i < kRequests; ++i) {
                std::string path = "/c" + std::to_string(c) + "/r" + std::to_string(i);
                auto r = client.request(hbtest::get(path));
                if (r && r->status == 200 && r->body == path)
                    ++answered;
                else
                    ++wrong;
            }
        });
    for (auto &t : clients)
        t.join();
    EXPECT_EQ(answered.load(), kClients * kRequests);
    EXPECT_EQ(wrong.load(), 0);
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(handler_threads.size(), 4u) << "connections were not spread over every io thread";
}

// ---- handlers through the bare C ABI ------------------------------------------

int echo_user_data(hb_response res, const hb_request *, void *user_data)
{
    const char *text = static_cast<const char *>(user_data);
    return hb_response_write(res, text, std::strlen(text));
}

TEST(Lifecycle, UserDataIsPassedBackUntouched)
{
    static const char first[] = "first", second[] = "second";
    Created c;
    ASSERT_EQ(hb_server_handle(c.srv, "/a", echo_user_data, const_cast<char *>(first)), HB_OK);
    ASSERT_EQ(hb_server_handle(c.srv, "/b", echo_user_data, const_cast<char *>(second)), HB_OK);
    ASSERT_EQ(hb_server_listen(c.srv, "127.0.0.1", 0), HB_OK);
    ASSERT_EQ(hb_server_start(c.srv), HB_OK);
    hbtest::Client client(hb_server_port(c.srv));
    auto a = client.request(hbtest::get("/a"));
    auto b = client.request(hbtest::get("/b"));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(a->body, "first");
    EXPECT_EQ(b->body, "second");
}

std::atomic<hb_response> g_thrower_handle{0};

int throwing_handler(hb_response res, const hb_request *, void *)
{
    g_thrower_handle = res;
    hb_response_write(res, "partial", 7);
    throw std::runtime_error("handler failure (expected by the test)");
}

int use_thrower_handle(hb_response res, const hb_request *, void *)
{
    int rc = hb_response_write(g_thrower_handle.load(), "EVIL", 4);
    std::string text = std::to_string(rc);
    return hb_response_write(res, text.data(), text.size());
}

// One throw, then the handle it left behind is used from another connection
// on the same io thread: refused, never a write into a dead response.
TEST(Lifecycle, HandleOfAHandlerThatThrewIsStale)
{
    Created c;
    ASSERT_EQ(hb_server_handle(c.srv, "/throw", throwing_handler, nullptr), HB_OK);
    ASSERT_EQ(hb_server_handle(c.srv, "/use", use_thrower_handle, nullptr), HB_OK);
    ASSERT_EQ(hb_server_listen(c.srv, "127.0.0.1", 0), HB_OK);
    ASSERT_EQ(hb_server_start(c.srv), HB_OK);
    int port = hb_server_port(c.srv);
    {
        hbtest::Client client(port);
        auto r = client.request(hbtest::get("/throw"));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 500);
        EXPECT_EQ(r->body, "Internal Server Error\n");
    }
    auto used = hbtest::Client(port).request(hbtest::get("/use"));
    ASSERT_TRUE(used);
    EXPECT_EQ(used->body, std::to_string(HB_E_HANDLE));
}

// A C++ handler that throws gets a 500; its handle is retired all the same,
// and the server keeps answering (no handle slots leak).
TEST(Lifecycle, ThrowingHandlerGets500AndItsHandleGoesStale)
{
    Created c;
    ASSERT_EQ(hb_server_handle(c.srv, "/throw", throwing_handler, nullptr), HB_OK);
    ASSERT_EQ(hb_server_handle(c.srv, "/use", use_thrower_handle, nullptr), HB_OK);
    ASSERT_EQ(hb_server_handle(c.srv, "/ok", answer_ok, nullptr), HB_OK);
    ASSERT_EQ(hb_server_listen(c.srv, "127.0.0.1", 0), HB_OK);
    ASSERT_EQ(hb_server_start(c.srv), HB_OK);
    int port = hb_server_port(c.srv);
    {
        hbtest::Client client(port);
        for (int i = 0; i < 300; ++i) {
            auto r = client.request(hbtest::get("/throw"));
            ASSERT_TRUE(r) << "request " << i;
            ASSERT_EQ(r->status, 500) << "request " << i;
        }
    }
    hbtest::Client client(port);
    auto used = client.request(hbtest::get("/use"));
    ASSERT_TRUE(used);
    EXPECT_EQ(used->body, std::to_string(HB_E_HANDLE));
    auto ok = client.request(hbtest::get("/ok"));
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
    EXPECT_EQ(ok->body, "ok");
}

} // namespace
