// The response parser must find where each answer ends however the bytes arrive.
#include "response_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace
{

struct Parsed {
    std::vector<int> statuses;
    std::vector<bool> keep_alive;
    bool error = false;
};

// Feed `wire` in pieces of `chunk` bytes, as a connection's reads would deliver it.
Parsed parse(const std::string &wire, std::size_t chunk, bool head = false)
{
    lg::ResponseParser parser;
    Parsed out;
    std::string buffer;
    for (std::size_t at = 0; at < wire.size(); at += chunk) {
        buffer += wire.substr(at, chunk);
        std::size_t begin = 0;
        while (begin < buffer.size()) {
            auto step = parser.feed(buffer.data() + begin, buffer.size() - begin, head);
            begin += step.consumed;
            if (step.status == lg::ResponseParser::Status::error) {
                out.error = true;
                return out;
            }
            if (step.status == lg::ResponseParser::Status::complete) {
                out.statuses.push_back(parser.status());
                out.keep_alive.push_back(parser.keep_alive());
            } else if (step.consumed == 0) {
                break;
            }
        }
        buffer.erase(0, begin);
    }
    return out;
}

const std::string kHello = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\n"
                           "Hello, world.\n";

} // namespace

TEST(ResponseParser, PipelinedAnswersInAnySplit)
{
    std::string wire = kHello + "HTTP/1.1 404 Not Found\r\ncontent-length: 5\r\n\r\nnope\n" + kHello;
    for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u, 4096u}) {
        Parsed p = parse(wire, chunk);
        EXPECT_FALSE(p.error) << chunk;
        EXPECT_EQ(p.statuses, (std::vector<int>{200, 404, 200})) << chunk;
    }
}

TEST(ResponseParser, ChunkedBodyWithExtensionsAndTrailers)
{
    std::string wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                       "5;ext=1\r\nHello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: 1\r\n\r\n" +
                       kHello;
    for (std::size_t chunk : {1u, 5u, 4096u}) {
        Parsed p = parse(wire, chunk);
        EXPECT_FALSE(p.error) << chunk;
        EXPECT_EQ(p.statuses, (std::vector<int>{200, 200})) << chunk;
    }
}

TEST(ResponseParser, ConnectionCloseAndHttp10EndKeepAlive)
{
    Parsed p = parse("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                     "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"
                     "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
                     4096);
    EXPECT_EQ(p.keep_alive, (std::vector<bool>{false, false, true}));
}

TEST(ResponseParser, HeadAnswersAndNoContentHaveNoBody)
{
    EXPECT_EQ(
        parse("HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", 4096, true)
            .statuses,
        (std::vector<int>{200, 204}));
}

TEST(ResponseParser, InterimContinueIsSkipped)
{
    EXPECT_EQ(parse("HTTP/1.1 100 Continue\r\n\r\n" + kHello, 3).statuses, (std::vector<int>{200}));
}

TEST(ResponseParser, BodyUntilCloseEndsAtEof)
{
    lg::ResponseParser parser;
    std::string wire = "HTTP/1.1 200 OK\r\n\r\nsome body";
    auto step = parser.feed(wire.data(), wire.size(), false);
    EXPECT_EQ(step.status, lg::ResponseParser::Status::need_more);
    EXPECT_FALSE(parser.keep_alive());
    EXPECT_TRUE(parser.finish_at_eof());
}

TEST(ResponseParser, CutShortResponseIsNotComplete)
{
    lg::ResponseParser parser;
    std::string wire = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort";
    std::size_t used = 0;
    while (used < wire.size()) {
        auto step = parser.feed(wire.data() + used, wire.size() - used, false);
        ASSERT_NE(step.status, lg::ResponseParser::Status::complete);
        used += step.consumed;
    }
    EXPECT_TRUE(parser.in_progress());
    EXPECT_FALSE(parser.finish_at_eof());
}

TEST(ResponseParser, MalformedAnswersAreErrors)
{
    EXPECT_TRUE(parse("SMTP ready\r\n\r\n", 4096).error);
    EXPECT_TRUE(parse("HTTP/1.1 2x0 OK\r\n\r\n", 4096).error);
    EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", 4096).error);
    EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 4096).error);
    EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", 4096).error);
    EXPECT_TRUE(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 4096).error);
}

TEST(ResponseParser, HeadOverTheLimitIsAnError)
{
    std::string wire = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(lg::ResponseParser::max_head, 'a');
    EXPECT_TRUE(parse(wire, 8192).error);
}
