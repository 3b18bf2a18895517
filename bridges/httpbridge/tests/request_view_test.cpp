// What a handler sees in hb_request, field by field, over a real socket; and
// that a response handle kept past its handler is refused, not obeyed.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iterator>

namespace
{

using hbtest::Recorder;
using hbtest::SeenRequest;
using hbtest::TestServer;
using Headers = std::vector<std::pair<std::string, std::string>>;

class RequestViewTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        server.route("/", [this](hb_response res, const hb_request &req) {
            recorder.add(req);
            return hb_response_write(res, "ok", 2);
        });
        server.start();
    }

    // Send one request on a fresh connection and return what the handler saw.
    SeenRequest roundtrip(const std::string &request, int *client_port = nullptr)
    {
        auto client = server.connect();
        if (client_port != nullptr)
            *client_port = client.local_port();
        auto r = client.request(request);
        EXPECT_TRUE(r.has_value());
        if (r) {
            EXPECT_EQ(r->status, 200);
        }
        return recorder.last();
    }

    TestServer server;
    Recorder recorder;
};

TEST_F(RequestViewTest, SimpleGetFillsEveryField)
{
    int client_port = 0;
    SeenRequest s = roundtrip("GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: example.test:8080\r\n\r\n", &client_port);
    EXPECT_EQ(s.method, "GET");
    EXPECT_EQ(s.target, "/a/b?x=1&y=2");
    EXPECT_EQ(s.path, "/a/b");
    EXPECT_EQ(s.query, "x=1&y=2");
    EXPECT_EQ(s.host, "example.test:8080");
    EXPECT_EQ(s.remote_addr, "127.0.0.1:" + std::to_string(client_port));
    EXPECT_EQ(s.version, 11);
    EXPECT_EQ(s.keep_alive, 1);
    EXPECT_EQ(s.body, "");
    EXPECT_EQ(s.headers, (Headers{{"Host", "example.test:8080"}}));
}

