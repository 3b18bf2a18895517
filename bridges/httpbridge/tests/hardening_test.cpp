// Hostile and unusual clients over real loopback sockets, through the C ABI:
// request framing (RFC 9112 §6), Host rules and versions (§3.2, RFC 9110 §6.2),
// trailers kept out of the headers, every parser buffer bounded, the cap on
// open connections, and slow readers that never stall the io thread.
#include "server_fixture.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

namespace
{

using hbtest::Client;
using hbtest::Recorder;
using hbtest::SeenRequest;
using hbtest::TestServer;
using Headers = std::vector<std::pair<std::string, std::string>>;

// Every path answers "<path> <body>" and records what the handler saw.
void route_recording(TestServer &server, Recorder &recorder)
{
    server.route("/", [&recorder](hb_response res, const hb_request &req) {
        recorder.add(req);
        std::string answer = hbtest::str(req.path) + " " + hbtest::str(req.body);
        return hb_response_write(res, answer.data(), answer.size());
    });
}

// An error answer, then the server closes: nothing after it is ever answered.
void expect_status_then_close(Client &client, int status)
{
    auto r = client.read_response();
    ASSERT_TRUE(r) << "no answer";
    EXPECT_EQ(r->status, status);
    EXPECT_EQ(r->header("Connection"), "close");
    auto rest = client.read_until_close();
    ASSERT_TRUE(rest) << "connection left open";
    EXPECT_EQ(*rest, "") << "something after the refused request was answered";
}

class HardeningTest : public ::testing::Test
{
protected:
    void SetUp() override
    {
        route_recording(server, recorder);
        server.start();
    }

    // Send raw bytes on a fresh connection, expect one refusal and a close.
    void expect_refused(const std::string &request, int status)
    {
        SCOPED_TRACE(request);
        auto client = server.connect();
        ASSERT_TRUE(client.send(request));
        expect_status_then_close(client, status);
    }

    // What the handler saw for a request that must be served with 200.
    SeenRequest served(const std::string &request)
    {
        SCOPED_TRACE(request);
        auto client = server.connect();
        auto r = client.request(request);
        EXPECT_TRUE(r.has_value());
        if (r) {
            EXPECT_EQ(r->status, 200);
        }
        return recorder.last();
    }

    bool handler_saw(const std::string &path)
    {
        for (const SeenRequest &s : recorder.all())
            if (s.path == path)
                return true;
        return false;
    }

    TestServer server;
    Recorder recorder;
};

// ---- item 1: framing -------------------------------------------------------

const std::string kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n";

TEST_F(HardeningTest, TransferEncodingNotEndingInChunkedGets400AndItsBodyIsNeverARequest)
{
    for (const char *coding : {"gzip", "chunked, gzip", "identity", "chunked, chunked"}) {
        expect_refused(std::string("POST /te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ") + coding +
                           "\r\n\r\n" + kSmuggled,
                       400);
    }
    // The same through two fields: the last coding is what counts.
    expect_refused(
        "POST /te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n" +
            kSmuggled,
        400);
    EXPECT_FALSE(handler_saw("/smuggled"));
    EXPECT_FALSE(handler_saw("/te"));
}

TEST_F(HardeningTest, CodingWeDoNotImplementBeforeChunkedGets501)
{
    expect_refused(
        "POST /te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" + kSmuggled, 501);
    expect_refused(
        "POST /te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n" +
            kSmuggled,
        501);
    expect_refused(
        "POST /te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked;x=1\r\n\r\n0\r\n\r\n" + kSmuggled, 501);
    EXPECT_FALSE(handler_saw("/smuggled"));
}

TEST_F(HardeningTest, TransferEncodingInHttp10IsAnsweredOnceThenClosed)
{
    auto client = server.connect();
    ASSERT_TRUE(
        client.send("POST /te HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
                    "5\r\nhello\r\n0\r\n\r\n" +
                    kSmuggled));
    auto r = client.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->header("Connection"), "keep-alive");
    auto rest = client.read_until_close();
    ASSERT_TRUE(rest) << "connection left open";
    EXPECT_EQ(*rest, "");
    EXPECT_FALSE(handler_saw("/smuggled"));
    EXPECT_FALSE(handler_saw("/te"));
}

