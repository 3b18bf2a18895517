#include "connection.hpp"

#include "worker.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/status.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace hb
{
namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;

namespace
{

constexpr std::size_t kReadSize = 16 * 1024;
// Stop parsing pipelined requests once this much output waits: bounds memory
// against a client that sends without reading. hb_response_flush refuses to
// queue more than this too (HB_E_AGAIN).
constexpr std::size_t kOutHighWater = 256 * 1024;
// What an idle keep-alive connection may keep per buffer: after a large body
// or answer, the rest goes back at the sweep after it went idle (see release()).
constexpr std::size_t kIdleKeep = 64 * 1024;
// A response body this long is not copied behind its head but sent from where
// the handler wrote it (tail_); below it one copy is cheaper than a second buffer.
constexpr std::size_t kTailMin = 16 * 1024;
constexpr unsigned kLingerMs = 2000;

// One chunk of a chunked body: size in hex, CRLF, the bytes, CRLF.
void append_chunk(std::string &out, std::string_view data)
{
    char digits[24];
    auto result = std::to_chars(digits, digits + sizeof digits, data.size(), 16);
    out.append(digits, result.ptr);
    out.append("\r\n");
    out.append(data);
    out.append("\r\n");
}

std::string format_peer(const asio::ip::tcp::endpoint &peer)
{
    auto address = peer.address().to_string();
    if (peer.address().is_v6())
        address = "[" + address + "]";
    return address + ":" + std::to_string(peer.port());
}

bool status_has_body(int status)
{
    return status >= 200 && status != 204 && status != 304;
}

} // namespace

Connection::Connection(asio::ip::tcp::socket socket, const asio::ip::tcp::endpoint &peer, Worker &worker)
    : socket_(std::move(socket)), worker_(worker), remote_(format_peer(peer))
{
    worker_.link(this);
}

Connection::~Connection()
{
    worker_.unlink(this);
    if (worker_.limit != nullptr)
        worker_.limit->release();
}

void Connection::start()
{
    if (worker_.draining) {
        close();
        return;
    }
    // A fresh connection gets the read timeout, not the idle one: a client that
    // connects and says nothing is the slowloris case.
    set_deadline(worker_.options.read_timeout_ms);
    read();
}

void Connection::set_deadline(unsigned timeout_ms)
{
    deadline_ms = coarse_now_ms() + timeout_ms;
}

void Connection::expire()
{
    if (phase_ != Phase::closed)
        close();
}

void Connection::drain()
{
    // Idle between requests: nothing to finish. Otherwise dispatch() sees
    // worker_.draining and answers with Connection: close.
    if (phase_ == Phase::reading && !in_request_)
        close();
}

void Connection::close()
{
    phase_ = Phase::closed;
    error_code ignored;
    socket_.close(ignored); // pending operations complete with operation_aborted
}

void Connection::read()
{
    phase_ = Phase::reading;
    if (in_.size() == 0 && in_.capacity() > kIdleKeep)
        in_.shrink_to_fit(); // empty, so this frees it: a long head or a pipelined burst is over
    if (std::size_t n = body_read_size(); n != 0) {
        socket_.async_read_some(
            asio::buffer(store_.body_space(n), n),
            [self = shared_from_this()](error_code ec, std::size_t got) { self->on_body_read(ec, got); });
        return;
    }
    socket_.async_read_some(
        in_.prepare(kReadSize),
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); });
}

// The rest of a long body goes from the socket straight into the request's
// body: no copy out of in_, and reads as large as what is still due, where
// 16 KiB reads took seventeen per 256 KiB body, each also opening the window
// that wakes the sender (c-callback's 256 KiB echo: 124 us of server CPU per
// request, 96 with these reads; uWSGI makes two and spends 98). The space
// grows with what arrived, never ahead of it (at most twice the body so far,
// or what it already has), so a Content-Length still only promises.
std::size_t Connection::body_read_size() const
{
    if (!parser_ || !parser_->is_header_done() || parser_->chunked() || in_.size() != 0)
        return 0;
    auto left = parser_->content_length_remaining();
    if (!left || *left <= kReadSize)
        return 0;
    std::size_t have = store_.body.size();
    std::size_t room = std::max({store_.body.capacity() - have, have, kReadSize});
    return static_cast<std::size_t>(std::min<std::uint64_t>(*left, room));
}

