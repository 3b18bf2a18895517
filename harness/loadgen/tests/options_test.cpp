// The command line: what is accepted, and that bad input is refused with a message.
#include "options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace
{

lg::Options parse(std::vector<std::string> args)
{
    args.insert(args.begin(), "hb-loadgen");
    std::vector<char *> argv;
    for (auto &a : args)
        argv.push_back(a.data());
    return lg::parse_options(static_cast<int>(argv.size()), argv.data());
}

std::string refusal(std::vector<std::string> args)
{
    try {
        parse(std::move(args));
    } catch (const lg::UsageError &e) {
        return e.what();
    }
    return "(accepted)";
}

} // namespace

TEST(Url, HostPortAndTarget)
{
    std::string error;
    auto url = lg::parse_url("http://127.0.0.1:8080/echo?x=1", error);
    ASSERT_TRUE(url) << error;
    EXPECT_EQ(url->host, "127.0.0.1");
    EXPECT_EQ(url->port, 8080u);
    EXPECT_EQ(url->target, "/echo?x=1");
    EXPECT_EQ(url->host_header(), "127.0.0.1:8080");

    url = lg::parse_url("http://localhost", error);
    ASSERT_TRUE(url);
    EXPECT_EQ(url->port, 80u);
    EXPECT_EQ(url->target, "/");
    EXPECT_EQ(url->host_header(), "localhost");

    url = lg::parse_url("http://[::1]:9000?q", error);
    ASSERT_TRUE(url) << error;
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->target, "/?q");
    EXPECT_EQ(url->host_header(), "[::1]:9000");
}

TEST(Url, BadUrlsSayWhatIsWrong)
{
    std::string error;
    EXPECT_FALSE(lg::parse_url("https://x/", error));
    EXPECT_NE(error.find("https"), std::string::npos);
    EXPECT_FALSE(lg::parse_url("127.0.0.1:80/", error));
    EXPECT_NE(error.find("http://"), std::string::npos);
    for (const char *bad : {"http://:80/", "http://h:0/", "http://h:99999/", "http://h:/", "http://h:8x/",
                            "http://[::1/", "http://h/a b"}) {
        error.clear();
        EXPECT_FALSE(lg::parse_url(bad, error)) << bad;
        EXPECT_FALSE(error.empty()) << bad;
    }
}

TEST(Options, DefaultsAreClosedLoop)
{
    lg::Options o = parse({"http://127.0.0.1:1/"});
    EXPECT_FALSE(o.open_loop());
    EXPECT_EQ(o.connections, 10u);
    EXPECT_EQ(o.threads, 1u);
    EXPECT_EQ(o.pipeline, 1u);
    EXPECT_EQ(o.method, "GET");
}

TEST(Options, UnitsAndSuffixes)
{
    lg::Options o = parse({"--rate", "50k", "-c", "64", "--duration=500ms", "-w", "1m", "--body-size", "16k",
                           "-m", "POST", "--pipeline", "16", "--poisson", "-H", "X-A: b", "http://h/"});
    EXPECT_DOUBLE_EQ(o.rate, 50000);
    EXPECT_EQ(o.connections, 64u);
    EXPECT_DOUBLE_EQ(o.duration_s, 0.5);
    EXPECT_DOUBLE_EQ(o.warmup_s, 60);
    EXPECT_EQ(o.body_size, 16000u);
    EXPECT_EQ(o.pipeline, 16u);
    EXPECT_TRUE(o.poisson);
    EXPECT_EQ(o.headers, std::vector<std::string>{"X-A: b"});
}

TEST(Options, BadOptionsAreRefusedWithTheReason)
{
    EXPECT_NE(refusal({"--rate", "fast", "http://h/"}).find("--rate"), std::string::npos);
    EXPECT_NE(refusal({"--rate", "0", "http://h/"}).find("--rate"), std::string::npos);
    EXPECT_NE(refusal({"-c", "0", "http://h/"}).find("--connections"), std::string::npos);
    EXPECT_NE(refusal({"-d", "5 parsecs", "http://h/"}).find("--duration"), std::string::npos);
    EXPECT_NE(refusal({"--frobnicate", "http://h/"}).find("unknown option --frobnicate"), std::string::npos);
    EXPECT_NE(refusal({"--threads", "4", "-c", "2", "http://h/"}).find("--threads"), std::string::npos);
    EXPECT_NE(refusal({"--poisson", "http://h/"}).find("--rate"), std::string::npos);
    EXPECT_NE(refusal({"-m", "GE T", "http://h/"}).find("--method"), std::string::npos);
    EXPECT_NE(refusal({"http://h/", "--rate"}).find("needs a value"), std::string::npos);
    EXPECT_NE(refusal({}).find("no URL"), std::string::npos);
    EXPECT_NE(refusal({"-b", "100M", "http://h/"}).find("--body-size"), std::string::npos);
    EXPECT_NE(refusal({"-b", "1M", "-p", "1000", "http://h/"}).find("--pipeline"), std::string::npos);
    EXPECT_NE(refusal({"ftp://h/"}).find("bad URL"), std::string::npos);
}

TEST(Options, RequestCarriesHostLengthAndBody)
{
    lg::Options o = parse({"-m", "POST", "-b", "30", "-H", "X-Test: 1", "http://127.0.0.1:8080/echo"});
    std::string request = lg::build_request(o);
    std::string head = request.substr(0, request.find("\r\n\r\n") + 4);
    EXPECT_EQ(head, "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nX-Test: 1\r\nContent-Length: 30\r\n\r\n");
    EXPECT_EQ(request.size(), head.size() + 30);
    EXPECT_EQ(request.substr(head.size(), 4), "abcd");
}