TEST_F(HardeningTest, ContentLengthWithTransferEncodingIsStillRefused)
{
    expect_refused("POST /te HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "0\r\n\r\n" +
                       kSmuggled,
                   400);
    expect_refused("POST /te HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
                   "0\r\n\r\n" +
                       kSmuggled,
                   400);
    EXPECT_FALSE(handler_saw("/smuggled"));
}

TEST_F(HardeningTest, ChunkedBodyIsStillServedAndKeepsTheConnection)
{
    auto client = server.connect();
    auto r = client.request("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n"
                            "3\r\nabc\r\n0\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "/c abc");
    r = client.request(hbtest::get("/next"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "/next ");
}

// ---- item 2: Host, absolute form, versions, limits -------------------------

TEST_F(HardeningTest, Http11WithoutHostGets400)
{
    expect_refused("GET /nohost HTTP/1.1\r\n\r\n", 400);
    expect_refused("POST /nohost HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi", 400);
    EXPECT_FALSE(handler_saw("/nohost"));
}

TEST_F(HardeningTest, Http10WithoutHostIsServed)
{
    auto client = server.connect();
    auto r = client.request("GET /old HTTP/1.0\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
}

TEST_F(HardeningTest, MoreThanOneHostGets400)
{
    expect_refused("GET /twohosts HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400);
    expect_refused("GET /twohosts HTTP/1.1\r\nHost: a\r\nX: y\r\nhost: b\r\n\r\n", 400);
    EXPECT_FALSE(handler_saw("/twohosts"));
}

TEST_F(HardeningTest, InvalidHostGets400)
{
    for (const char *host :
         {"a b", "h/x", "user@h", "h\\x", "[::1", "[]", "[::1]x", "h:8o", "h:80:80", "%zz", "h\"", "<h>"}) {
        expect_refused(std::string("GET /badhost HTTP/1.1\r\nHost: ") + host + "\r\n\r\n", 400);
    }
    EXPECT_FALSE(handler_saw("/badhost"));
}

TEST_F(HardeningTest, ValidHostsAreServedAsSent)
{
    for (const char *host : {"example.com", "example.com:8080", "127.0.0.1:1", "[::1]:80", "[::1]",
                             "xn--bcher-kva.ch", "h%41", "a_b-c~d", ""}) {
        SeenRequest s = served(std::string("GET /ok HTTP/1.1\r\nHost: ") + host + "\r\n\r\n");
        EXPECT_EQ(s.host, host);
    }
}

TEST_F(HardeningTest, AbsoluteFormTakesPathAndQueryFromTheTargetAndHostFromItsAuthority)
{
    SeenRequest s = served("GET http://example.com:81/a/b?x=1&y=2 HTTP/1.1\r\nHost: other\r\n\r\n");
    EXPECT_EQ(s.target, "http://example.com:81/a/b?x=1&y=2");
    EXPECT_EQ(s.path, "/a/b");
    EXPECT_EQ(s.query, "x=1&y=2");
    EXPECT_EQ(s.host, "example.com:81");

    s = served("GET HTTPS://h HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(s.path, "/");
    EXPECT_EQ(s.query, "");
    EXPECT_EQ(s.host, "h");

    s = served("GET http://h?q HTTP/1.1\r\nHost: h\r\n\r\n");
    EXPECT_EQ(s.path, "/");
    EXPECT_EQ(s.query, "q");
}

TEST_F(HardeningTest, AbsoluteFormWithABadSchemeOrAuthorityGets400)
{
    for (const char *target : {"ftp://h/x", "http:///x", "http://user@h/x", "http://h h/x", "http://[::1/x"})
        expect_refused(std::string("GET ") + target + " HTTP/1.1\r\nHost: h\r\n\r\n", 400);
    EXPECT_EQ(recorder.all().size(), 0u);
}

TEST_F(HardeningTest, Http12IsServedAsHttp11)
{
    auto client = server.connect();
    for (int i = 0; i < 2; ++i) { // and the connection stays open, as for 1.1
        auto r = client.request("GET /v12 HTTP/1.2\r\nHost: h\r\n\r\n");
        ASSERT_TRUE(r) << "request " << i;
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->version, "HTTP/1.1");
        EXPECT_FALSE(r->has("Connection"));
    }
    EXPECT_EQ(recorder.last().version, 11);
    // 1.2 is still 1.1 in every other way: Host is required.
    expect_refused("GET /v12 HTTP/1.2\r\n\r\n", 400);
}

TEST_F(HardeningTest, OtherMajorVersionsGet505)
{
    for (const char *version : {"HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/9.1"})
        expect_refused(std::string("GET /v HTTP/") + (version + 5) + "\r\nHost: h\r\n\r\n", 505);
    EXPECT_FALSE(handler_saw("/v"));
}

TEST_F(HardeningTest, MalformedVersionsStillGet400)
{
    for (const char *version : {"HTTP/1.10", "HTTP/1", "HTTP/x.1", "HTTP/1.1 extra", "http/1.1"})
        expect_refused(std::string("GET /v ") + version + "\r\nHost: h\r\n\r\n", 400);
}

hb_options with_header_limit(std::size_t limit)
{
    hb_options o = hbtest::test_options();
    o.header_limit = limit;
    return o;
}

// A server with a small header limit, recording what its handler sees.
template <std::size_t Limit> class WithHeaderLimit : public ::testing::Test
{
protected:
    void SetUp() override
    {
        route_recording(server, recorder);
        server.start();
    }
    static constexpr std::size_t kLimit = Limit;
    TestServer server{with_header_limit(Limit)};
    Recorder recorder;
};

using HardeningLimits = WithHeaderLimit<1024>;

TEST_F(HardeningLimits, RequestLineOverTheLimitGets414EvenDribbledIn)
{
    auto client = server.connect();
    std::string request = hbtest::get("/" + std::string(3000, 'p'));
    for (std::size_t at = 0; at < request.size(); at += 200)
        if (!client.send(std::string_view(request).substr(at, 200)))
            break; // answered and closed already
    expect_status_then_close(client, 414);
}

TEST_F(HardeningLimits, ManySmallHeadersOverTheLimitGet431)
{
    auto client = server.connect();
    // Each line is small and arrives alone: the sum is what the limit bounds.
    ASSERT_TRUE(client.send("GET /many HTTP/1.1\r\nHost: h\r\n"));
    for (int i = 0; i < 100; ++i)
        if (!client.send("X-" + std::to_string(i) + ": " + std::string(40, 'v') + "\r\n"))
            break;
    client.send("\r\n");
    expect_status_then_close(client, 431);
    EXPECT_EQ(recorder.all().size(), 0u);
}

// ---- item 3: trailers -------------------------------------------------------

TEST_F(HardeningTest, TrailersNeverAppearAmongHeadersNorSupplyHost)
{
    SeenRequest s = served("POST /tr HTTP/1.1\r\nHost: real\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "3\r\nabc\r\n0\r\nX-Trailer: t\r\nHost: evil\r\n\r\n");
    EXPECT_EQ(s.body, "abc");
    EXPECT_EQ(s.host, "real");
    EXPECT_EQ(s.headers, (Headers{{"Host", "real"}, {"Transfer-Encoding", "chunked"}}));
}

TEST_F(HardeningTest, ATrailerCannotStandInForAMissingHost)
{
    expect_refused("POST /tr HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nHost: h\r\n\r\n", 400);
    EXPECT_FALSE(handler_saw("/tr"));
}

// ---- item 4: every byte the parser buffers is bounded ----------------------

// Stream `tail` in pieces after `head` until the server answers; the answer
// must be a 400 and come after at most `limit` bytes plus some slack.
void expect_cut_off(TestServer &server, const std::string &head, const std::string &piece, std::size_t limit)
{
    auto client = server.connect();
    ASSERT_TRUE(client.send(head));
    std::size_t sent = 0;
    // Ten times the limit: without a bound the server would keep reading.
    while (sent < 10 * limit && client.send(piece))
        sent += piece.size();
    expect_status_then_close(client, 400);
}

using HardeningBuffers = WithHeaderLimit<4096>;

const std::string kChunkedHead = "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";

TEST_F(HardeningBuffers, EndlessChunkExtensionGets400)
{
    expect_cut_off(server, kChunkedHead + "5;ext=", std::string(512, 'e'), kLimit);
    EXPECT_EQ(recorder.all().size(), 0u);
}

TEST_F(HardeningBuffers, EndlessChunkSizeLineGets400)
{
    expect_cut_off(server, kChunkedHead, std::string(512, '0'), kLimit);
}

TEST_F(HardeningBuffers, EndlessTrailerSectionGets400)
{
    expect_cut_off(server, kChunkedHead + "1\r\nx\r\n0\r\n", "X-T: " + std::string(100, 't') + "\r\n",
                   kLimit);
    EXPECT_EQ(recorder.all().size(), 0u);
}

// The same bound when all of it arrives at once: the parser used to take a
// whole trailer section or chunk-size line of any length from one read, and
// cut it off only when it came in parts (fuzz seed trailers-over-limit-in-pieces).
TEST_F(HardeningBuffers, FramingOverTheLimitGets400EvenInOneWrite)
{
    const std::string trailers = "X-T: " + std::string(kLimit, 't') + "\r\n";
    const std::vector<std::string> requests = {
        kChunkedHead + "3\r\nabc\r\n0\r\n" + trailers + "\r\n",
        kChunkedHead + "3;" + std::string(kLimit, 'e') + "\r\nabc\r\n0\r\n\r\n",
    };
    for (const std::string &request : requests) {
        auto client = server.connect();
        ASSERT_TRUE(client.send(request));
        expect_status_then_close(client, 400);
    }
    EXPECT_EQ(recorder.all().size(), 0u);
}

TEST_F(HardeningBuffers, ExtensionsAndTrailersWithinTheLimitAreFine)
{
    auto client = server.connect();
    std::string ext(1000, 'e');
    auto r = client.request(kChunkedHead + "3;" + ext + "\r\nabc\r\n0;" + ext +
                            "\r\nX-T: " + std::string(1000, 't') + "\r\n\r\n");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "/b abc");
}

// ---- item 6: many connections ------------------------------------------------

TEST(HardeningConnections, StartRaisesTheSoftDescriptorLimitToTheHardOne)
{
    rlimit before{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &before), 0);
    if (before.rlim_max < 512)
        GTEST_SKIP() << "hard RLIMIT_NOFILE " << before.rlim_max << " leaves nothing to raise";
    rlimit lowered = before;
    lowered.rlim_cur = 256;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
    {
        TestServer server;
        Recorder recorder;
        route_recording(server, recorder);
        server.start();
        rlimit after{};
        ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
        EXPECT_EQ(after.rlim_cur, before.rlim_max);
    }
    ::setrlimit(RLIMIT_NOFILE, &before);
}

double cpu_seconds()
{
    rusage u{};
    ::getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

TEST(HardeningConnections, AtTheCapTheServerWaitsForAConnectionToCloseWithoutSpinning)
{
    hb_options o = hbtest::test_options();
    o.max_connections = 3;
    TestServer server(o);
    Recorder recorder;
    route_recording(server, recorder);
    server.start();
    std::list<Client> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(server.connect());
        auto r = held.back().request(hbtest::get("/held"));
        ASSERT_TRUE(r) << "connection " << i << " under the cap was not served";
    }
    // The fourth is queued in the kernel's backlog, not served, not refused.
    Client waiting = server.connect(/*timeout_ms=*/400);
    ASSERT_TRUE(waiting.connected());
    ASSERT_TRUE(waiting.send(hbtest::get("/waiting")));
    double cpu_before = cpu_seconds();
    EXPECT_FALSE(waiting.wait_for("HTTP/1.1")) << "served past the cap";
    // A busy loop would burn the whole 400 ms of that wait; waiting burns none.
    EXPECT_LT(cpu_seconds() - cpu_before, 0.2) << "the acceptor spins at the cap";
    held.pop_front(); // closing one makes room
    bool answered = false;
    for (int i = 0; !answered && i < 20; ++i) // each wait gives up after 400 ms
        answered = waiting.wait_for("\r\n\r\n");
    ASSERT_TRUE(answered) << "the queued client was never served after a slot freed";
    auto r = waiting.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "/waiting ");
}

TEST(HardeningConnections, ThousandsOfIdleConnectionsNeverDelayAFreshClient)
{
    constexpr int kIdle = 3000;
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_max < 2 * kIdle + 100)
        GTEST_SKIP() << "hard RLIMIT_NOFILE " << limit.rlim_max << " is too low for " << kIdle
                     << " connections";
    TestServer server; // one io thread: every connection shares it with the fresh client
    Recorder recorder;
    route_recording(server, recorder);
    server.start(); // raises the soft limit for this process too
    std::vector<Client> idle;
    idle.reserve(kIdle);
    for (int i = 0; i < kIdle; ++i) {
        idle.push_back(server.connect());
        ASSERT_TRUE(idle.back().connected()) << "connection " << i;
        if (i % 3 == 0) { // some have been served and idle between requests, the rest never spoke
            ASSERT_TRUE(idle.back().request(hbtest::get("/idle"))) << "connection " << i;
        }
    }
    for (int i = 0; i < 20; ++i) {
        Client fresh = server.connect(/*timeout_ms=*/2000);
        auto r = fresh.request(hbtest::get("/fresh"));
        ASSERT_TRUE(r) << "a fresh client waited more than 2 s beside " << kIdle << " idle ones";
        EXPECT_EQ(r->body, "/fresh ");
    }
    auto r = idle.front().request(hbtest::get("/still"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "/still ");
}

// ---- item 7: a slow reader never stalls anyone else ------------------------

// A client with a tiny receive window that reads only when told to.
class SlowReader
{
public:
    SlowReader(int port, int receive_buffer)
    {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        // Before connect: caps the window the server may fill.
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr *>(&addr), sizeof addr) == 0;
    }
    ~SlowReader() { ::close(fd_); }
    bool connected() const { return connected_; }
    bool send(const std::string &bytes)
    {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == ssize_t(bytes.size());
    }
    // Read at most n bytes, waiting at most timeout_ms for the first; 0 on close, -1 on timeout.
    ssize_t read_some(std::string &into, std::size_t n, int timeout_ms)
    {
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, timeout_ms) <= 0)
            return -1;
        std::string buf(n, '\0');
        ssize_t got = ::recv(fd_, buf.data(), n, 0);
        if (got > 0)
            into.append(buf.data(), static_cast<std::size_t>(got));
        return got;
    }

