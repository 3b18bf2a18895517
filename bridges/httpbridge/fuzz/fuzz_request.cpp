// libFuzzer target: arbitrary bytes from a client through one engine
// connection (Beast's parser, our checks on top, routing, handlers, response
// framing, flush, refusals, lingering close), three times: sent whole, then
// in two kinds of pieces, and all must get the same answer. The connection
// runs on a socketpair driven by this thread alone: no threads, no timers, no
// TCP, so every input replays the same way. Built by `make fuzz` (clang, libFuzzer,
// ASan, UBSan) and, with replay_main.cpp, by every build for ctest.
#include "connection.hpp"
#include "worker.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace
{
namespace asio = boost::asio;
using asio::ip::tcp;

void fail(const char *what)
{
    std::fprintf(stderr, "fuzz_request: %s\n", what);
    std::abort();
}

// Read every byte a view points to, so ASan sees a view into freed memory.
unsigned touch(hb_str s)
{
    if (s.len != 0 && s.data == nullptr)
        fail("a non-empty field without data");
    unsigned sum = 0;
    for (std::size_t i = 0; i < s.len; ++i)
        sum += static_cast<unsigned char>(s.data[i]);
    return sum;
}

bool contains(hb_str outer, hb_str inner)
{
    return inner.len == 0 || (inner.data >= outer.data && inner.data + inner.len <= outer.data + outer.len);
}

// What the engine promises every handler, checked on every request.
void check_view(const hb_request &req)
{
    volatile unsigned sum = touch(req.method) + touch(req.target) + touch(req.path) + touch(req.query) +
                            touch(req.host) + touch(req.remote_addr) + touch(req.body);
    for (std::size_t i = 0; i < req.header_count; ++i)
        sum = sum + touch(req.headers[i].name) + touch(req.headers[i].value);
    (void)sum;
    if (req.version != 10 && req.version != 11)
        fail("a version other than 1.0 or 1.1 reached a handler");
    if (req.method.len == 0)
        fail("an empty method reached a handler");
    std::string_view target(req.target.data, req.target.len);
    if (!target.empty() && target[0] == '/' &&
        (!contains(req.target, req.path) || !contains(req.target, req.query)))
        fail("path or query outside an origin-form target");
    if (req.path.len == 0 && !target.empty() && target[0] == '/')
        fail("an empty path for an origin-form target");
}

int echo(hb::Response &res, const hb_request &req, void *)
{
    check_view(req);
    res.add_header("Content-Type", "application/octet-stream");
    res.write({req.body.data, req.body.len});
    return 0;
}

int stream(hb::Response &res, const hb_request &req, void *)
{
    check_view(req);
    res.write("first,");
    int rc = res.flush();
    if (rc != HB_OK && rc != HB_E_AGAIN && rc != HB_E_IO)
        fail("flush returned an unexpected code");
    res.write({req.body.data, req.body.len});
    res.flush();
    res.write("last");
    return 0;
}

// A declared length the input chooses (the target's length): the writes that
// follow come out exact, short (the connection closes) or too long (refused).
int sized(hb::Response &res, const hb_request &req, void *)
{
    check_view(req);
    if (res.set_length(req.target.len) != HB_OK)
        fail("set_length refused a length on a fresh response");
    res.write("first,");
    int rc = res.flush();
    if (rc != HB_OK && rc != HB_E_AGAIN && rc != HB_E_IO)
        fail("flush returned an unexpected code");
    if (rc == HB_OK && res.set_length(1) != HB_E_SENT)
        fail("set_length after a flush was not refused");
    res.write({req.body.data, req.body.len});
    res.flush();
    res.write("last");
    return 0;
}

int failing(hb::Response &res, const hb_request &req, void *)
{
    check_view(req);
    res.write("half an answer");
    return -1;
}

int throwing(hb::Response &, const hb_request &req, void *)
{
    check_view(req);
    throw std::runtime_error("thrown by the fuzz handler");
}

struct Harness {
    Harness()
    {
        options = hb::default_options();
        options.header_limit = 2048; // small, so that inputs reach the limits
        // Above one 16 KiB read and the 16 KiB response tail, so that long bodies
        // are read in place and long answers sent from where they were written.
        options.body_limit = 64 * 1024;
        router.add("/", hb::Route{echo, nullptr});
        router.add("/stream/", hb::Route{stream, nullptr});
        router.add("/sized/", hb::Route{sized, nullptr});
        router.add("/fail", hb::Route{failing, nullptr});
        router.add("/throw", hb::Route{throwing, nullptr});
        worker = std::make_unique<hb::Worker>(options, router);
    }
    hb_options options;
    hb::detail::Router<hb::Route> router;
    std::unique_ptr<hb::Worker> worker;
};

// How the client hands its bytes over: all it can at once, or in pieces, each
// read by the server before the next is sent (the head of a request alone, a
// body in odd lengths). What the server answers must not depend on which.
// pieces: 1 to 1536 bytes, cut the same for inputs of one length (the seeds
// found with it replay as found); crumbs: 1 to 2048 bytes, every order of
// magnitude alike and cut by the input's own hash, so that short inputs are
// cut too (a CR apart from its LF, a chunk-size line in halves).
enum class Delivery { whole, pieces, crumbs };

// Where the piece starting at `from` ends: just past the next blank line (so a
// head arrives without its body) or after what `how` allows, whichever is first.
std::size_t piece_end(const std::uint8_t *data, std::size_t size, std::size_t from, Delivery how,
                      std::uint32_t &rng)
{
    rng ^= rng << 13; // xorshift32: the same pieces every time an input replays
    rng ^= rng >> 17;
    rng ^= rng << 5;
    std::size_t length = how == Delivery::pieces ? 1 + rng % 1536 : 1 + (rng >> 8) % (2u << (rng % 11));
    std::size_t end = std::min(size, from + length);
    std::string_view rest(reinterpret_cast<const char *>(data) + from, end - from);
    std::size_t blank = rest.find("\r\n\r\n");
    return blank == std::string_view::npos ? end : from + blank + 4;
}

// One connection: the input, then the client's EOF; returns all the server sent.
std::string converse(Harness &h, const std::uint8_t *data, std::size_t size, Delivery how)
{
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0)
        fail("socketpair");
    int client = fds[1];
    {
        boost::system::error_code ec;
        tcp::socket socket(h.worker->ctx);
        socket.assign(tcp::v4(), fds[0], ec);
        if (ec)
            fail("assign");
        tcp::endpoint peer(asio::ip::make_address_v4("192.0.2.1"), 4321);
        std::make_shared<hb::Connection>(std::move(socket), peer, *h.worker)->start();
    }
    std::uint32_t rng = 2463534242u ^ static_cast<std::uint32_t>(size);
    if (how == Delivery::crumbs) {
        rng = 2166136261u; // FNV-1a
        for (std::size_t i = 0; i < size; ++i)
            rng = (rng ^ data[i]) * 16777619u;
        rng |= 1; // xorshift never leaves 0
    }
    std::size_t sent = 0;
    std::size_t limit = how == Delivery::whole ? size : piece_end(data, size, 0, how, rng);
    bool shut = false;
    std::string received;
    char buf[64 * 1024];
    // The server must finish: every input ends with the client's EOF, and a
    // connection that neither reads, writes nor closes on it is a hang.
    for (int idle_rounds = 0; h.worker->stats().connections != 0;) {
        bool progress = false;
        if (sent < limit) {
            ssize_t n = ::send(client, data + sent, limit - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                sent += static_cast<std::size_t>(n);
                progress = true;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                sent = limit = size; // the server closed on us: what is left goes nowhere
            }
        }
        if (sent == size && !shut) {
            ::shutdown(client, SHUT_WR);
            shut = true;
        }
        if (h.worker->ctx.poll() != 0)
            progress = true;
        for (;;) {
            ssize_t n = ::recv(client, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0)
                break;
            received.append(buf, static_cast<std::size_t>(n));
            progress = true;
        }
        if (!progress && sent == limit && limit < size) { // the server has taken this piece in
            limit = piece_end(data, size, limit, how, rng);
            progress = true;
        }
        idle_rounds = progress ? 0 : idle_rounds + 1;
        if (idle_rounds > 10000)
            fail("the connection hangs: no progress after the client's EOF");
    }
    ::close(client);
    return received;
}

