// hb_response_set_length: a response with a declared Content-Length, streamed
// with flushes or not, as the client receives it byte for byte.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>

namespace
{

using hbtest::Latch;
using hbtest::TestServer;

int write(hb_response res, std::string_view data)
{
    return hb_response_write(res, data.data(), data.size());
}

int add_header(hb_response res, const char *name, const char *value)
{
    return hb_response_add_header(res, name, std::strlen(name), value, std::strlen(value));
}

// raw with its Date line taken out (it changes every second), for comparing
// whole responses byte for byte.
std::string without_date(std::string raw)
{
    auto at = raw.find("\r\nDate: ");
    if (at != std::string::npos)
        raw.erase(at, raw.find("\r\n", at + 2) - at);
    return raw;
}

// "early," flushed, then (once the test has seen it) "middle," flushed, then
// "late" left for the end: 17 bytes, all declared up front.
class DeclaredLengthTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        server.route("/stream", [this](hb_response res, const hb_request &) {
            int rc = hb_response_set_length(res, 17);
            rc |= add_header(res, "Content-Type", "text/plain");
            rc |= write(res, "early,");
            rc |= hb_response_flush(res);
            if (!seen_first.wait_for(5000)) // the client must have "early," before the handler goes on
                return -1;
            rc |= write(res, "middle,");
            rc |= hb_response_flush(res);
            rc |= write(res, "late");
            return rc;
        });
        server.route("/ok", [](hb_response res, const hb_request &) { return write(res, "ok"); });
    }

    TestServer server;
    Latch seen_first;
};

TEST_F(DeclaredLengthTest, StreamedOnHttp11WithContentLengthAndNoChunks)
{
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/stream")));
    EXPECT_TRUE(client.wait_for("early,")); // flushed: here while the handler waits
    seen_first.open();
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->chunked);
    EXPECT_FALSE(r->has("Transfer-Encoding"));
    EXPECT_EQ(r->header("Content-Length"), "17");
    EXPECT_EQ(r->body, "early,middle,late");

    // The connection stays open; the next answer is exactly these bytes.
    ASSERT_TRUE(client.send(hbtest::get("/stream", "Connection: close\r\n")));
    auto raw = client.read_until_close();
    ASSERT_TRUE(raw);
    EXPECT_EQ(without_date(*raw), "HTTP/1.1 200 OK\r\n"
                                  "Content-Type: text/plain\r\n"
                                  "Content-Length: 17\r\n"
                                  "Connection: close\r\n"
                                  "\r\n"
                                  "early,middle,late");
}

