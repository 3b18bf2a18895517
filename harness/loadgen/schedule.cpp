#include "schedule.hpp"

#include <stdexcept>

namespace lg
{

Schedule::Schedule(Kind kind, double rate, unsigned connections, unsigned index, std::uint64_t seed)
    : kind_(kind), random_(seed * 0x9E3779B97F4A7C15ull + index), gaps_(1.0)
{
    if (!(rate > 0) || connections == 0 || index >= connections)
        throw std::invalid_argument("schedule: rate must be > 0 and index < connections");
    interval_ns_ = 1e9 * connections / rate;
    offset_ns_ = 1e9 * index / rate;
    advance();
}

void Schedule::advance()
{
    if (kind_ == Kind::even) {
        // From the request's number, not by adding gaps: no rounding drift over a long run.
        next_ns_ = static_cast<std::int64_t>(offset_ns_ + interval_ns_ * static_cast<double>(sent_));
    } else {
        poisson_ns_ += interval_ns_ * gaps_(random_);
        next_ns_ = static_cast<std::int64_t>(poisson_ns_);
    }
    ++sent_;
}

std::int64_t Schedule::next()
{
    std::int64_t due = next_ns_;
    advance();
    return due;
}

} // namespace lg