TEST_F(RequestViewTest, PathAndQuerySplitAtTheFirstQuestionMark)
{
    SeenRequest s = roundtrip("GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(s.path, "/p");
    EXPECT_EQ(s.query, "");

    s = roundtrip("GET /p? HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(s.target, "/p?");
    EXPECT_EQ(s.path, "/p");
    EXPECT_EQ(s.query, "");

    s = roundtrip("GET /p%20q?a=?b&c=%41 HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(s.path, "/p%20q"); // not percent-decoded
    EXPECT_EQ(s.query, "a=?b&c=%41");
}

TEST_F(RequestViewTest, MethodIsPassedAsSent)
{
    for (const char *method : {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"}) {
        SeenRequest s =
            roundtrip(std::string(method) + " /m HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        EXPECT_EQ(s.method, method);
    }
}

TEST_F(RequestViewTest, Http10WithoutKeepAlive)
{
    SeenRequest s = roundtrip("GET /old HTTP/1.0\r\n\r\n");
    EXPECT_EQ(s.version, 10);
    EXPECT_EQ(s.keep_alive, 0);
    EXPECT_EQ(s.host, ""); // absent
    EXPECT_TRUE(s.headers.empty());
}

TEST_F(RequestViewTest, Http10WithKeepAlive)
{
    SeenRequest s = roundtrip("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(s.version, 10);
    EXPECT_EQ(s.keep_alive, 1);
}

TEST_F(RequestViewTest, Http11WithConnectionClose)
{
    SeenRequest s = roundtrip("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(s.version, 11);
    EXPECT_EQ(s.keep_alive, 0);
}

TEST_F(RequestViewTest, HeadersInArrivalOrderWithRepeatsAndCaseKept)
{
    SeenRequest s = roundtrip("GET /h HTTP/1.1\r\n"
                              "x-lower: a\r\n"
                              "X-REPEAT: 1\r\n"
                              "Host: h\r\n"
                              "X-Repeat:   2  \r\n"
                              "x-repeat:3\r\n"
                              "Empty:\r\n"
                              "MiXeD-CaSe: Value With Spaces\r\n"
                              "\r\n");
    EXPECT_EQ(s.headers, (Headers{{"x-lower", "a"},
                                  {"X-REPEAT", "1"},
                                  {"Host", "h"},
                                  {"X-Repeat", "2"},
                                  {"x-repeat", "3"},
                                  {"Empty", ""},
                                  {"MiXeD-CaSe", "Value With Spaces"}}));
    EXPECT_EQ(s.host, "h");
}

TEST_F(RequestViewTest, BodyIsBinarySafe)
{
    std::string body;
    for (int round = 0; round < 4; ++round)
        for (int b = 0; b < 256; ++b)
            body.push_back(static_cast<char>(b));
    body.append(hbtest::bytes("\0\0\0end\0"));
    SeenRequest s = roundtrip(hbtest::post("/bin", body, "Content-Type: application/octet-stream\r\n"));
    EXPECT_EQ(s.body.size(), body.size());
    EXPECT_EQ(s.body, body);
}

TEST_F(RequestViewTest, ChunkedBodyIsDechunked)
{
    // A chunk extension, a NUL byte and a lone LF inside the chunks.
    std::string request = hbtest::bytes("POST /chunked HTTP/1.1\r\nHost: h\r\n"
                                        "Transfer-Encoding: chunked\r\n\r\n"
                                        "5\r\nhello\r\n"
                                        "7;ext=1\r\n, wor\0d\r\n"
                                        "1\r\n\n\r\n"
                                        "0\r\n\r\n");
    SeenRequest s = roundtrip(request);
    EXPECT_EQ(s.body, hbtest::bytes("hello, wor\0d\n"));
}

TEST_F(RequestViewTest, LargeBodyArrivingInPiecesIsWhole)
{
    std::string body(1 << 20, '\0');
    for (std::size_t i = 0; i < body.size(); ++i)
        body[i] = static_cast<char>((i * 7919) >> 3);
    auto client = server.connect();
    std::string request = hbtest::post("/big", body);
    // Three writes, split inside the head and inside the body.
    ASSERT_TRUE(client.send(std::string_view(request).substr(0, 20)));
    ASSERT_TRUE(client.send(std::string_view(request).substr(20, 100000)));
    ASSERT_TRUE(client.send(std::string_view(request).substr(100020)));
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    SeenRequest s = recorder.last();
    EXPECT_EQ(s.body.size(), body.size());
    EXPECT_TRUE(s.body == body);
}

// A long body is read straight into the request's storage, as much as is
// still due: the request pipelined right behind it, in the same write, must
// stay a request of its own, and the next long body on the connection must
// not inherit the first one's bytes.
TEST_F(RequestViewTest, LongBodiesBackToBackWithAPipelinedRequestStaySeparate)
{
    auto patterned = [](std::size_t n, int seed) {
        std::string b(n, '\0');
        for (std::size_t i = 0; i < n; ++i)
            b[i] = static_cast<char>((i * 31 + seed) >> 2);
        return b;
    };
    std::string first = patterned(300000, 1), second = patterned(200000, 7);
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::post("/long", first) + "GET /after HTTP/1.1\r\nHost: h\r\n\r\n" +
                            hbtest::post("/long2", second)));
    for (int i = 0; i < 3; ++i) {
        auto r = client.read_response();
        ASSERT_TRUE(r) << "answer " << i;
        EXPECT_EQ(r->status, 200);
    }
    auto seen = recorder.all();
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[0].path, "/long");
    EXPECT_TRUE(seen[0].body == first);
    EXPECT_EQ(seen[1].path, "/after");
    EXPECT_EQ(seen[1].body, "");
    EXPECT_EQ(seen[2].path, "/long2");
    EXPECT_EQ(seen[2].body.size(), second.size());
    EXPECT_TRUE(seen[2].body == second);
}

// The head alone first (the 100 Continue proves it was parsed with no body
// byte behind it), then the body: a body longer than one read (16 KiB) is
// read straight into the request's storage, which must still hold those bytes
// when the parser starts the body. Any other bytes there (freed memory,
// another request's body) would reach the handler instead. Sizes on both
// sides of that threshold, one connection, so later bodies reuse the storage.
TEST_F(RequestViewTest, LongBodySentAfterTheHeadAloneArrivesWhole)
{
    auto client = server.connect();
    const std::size_t sizes[] = {1, 16384, 16385, 100000, 1 << 20, 20000};
    for (std::size_t n = 0; n < std::size(sizes); ++n) {
        SCOPED_TRACE(sizes[n]);
        std::string body(sizes[n], '\0');
        for (std::size_t i = 0; i < body.size(); ++i) // no zero byte, no repeat per KiB, new per request
            body[i] = static_cast<char>('A' + (i * 13 + i / 1000 + n * 5) % 26);
        ASSERT_TRUE(client.send("POST /after-continue HTTP/1.1\r\nHost: h\r\nContent-Length: " +
                                std::to_string(body.size()) + "\r\nExpect: 100-continue\r\n\r\n"));
        auto interim = client.read_response();
        ASSERT_TRUE(interim);
        ASSERT_EQ(interim->status, 100);
        ASSERT_TRUE(client.send(body));
        auto r = client.read_response();
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        auto seen = recorder.all();
        ASSERT_EQ(seen.size(), n + 1);
        ASSERT_EQ(seen.back().body.size(), body.size());
        EXPECT_TRUE(seen.back().body == body)
            << "first difference at byte "
            << std::mismatch(body.begin(), body.end(), seen.back().body.begin()).first - body.begin();
    }
}

TEST_F(RequestViewTest, EachRequestOnAConnectionSeesOnlyItsOwnFields)
{
    auto client = server.connect();
    ASSERT_TRUE(client.request(hbtest::post("/first?q=1", "body one", "X-First: 1\r\nX-Both: a\r\n")));
    ASSERT_TRUE(client.request("GET /second HTTP/1.1\r\nHost: \r\nX-Both: b\r\n\r\n"));
    auto seen = recorder.all();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].path, "/first");
    EXPECT_EQ(seen[0].query, "q=1");
    EXPECT_EQ(seen[0].body, "body one");
    EXPECT_EQ(seen[1].method, "GET");
    EXPECT_EQ(seen[1].path, "/second");
    EXPECT_EQ(seen[1].query, "");
    EXPECT_EQ(seen[1].host, "");
    EXPECT_EQ(seen[1].body, "");
    EXPECT_EQ(seen[1].headers, (Headers{{"Host", ""}, {"X-Both", "b"}}));
    EXPECT_EQ(seen[0].remote_addr, seen[1].remote_addr);
}

TEST(RequestViewIpv6, RemoteAddressIsBracketed)
{
    TestServer server;
    Recorder recorder;
    server.route("/", [&](hb_response, const hb_request &req) {
        recorder.add(req);
        return 0;
    });
    int rc = hb_server_listen(server.raw(), "::1", 0);
    if (rc == HB_E_ADDRESS || rc == HB_E_SOCKET)
        GTEST_SKIP() << "no IPv6 loopback here: " << hb_strerror(rc);
    ASSERT_EQ(rc, HB_OK);
    ASSERT_EQ(hb_server_start(server.raw()), HB_OK);
    hbtest::Client client(hb_server_port(server.raw()), 5000, "::1");
    ASSERT_TRUE(client.connected());
    auto r = client.request(hbtest::get("/v6"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(recorder.last().remote_addr, "[::1]:" + std::to_string(client.local_port()));
}

// A handle kept after its handler returned is stale: using it from the test
// thread, or from the next request's handler, is an error that touches no response.
TEST(RequestViewHandle, KeptHandleIsStaleAfterTheHandlerReturns)
{
    TestServer server;
    std::atomic<hb_response> kept{0};
    std::atomic<int> stale_write{HB_OK}, stale_status{HB_OK}, stale_header{HB_OK}, stale_flush{HB_OK},
        stale_length{HB_OK}, stale_wait{HB_OK};
    server.route("/keep", [&](hb_response res, const hb_request &) {
        kept = res;
        return hb_response_write(res, "first", 5);
    });
    server.route("/next", [&](hb_response res, const hb_request &) {
        hb_response old = kept;
        stale_write = hb_response_write(old, "EVIL", 4);
        stale_status = hb_response_set_status(old, 503);
        stale_header = hb_response_add_header(old, "X-Evil", 6, "1", 1);
        stale_flush = hb_response_flush(old);
        stale_length = hb_response_set_length(old, 1);
        stale_wait = hb_response_wait(old);
        return hb_response_write(res, "second", 6);
    });
    server.start();

    auto client = server.connect();
    auto first = client.request(hbtest::get("/keep"));
    ASSERT_TRUE(first);
    EXPECT_EQ(first->body, "first");
    hb_response old = kept;
    ASSERT_NE(old, 0u);

    // From the test thread: not the handler's thread, and long after it returned.
    int rc = hb_response_write(old, "late", 4);
    EXPECT_TRUE(rc == HB_E_THREAD || rc == HB_E_HANDLE) << hb_strerror(rc);
    rc = hb_response_set_status(old, 500);
    EXPECT_TRUE(rc == HB_E_THREAD || rc == HB_E_HANDLE) << hb_strerror(rc);
    rc = hb_response_add_header(old, "X-Late", 6, "1", 1);
    EXPECT_TRUE(rc == HB_E_THREAD || rc == HB_E_HANDLE) << hb_strerror(rc);
    rc = hb_response_flush(old);
    EXPECT_TRUE(rc == HB_E_THREAD || rc == HB_E_HANDLE) << hb_strerror(rc);
    rc = hb_response_set_length(old, 1);
    EXPECT_TRUE(rc == HB_E_THREAD || rc == HB_E_HANDLE) << hb_strerror(rc);
    rc = hb_response_wait(old);
    EXPECT_TRUE(rc == HB_E_THREAD || rc == HB_E_HANDLE) << hb_strerror(rc);

    // The next request, on the same connection and io thread, is unaffected.
    auto second = client.request(hbtest::get("/next"));
    ASSERT_TRUE(second);
    EXPECT_EQ(second->status, 200);
    EXPECT_EQ(second->body, "second");
    EXPECT_FALSE(second->has("X-Evil"));
    EXPECT_EQ(stale_write.load(), HB_E_HANDLE);
    EXPECT_EQ(stale_status.load(), HB_E_HANDLE);
    EXPECT_EQ(stale_header.load(), HB_E_HANDLE);
    EXPECT_EQ(stale_flush.load(), HB_E_HANDLE);
    EXPECT_EQ(stale_length.load(), HB_E_HANDLE);
    EXPECT_EQ(stale_wait.load(), HB_E_HANDLE);
    EXPECT_EQ(second->header("Content-Length"), "6"); // not the stale length

    // And so is a new client.
    EXPECT_EQ(server.probe("/next"), 200);
}

// While its handler runs, a handle used from another thread is refused with
// HB_E_THREAD and changes nothing in the response.
TEST(RequestViewHandle, LiveHandleUsedFromAnotherThreadIsAThreadError)
{
    TestServer server;
    std::atomic<hb_response> live{0};
    hbtest::Latch entered, done;
    server.route("/wait", [&](hb_response res, const hb_request &) {
        live = res;
        entered.open();
        if (!done.wait_for(5000))
            return -1;
        return hb_response_write(res, "mine", 4);
    });
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/wait")));
    ASSERT_TRUE(entered.wait_for(5000));
    hb_response res = live;
    EXPECT_EQ(hb_response_write(res, "theirs", 6), HB_E_THREAD);
    EXPECT_EQ(hb_response_set_status(res, 503), HB_E_THREAD);
    EXPECT_EQ(hb_response_add_header(res, "X-Theirs", 8, "1", 1), HB_E_THREAD);
    EXPECT_EQ(hb_response_flush(res), HB_E_THREAD);
    EXPECT_EQ(hb_response_wait(res), HB_E_THREAD);
    done.open();
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "mine");
    EXPECT_FALSE(r->has("X-Theirs"));
}

TEST(RequestViewHandle, ForgedHandlesAreRefusedOutsideAnyHandler)
{
    for (hb_response forged :
         {hb_response{0}, hb_response{1}, ~hb_response{0}, hb_response{0x0000010100000001}}) {
        EXPECT_LT(hb_response_write(forged, "x", 1), 0);
        EXPECT_LT(hb_response_set_status(forged, 200), 0);
        EXPECT_LT(hb_response_add_header(forged, "A", 1, "b", 1), 0);
        EXPECT_LT(hb_response_flush(forged), 0);
        EXPECT_LT(hb_response_wait(forged), 0);
    }
}

} // namespace
