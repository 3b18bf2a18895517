// What one thread measured; merged into the run's figures at the end.
#pragma once

#include "histogram.hpp"

#include <array>
#include <cstdint>

namespace lg
{

enum class ErrorKind { connect, closed, reset, read, write, timeout, parse, count_ };
constexpr std::size_t error_kinds = static_cast<std::size_t>(ErrorKind::count_);
const char *error_name(ErrorKind kind);

struct Stats {
    Histogram corrected;   // answer time - the time the request was due (ns)
    Histogram uncorrected; // answer time - the time it was actually sent (ns)
    Histogram sender_lag;  // send time - when it was due and the connection could take it (ns)

    std::uint64_t requests = 0;   // answered, due inside the measured window
    std::uint64_t sent = 0;       // due inside the window and sent
    std::uint64_t unsent = 0;     // due inside the window, never sent (the connection fell behind)
    std::uint64_t unanswered = 0; // sent, still unanswered when the run stopped
    std::array<std::uint64_t, 6> status_classes{}; // [1] = 1xx ... [5] = 5xx, [0] other
    std::array<std::uint64_t, error_kinds> errors{};
    std::uint64_t answered_in_window = 0; // answers that arrived inside the window, whenever due
    std::uint64_t connections_opened = 0;
    std::uint64_t bytes_read = 0;
    std::uint64_t bytes_written = 0;

    void count_error(ErrorKind kind, std::uint64_t n = 1) { errors[static_cast<std::size_t>(kind)] += n; }
    std::uint64_t non_2xx() const { return requests - status_classes[2]; }
    std::uint64_t error_total() const;
    void merge(const Stats &other);
};

} // namespace lg