void Connection::on_body_read(error_code ec, std::size_t n)
{
    if (ec == asio::error::eof && phase_ == Phase::reading) {
        end_of_input();
        return;
    }
    if (ec || phase_ == Phase::closed) {
        close();
        return;
    }
    handler_time_ = {};
    const char *bytes = store_.body_in_place;
    error_code perr;
    std::size_t used = parser_->put(asio::const_buffer(bytes, n), perr);
    if (perr && perr != http::error::need_more) {
        fail_request(refusal_status(perr));
    } else {
        if (used < n) { // never more than is due was read; kept for the loop should Beast stop short
            auto rest = in_.prepare(n - used);
            std::memmove(rest.data(), bytes + used, n - used);
            in_.commit(n - used);
        }
        if (parser_->is_done()) {
            dispatch();
            parser_.reset();
        }
    }
    parse_answer();
}

void Connection::on_read(error_code ec, std::size_t n)
{
    if (ec == asio::error::eof && phase_ == Phase::reading && (in_.size() != 0 || parser_)) {
        end_of_input();
        return;
    }
    if (ec || phase_ == Phase::closed) {
        close();
        return;
    }
    in_.commit(n);
    if (!in_request_) {
        in_request_ = true;
        set_deadline(worker_.options.read_timeout_ms);
    }
    process();
}

void Connection::process()
{
    handler_time_ = {};
    parse_answer();
}

void Connection::parse_answer()
{
    while (phase_ == Phase::reading && !close_after_write_ && in_.size() != 0 && pending() < kOutHighWater) {
        if (!parser_) {
            if (head_held_ && !client_done_ && !head_arrived())
                break;
            head_held_ = false;
            parser_.emplace(store_, worker_.options.header_limit, worker_.options.body_limit);
            continued_ = false;
        }
        // A chunked body's framing counts against header_limit, each chunk-size
        // line and the trailers on their own (Beast bounds only the head): the
        // parser gets at most that much at a time, so one that does not end
        // within it is refused however the client split it, and holds no more.
        const std::size_t limit = worker_.options.header_limit;
        bool framed = parser_->is_header_done() && parser_->chunked();
        asio::const_buffer data = in_.data();
        if (framed && data.size() > limit)
            data = asio::const_buffer(data.data(), limit);
        error_code ec;
        std::size_t used = parser_->put(data, ec);
        if (ec == http::error::need_more && client_done_) {
            refuse_unfinished();
            break;
        }
        if (ec == http::error::need_more && !parser_->is_header_done()) {
            // Part of a head: nothing consumed, the parser dropped, parsed again
            // from its first byte once it is all here (head_arrived). Beast checks
            // the fields of what it is given at once, but once it has asked for
            // more it looks again only at a blank line, and counts header_limit
            // from the last line it consumed: a faulty head sent in two parts got
            // no answer, a long one got a limit up to twice header_limit.
            parser_.reset();
            head_held_ = true;
            break;
        }
        in_.consume(used);
        if (ec == http::error::need_more) {
            if (framed && used == 0 && data.size() == limit)
                fail_request(400); // a chunk-size line or the trailers longer than header_limit
            else if (framed && used != 0 && in_.size() != 0)
                continue; // more is buffered than the parser was given
            break;
        }
        if (ec == http::error::bad_version && !parser_->started()) {
            auto verdict = judge_version(static_cast<char *>(in_.data().data()), in_.size());
            if (verdict == VersionVerdict::retry) {
                parser_.reset(); // nothing was consumed: parse the rewritten line again
                continue;
            }
            fail_request(verdict == VersionVerdict::unsupported ? 505 : 400);
            break;
        }
        if (ec) {
            fail_request(refusal_status(ec));
            break;
        }
        if (parser_->is_done()) {
            dispatch();
            parser_.reset();
            continue;
        }
        if (parser_->is_header_done() && store_.expect_continue && !continued_ && store_.version >= 11) {
            out().append("HTTP/1.1 100 Continue\r\n\r\n");
            continued_ = true;
        }
        if (used == 0)
            break; // the parser wants more than is buffered: never spin on it
    }
    // Slow handlers' answers are held for the end of the round (Worker::hold).
    constexpr auto kSlowHandler = std::chrono::microseconds(10);
    if (pending() != 0 && handler_time_ >= kSlowHandler) {
        phase_ = Phase::writing;
        worker_.hold(shared_from_this());
    } else if (pending() != 0) {
        write();
    } else if (close_after_write_) {
        end();
    } else if (phase_ == Phase::reading) {
        read();
    }
    worker_.send_overdue();
}

