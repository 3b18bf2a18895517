// What a handler may do to the server it runs on, and what no input can do to
// the ABI: waiting for or freeing its own server, absurd lengths.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <string>

namespace
{

using hbtest::TestServer;

// hb_server_wait from a handler: the server cannot drain while its handler
// waits for it, so it is an error at once, never a deadlock.
TEST(Lifetime, WaitFromAHandlerIsAStateErrorNotADeadlock)
{
    TestServer server;
    hb_server *srv = nullptr;
    server.route("/", [&srv](hb_response res, const hb_request &) {
        std::string rc = std::to_string(hb_server_wait(srv, -1)) + " " + std::to_string(hb_server_serve(srv));
        return hb_response_write(res, rc.data(), rc.size());
    });
    srv = server.raw();
    server.start();
    auto r = server.connect().request(hbtest::get("/"));
    ASSERT_TRUE(r);
    // serve = start (already running: a state error) then wait.
    EXPECT_EQ(r->body, std::to_string(HB_E_STATE) + " " + std::to_string(HB_E_STATE));
}

// hb_server_free from one of its own handlers stops the server but does not
// free it under the handler (nor under requests in flight on other threads).
TEST(Lifetime, FreeFromAHandlerStopsWithoutFreeingUnderIt)
{
    hb_options o = hbtest::test_options();
    o.io_threads = 2;
    hb_server *srv = nullptr;
    ASSERT_EQ(hb_server_create(&o, &srv), HB_OK);
    static std::atomic<int> after_free{0};
    after_free = 0;
    auto handler = [](hb_response res, const hb_request *, void *user_data) {
        hb_server_free(static_cast<hb_server *>(user_data));
        after_free += 1;
        // The request and the response are still ours to use.
        return hb_response_write(res, "still here", 10);
    };
    ASSERT_EQ(hb_server_handle(srv, "/", handler, srv), HB_OK);
    ASSERT_EQ(hb_server_listen(srv, "127.0.0.1", 0), HB_OK);
    ASSERT_EQ(hb_server_start(srv), HB_OK);
    auto r = hbtest::Client(hb_server_port(srv)).request(hbtest::get("/"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "still here");
    EXPECT_EQ(after_free.load(), 1);
    // It stopped: the test thread may wait for it (and then it is leaked, by design).
    EXPECT_EQ(hb_server_wait(srv, 5000), HB_OK);
}

// An absurd length is an error code; no length_error crosses the ABI.
TEST(Lifetime, AnAbsurdLengthIsAnErrorNotAnException)
{
    TestServer server;
    server.route("/", [](hb_response res, const hb_request &) {
        static const char byte = 'x';
        std::string rc = std::to_string(hb_response_write(res, &byte, SIZE_MAX));
        return hb_response_write(res, rc.data(), rc.size());
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, std::to_string(HB_E_NOMEM));
}

} // namespace
