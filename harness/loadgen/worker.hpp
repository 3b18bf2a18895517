// One thread of the load generator: its own io_context, its share of the
// connections and its own Stats, so that threads share nothing while they run.
#pragma once

#include "connection.hpp"
#include "plan.hpp"
#include "stats.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <vector>

namespace lg
{

class Worker
{
public:
    Worker(const Plan &plan, const std::vector<unsigned> &connection_indexes);

    // Open every connection; returns once each has connected or failed (bounded
    // by the request timeout).
    void connect_all();
    // Follow the schedules from plan.start_ns until everything is answered after
    // plan.end_ns, or plan.stop_ns at the latest.
    void run();
    const Stats &stats() const { return stats_; }

private:
    void sweep();
    void stop_all();

    const Plan &plan_;
    boost::asio::io_context io_{1};
    Stats stats_;
    std::vector<std::unique_ptr<Connection>> connections_;
    boost::asio::steady_timer sweep_timer_{io_};
    boost::asio::steady_timer stop_timer_{io_};
    bool stopped_ = false;
};

} // namespace lg
