// What every connection of a run shares: where to connect, what to send, and the
// run's clock marks. Times are steady-clock nanoseconds (CLOCK_MONOTONIC).
#pragma once

#include "options.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace lg
{

inline std::int64_t now_ns()
{
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

inline std::chrono::steady_clock::time_point to_time_point(std::int64_t ns)
{
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(ns)));
}

struct Plan {
    Options options;
    boost::asio::ip::tcp::endpoint endpoint;
    std::string requests;         // `pipeline` copies of the request, back to back
    std::size_t request_size = 0; // bytes of one
    bool head_request = false;    // HEAD: the answers carry no body

    // Set once by main before the workers start sending, read-only afterwards.
    std::int64_t start_ns = 0;   // the schedule's zero
    std::int64_t measure_ns = 0; // warmup over: requests due from here are measured
    std::int64_t end_ns = 0;     // nothing due from here is sent
    std::int64_t stop_ns = 0;    // end plus the grace: everything closes, whatever is unanswered

    std::int64_t timeout_ns() const { return static_cast<std::int64_t>(options.timeout_s * 1e9); }
    bool measured(std::int64_t due) const { return due >= measure_ns && due < end_ns; }
};

} // namespace lg
