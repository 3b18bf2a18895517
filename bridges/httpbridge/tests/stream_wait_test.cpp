// hb_response_wait: a handler that streams more than its client takes at once
// waits for the client, instead of losing bytes (flush's HB_E_AGAIN dropped)
// or buffering the whole stream. Each client here does not read until the
// handler has been told to wait, so the waiting is certain, not a race.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace
{

using hbtest::Latch;
using hbtest::TestServer;

constexpr std::size_t kPiece = 64 * 1024;
constexpr int kPieces = 256; // 16 MiB: far more than loopback socket buffers hold unread

char piece_byte(int i)
{
    return static_cast<char>('a' + i % 26);
}

// One streaming handler's story, read back by the test thread.
struct Stream {
    std::atomic<int> waits{0};
    std::atomic<int> result{1}; // 1: still running
    Latch told_to_wait;         // the first HB_E_AGAIN
    Latch finished;
};

// Write kPieces pieces, flushing each; on HB_E_AGAIN wait and flush again,
// which is what httpbridge.wsgi does for a generator.
int stream(hb_response res, Stream &s)
{
    int rc = HB_OK;
    for (int i = 0; i < kPieces && rc == HB_OK; ++i) {
        std::string piece(kPiece, piece_byte(i));
        rc = hb_response_write(res, piece.data(), piece.size());
        if (rc == HB_OK)
            rc = hb_response_flush(res);
        while (rc == HB_E_AGAIN) {
            if (s.waits++ == 0)
                s.told_to_wait.open();
            rc = hb_response_wait(res);
            if (rc == HB_OK)
                rc = hb_response_flush(res);
        }
    }
    s.result = rc;
    s.finished.open();
    return rc;
}

hb_options with_timeouts(unsigned read_timeout_ms, unsigned drain_timeout_ms)
{
    hb_options o = hbtest::test_options();
    o.read_timeout_ms = read_timeout_ms;
    o.drain_timeout_ms = drain_timeout_ms;
    return o;
}

TEST(StreamWait, ASlowReaderGetsEveryByteInOrder)
{
    TestServer server;
    Stream s;
    server.route("/stream", [&](hb_response res, const hb_request &) { return stream(res, s); });
    server.route("/after",
                 [](hb_response res, const hb_request &) { return hb_response_write(res, "after", 5); });
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/stream")));
    ASSERT_TRUE(s.told_to_wait.wait_for(5000)) << "the stream never outran the client";

    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(r->chunked);
    ASSERT_EQ(r->body.size(), kPiece * kPieces);
    for (int i = 0; i < kPieces; ++i)
        ASSERT_EQ(r->body.find_first_not_of(piece_byte(i), kPiece * i),
                  i + 1 == kPieces ? std::string::npos : kPiece * (i + 1))
            << "piece " << i;
    ASSERT_TRUE(s.finished.wait_for(5000));
    EXPECT_EQ(s.result.load(), HB_OK);
    EXPECT_GE(s.waits.load(), 1);

    auto next = client.request(hbtest::get("/after")); // the connection stays usable
    ASSERT_TRUE(next);
    EXPECT_EQ(next->body, "after");
}

// A client that reads nothing for the read timeout is given up: the wait says
// so, the connection closes, and the io thread serves others again.
TEST(StreamWait, AClientThatStopsReadingIsGivenUpAfterTheReadTimeout)
{
    TestServer server(with_timeouts(300, 1000));
    Stream s;
    server.route("/stream", [&](hb_response res, const hb_request &) { return stream(res, s); });
    server.route("/ok", [](hb_response res, const hb_request &) { return hb_response_write(res, "ok", 2); });
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/stream")));
    ASSERT_TRUE(s.finished.wait_for(10000)) << "the wait did not end";
    EXPECT_EQ(s.result.load(), HB_E_TIMEOUT) << hb_strerror(s.result.load());
    // What the kernel had taken still arrives, then the close: a cut-off chunked
    // body, which the client can tell from a whole one.
    auto rest = client.read_until_close();
    ASSERT_TRUE(rest) << "the connection was not closed";
    EXPECT_LT(rest->size(), kPiece * kPieces);
    EXPECT_NE(rest->substr(rest->size() - 5), "0\r\n\r\n");
    EXPECT_EQ(server.probe("/ok"), 200);
}

// A stop reaches a handler blocked in the wait: the client gets the drain
// timeout, not the (much longer) read timeout, and the server stops.
TEST(StreamWait, AStopEndsTheWaitWithinTheDrainTimeout)
{
    TestServer server(with_timeouts(600000, 200));
    Stream s;
    server.route("/stream", [&](hb_response res, const hb_request &) { return stream(res, s); });
    server.start();
    auto client = server.connect();
    ASSERT_TRUE(client.send(hbtest::get("/stream")));
    ASSERT_TRUE(s.told_to_wait.wait_for(5000));
    hb_server_stop(server.raw());
    EXPECT_EQ(hb_server_wait(server.raw(), 10000), HB_OK) << "the stop did not reach the waiting handler";
    EXPECT_EQ(s.result.load(), HB_E_TIMEOUT) << hb_strerror(s.result.load());
}

// Outside a stream there is nothing to wait for: HB_OK at once.
TEST(StreamWait, WaitWithNothingPendingReturnsAtOnce)
{
    TestServer server;
    std::atomic<int> before{1}, after{1};
    server.route("/w", [&](hb_response res, const hb_request &) {
        before = hb_response_wait(res);
        int rc = hb_response_write(res, "x", 1) | hb_response_flush(res);
        after = hb_response_wait(res);
        return rc;
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/w"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "x");
    EXPECT_EQ(before.load(), HB_OK);
    EXPECT_EQ(after.load(), HB_OK);
}

} // namespace
