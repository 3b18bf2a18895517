// One io thread's world: its io_context, its connections, the timer that
// enforces their deadlines, and the cached Date header. Only its own thread
// touches a worker after start, so nothing here is locked.
#pragma once

#include "engine.hpp"
#include "limits.hpp"
#include "router.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <optional>
#include <vector>
#include <string>
#include <string_view>

namespace hb
{

struct Route {
    Handler fn;
    void *user_data;
};

// Milliseconds on a coarse monotonic clock: deadlines need no better, and it
// costs a few nanoseconds per read where steady_clock costs tens.
std::int64_t coarse_now_ms();

class Worker
{
public:
    Worker(const hb_options &options, const detail::Router<Route> &router);

    // One thread runs it and every I/O object on it is touched by that thread
    // alone (other threads only post), so per-descriptor locking can go.
    boost::asio::io_context ctx{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    const hb_options &options;
    const detail::Router<Route> &router;
    ConnectionLimit *limit = nullptr; // the server's, shared by every worker
    // The server's stop flag: a handler blocked in hb_response_wait reads it,
    // since begin_drain cannot run on this thread until the handler returns.
    const std::atomic<bool> *stop_requested = nullptr;
    bool draining = false;

    void run(); // on the worker's thread: arm the sweeper, run ctx

    // A slow handler's answers, held until the connections ready with it were
    // served, then sent together (see worker.cpp); Connection::process ends
    // with send_overdue(), which sends them once they have waited too long.
    void hold(std::shared_ptr<Connection> c);
    void send_overdue()
    {
        if (!held_.empty())
            send_held_if_overdue();
    }
    // From a handler about to block (hb_response_wait): the held answers
    // must not wait for it, so their bytes go now, the rest from the loop.
    void send_held_before_blocking();
    void begin_drain(); // on the worker's thread

    // Connections link themselves in and out, so the sweeper can find them.
    void link(Connection *c);
    void unlink(Connection *c);
    Server::Stats stats() const; // on the worker's thread

    // "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n": the start of
    // every response, rebuilt once a second for 200 and per call for others.
    std::string_view status_and_date(int status);

private:
    void send_held();
    void send_held_if_overdue();
    void arm_sweeper();
    void sweep();

    std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> guard_;
    boost::asio::steady_timer sweeper_{ctx};
    std::int64_t sweep_period_ms_;
    std::int64_t drain_deadline_ms_ = 0;
    Connection *head_ = nullptr;
    std::vector<std::shared_ptr<Connection>> held_; // in the order they were answered
    std::chrono::steady_clock::time_point held_since_;
    bool send_posted_ = false;
    std::time_t date_second_ = 0;
    std::string date_;     // "Sun, 06 Nov 1994 08:49:37 GMT"
    std::string ok_start_; // status_and_date(200)
    std::string scratch_;  // status_and_date(other)
};

} // namespace hb
