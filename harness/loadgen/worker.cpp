#include "worker.hpp"

#include <algorithm>

namespace lg
{

namespace
{

constexpr auto kSweepEvery = std::chrono::milliseconds(20);

} // namespace

Worker::Worker(const Plan &plan, const std::vector<unsigned> &connection_indexes) : plan_(plan)
{
    for (unsigned index : connection_indexes)
        connections_.push_back(std::make_unique<Connection>(io_, plan_, stats_, index));
}

void Worker::connect_all()
{
    for (auto &c : connections_)
        c->connect();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::nanoseconds(plan_.timeout_ns());
    auto all_settled = [&] {
        return std::all_of(connections_.begin(), connections_.end(), [](auto &c) { return c->settled(); });
    };
    while (!all_settled() && std::chrono::steady_clock::now() < deadline)
        io_.run_one_until(deadline);
}

void Worker::run()
{
    io_.restart();
    for (auto &c : connections_)
        c->start();
    sweep_timer_.expires_after(kSweepEvery);
    sweep_timer_.async_wait([this](const boost::system::error_code &ec) {
        if (!ec)
            sweep();
    });
    // The hard bound: whatever the server does, the run ends here.
    stop_timer_.expires_at(to_time_point(plan_.stop_ns));
    stop_timer_.async_wait([this](const boost::system::error_code &ec) {
        if (!ec)
            stop_all();
    });
    if (plan_.options.busy_poll) {
        // Waking from a sleep costs tens of microseconds on a virtual CPU: never sleep.
        while (!io_.stopped())
            io_.poll();
    } else {
        io_.run();
    }
}

void Worker::sweep()
{
    std::int64_t now = now_ns();
    bool all_finished = true;
    for (auto &c : connections_) {
        c->sweep(now);
        all_finished = all_finished && c->finished(now);
    }
    if (all_finished) {
        stop_all();
        return;
    }
    sweep_timer_.expires_after(kSweepEvery);
    sweep_timer_.async_wait([this](const boost::system::error_code &ec) {
        if (!ec)
            sweep();
    });
}

void Worker::stop_all()
{
    if (stopped_)
        return;
    stopped_ = true;
    std::int64_t now = now_ns();
    for (auto &c : connections_)
        c->stop(now);
    sweep_timer_.cancel();
    stop_timer_.cancel();
    io_.stop();
}

} // namespace lg
