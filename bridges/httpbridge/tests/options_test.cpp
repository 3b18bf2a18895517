// Options through the C ABI: the size that lets hb_options grow, the one
// validation every layer shares (hb_options_check), the log callback, the
// header rule bindings ask before buffering (hb_header_check), the version.
#include "engine.hpp"
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace
{

using hbtest::TestServer;

std::string check(const hb_options &o)
{
    const char *problem = hb_options_check(&o);
    return problem == nullptr ? "" : problem;
}

TEST(Options, InitSetsTheSizeTheCallerWasCompiledWith)
{
    hb_options o;
    std::memset(&o, 0, sizeof o);
    hb_options_init(&o);
    EXPECT_EQ(o.size, sizeof(hb_options));
    EXPECT_EQ(o.log, nullptr);
    EXPECT_EQ(o.log_data, nullptr);
    EXPECT_EQ(check(o), "");
}

// A struct not started from hb_options_init (size 0), or from a newer header
// than the library knows, is refused rather than misread.
TEST(Options, AnUnknownSizeIsRefused)
{
    hb_options o = hbtest::test_options();
    hb_server *srv = nullptr;
    for (std::size_t size : {std::size_t{0}, std::size_t{8}, sizeof(hb_options) + 8}) {
        o.size = size;
        EXPECT_NE(check(o).find("hb_options_init"), std::string::npos) << size;
        EXPECT_EQ(hb_server_create(&o, &srv), HB_E_INVAL) << size;
        EXPECT_EQ(srv, nullptr);
    }
}

// A caller built before max_connections existed passes a smaller size: its
// struct is accepted and the field it does not know gets its default.
TEST(Options, ACallerThatPredatesAFieldGetsItsDefault)
{
    hb_options o = hbtest::test_options();
    o.size = offsetof(hb_options, max_connections);
    o.max_connections = 7; // beyond what this caller's struct holds: must be ignored
    EXPECT_EQ(check(o), "");
    EXPECT_EQ(hb::complete_options(o).max_connections, hb::default_options().max_connections);
}

TEST(Options, CheckNamesTheFieldAtFault)
{
    struct Case {
        void (*spoil)(hb_options &);
        const char *field;
    };
    const Case cases[] = {
        {[](hb_options &o) { o.io_threads = 0; }, "io_threads"},
        {[](hb_options &o) { o.io_threads = 1025; }, "io_threads"},
        {[](hb_options &o) { o.header_limit = 0; }, "header_limit"},
        {[](hb_options &o) { o.read_timeout_ms = 0; }, "read_timeout_ms"},
        {[](hb_options &o) { o.idle_timeout_ms = 0; }, "idle_timeout_ms"},
    };
    for (const Case &c : cases) {
        hb_options o = hbtest::test_options();
        c.spoil(o);
        EXPECT_NE(check(o).find(c.field), std::string::npos) << c.field << ": " << check(o);
        hb_server *srv = nullptr;
        EXPECT_EQ(hb_server_create(&o, &srv), HB_E_INVAL) << c.field;
    }
    hb_options o = hbtest::test_options();
    o.io_threads = 1024;
    EXPECT_EQ(check(o), "");
    EXPECT_EQ(hb_options_check(nullptr), nullptr); // NULL options mean the defaults
}

// The C++ engine (cpp-beast's way in) applies the same rule.
TEST(Options, TheEngineRefusesWhatTheAbiRefuses)
{
    hb_options o = hb::default_options();
    o.io_threads = 0;
    EXPECT_THROW(hb::Server{o}, std::invalid_argument);
    EXPECT_EQ(std::string(hb::check_options(o)), check(o));
}

struct Log {
    std::mutex mutex;
    std::vector<std::pair<int, std::string>> lines;
};

void record(void *log_data, int level, const char *message)
{
    auto *log = static_cast<Log *>(log_data);
    std::lock_guard<std::mutex> lock(log->mutex);
    log->lines.emplace_back(level, message);
}

int throws(hb_response, const hb_request *, void *)
{
    throw std::runtime_error("the handler's own words");
}

// What the server reports goes to the callback the options name, not stderr.
TEST(Options, TheServerReportsThroughTheLogCallback)
{
    Log log;
    hb_options o = hbtest::test_options();
    o.log = record;
    o.log_data = &log;
    hb_server *srv = nullptr;
    ASSERT_EQ(hb_server_create(&o, &srv), HB_OK);
    ASSERT_EQ(hb_server_handle(srv, "/throw", throws, nullptr), HB_OK);
    ASSERT_EQ(hb_server_listen(srv, "127.0.0.1", 0), HB_OK);
    ASSERT_EQ(hb_server_start(srv), HB_OK);
    testing::internal::CaptureStderr();
    auto r = hbtest::Client(hb_server_port(srv)).request(hbtest::get("/throw"));
    hb_server_free(srv);
    std::string stderr_text = testing::internal::GetCapturedStderr();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
    ASSERT_EQ(log.lines.size(), 1u);
    EXPECT_EQ(log.lines[0].first, HB_LOG_ERROR);
    EXPECT_NE(log.lines[0].second.find("the handler's own words"), std::string::npos) << log.lines[0].second;
    EXPECT_EQ(log.lines[0].second.find('\n'), std::string::npos);
    EXPECT_EQ(stderr_text, "");
}

TEST(Options, WithoutALogCallbackReportsGoToStderr)
{
    TestServer server;
    ASSERT_EQ(hb_server_handle(server.raw(), "/throw", throws, nullptr), HB_OK);
    server.start();
    testing::internal::CaptureStderr();
    auto r = server.connect().request(hbtest::get("/throw"));
    ASSERT_TRUE(r);
    std::string stderr_text = testing::internal::GetCapturedStderr();
    EXPECT_EQ(stderr_text, "httpbridge: handler threw: the handler's own words\n");
}

// ---- the header rule, asked by bindings before they buffer a header --------

std::string header_problem(std::string_view name, std::string_view value)
{
    const char *problem = hb_header_check(name.data(), name.size(), value.data(), value.size());
    return problem == nullptr ? "" : problem;
}

TEST(Options, HeaderCheckIsTheRuleAddHeaderApplies)
{
    EXPECT_EQ(header_problem("X-Tag", "anything: at all"), "");
    EXPECT_EQ(header_problem("!#$%&'*+-.^_`|~09azAZ", ""), "");
    EXPECT_NE(header_problem("", "v").find("token"), std::string::npos);
    EXPECT_NE(header_problem("Bad Name", "v").find("token"), std::string::npos);
    EXPECT_NE(header_problem("X", "a\r\nInjected: 1").find("CR"), std::string::npos);
    EXPECT_NE(header_problem("X", std::string("a\0b", 3)).find("NUL"), std::string::npos);
    EXPECT_NE(header_problem("content-length", "1").find("Content-Length"), std::string::npos);
    EXPECT_NE(header_problem("Transfer-Encoding", "chunked").find("Transfer-Encoding"), std::string::npos);
    EXPECT_NE(hb_header_check(nullptr, 1, "", 0), nullptr);

    // ... and hb_response_add_header refuses exactly those.
    TestServer server;
    server.route("/", [](hb_response res, const hb_request &) {
        int refused = hb_response_add_header(res, "Bad Name", 8, "v", 1);
        int taken = hb_response_add_header(res, "X-Tag", 5, "v", 1);
        std::string body = std::to_string(refused) + " " + std::to_string(taken);
        return hb_response_write(res, body.data(), body.size());
    });
    server.start();
    auto r = server.connect().request(hbtest::get("/"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, std::to_string(HB_E_INVAL) + " 0");
}

TEST(Options, VersionStringIsTheGeneratedOne)
{
    EXPECT_STREQ(hb_version_string(), HB_VERSION_STRING);
    std::string expected = std::to_string(HB_VERSION_MAJOR) + "." + std::to_string(HB_VERSION_MINOR) + "." +
                           std::to_string(HB_VERSION_PATCH);
    EXPECT_EQ(expected, HB_VERSION_STRING);
}

} // namespace