TEST_F(DeclaredLengthTest, StreamedOnHttp10WithContentLengthNotCloseDelimited)
{
    seen_first.open();
    server.start();
    auto client = server.connect();
    auto r = client.request("GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->close_delimited);
    EXPECT_EQ(r->header("Content-Length"), "17");
    EXPECT_EQ(r->header("Connection"), "keep-alive");
    EXPECT_EQ(r->body, "early,middle,late");

    ASSERT_TRUE(client.send("GET /stream HTTP/1.0\r\n\r\n")); // 1.0 without keep-alive: then a close
    auto raw = client.read_until_close();
    ASSERT_TRUE(raw);
    EXPECT_EQ(without_date(*raw), "HTTP/1.1 200 OK\r\n"
                                  "Content-Type: text/plain\r\n"
                                  "Content-Length: 17\r\n"
                                  "\r\n"
                                  "early,middle,late");
}

TEST_F(DeclaredLengthTest, HeadGetsTheDeclaredLengthAndNoBody)
{
    seen_first.open();
    server.route("/unflushed", [](hb_response res, const hb_request &) {
        return hb_response_set_length(res, 1000); // nothing written: a HEAD handler need not write
    });
    server.start();
    auto client = server.connect();
    for (const char *path : {"/stream", "/unflushed"}) {
        SCOPED_TRACE(path);
        auto head = client.request(std::string("HEAD ") + path + " HTTP/1.1\r\nHost: h\r\n\r\n", /*head=*/true);
        ASSERT_TRUE(head);
        EXPECT_EQ(head->header("Content-Length"), path == std::string("/stream") ? "17" : "1000");
        EXPECT_FALSE(head->has("Transfer-Encoding"));
    }
    // No body bytes followed either answer, and the connection stays open.
    auto next = client.request(hbtest::get("/ok"));
    ASSERT_TRUE(next) << "bytes after a HEAD answer broke the next one";
    EXPECT_EQ(next->body, "ok");
}

TEST(DeclaredLength, ShortStreamedBodyClosesAfterWhatWasSent)
{
    TestServer server;
    server.route("/short", [](hb_response res, const hb_request &) {
        int rc = hb_response_set_length(res, 10);
        rc |= write(res, "abc");
        rc |= hb_response_flush(res);
        return rc | write(res, "de"); // and returns: 5 of 10
    });
    server.route("/ok", [](hb_response res, const hb_request &) { return write(res, "ok"); });
    server.start();
    auto client = server.connect();
    // A pipelined request behind it: never answered on this connection, since
    // after a short body the client could not tell where the next answer starts.
    ASSERT_TRUE(client.send(hbtest::get("/short") + hbtest::get("/ok")));
    auto raw = client.read_until_close();
    ASSERT_TRUE(raw) << "the connection was not closed";
    EXPECT_EQ(without_date(*raw), "HTTP/1.1 200 OK\r\n"
                                  "Content-Length: 10\r\n"
                                  "\r\n"
                                  "abcde");
    EXPECT_EQ(server.probe("/ok"), 200); // the server goes on
}

TEST(DeclaredLength, ShortUnflushedBodySaysCloseAndCloses)
{
    TestServer server;
    server.route("/short", [](hb_response res, const hb_request &) {
        return hb_response_set_length(res, 10) | write(res, "abc");
    });
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/short")));
    auto raw = client.read_until_close();
    ASSERT_TRUE(raw) << "the connection was not closed";
    EXPECT_EQ(without_date(*raw), "HTTP/1.1 200 OK\r\n"
                                  "Content-Length: 10\r\n"
                                  "Connection: close\r\n"
                                  "\r\n"
                                  "abc");
}

TEST(DeclaredLength, WritesPastTheLengthAreRefusedAndNeverSent)
{
    TestServer server;
    std::atomic<int> straddling{HB_OK}, after_full{HB_OK}, fitting{HB_E_STATE};
    server.route("/long", [&](hb_response res, const hb_request &) {
        int rc = hb_response_set_length(res, 5);
        rc |= write(res, "123");
        rc |= hb_response_flush(res);
        straddling = write(res, "45-extra"); // none of it is kept
        fitting = write(res, "45");
        after_full = write(res, "x");
        return rc;
    });
    server.route("/ok", [](hb_response res, const hb_request &) { return write(res, "ok"); });
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/long") + hbtest::get("/ok")));
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("Content-Length"), "5");
    EXPECT_EQ(r->body, "12345");
    // The response was whole: the pipelined request is answered right after it.
    auto next = client.read_response();
    ASSERT_TRUE(next) << "stray bytes after the declared length broke the next answer";
    EXPECT_EQ(next->body, "ok");
    EXPECT_EQ(straddling.load(), HB_E_INVAL);
    EXPECT_EQ(fitting.load(), HB_OK);
    EXPECT_EQ(after_full.load(), HB_E_INVAL);
}