// What may differ with the pieces: a 100 Continue is only owed to a client
// whose body has not arrived with its head, and the second may have turned
// between the two deliveries (the Date header's value).
std::string comparable(std::string s)
{
    constexpr std::string_view k100 = "HTTP/1.1 100 Continue\r\n\r\n";
    for (std::size_t at; (at = s.find(k100)) != std::string::npos;)
        s.erase(at, k100.size());
    constexpr std::string_view kDate = "\r\nDate: ";
    for (std::size_t at = 0; (at = s.find(kDate, at)) != std::string::npos;) {
        at += kDate.size();
        std::size_t end = s.find("\r\n", at);
        s.erase(at, (end == std::string::npos ? s.size() : end) - at);
    }
    return s;
}

void check_same(const std::string &whole, const std::string &pieces, Delivery how)
{
    if (whole == pieces)
        return;
    std::size_t at = 0;
    while (at < whole.size() && at < pieces.size() && whole[at] == pieces[at])
        ++at;
    auto around = [at](const std::string &s) { // 40 bytes either side, escaped
        std::string shown;
        for (std::size_t i = at < 40 ? 0 : at - 40; i < s.size() && i < at + 40; ++i) {
            auto c = static_cast<unsigned char>(s[i]);
            char esc[8];
            std::snprintf(esc, sizeof esc, c == '\r' ? "\\r" : c == '\n' ? "\\n" : "\\x%02x", c);
            shown += c >= 0x20 && c < 0x7f && c != '\\' ? std::string(1, static_cast<char>(c)) : esc;
        }
        return shown;
    };
    std::string what =
        "the answer depends on how the request was split into reads: " + std::to_string(whole.size()) +
        " bytes sent whole, " + std::to_string(pieces.size()) + " in " +
        (how == Delivery::pieces ? "pieces" : "crumbs") + ", first difference at byte " + std::to_string(at) +
        ":\n  whole:  " + around(whole) + "\n  pieces: " + around(pieces);
    fail(what.c_str());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size)
{
    static Harness h;
    std::string whole = converse(h, data, size, Delivery::whole);
    std::string_view first = std::string_view(whole).substr(0, 9);
    if (std::string_view("HTTP/1.1 ").substr(0, first.size()) != first)
        fail("the server sent something that is not an HTTP/1.1 response");
    whole = comparable(std::move(whole));
    for (Delivery how : {Delivery::pieces, Delivery::crumbs})
        check_same(whole, comparable(converse(h, data, size, how)), how);
    return 0;
}
