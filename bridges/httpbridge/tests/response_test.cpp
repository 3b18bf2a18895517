// What a handler can do with its response, as the client receives it.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>

namespace
{

using hbtest::Latch;
using hbtest::TestServer;
using Headers = std::vector<std::pair<std::string, std::string>>;

int add_header(hb_response res, const char *name, const char *value)
{
    return hb_response_add_header(res, name, std::strlen(name), value, std::strlen(value));
}

int write(hb_response res, std::string_view data)
{
    return hb_response_write(res, data.data(), data.size());
}

// The headers of r except Date, which changes every second.
Headers without_date(const hbtest::Response &r)
{
    Headers out;
    for (const auto &h : r.headers)
        if (h.first != "Date")
            out.push_back(h);
    return out;
}

class ResponseTest : public ::testing::Test
{
protected:
    TestServer server;
};

TEST_F(ResponseTest, StatusHeadersAndBodyAreSentTogether)
{
    server.route("/made", [](hb_response res, const hb_request &) {
        int rc = hb_response_set_status(res, 201);
        rc |= add_header(res, "Content-Type", "text/x-test");
        rc |= add_header(res, "X-Repeat", "1");
        rc |= add_header(res, "X-Repeat", "2");
        rc |= add_header(res, "x-lower-Case", "kept");
        rc |= write(res, "made");
        return rc;
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/made"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->version, "HTTP/1.1");
    EXPECT_EQ(r->status, 201);
    EXPECT_EQ(r->reason, "Created");
    EXPECT_TRUE(r->has("Date"));
    EXPECT_EQ(without_date(*r), (Headers{{"Content-Type", "text/x-test"},
                                         {"X-Repeat", "1"},
                                         {"X-Repeat", "2"},
                                         {"x-lower-Case", "kept"},
                                         {"Content-Length", "4"}}));
    EXPECT_FALSE(r->chunked);
    EXPECT_EQ(r->body, "made");
}

TEST_F(ResponseTest, DefaultIs200WithAnEmptyBody)
{
    server.route("/nothing", [](hb_response, const hb_request &) { return 0; });
    server.start();
    auto r = server.connect().request(hbtest::get("/nothing"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->reason, "OK");
    EXPECT_EQ(r->header("Content-Length"), "0");
    EXPECT_EQ(r->body, "");
}

TEST_F(ResponseTest, WritesAreConcatenatedAndCopied)
{
    std::atomic<int> null_write{HB_OK}, empty_write{HB_E_STATE};
    server.route("/parts", [&](hb_response res, const hb_request &) {
        std::string temporary = "one,";
        write(res, temporary);
        temporary.assign("XXXX"); // the write copied; this must not show
        write(res, hbtest::bytes("t\0o,"));
        empty_write = hb_response_write(res, nullptr, 0);
        null_write = hb_response_write(res, nullptr, 5);
        return write(res, "three");
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/parts"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, hbtest::bytes("one,t\0o,three"));
    EXPECT_EQ(r->header("Content-Length"), "13");
    EXPECT_EQ(empty_write.load(), HB_OK);
    EXPECT_EQ(null_write.load(), HB_E_INVAL);
}

TEST_F(ResponseTest, LargeBodyArrivesWhole)
{
    std::string big(3 << 20, '\0');
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>(i * 31 + (i >> 11));
    server.route("/big", [&](hb_response res, const hb_request &) { return write(res, big); });
    server.start();
    auto r = server.connect().request(hbtest::get("/big"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Content-Length"), std::to_string(big.size()));
    EXPECT_TRUE(r->body == big);
}

TEST_F(ResponseTest, StatusOutOfRangeIsRefused)
{
    std::vector<int> codes;
    std::mutex mutex;
    server.route("/s", [&](hb_response res, const hb_request &) {
        std::lock_guard<std::mutex> lock(mutex);
        for (int status : {99, 1000, 0, -200, 100, 999, 418})
            codes.push_back(hb_response_set_status(res, status));
        return 0;
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/s"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 418); // the last valid one
    std::lock_guard<std::mutex> lock(mutex);
    EXPECT_EQ(codes, (std::vector<int>{HB_E_INVAL, HB_E_INVAL, HB_E_INVAL, HB_E_INVAL, HB_OK, HB_OK, HB_OK}));
}

TEST_F(ResponseTest, BadHeadersAreRefusedAndNotSent)
{
    struct Case {
        std::string name, value;
    };
    const std::vector<Case> bad = {
        {"X-Inject", "a\r\nX-Evil: 1"},
        {"X-Inject", "a\nb"},
        {"X-Inject", "a\rb"},
        {"X-Inject", std::string("a\0b", 3)},
        {"X\r\nEvil", "1"},
        {"Bad Name", "1"},
        {"Bad:Name", "1"},
        {"", "1"},
        {std::string("X\0Y", 3), "1"},
        {"Content-Length", "5"},
        {"content-length", "5"},
        {"Transfer-Encoding", "chunked"},
        {"TRANSFER-ENCODING", "identity"},
    };
    std::vector<int> codes;
    std::atomic<int> null_name{HB_OK}, null_value{HB_OK}, empty_value{HB_E_STATE};
    std::mutex mutex;
    server.route("/h", [&](hb_response res, const hb_request &) {
        {
            std::lock_guard<std::mutex> lock(mutex);
            for (const Case &c : bad)
                codes.push_back(hb_response_add_header(res, c.name.data(), c.name.size(), c.value.data(),
                                                       c.value.size()));
        }
        null_name = hb_response_add_header(res, nullptr, 3, "v", 1);
        null_value = hb_response_add_header(res, "X-Null", 6, nullptr, 3);
        empty_value = hb_response_add_header(res, "X-Empty", 7, nullptr, 0);
        return write(res, "body");
    });
    server.start();
    auto client = server.connect();
    auto r = client.request(hbtest::get("/h"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(without_date(*r), (Headers{{"X-Empty", ""}, {"Content-Length", "4"}}));
    EXPECT_EQ(r->body, "body");
    {
        std::lock_guard<std::mutex> lock(mutex);
        ASSERT_EQ(codes.size(), bad.size());
        for (std::size_t i = 0; i < bad.size(); ++i)
            EXPECT_EQ(codes[i], HB_E_INVAL) << "header #" << i << " '" << bad[i].name << "'";
    }
    EXPECT_EQ(null_name.load(), HB_E_INVAL);
    EXPECT_EQ(null_value.load(), HB_E_INVAL);
    EXPECT_EQ(empty_value.load(), HB_OK);
    // The framing was not disturbed: the connection still works.
    auto again = client.request(hbtest::get("/h"));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, "body");
}

TEST_F(ResponseTest, HeadGetsHeadersAndContentLengthButNoBody)
{
    server.route("/page", [](hb_response res, const hb_request &) {
        add_header(res, "Content-Type", "text/plain");
        return write(res, "hello");
    });
    server.start();
    auto client = server.connect();
    auto head = client.request("HEAD /page HTTP/1.1\r\nHost: h\r\n\r\n", /*head=*/true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    EXPECT_EQ(head->header("Content-Length"), "5");
    EXPECT_EQ(head->header("Content-Type"), "text/plain");
    // No body bytes followed: the next response on the socket parses cleanly.
    auto get = client.request(hbtest::get("/page"));
    ASSERT_TRUE(get);
    EXPECT_EQ(get->status, 200);
    EXPECT_EQ(get->body, "hello");
}

TEST_F(ResponseTest, NoContentStatusSendsNoBody)
{
    server.route("/204", [](hb_response res, const hb_request &) {
        hb_response_set_status(res, 204);
        return write(res, "ignored");
    });
    server.start();
    auto client = server.connect();
    auto r = client.request(hbtest::get("/204"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204);
    EXPECT_FALSE(r->has("Content-Length"));
    EXPECT_FALSE(r->has("Transfer-Encoding"));
    auto next = client.request(hbtest::get("/204"));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->status, 204);
}

TEST_F(ResponseTest, UnroutedPathIs404)
{
    server.route("/only", [](hb_response, const hb_request &) { return 0; });
    server.start();
    auto r = server.connect().request(hbtest::get("/other"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404);
    EXPECT_EQ(r->header("Content-Type"), "text/plain");
    EXPECT_EQ(r->body, "404 page not found\n");
}

TEST_F(ResponseTest, FlushOnHttp11SendsChunksAtOnce)
{
    Latch flushed_seen;
    std::atomic<int> flush1{HB_E_STATE}, flush2{HB_E_STATE};
    server.route("/stream", [&](hb_response res, const hb_request &) {
        add_header(res, "Content-Type", "text/plain");
        write(res, "early,");
        flush1 = hb_response_flush(res);
        // The client must have "early," before this handler returns.
        if (!flushed_seen.wait_for(5000))
            return -1;
        write(res, "middle,");
        flush2 = hb_response_flush(res);
        return write(res, "late");
    });
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/stream")));
    EXPECT_TRUE(client.wait_for("early,"));
    flushed_seen.open();
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->chunked);
    EXPECT_FALSE(r->has("Content-Length"));
    EXPECT_EQ(r->header("Content-Type"), "text/plain");
    EXPECT_EQ(r->body, "early,middle,late");
    EXPECT_EQ(flush1.load(), HB_OK);
    EXPECT_EQ(flush2.load(), HB_OK);
    // Still keep-alive after a chunked response.
    auto again = client.request(hbtest::get("/stream"));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, "early,middle,late");
}

TEST_F(ResponseTest, FlushWithNothingWrittenThenBody)
{
    server.route("/f", [](hb_response res, const hb_request &) {
        int rc = hb_response_flush(res);
        rc |= hb_response_flush(res); // twice in a row: harmless
        rc |= write(res, "after");
        return rc;
    });
    server.start();
    auto client = server.connect();
    auto r = client.request(hbtest::get("/f"));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->chunked);
    EXPECT_EQ(r->body, "after");
    auto again = client.request(hbtest::get("/f"));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, "after");
}

TEST_F(ResponseTest, LargeFlushedBodyArrivesWhole)
{
    std::string piece(256 * 1024, 'x');
    server.route("/bigstream", [&](hb_response res, const hb_request &) {
        for (int i = 0; i < 8; ++i) {
            piece[0] = static_cast<char>('a' + i);
            write(res, piece);
            if (int rc = hb_response_flush(res); rc != HB_OK)
                return rc;
        }
        return 0;
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/bigstream"));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->body.size(), 8 * piece.size());
    for (int i = 0; i < 8; ++i)
        EXPECT_EQ(r->body[static_cast<std::size_t>(i) * piece.size()], 'a' + i);
}

TEST_F(ResponseTest, FlushOnHttp10IsCloseDelimited)
{
    server.route("/stream", [](hb_response res, const hb_request &) {
        write(res, "early,");
        int rc = hb_response_flush(res);
        return rc | write(res, "late");
    });
    server.start();
    for (const char *request :
         {"GET /stream HTTP/1.0\r\n\r\n", "GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"}) {
        SCOPED_TRACE(request);
        auto client = server.connect();
        auto r = client.request(request);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 200);
        EXPECT_FALSE(r->chunked);
        EXPECT_FALSE(r->has("Content-Length"));
        EXPECT_FALSE(r->has("Transfer-Encoding"));
        EXPECT_TRUE(r->close_delimited); // so the server closed the connection
        EXPECT_EQ(r->body, "early,late");
    }
}

TEST_F(ResponseTest, HeadWithFlushSendsNoBodyAndKeepsFraming)
{
    server.route("/stream", [](hb_response res, const hb_request &) {
        write(res, "early,");
        int rc = hb_response_flush(res);
        return rc | write(res, "late");
    });
    server.start();
    auto client = server.connect();
    auto head = client.request("HEAD /stream HTTP/1.1\r\nHost: h\r\n\r\n", /*head=*/true);
    ASSERT_TRUE(head);
    EXPECT_EQ(head->status, 200);
    auto get = client.request(hbtest::get("/stream"));
    ASSERT_TRUE(get) << "bytes after the HEAD response broke the next one";
    EXPECT_EQ(get->status, 200);
    EXPECT_EQ(get->body, "early,late");
}

TEST_F(ResponseTest, NoContentWithFlushKeepsFraming)
{
    server.route("/204", [](hb_response res, const hb_request &) {
        hb_response_set_status(res, 204);
        return hb_response_flush(res);
    });
    server.route("/after", [](hb_response res, const hb_request &) { return write(res, "after"); });
    server.start();
    auto client = server.connect();
    auto r = client.request(hbtest::get("/204"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204);
    auto next = client.request(hbtest::get("/after"));
    ASSERT_TRUE(next) << "bytes after the 204 response broke the next one";
    EXPECT_EQ(next->body, "after");
}

// The client goes away while the handler streams: flush reports HB_E_IO and
// the server carries on.
TEST_F(ResponseTest, FlushToAVanishedClientIsAnIoError)
{
    std::atomic<int> last_flush{HB_OK};
    std::atomic<int> flushes{0};
    server.route("/endless", [&](hb_response res, const hb_request &) {
        std::string piece(64 * 1024, 'e');
        int rc = HB_OK;
        for (int i = 0; i < 2000 && rc == HB_OK; ++i) {
            hb_response_write(res, piece.data(), piece.size());
            rc = hb_response_flush(res);
            if (rc == HB_E_AGAIN) // the buffers filled before the reset arrived: wait for room or the error
                rc = hb_response_wait(res);
            ++flushes;
        }
        last_flush = rc;
        return rc;
    });
    server.route("/ok", [](hb_response res, const hb_request &) { return write(res, "ok"); });
    server.start();
    {
        auto client = server.connect();
        ASSERT_TRUE(client.send(hbtest::get("/endless")));
        ASSERT_TRUE(client.wait_for("eeee"));
    } // closed with unread data: the server's next sends fail
    auto r = server.connect().request(hbtest::get("/ok"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "ok");
    EXPECT_EQ(last_flush.load(), HB_E_IO);
    EXPECT_LT(flushes.load(), 2000);
}

TEST_F(ResponseTest, StatusAndHeadersAfterFlushAreRefused)
{
    std::atomic<int> late_status{HB_OK}, late_header{HB_OK}, late_write{HB_E_STATE};
    server.route("/late", [&](hb_response res, const hb_request &) {
        hb_response_set_status(res, 202);
        add_header(res, "X-Before", "1");
        hb_response_flush(res);
        late_status = hb_response_set_status(res, 500);
        late_header = add_header(res, "X-After", "1");
        late_write = write(res, "still fine");
        return 0;
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/late"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 202);
    EXPECT_EQ(r->header("X-Before"), "1");
    EXPECT_FALSE(r->has("X-After"));
    EXPECT_EQ(r->body, "still fine");
    EXPECT_EQ(late_status.load(), HB_E_SENT);
    EXPECT_EQ(late_header.load(), HB_E_SENT);
    EXPECT_EQ(late_write.load(), HB_OK);
}

TEST_F(ResponseTest, HandlerFailureBeforeSendingGives500)
{
    server.route("/fail", [](hb_response res, const hb_request &) {
        hb_response_set_status(res, 201);
        add_header(res, "X-Partial", "1");
        write(res, "partial");
        return 1;
    });
    server.route("/ok", [](hb_response res, const hb_request &) { return write(res, "ok"); });
    server.start();
    auto client = server.connect();
    auto r = client.request(hbtest::get("/fail"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
    EXPECT_FALSE(r->has("X-Partial"));
    EXPECT_EQ(r->header("Content-Type"), "text/plain");
    EXPECT_EQ(r->body, "Internal Server Error\n");
    // The connection is still good.
    auto next = client.request(hbtest::get("/ok"));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, "ok");
}

TEST_F(ResponseTest, AnyNonZeroReturnIsAFailure)
{
    server.route("/neg", [](hb_response, const hb_request &) { return -42; });
    server.route("/big", [](hb_response, const hb_request &) { return 0x7fffffff; });
    server.start();
    EXPECT_EQ(server.probe("/neg"), 500);
    EXPECT_EQ(server.probe("/big"), 500);
}

TEST_F(ResponseTest, HandlerFailureAfterFlushCutsTheResponseShort)
{
    server.route("/fail", [](hb_response res, const hb_request &) {
        write(res, "partial");
        hb_response_flush(res);
        write(res, "never sent");
        return 1;
    });
    server.route("/ok", [](hb_response res, const hb_request &) { return write(res, "ok"); });
    server.start();
    {
        auto client = server.connect();
        ASSERT_TRUE(client.send(hbtest::get("/fail")));
        EXPECT_TRUE(client.wait_for("partial"));
        auto rest = client.read_until_close();
        ASSERT_TRUE(rest) << "the connection was not closed";
        EXPECT_EQ(rest->find("never sent"), std::string::npos);
        EXPECT_EQ(rest->find("0\r\n\r\n"), std::string::npos) << "a cut response must not look complete";
    }
    auto r = server.connect().request(hbtest::get("/ok"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "ok");
}

} // namespace