private:
    int fd_ = -1;
    bool connected_ = false;
};

// Undo chunked framing of a whole response; false when it is not complete.
bool dechunk(const std::string &response, std::string &body)
{
    std::size_t at = response.find("\r\n\r\n");
    if (at == std::string::npos)
        return false;
    at += 4;
    for (;;) {
        std::size_t eol = response.find("\r\n", at);
        if (eol == std::string::npos)
            return false;
        std::size_t size = std::stoul(response.substr(at, eol - at), nullptr, 16);
        at = eol + 2;
        if (size == 0)
            return response.compare(at, 2, "\r\n") == 0;
        if (response.size() < at + size + 2)
            return false;
        body.append(response, at, size);
        at += size + 2;
    }
}

TEST(HardeningSlowReaders, FlushNeverWaitsForAClientThatDoesNotRead)
{
    hb_options o = hbtest::test_options();
    o.io_threads = 1; // the streaming handler and everyone else share one thread
    o.read_timeout_ms = 1000;
    o.idle_timeout_ms = 1000;
    TestServer server(o);
    constexpr int kChunks = 200;
    constexpr std::size_t kChunk = 32 * 1024;
    std::atomic<int> again{0};
    hbtest::Latch streamed;
    server.route("/stream", [&](hb_response res, const hb_request &) {
        for (int i = 0; i < kChunks; ++i) {
            std::string chunk(kChunk, static_cast<char>('a' + i % 26));
            hb_response_write(res, chunk.data(), chunk.size());
            int rc = hb_response_flush(res);
            if (rc == HB_E_AGAIN)
                ++again;
            else if (rc != HB_OK)
                return rc;
        }
        streamed.open();
        return 0;
    });
    Recorder recorder;
    route_recording(server, recorder);
    server.start();

    SlowReader hog(server.port(), 16 * 1024);
    ASSERT_TRUE(hog.connected());
    ASSERT_TRUE(hog.send(hbtest::get("/stream")));
    // 6.4 MB into a 4 KiB window: the handler can only finish if flush never waits.
    ASSERT_TRUE(streamed.wait_for(5000)) << "the handler is stuck in hb_response_flush";
    EXPECT_GT(again.load(), 0) << "flush never said the client was behind";
    // The io thread is free: others are served (and time out as usual).
    Client silent = server.connect();
    auto r = server.connect().request(hbtest::get("/other"));
    ASSERT_TRUE(r) << "another client on the same io thread was not served";
    EXPECT_EQ(r->body, "/other ");

    // The slow reader now reads, steadily, and gets every byte in order
    // (had it paused past the 1 s timeout, it would have been dropped).
    std::string response;
    std::string body;
    while (!dechunk(response, body)) {
        body.clear();
        ssize_t n = hog.read_some(response, 64 * 1024, 250);
        ASSERT_GT(n, 0) << "stream cut after " << response.size() << " bytes";
    }
    ASSERT_EQ(body.size(), kChunks * kChunk);
    for (int i = 0; i < kChunks; ++i)
        ASSERT_EQ(body[static_cast<std::size_t>(i) * kChunk], static_cast<char>('a' + i % 26))
            << "chunk " << i;
    EXPECT_TRUE(silent.wait_hangup()) << "a silent client kept its connection past the read timeout";
}

