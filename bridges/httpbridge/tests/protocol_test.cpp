// HTTP/1.x on the wire: keep-alive, pipelining, limits, timeouts, bad input.
// Every misbehaving client is followed by a check that a fresh client is still
// answered normally: one bad client never harms another.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <random>

namespace
{

using hbtest::Client;
using hbtest::TestServer;

// Every path answers "<METHOD> <path> <body>", so order and content can be checked.
void route_echo(TestServer &server)
{
    server.route("/", [](hb_response res, const hb_request &req) {
        std::string answer =
            hbtest::str(req.method) + " " + hbtest::str(req.path) + " " + hbtest::str(req.body);
        hb_response_add_header(res, "Content-Type", 12, "text/plain", 10);
        return hb_response_write(res, answer.data(), answer.size());
    });
}

hb_options with_timeouts(unsigned read_ms, unsigned idle_ms)
{
    hb_options o = hbtest::test_options();
    o.read_timeout_ms = read_ms;
    o.idle_timeout_ms = idle_ms;
    return o;
}

hb_options with_limits(std::size_t header_limit, std::size_t body_limit)
{
    hb_options o = hbtest::test_options();
    o.header_limit = header_limit;
    o.body_limit = body_limit;
    return o;
}

// The server still serves a brand-new client normally.
void expect_still_serving(const TestServer &server)
{
    auto client = server.connect();
    auto r = client.request(hbtest::get("/still-alive"));
    ASSERT_TRUE(r) << "a fresh client got no answer";
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "GET /still-alive ");
}

// An error answer, then the server closes the connection.
void expect_status_then_close(Client &client, int status)
{
    auto r = client.read_response();
    ASSERT_TRUE(r) << "no answer";
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(client.read_until_close().has_value()) << "connection left open";
}

class ProtocolTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        route_echo(server);
        server.start();
    }
    TestServer server;
};

TEST_F(ProtocolTest, KeepAliveServesSeveralRequestsOnOneSocket)
{
    auto client = server.connect();
    for (int i = 0; i < 5; ++i) {
        std::string path = "/ka/" + std::to_string(i);
        auto r = client.request(hbtest::get(path));
        ASSERT_TRUE(r) << "request " << i;
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, "GET " + path + " ");
        EXPECT_FALSE(r->has("Connection"));
    }
}