TEST(DeclaredLength, UnflushedMatchingLengthIsAPlainResponse)
{
    TestServer server;
    std::atomic<int> too_small{HB_OK};
    server.route("/exact", [&](hb_response res, const hb_request &) {
        int rc = write(res, "hel");
        too_small = hb_response_set_length(res, 2); // 3 bytes are written already
        rc |= hb_response_set_length(res, 99);
        rc |= hb_response_set_length(res, 5); // the last call wins
        return rc | write(res, "lo");
    });
    server.start();
    auto client = server.connect();
    for (int i = 0; i < 2; ++i) { // and the connection stays open
        auto r = client.request(hbtest::get("/exact"));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->header("Content-Length"), "5");
        EXPECT_FALSE(r->has("Connection"));
        EXPECT_EQ(r->body, "hello");
    }
    EXPECT_EQ(too_small.load(), HB_E_INVAL);
}

TEST(DeclaredLength, AfterTheFirstFlushItIsRefusedAndTheResponseStaysChunked)
{
    TestServer server;
    std::atomic<int> late{HB_OK};
    server.route("/late", [&](hb_response res, const hb_request &) {
        int rc = write(res, "chunk");
        rc |= hb_response_flush(res);
        late = hb_response_set_length(res, 5);
        return rc;
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/late"));
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->chunked);
    EXPECT_FALSE(r->has("Content-Length"));
    EXPECT_EQ(r->body, "chunk");
    EXPECT_EQ(late.load(), HB_E_SENT);
}

TEST(DeclaredLength, NoContentHasNoContentLengthAndNoBody)
{
    TestServer server;
    server.route("/204", [](hb_response res, const hb_request &) {
        int rc = hb_response_set_status(res, 204);
        rc |= hb_response_set_length(res, 3);
        rc |= write(res, "abc");
        return rc | hb_response_flush(res);
    });
    server.route("/ok", [](hb_response res, const hb_request &) { return write(res, "ok"); });
    server.start();
    auto client = server.connect();
    auto r = client.request(hbtest::get("/204"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 204);
    EXPECT_FALSE(r->has("Content-Length")); // RFC 9110: never on a 204
    EXPECT_FALSE(r->has("Transfer-Encoding"));
    auto next = client.request(hbtest::get("/ok"));
    ASSERT_TRUE(next) << "bytes after the 204 broke the next answer";
    EXPECT_EQ(next->body, "ok");
}

TEST(DeclaredLength, FailureBeforeFlushIsA500WithItsOwnLength)
{
    TestServer server;
    server.route("/fail", [](hb_response res, const hb_request &) {
        hb_response_set_length(res, 1000);
        write(res, "partial");
        return 1;
    });
    server.route("/ok", [](hb_response res, const hb_request &) { return write(res, "ok"); });
    server.start();
    auto client = server.connect();
    auto r = client.request(hbtest::get("/fail"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
    EXPECT_EQ(r->header("Content-Length"), std::to_string(r->body.size()));
    auto next = client.request(hbtest::get("/ok"));
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, "ok");
}

TEST(DeclaredLength, LargeStreamedBodyArrivesWholeThroughTheOutputBound)
{
    // More than the 256 KiB flush bound: HB_E_AGAIN keeps the bytes, which go
    // out later; the declared length still frames all of them.
    TestServer server;
    constexpr std::size_t kPiece = 256 * 1024, kPieces = 8;
    server.route("/big", [&](hb_response res, const hb_request &) {
        std::string piece(kPiece, 'x');
        int rc = hb_response_set_length(res, kPiece * kPieces);
        for (std::size_t i = 0; i < kPieces && rc == HB_OK; ++i) {
            piece[0] = static_cast<char>('a' + i);
            rc = write(res, piece);
            int flushed = hb_response_flush(res);
            if (flushed != HB_OK && flushed != HB_E_AGAIN)
                rc = flushed;
        }
        return rc;
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/big"));
    ASSERT_TRUE(r);
    EXPECT_FALSE(r->chunked);
    ASSERT_EQ(r->body.size(), kPiece * kPieces);
    for (std::size_t i = 0; i < kPieces; ++i)
        EXPECT_EQ(r->body[i * kPiece], static_cast<char>('a' + i));
}

} // namespace
