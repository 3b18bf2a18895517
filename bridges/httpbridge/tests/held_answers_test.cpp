// Answers of slow handlers (10 us or more) are held until the other
// connections ready on the io thread have been served, then sent together
// (Worker::hold). Whatever the holding, every client gets its own answers,
// whole and in order, and the connection rules (close, keep-alive) still hold.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace
{

using hbtest::TestServer;

// Long enough to be a slow handler whatever the machine.
void spin(std::chrono::microseconds how_long)
{
    auto until = std::chrono::steady_clock::now() + how_long;
    while (std::chrono::steady_clock::now() < until) {
    }
}

// /slow?ID answers "slow ID" after 50 us; /fast?ID answers "fast ID" at once.
void add_routes(TestServer &server)
{
    server.route("/slow", [](hb_response res, const hb_request &req) {
        spin(std::chrono::microseconds(50));
        std::string body = "slow " + hbtest::str(req.query);
        return hb_response_write(res, body.data(), body.size());
    });
    server.route("/fast", [](hb_response res, const hb_request &req) {
        std::string body = "fast " + hbtest::str(req.query);
        return hb_response_write(res, body.data(), body.size());
    });
}

TEST(HeldAnswers, EveryClientGetsItsOwnAnswersInOrder)
{
    TestServer server;
    add_routes(server);
    server.start();
    constexpr int kClients = 8, kEach = 3;
    std::vector<hbtest::Client> clients;
    for (int c = 0; c < kClients; ++c)
        clients.push_back(server.connect());
    // All requests first, so that many connections are ready at once.
    for (int c = 0; c < kClients; ++c) {
        std::string batch;
        for (int i = 0; i < kEach; ++i) {
            const char *kind = (c + i) % 3 == 0 ? "/fast?" : "/slow?";
            batch += hbtest::get(kind + std::to_string(c) + "-" + std::to_string(i));
        }
        ASSERT_TRUE(clients[c].send(batch));
    }
    for (int c = 0; c < kClients; ++c) {
        for (int i = 0; i < kEach; ++i) {
            auto r = clients[c].read_response();
            ASSERT_TRUE(r) << "client " << c << " answer " << i;
            EXPECT_EQ(r->status, 200);
            std::string id = std::to_string(c) + "-" + std::to_string(i);
            EXPECT_EQ(r->body, ((c + i) % 3 == 0 ? "fast " : "slow ") + id);
        }
    }
}

TEST(HeldAnswers, AHeldAnswerToAClosingRequestStillClosesAfterIt)
{
    TestServer server;
    add_routes(server);
    server.start();
    auto keeps = server.connect();
    auto closes = server.connect();
    ASSERT_TRUE(keeps.send(hbtest::get("/slow?k")));
    ASSERT_TRUE(closes.send(hbtest::get("/slow?c", "Connection: close\r\n")));
    auto r = closes.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "slow c");
    EXPECT_EQ(r->header("Connection"), "close");
    EXPECT_TRUE(closes.wait_hangup());
    auto k = keeps.read_response();
    ASSERT_TRUE(k);
    EXPECT_EQ(k->body, "slow k");
    auto again = keeps.request(hbtest::get("/fast?again")); // still open
    ASSERT_TRUE(again);
    EXPECT_EQ(again->body, "fast again");
}

// A client that leaves before its held answer goes out costs nothing but
// that answer: the server serves the next one.
TEST(HeldAnswers, AClientGoneBeforeItsHeldAnswerIsNoProblem)
{
    TestServer server;
    add_routes(server);
    server.start();
    for (int i = 0; i < 4; ++i) {
        auto gone = server.connect();
        ASSERT_TRUE(gone.send(hbtest::get("/slow?gone")));
    } // closed at once
    EXPECT_EQ(server.probe("/slow?after"), 200);
}

// A handler that blocks in hb_response_wait (a stream to a client that is not
// reading) must not keep the held answers of the connections served before it
// in the same round: they go out before it blocks.
TEST(HeldAnswers, AHandlerBlockedOnItsClientDoesNotKeepOthersAnswers)
{
    hb_options o = hbtest::test_options();
    o.read_timeout_ms = 600000; // the stream would wait this long for its client
    TestServer server(o);
    add_routes(server);
    hbtest::Latch sent;
    server.route("/gate", [&](hb_response res, const hb_request &) {
        // Busy the io thread until both other requests are in, so that the
        // next poll finds them ready together: /slow first, then /stream.
        return sent.wait_for(5000) ? hb_response_write(res, "gate", 4) : -1;
    });
    server.route("/stream", [](hb_response res, const hb_request &) {
        std::string piece(64 * 1024, 's');
        int rc = HB_OK;
        while (rc == HB_OK) { // until the client goes away
            rc = hb_response_write(res, piece.data(), piece.size());
            if (rc == HB_OK)
                rc = hb_response_flush(res);
            if (rc == HB_E_AGAIN)
                rc = hb_response_wait(res);
        }
        return rc;
    });
    server.start();
    auto gate = server.connect();
    auto slow = server.connect();
    std::optional<hbtest::Client> stream(server.connect());
    ASSERT_TRUE(gate.send(hbtest::get("/gate")));
    ASSERT_TRUE(slow.send(hbtest::get("/slow?first")));
    ASSERT_TRUE(stream->send(hbtest::get("/stream")));
    sent.open();
    auto r = slow.read_response(); // within the client's 5 s, not the stream's 600
    ASSERT_TRUE(r) << "the held answer waited for the blocked handler";
    EXPECT_EQ(r->body, "slow first");
    auto g = gate.read_response();
    ASSERT_TRUE(g);
    EXPECT_EQ(g->body, "gate");
    stream.reset(); // the streaming client leaves: its handler's wait ends
    auto after = slow.request(hbtest::get("/fast?after"));
    ASSERT_TRUE(after);
    EXPECT_EQ(after->body, "fast after");
}

} // namespace