TEST_F(ProtocolTest, Http10WithoutKeepAliveClosesAfterTheResponse)
{
    auto client = server.connect();
    auto r = client.request("GET /old HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("Content-Length"), "9");
    EXPECT_EQ(r->body, "GET /old ");
    auto rest = client.read_until_close();
    ASSERT_TRUE(rest) << "connection left open";
    EXPECT_EQ(*rest, "");
}

TEST_F(ProtocolTest, Http10WithKeepAliveStaysOpen)
{
    auto client = server.connect();
    for (int i = 0; i < 3; ++i) {
        auto r = client.request("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
        ASSERT_TRUE(r) << "request " << i;
        EXPECT_EQ(r->header("Connection"), "keep-alive");
        EXPECT_EQ(r->body, "GET /old ");
    }
}

TEST_F(ProtocolTest, Http11ConnectionCloseClosesAfterTheResponse)
{
    auto client = server.connect();
    auto r = client.request(hbtest::get("/bye", "Connection: close\r\n"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("Connection"), "close");
    auto rest = client.read_until_close();
    ASSERT_TRUE(rest) << "connection left open";
    EXPECT_EQ(*rest, "");
}

TEST_F(ProtocolTest, ClientHalfCloseStillGetsItsAnswer)
{
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/half")));
    client.shutdown_write();
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /half ");
    EXPECT_TRUE(client.read_until_close().has_value());
}

// A client that ends its side before its request is whole can still read: it
// is told 400, as a faulty request would be, and not left with a bare close
// (which also made a faulty head's answer depend on how it was split into
// reads: fuzz corpus seed faulty-head-in-two-reads). An earlier request on the
// connection keeps its answer; a client that ends between requests gets a
// plain close (ClientHalfCloseStillGetsItsAnswer).
TEST_F(ProtocolTest, ClientHalfClosingMidRequestIsTold400)
{
    const std::vector<std::string> unfinished = {
        "GET /half HTTP/1.1\r\nHost: h\r\n",                               // a head without its blank line
        "GET /ha",                                                         // half a request line
        "POST /half HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc", // a body cut short
        std::string("POST /half HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n") +
            std::string(50000, 'b'), // cut short on the way into the body's storage
        "POST /half HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", // mid-chunk
    };
    for (const std::string &request : unfinished) {
        SCOPED_TRACE(request.substr(0, 80));
        auto client = server.connect();
        ASSERT_TRUE(client.send(hbtest::get("/first") + request));
        client.shutdown_write();
        auto first = client.read_response();
        ASSERT_TRUE(first);
        EXPECT_EQ(first->body, "GET /first ");
        expect_status_then_close(client, 400);
        expect_still_serving(server);
    }
}

// Ten requests in one write, different methods, paths and bodies (one HEAD in
// the middle): ten responses, in order.
TEST_F(ProtocolTest, PipelinedRequestsAreAnsweredInOrder)
{
    std::string batch;
    std::vector<std::string> expected;
    for (int i = 0; i < 10; ++i) {
        std::string path = "/pipe/" + std::to_string(i);
        if (i == 5) {
            batch += "HEAD " + path + " HTTP/1.1\r\nHost: h\r\n\r\n";
            expected.push_back("");
        } else if (i % 2 == 0) {
            batch += hbtest::get(path);
            expected.push_back("GET " + path + " ");
        } else {
            std::string body = "body-" + std::to_string(i) + std::string(i * 100u, 'x');
            batch += hbtest::post(path, body);
            expected.push_back("POST " + path + " " + body);
        }
    }
    auto client = server.connect();
    ASSERT_TRUE(client.send(batch));
    for (int i = 0; i < 10; ++i) {
        auto r = client.read_response(/*head=*/i == 5);
        ASSERT_TRUE(r) << "response " << i;
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->body, expected[static_cast<std::size_t>(i)]) << "response " << i;
        if (i == 5) {
            EXPECT_EQ(r->header("Content-Length"), std::to_string(std::string("HEAD /pipe/5 ").size()));
        }
    }
    // Nothing extra, and the connection still works.
    auto r = client.request(hbtest::get("/after"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /after ");
}

TEST_F(ProtocolTest, PipelinedRequestsSplitAtEveryBoundaryAreAnsweredInOrder)
{
    std::string batch;
    for (int i = 0; i < 20; ++i)
        batch += hbtest::post("/split/" + std::to_string(i), "b" + std::to_string(i));
    auto client = server.connect();
    std::mt19937 random(7);
    for (std::size_t at = 0; at < batch.size();) {
        std::size_t n = std::min<std::size_t>(1 + random() % 40, batch.size() - at);
        ASSERT_TRUE(client.send(std::string_view(batch).substr(at, n)));
        at += n;
    }
    for (int i = 0; i < 20; ++i) {
        auto r = client.read_response();
        ASSERT_TRUE(r) << "response " << i;
        EXPECT_EQ(r->body, "POST /split/" + std::to_string(i) + " b" + std::to_string(i));
    }
}

// Answers bigger than the server's output batch: it must stop parsing, write,
// and pick the rest of the pipeline up again, in order.
TEST(ProtocolPipelining, BigAnswersToAPipelineAllArriveInOrder)
{
    TestServer server;
    server.route("/big/", [](hb_response res, const hb_request &req) {
        std::string body(100 * 1024, '.');
        body.replace(0, req.path.len, req.path.data, req.path.len);
        return hb_response_write(res, body.data(), body.size());
    });
    server.start();
    std::string batch;
    for (int i = 0; i < 16; ++i)
        batch += hbtest::get("/big/" + std::to_string(i));
    auto client = server.connect();
    ASSERT_TRUE(client.send(batch));
    for (int i = 0; i < 16; ++i) {
        auto r = client.read_response();
        ASSERT_TRUE(r) << "response " << i;
        std::string path = "/big/" + std::to_string(i);
        EXPECT_EQ(r->body.size(), 100u * 1024);
        EXPECT_EQ(r->body.compare(0, path.size(), path), 0) << "response " << i;
    }
}

// A handler that flushes in the middle of a pipeline: the answers before it
// go out first, then its chunks, then the ones after it.
TEST(ProtocolPipelining, FlushInsideAPipelineKeepsTheOrder)
{
    TestServer server;
    route_echo(server);
    server.route("/stream", [](hb_response res, const hb_request &) {
        hb_response_write(res, "chunk1,", 7);
        int rc = hb_response_flush(res);
        return rc | hb_response_write(res, "chunk2", 6);
    });
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/before") + hbtest::get("/stream") + hbtest::get("/after")));
    auto before = client.read_response();
    auto stream = client.read_response();
    auto after = client.read_response();
    ASSERT_TRUE(before && stream && after);
    EXPECT_EQ(before->body, "GET /before ");
    EXPECT_TRUE(stream->chunked);
    EXPECT_EQ(stream->body, "chunk1,chunk2");
    EXPECT_EQ(after->body, "GET /after ");
}

TEST_F(ProtocolTest, PipelineStopsAtConnectionClose)
{
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/one") + hbtest::get("/two", "Connection: close\r\n") +
                            hbtest::get("/three")));
    auto one = client.read_response();
    ASSERT_TRUE(one);
    EXPECT_EQ(one->body, "GET /one ");
    auto two = client.read_response();
    ASSERT_TRUE(two);
    EXPECT_EQ(two->body, "GET /two ");
    EXPECT_EQ(two->header("Connection"), "close");
    auto rest = client.read_until_close();
    ASSERT_TRUE(rest) << "connection left open";
    EXPECT_EQ(*rest, "") << "a request after Connection: close was answered";
}

TEST_F(ProtocolTest, ValidRequestThenGarbageGets200Then400)
{
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/fine") + "NOT HTTP AT ALL\r\n\r\n"));
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    expect_status_then_close(client, 400);
    expect_still_serving(server);
}

TEST_F(ProtocolTest, MalformedRequestsGet400AndClose)
{
    const std::vector<std::string> malformed = {
        "this is not http\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/1.1 extra\r\n\r\n",
        "GET / FTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        hbtest::bytes("\x01\x02\x03\x00 / HTTP/1.1\r\n\r\n"),
    };
    for (const std::string &request : malformed) {
        SCOPED_TRACE(request);
        auto client = server.connect();
        ASSERT_TRUE(client.send(request));
        expect_status_then_close(client, 400);
        expect_still_serving(server);
    }
}

TEST_F(ProtocolTest, Expect100ContinueIsAnsweredBeforeTheBody)
{
    auto client = server.connect();
    ASSERT_TRUE(client.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
                            "Expect: 100-continue\r\n\r\n"));
    auto interim = client.read_response();
    ASSERT_TRUE(interim) << "no 100 Continue before the body was sent";
    EXPECT_EQ(interim->status, 100);
    EXPECT_EQ(interim->reason, "Continue");
    ASSERT_TRUE(client.send("hello"));
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /upload hello");
    // The next request without Expect gets no 100.
    auto plain = client.request(hbtest::post("/plain", "x"));
    ASSERT_TRUE(plain);
    EXPECT_EQ(plain->status, 200);
}

TEST(ProtocolLimits, OversizedHeadersGet431)
{
    TestServer server(with_limits(1024, 1 << 20));
    route_echo(server);
    server.start();
    {
        auto client = server.connect();
        ASSERT_TRUE(client.send(hbtest::get("/big-header", "X-Big: " + std::string(4000, 'h') + "\r\n")));
        expect_status_then_close(client, 431);
    }
    expect_still_serving(server);
}

TEST(ProtocolLimits, OversizedHeadersDribbledInGet431)
{
    TestServer server(with_limits(1024, 1 << 20));
    route_echo(server);
    server.start();
    {
        auto client = server.connect();
        std::string request = hbtest::get("/big-header", "X-Big: " + std::string(4000, 'h') + "\r\n");
        for (std::size_t at = 0; at < request.size(); at += 100)
            if (!client.send(std::string_view(request).substr(at, 100)))
                break; // the server may have answered and closed already
        expect_status_then_close(client, 431);
    }
    expect_still_serving(server);
}

TEST(ProtocolLimits, OversizedRequestLineGets414)
{
    TestServer server(with_limits(1024, 1 << 20));
    route_echo(server);
    server.start();
    {
        auto client = server.connect();
        ASSERT_TRUE(client.send(hbtest::get("/" + std::string(2000, 'p'))));
        expect_status_then_close(client, 414);
    }
    expect_still_serving(server);
}

TEST(ProtocolLimits, HeadersJustUnderTheLimitAreAccepted)
{
    TestServer server(with_limits(1024, 1 << 20));
    route_echo(server);
    server.start();
    auto r = server.connect().request(hbtest::get("/fits", "X-Fits: " + std::string(800, 'h') + "\r\n"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
}

TEST(ProtocolLimits, BodyOverTheLimitGets413)
{
    TestServer server(with_limits(8192, 1024));
    route_echo(server);
    server.start();
    {
        auto client = server.connect();
        ASSERT_TRUE(client.send(hbtest::post("/upload", std::string(2048, 'b'))));
        expect_status_then_close(client, 413);
    }
    expect_still_serving(server);
}

TEST(ProtocolLimits, ChunkedBodyOverTheLimitGets413)
{
    TestServer server(with_limits(8192, 1024));
    route_echo(server);
    server.start();
    {
        auto client = server.connect();
        std::string request = "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 4; ++i)
            request += "200\r\n" + std::string(512, 'c') + "\r\n";
        request += "0\r\n\r\n";
        ASSERT_TRUE(client.send(request));
        expect_status_then_close(client, 413);
    }
    expect_still_serving(server);
}

TEST(ProtocolLimits, BodyAtTheLimitIsAccepted)
{
    TestServer server(with_limits(8192, 1024));
    route_echo(server);
    server.start();
    std::string body(1024, 'b');
    auto r = server.connect().request(hbtest::post("/upload", body));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "POST /upload " + body);
}

TEST(ProtocolLimits, Expect100ContinueOverTheLimitGets413WithoutContinue)
{
    TestServer server(with_limits(8192, 1024));
    route_echo(server);
    server.start();
    {
        auto client = server.connect();
        ASSERT_TRUE(client.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 4096\r\n"
                                "Expect: 100-continue\r\n\r\n"));
        expect_status_then_close(client, 413);
    }
    expect_still_serving(server);
}

TEST(ProtocolTimeouts, IdleClientIsClosedAfterIdleTimeout)
{
    TestServer server(with_timeouts(/*read=*/5000, /*idle=*/200));
    route_echo(server);
    server.start();
    {
        auto client = server.connect();
        auto r = client.request(hbtest::get("/then-idle"));
        ASSERT_TRUE(r);
        auto rest = client.read_until_close();
        ASSERT_TRUE(rest) << "idle connection left open";
        EXPECT_EQ(*rest, "");
    }
    expect_still_serving(server);
}

TEST(ProtocolTimeouts, SilentNewConnectionIsClosedAfterReadTimeout)
{
    TestServer server(with_timeouts(/*read=*/200, /*idle=*/60000));
    route_echo(server);
    server.start();
    {
        auto client = server.connect();
        EXPECT_TRUE(client.read_until_close().has_value()) << "silent connection left open";
    }
    expect_still_serving(server);
}

TEST(ProtocolTimeouts, SlowRequestLineIsClosedAfterReadTimeout)
{
    TestServer server(with_timeouts(/*read=*/250, /*idle=*/60000));
    route_echo(server);
    server.start();
    auto slow = server.connect();
    ASSERT_TRUE(slow.send("GET /slo"));
    expect_still_serving(server); // served while the slow client hangs on
    EXPECT_TRUE(slow.read_until_close().has_value()) << "slow client left open";
    expect_still_serving(server);
}

TEST(ProtocolTimeouts, SlowBodyIsClosedAfterReadTimeout)
{
    TestServer server(with_timeouts(/*read=*/250, /*idle=*/60000));
    route_echo(server);
    server.start();
    auto slow = server.connect();
    ASSERT_TRUE(slow.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789"));
    expect_still_serving(server);
    EXPECT_TRUE(slow.read_until_close().has_value()) << "slow client left open";
    expect_still_serving(server);
}

// A client that pipelines requests for big answers and never reads them: the
// server stops reading from it, serves others meanwhile, and drops it after
// the timeout.
TEST(ProtocolTimeouts, ClientThatNeverReadsIsDroppedWithoutHarmingOthers)
{
    TestServer server(with_timeouts(/*read=*/300, /*idle=*/60000));
    std::string big(64 * 1024, 'B');
    server.route("/big", [&](hb_response res, const hb_request &) {
        return hb_response_write(res, big.data(), big.size());
    });
    route_echo(server);
    server.start();
    Client hog = server.connect(/*timeout_ms=*/5000);
    std::string request = hbtest::get("/big");
    for (int i = 0; i < 2000; ++i)
        if (!hog.send(request))
            break; // the server stopped reading, or dropped us
    expect_still_serving(server);
    EXPECT_TRUE(hog.wait_hangup()) << "a client that never reads was kept forever";
    expect_still_serving(server);
}

// One io thread, a crowd of bad clients at once, and good clients in between.
TEST(ProtocolLimits, BadClientsNeverHarmGoodOnes)
{
    hb_options o = with_limits(1024, 1024);
    o.read_timeout_ms = 300;
    o.idle_timeout_ms = 300;
    TestServer server(o);
    route_echo(server);
    server.start();
    std::vector<Client> bad;
    for (int i = 0; i < 5; ++i) {
        bad.push_back(server.connect()); // silent
        bad.push_back(server.connect());
        bad.back().send("GET /half"); // slow
        bad.push_back(server.connect());
        bad.back().send("garbage\r\n\r\n"); // malformed
        bad.push_back(server.connect());
        bad.back().send(hbtest::post("/x", std::string(4096, 'x'))); // too big
        bad.push_back(server.connect());
        bad.back().send(hbtest::get("/x", "X: " + std::string(2048, 'h') + "\r\n")); // headers too big
        expect_still_serving(server);
    }
    for (Client &c : bad)
        EXPECT_TRUE(c.read_until_close().has_value());
    expect_still_serving(server);
}

} // namespace