void Connection::dispatch()
{
    keep_alive_ = parser_->keep_alive() && !worker_.draining;
    std::string_view method(store_.text.data() + store_.method.offset, store_.method.length);
    head_ = method == "HEAD";
    close_delimited_ = false;
    store_.fill(view_, keep_alive_, remote_);
    response_.reset();
    response_.conn_ = this;

    int rc = 0;
    auto started = std::chrono::steady_clock::now();
    const Route *route = worker_.router.match({view_.path.data, view_.path.len});
    if (route == nullptr) {
        response_.status_ = 404;
        response_.add_header("Content-Type", "text/plain");
        response_.write("404 page not found\n");
    } else {
        try {
            rc = route->fn(response_, view_, route->user_data);
        } catch (const std::exception &e) {
            log_line(worker_.options, HB_LOG_ERROR, "handler threw: %s", e.what());
            rc = -1;
        } catch (...) {
            log_line(worker_.options, HB_LOG_ERROR, "handler threw a non-standard exception");
            rc = -1;
        }
    }
    handler_time_ += std::chrono::steady_clock::now() - started;
    finish_response(rc);
    response_.conn_ = nullptr;
    if (!keep_alive_)
        close_after_write_ = true;
}

// The status line, the headers and the framing, sized first and copied once:
// this runs for every response, and a string append per piece showed up as
// the largest user-space cost per request.
void Connection::append_head(std::size_t content_length, bool chunked)
{
    int status = response_.status_;
    std::string_view start = worker_.status_and_date(status);
    std::string_view framing;
    char digits[24];
    std::string_view length;
    if (chunked) {
        framing = "Transfer-Encoding: chunked\r\n";
    } else if (status_has_body(status) && !close_delimited_) {
        framing = "Content-Length: ";
        length = {digits, static_cast<std::size_t>(
                              std::to_chars(digits, digits + sizeof digits, content_length).ptr - digits)};
    }
    std::string_view connection;
    if (!keep_alive_ && store_.version >= 11)
        connection = "Connection: close\r\n";
    else if (keep_alive_ && store_.version < 11)
        connection = "Connection: keep-alive\r\n";
    const std::string &headers = response_.headers_;

    std::string &o = out();
    std::size_t at = o.size();
    o.resize(at + start.size() + headers.size() + framing.size() + (length.empty() ? 0 : length.size() + 2) +
             connection.size() + 2);
    char *p = o.data() + at;
    p = std::copy(start.begin(), start.end(), p);
    p = std::copy(headers.begin(), headers.end(), p);
    p = std::copy(framing.begin(), framing.end(), p);
    if (!length.empty()) {
        p = std::copy(length.begin(), length.end(), p);
        *p++ = '\r';
        *p++ = '\n';
    }
    p = std::copy(connection.begin(), connection.end(), p);
    *p++ = '\r';
    *p = '\n';
}

void Connection::finish_response(int rc)
{
    if (rc != 0) {
        if (response_.flushed_) {
            // Too late for a 500: cut the response short so the client can tell
            // (lingering, as for a short declared length below).
            if (keep_alive_)
                must_linger_ = true;
            keep_alive_ = false;
            response_.body_.clear();
            return;
        }
        response_.reset();
        response_.status_ = 500;
        response_.add_header("Content-Type", "text/plain");
        response_.write("Internal Server Error\n");
    }
    const std::string &body = response_.body_;
    bool send_body = !head_ && status_has_body(response_.status_);
    bool declared = response_.has_length_;
    // Fewer bytes than declared: what there is goes out, then the connection
    // closes, so the client sees the body end short instead of waiting for the
    // rest or reading the next response as its end.
    if (declared && send_body && body.size() < response_.length_ - response_.counted_) {
        // A client that expected to go on may be sending its next request
        // now: linger, or the kernel would answer those bytes with a reset
        // that can destroy the short answer before the client reads it.
        if (keep_alive_)
            must_linger_ = true;
        keep_alive_ = false; // before the head: an unflushed one says Connection: close
    }
    if (!response_.flushed_) {
        append_head(declared ? response_.length_ : body.size(), false);
        if (send_body && body.size() >= kTailMin)
            tail_.swap(response_.body_); // append_head left tail_ empty; body_ gets its storage
        else if (send_body)
            out_.append(body);
    } else if (close_delimited_ || declared) {
        if (send_body)
            out().append(body);
    } else if (send_body) { // a HEAD or 204/304 answer has no body, not even the last chunk
        if (!body.empty())
            append_chunk(out(), body);
        out().append("0\r\n\r\n");
    }
}

