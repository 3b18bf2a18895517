#include "worker.hpp"

#include "connection.hpp"

#include <boost/asio/post.hpp>
#include <boost/beast/http/status.hpp>

#include <algorithm>
#include <cstdio>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <exception>
#include <time.h>

namespace hb
{
namespace
{
constexpr std::size_t kTrimAfter = 1 << 20; // bytes released by one sweep
} // namespace

std::int64_t coarse_now_ms()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return std::int64_t{ts.tv_sec} * 1000 + ts.tv_nsec / 1000000;
}

Worker::Worker(const hb_options &opts, const detail::Router<Route> &routes)
    : options(opts), router(routes), guard_(boost::asio::make_work_guard(ctx))
{
    // Deadlines are checked a few times per shortest timeout, within [5, 250] ms.
    auto shortest = std::min(options.read_timeout_ms, options.idle_timeout_ms);
    sweep_period_ms_ = std::clamp<std::int64_t>(shortest / 4, 5, 250);
}

void Worker::run()
{
    arm_sweeper();
    for (;;) {
        try {
            ctx.run();
            return;
        } catch (const std::exception &e) {
            // A handler's exception is caught per request; this is a bug of ours.
            log_line(options, HB_LOG_ERROR, "io thread: %s", e.what());
        }
    }
}

void Worker::link(Connection *c)
{
    c->next = head_;
    if (head_ != nullptr)
        head_->prev = c;
    head_ = c;
}

void Worker::unlink(Connection *c)
{
    if (c->prev != nullptr)
        c->prev->next = c->next;
    else
        head_ = c->next;
    if (c->next != nullptr)
        c->next->prev = c->prev;
    c->prev = c->next = nullptr;
}

Server::Stats Worker::stats() const
{
    Server::Stats s;
    for (const Connection *c = head_; c != nullptr; c = c->next) {
        ++s.connections;
        s.buffer_bytes += c->buffer_capacity();
    }
    return s;
}

void Worker::begin_drain()
{
    draining = true;
    drain_deadline_ms_ = coarse_now_ms() + options.drain_timeout_ms;
    guard_.reset();
    for (Connection *c = head_; c != nullptr;) {
        Connection *next = c->next; // drain() may close, never unlinks synchronously
        c->drain();
        c = next;
    }
    if (head_ == nullptr)
        sweeper_.cancel(); // nothing left: let ctx.run() return now
}

// A client that waited on a slow handler has gone to sleep, and waking it is
// the dearest part of a send: on this project's VMs an inter-processor
// interrupt, which cost 14 us of server CPU per Flask answer (69 -> 55 us per
// request, wrk -c10). So a slow handler's answers wait until the connections
// that were ready with it have been served (a post queues behind their
// completions), and go out together: one wake-up serves the round. A fast
// handler's client is still awake: its answer goes at once. No answer waits
// longer than kHoldAtMost plus the handlers of one more connection.
void Worker::hold(std::shared_ptr<Connection> c)
{
    if (held_.empty())
        held_since_ = std::chrono::steady_clock::now();
    held_.push_back(std::move(c));
    if (!send_posted_) {
        send_posted_ = true;
        boost::asio::post(ctx, [this] {
            send_posted_ = false;
            send_held();
        });
    }
}

void Worker::send_held_if_overdue()
{
    constexpr auto kHoldAtMost = std::chrono::milliseconds(1);
    if (std::chrono::steady_clock::now() - held_since_ >= kHoldAtMost)
        send_held();
}

// Not from inside a handler: a write may go on to serve what its connection
// has read since, handlers included.
void Worker::send_held()
{
    std::vector<std::shared_ptr<Connection>> due;
    due.swap(held_);
    for (auto &c : due)
        c->send_held();
}

void Worker::send_held_before_blocking()
{
    std::vector<std::shared_ptr<Connection>> due;
    due.swap(held_);
    for (auto &c : due)
        c->send_held_from_handler();
}

void Worker::arm_sweeper()
{
    sweeper_.expires_after(std::chrono::milliseconds(sweep_period_ms_));
    sweeper_.async_wait([this](boost::system::error_code ec) {
        if (ec)
            return;
        sweep();
        if (!draining || head_ != nullptr)
            arm_sweeper();
    });
}

void Worker::sweep()
{
    std::int64_t now = coarse_now_ms();
    bool drain_over = draining && now >= drain_deadline_ms_;
    std::size_t released = 0;
    for (Connection *c = head_; c != nullptr; c = c->next) {
        if (drain_over || now >= c->deadline_ms)
            c->expire(); // closes the socket; the connection unlinks when its handlers finish
        else
            released += c->release_idle_memory();
    }
#ifdef __GLIBC__
    // free() keeps large freed blocks inside the heap, where they still count
    // in the process's RSS; after a big release, hand the pages back.
    if (released >= kTrimAfter)
        ::malloc_trim(0);
#endif
}

std::string_view Worker::status_and_date(int status)
{
    std::time_t now = std::time(nullptr);
    if (now != date_second_ || ok_start_.empty()) {
        date_second_ = now;
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[64];
        date_.assign(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm));
        ok_start_ = "HTTP/1.1 200 OK\r\nDate: " + date_ + "\r\n";
    }
    if (status == 200)
        return ok_start_;
    auto reason = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
    scratch_ = "HTTP/1.1 " + std::to_string(status) + " ";
    scratch_.append(reason.data(), reason.size());
    scratch_ += "\r\nDate: " + date_ + "\r\n";
    return scratch_;
}

} // namespace hb
