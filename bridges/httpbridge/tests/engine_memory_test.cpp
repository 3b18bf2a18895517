// What connections hold in memory, by the engine's own accounting
// (hb::Server::stats), never by timing: idle keep-alive connections give back
// what a large request or answer needed, and an announced Content-Length is
// not reserved before its bytes arrive.
#include "engine.hpp"
#include "test_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace
{

using hbtest::Client;

constexpr int kConnections = 24;
constexpr std::size_t kMiB = 1 << 20;

int echo(hb::Response &res, const hb_request &req, void *)
{
    res.write({req.body.data, req.body.len});
    return 0;
}

class EngineMemory : public ::testing::Test
{
protected:
    EngineMemory() : server(options()) {}

    static hb_options options()
    {
        hb_options o = hb::default_options();
        o.body_limit = 16 * kMiB;
        o.drain_timeout_ms = 1000;
        return o;
    }

    void SetUp() override
    {
        ASSERT_EQ(server.handle("/", echo, nullptr), HB_OK);
        ASSERT_EQ(server.listen("127.0.0.1", 0), HB_OK);
        ASSERT_EQ(server.start(), HB_OK);
    }

    // Poll the accounting until it drops below limit, for 5 s at most (many sweeps).
    hb::Server::Stats wait_for_buffers_below(std::size_t limit)
    {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        hb::Server::Stats s = server.stats();
        while (s.buffer_bytes >= limit && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            s = server.stats();
        }
        return s;
    }

    hb::Server server;
};

TEST_F(EngineMemory, IdleKeepAliveConnectionsGiveBackWhatALargeEchoNeeded)
{
    std::string body(4 * kMiB, 'e');
    std::vector<Client> clients;
    for (int i = 0; i < kConnections; ++i) {
        clients.emplace_back(server.port());
        auto r = clients.back().request(hbtest::post("/echo", body));
        ASSERT_TRUE(r) << "connection " << i;
        ASSERT_EQ(r->body.size(), body.size());
    }
    // Each echo needed some 12 MiB (request body, response body, output);
    // idle, a connection keeps its small buffers only, from the first sweep
    // of the deadlines after it went idle (every 250 ms at most).
    hb::Server::Stats s = wait_for_buffers_below(kConnections * 256 * 1024);
    EXPECT_EQ(s.connections, static_cast<std::size_t>(kConnections));
    EXPECT_LT(s.buffer_bytes, kConnections * 256 * 1024)
        << "idle connections hoard " << s.buffer_bytes << " bytes";
    // And they still work.
    auto r = clients.front().request(hbtest::post("/echo", "again"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "again");
}

TEST_F(EngineMemory, AnAnnouncedContentLengthIsNotReservedUpFront)
{
    std::vector<Client> clients;
    for (int i = 0; i < kConnections; ++i) {
        clients.emplace_back(server.port());
        // 16 MiB promised, one byte sent. The 100 Continue comes from the same
        // parse that saw the first body byte: once it is here, the server has
        // done whatever it does with the announced length.
        ASSERT_TRUE(clients.back().send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 16777216\r\n"
                                        "Expect: 100-continue\r\n\r\nx"));
        auto interim = clients.back().read_response();
        ASSERT_TRUE(interim) << "connection " << i;
        ASSERT_EQ(interim->status, 100);
    }
    hb::Server::Stats s = server.stats();
    EXPECT_EQ(s.connections, static_cast<std::size_t>(kConnections));
    EXPECT_LT(s.buffer_bytes, kConnections * 256 * 1024) << "announced bodies reserved: " << s.buffer_bytes;
}

TEST_F(EngineMemory, AChunkExtensionStreamedWithoutALineEndStaysBounded)
{
    Client client(server.port());
    ASSERT_TRUE(client.send("POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;e="));
    std::string piece(1024, 'e');
    std::size_t peak = 0;
    bool refused = false;
    for (int i = 0; i < 1024 && !refused; ++i) { // up to 1 MiB, 128 times the header limit
        refused = !client.send(piece);           // once refused, the server drains what we send, for a while
        if (i % 64 == 0)
            peak = std::max(peak, server.stats().buffer_bytes);
    }
    EXPECT_LT(peak, 128 * 1024u) << "the parser buffered an endless chunk extension";
    auto r = client.read_response();
    ASSERT_TRUE(r) << "no answer to an endless chunk extension";
    EXPECT_EQ(r->status, 400);
}

} // namespace