// Never waits for the client: what the socket does not take now stays in out_
// and goes out from the event loop after the handler returns. When more than
// kOutHighWater bytes are already waiting, the new bytes stay in the response
// (HB_E_AGAIN) instead, so a slow reader costs a bounded buffer, not a thread.
int Connection::flush(Response &res)
{
    if (phase_ == Phase::closed)
        return HB_E_IO;
    if (!send_pending())
        return abandon(HB_E_IO);
    if (pending() > kOutHighWater)
        return HB_E_AGAIN;
    bool send_body = !head_ && status_has_body(res.status_);
    if (!res.flushed_) {
        // A declared length frames the body on either version: identity, and
        // the connection may stay open. Without one: chunked on HTTP/1.1; 1.0
        // has no chunked encoding, so there the body ends at the close.
        close_delimited_ = store_.version < 11 && !res.has_length_;
        if (close_delimited_)
            keep_alive_ = false;
        append_head(res.length_, !close_delimited_ && !res.has_length_ && status_has_body(res.status_));
        res.flushed_ = true;
    }
    if (send_body && !res.body_.empty()) {
        if (close_delimited_ || res.has_length_)
            out().append(res.body_);
        else
            append_chunk(out(), res.body_);
    }
    res.counted_ += res.body_.size(); // against the declared length, sent or not (HEAD)
    res.body_.clear();
    // out_ may also hold answers to earlier pipelined requests: they go first, in order.
    if (!send_pending())
        return abandon(HB_E_IO);
    return HB_OK;
}

// The one place a handler blocks on its client (hb_response_wait). The wait
// is sliced so that a stop, which this thread's event loop cannot see while
// the handler runs, is noticed within kStopPollMs; from then the client gets
// drain_timeout_ms, as the sweeper gives any connection still busy at a stop.
int Connection::wait_for_room()
{
    constexpr std::int64_t kStopPollMs = 50;
    if (phase_ == Phase::closed)
        return HB_E_IO;
    const hb_options &options = worker_.options;
    std::int64_t stalled_at = coarse_now_ms() + options.read_timeout_ms;
    std::int64_t stop_at = -1;
    bool blocked = false;
    for (;;) {
        std::size_t before = pending();
        if (!send_pending())
            return abandon(HB_E_IO);
        if (pending() <= kOutHighWater)
            return HB_OK;
        std::int64_t now = coarse_now_ms();
        if (pending() < before) // progress: the timeout starts again, as in wait_writable
            stalled_at = now + options.read_timeout_ms;
        if (stop_at < 0 && worker_.stop_requested != nullptr && worker_.stop_requested->load())
            stop_at = now + options.drain_timeout_ms;
        std::int64_t give_up = stop_at < 0 ? stalled_at : std::min(stalled_at, stop_at);
        if (now >= give_up)
            return abandon(HB_E_TIMEOUT);
        if (!blocked) { // the other connections' held answers must not wait for this one
            worker_.send_held_before_blocking();
            blocked = true;
        }
        pollfd p{socket_.native_handle(), POLLOUT, 0};
        int rc = ::poll(&p, 1, static_cast<int>(std::min(give_up - now, kStopPollMs)));
        if (rc < 0 && errno != EINTR)
            return abandon(HB_E_IO);
        // Ready, hung up or in error: the next send_pending says which.
    }
}

// From inside a handler (flush, wait): the connection is closed and the
// handler gets rc, with which it should stop writing.
int Connection::abandon(int rc)
{
    keep_alive_ = false;
    close();
    return rc;
}