TEST(HardeningSlowReaders, SlowButSteadyReaderGetsALargeAnswerThatOutlastsTheTimeout)
{
    hb_options o = hbtest::test_options();
    o.read_timeout_ms = 800; // per stretch without progress, not for the whole answer
    TestServer server(o);
    std::string big(16 << 20, '\0'); // every byte told apart: sent in pieces, none moved or lost
    for (std::size_t i = 0; i < big.size(); ++i)
        big[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    server.route("/big", [&](hb_response res, const hb_request &) {
        return hb_response_write(res, big.data(), big.size());
    });
    server.start();
    SlowReader reader(server.port(), 64 * 1024);
    ASSERT_TRUE(reader.connected());
    ASSERT_TRUE(reader.send(hbtest::get("/big")));
    std::string response;
    std::size_t want = 0;
    int reads = 0;
    while (want == 0 || response.size() < want) {
        // At most 64 KiB per 10 ms, some 6 MB/s: 16 MiB outlast the timeout several times over,
        // and more than the kernel's socket buffers can hold.
        ::usleep(10 * 1000);
        ssize_t n = reader.read_some(response, 64 * 1024, 1000);
        ASSERT_GT(n, 0) << "cut after " << response.size() << " bytes, " << reads << " reads";
        ++reads;
        std::size_t head = response.find("\r\n\r\n");
        if (want == 0 && head != std::string::npos)
            want = head + 4 + big.size();
    }
    ASSERT_EQ(response.size(), want);
    EXPECT_TRUE(response.compare(want - big.size(), big.size(), big) == 0) << "the body arrived changed";
}

// Signals landing on the io thread (a handler installed without SA_RESTART,
// so every blocking call it interrupts fails with EINTR) never cost a client
// its answer: EINTR is retried, never an error.
TEST(HardeningSlowReaders, SignalsInterruptingTheIoThreadNeverBreakAnAnswer)
{
    struct sigaction quiet {
    };
    quiet.sa_handler = [](int) {
    };
    sigemptyset(&quiet.sa_mask);
    quiet.sa_flags = 0; // no SA_RESTART
    struct sigaction old {
    };
    ASSERT_EQ(::sigaction(SIGUSR1, &quiet, &old), 0);

    hb_options o = hbtest::test_options();
    TestServer server(o);
    const std::string big(2 << 20, 's');
    server.route("/big", [&](hb_response res, const hb_request &) {
        hb_response_write(res, big.data(), big.size() / 2);
        // A flush that had to wait for the socket (as it once did, in poll) met the signals.
        int rc = hb_response_flush(res);
        if (rc != HB_OK && rc != HB_E_AGAIN)
            return rc;
        return hb_response_write(res, big.data(), big.size() / 2);
    });
    server.start(); // its io thread has SIGUSR1 unblocked

    // Block it here (and in the thread that sends it), so that only the io thread gets it.
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &usr1, nullptr), 0);
    std::atomic<bool> done{false};
    std::thread spammer([&] {
        while (!done) { // thousands a second, and CPU left for the server
            ::kill(::getpid(), SIGUSR1);
            ::usleep(50);
        }
    });
    int answered = 0;
    for (int i = 0; i < 10; ++i) {
        auto client = server.connect();
        auto r = client.request(hbtest::get("/big"));
        if (!r || r->body.size() != big.size())
            break;
        ++answered;
    }
    done = true;
    spammer.join();
    EXPECT_EQ(answered, 10) << "an answer was lost to a signal";
    ::pthread_sigmask(SIG_UNBLOCK, &usr1, nullptr);
    ::sigaction(SIGUSR1, &old, nullptr);
}

} // namespace