bool Connection::send_pending()
{
    int fd = socket_.native_handle();
    while (pending() != 0) {
        ssize_t n;
        if (tail_sent_ == tail_.size()) {
            n = ::send(fd, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
        } else {
            iovec iov[2] = {{out_.data() + out_sent_, out_.size() - out_sent_},
                            {tail_.data() + tail_sent_, tail_.size() - tail_sent_}};
            bool head_sent = out_sent_ == out_.size(); // only the tail is left
            msghdr msg{};
            msg.msg_iov = head_sent ? iov + 1 : iov;
            msg.msg_iovlen = head_sent ? 1 : 2;
            n = ::sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        if (n > 0) {
            auto sent = static_cast<std::size_t>(n);
            std::size_t from_out = std::min(sent, out_.size() - out_sent_);
            out_sent_ += from_out;
            tail_sent_ += sent - from_out;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return false;
    }
    if (out_sent_ == out_.size()) {
        out_.clear();
        out_sent_ = 0;
    } else if (out_sent_ > out_.size() - out_sent_) {
        // Mostly sent: move the rest to the front, so a long stream of flushes
        // to a slow reader never grows out_ beyond twice what waits.
        out_.erase(0, out_sent_);
        out_sent_ = 0;
    }
    if (tail_sent_ == tail_.size()) {
        tail_.clear(); // its storage goes back to the response at the next swap
        tail_sent_ = 0;
    }
    return true;
}

std::string &Connection::out()
{
    if (tail_sent_ != tail_.size())
        out_.append(tail_, tail_sent_);
    tail_.clear();
    tail_sent_ = 0;
    return out_;
}

int Connection::refusal_status(error_code ec) const
{
    if (parser_->refusal() != 0)
        return parser_->refusal();
    if (ec == http::error::body_limit)
        return 413;
    if (ec != http::error::header_limit)
        return 400;
    // Over the limit before the request line ended: the line itself is too long.
    std::size_t scan = std::min<std::size_t>(in_.size(), worker_.options.header_limit);
    bool line_ended = parser_->started() || std::memchr(in_.data().data(), '\n', scan) != nullptr;
    return line_ended ? 431 : 414;
}

// Between requests an idle connection keeps small buffers only: one that just
// echoed 4 MiB must not sit on 12 MiB until its idle timeout. The sweeper
// calls this, not the end of every response: a client sending large bodies
// back to back keeps its buffers (releasing and regrowing 256 KiB per request
// cost 3x the server CPU of a 256 KiB echo), an idle one gives them back
// within one sweep period.
std::size_t Connection::release_idle_memory()
{
    if (phase_ != Phase::reading || in_request_ || parser_ || in_.size() != 0)
        return 0; // busy: its buffers are in use
    std::size_t before = buffer_capacity();
    store_.shrink(kIdleKeep);
    for (std::string *b : {&out_, &tail_, &response_.body_, &response_.headers_})
        if (b->capacity() > kIdleKeep) {
            b->clear();
            b->shrink_to_fit();
        }
    // Not in_: the pending read owns its free space. read() trims it instead.
    return before - buffer_capacity();
}

std::size_t Connection::buffer_capacity() const
{
    return in_.capacity() + out_.capacity() + tail_.capacity() + store_.capacity() +
           response_.body_.capacity() + response_.headers_.capacity() + remote_.capacity();
}

void Connection::fail_request(int status)
{
    must_linger_ = true; // the rest of the refused request may still be on its way
    // The version of a request refused half-parsed may be its predecessor's:
    // every refusal says Connection: close, as HTTP/1.1 (its status line too).
    store_.version = 11;
    parser_.reset();
    in_.consume(in_.size());
    keep_alive_ = false;
    head_ = false;
    close_delimited_ = false;
    response_.reset();
    response_.status_ = status;
    response_.add_header("Content-Type", "text/plain");
    auto reason = http::obsolete_reason(static_cast<http::status>(status));
    response_.write({reason.data(), reason.size()});
    response_.write("\n");
    finish_response(0);
    close_after_write_ = true;
}

// The client ended its side in the middle of a request: it may still read, so
// it is told (400) rather than left with a bare close, as Go's net/http does.
void Connection::refuse_unfinished()
{
    fail_request(400);
    must_linger_ = false; // nothing more can come
}

// The client's EOF with part of a request in: what is buffered is all there
// will be. A held head gets its verdict; a request still short is refused.
void Connection::end_of_input()
{
    client_done_ = true;
    if (in_.size() != 0) {
        process();
        return;
    }
    refuse_unfinished(); // a body cut short: nothing left to parse
    write();
}

// Whether a held head can be parsed whole: its blank line is here, or it has
// reached header_limit (Beast's verdict: 431 or 414). The search resumes where
// the last one ended, so a head dribbled in byte by byte costs one pass.
bool Connection::head_arrived()
{
    std::string_view in(static_cast<const char *>(in_.data().data()), in_.size());
    if (in.size() >= worker_.options.header_limit ||
        in.find("\r\n\r\n", head_scanned_ < 3 ? 0 : head_scanned_ - 3) != std::string_view::npos) {
        head_scanned_ = 0;
        return true;
    }
    head_scanned_ = in.size();
    return false;
}

// Most answers fit in the socket's send buffer: send now and skip the
// io_context round trip; only what does not fit waits for the socket.
void Connection::write()
{
    if (!send_pending()) {
        close();
        return;
    }
    if (pending() == 0) {
        after_write();
        return;
    }
    phase_ = Phase::writing;
    set_deadline(worker_.options.read_timeout_ms); // a client that stops reading
    wait_writable();
}

void Connection::send_held()
{
    if (phase_ != Phase::closed)
        write();
}

// Only the bytes now: write() may go on to this connection's next requests,
// and no handler may run inside another one. The rest is posted.
void Connection::send_held_from_handler()
{
    if (phase_ == Phase::closed)
        return;
    if (!send_pending()) {
        close();
        return;
    }
    asio::post(socket_.get_executor(), [self = shared_from_this()] { self->send_held(); });
}

// The write timeout runs from the last byte the client took, not from the
// start: a large answer over a slow but steady link gets through.
void Connection::wait_writable()
{
    socket_.async_wait(asio::ip::tcp::socket::wait_write, [self = shared_from_this()](error_code ec) {
        if (ec || self->phase_ == Phase::closed) {
            self->close();
            return;
        }
        std::size_t before = self->pending();
        if (!self->send_pending()) {
            self->close();
            return;
        }
        if (self->pending() == 0) {
            self->after_write();
            return;
        }
        if (self->pending() < before) // progress: the timeout starts again
            self->set_deadline(self->worker_.options.read_timeout_ms);
        self->wait_writable();
    });
}

void Connection::after_write()
{
    out_.clear();
    out_sent_ = 0;
    tail_.clear();
    tail_sent_ = 0;
    if (close_after_write_) {
        end();
        return;
    }
    phase_ = Phase::reading;
    if (in_.size() == 0 && !parser_) {
        in_request_ = false;
        if (worker_.draining) {
            close();
            return;
        }
        set_deadline(worker_.options.idle_timeout_ms);
    } else {
        set_deadline(worker_.options.read_timeout_ms);
    }
    process();
}

// After the final response. A client that may still be sending (a request
// refused half-read, bytes after a "Connection: close" request) gets a
// lingering close; everyone else a plain one, which saves a wakeup and three
// system calls per connection when clients do not keep connections alive.
void Connection::end()
{
    if (must_linger_ || in_.size() != 0 || parser_)
        linger();
    else
        close();
}

// Stop sending, then read and drop what the client still sends until it
// closes, so that the kernel does not answer unread bytes with a reset that
// would destroy the response in flight.
void Connection::linger()
{
    phase_ = Phase::lingering;
    error_code ignored;
    socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
    set_deadline(std::min(kLingerMs, worker_.options.read_timeout_ms));
    in_.clear();
    socket_.async_read_some(
        in_.prepare(kReadSize),
        [self = shared_from_this()](error_code ec, std::size_t n) { self->on_linger(ec, n); });
}

void Connection::on_linger(error_code ec, std::size_t)
{
    if (ec || phase_ == Phase::closed) {
        close();
        return;
    }
    socket_.async_read_some(in_.prepare(kReadSize), [self = shared_from_this()](error_code e, std::size_t n) {
        self->on_linger(e, n);
    });
}

} // namespace hb
