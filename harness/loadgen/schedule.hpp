// When each request should be sent: the fixed plan an open-loop connection follows
// whatever the server does, so that a stall delays the plan's requests instead of
// silently thinning them out (coordinated omission).
#pragma once

#include <cstdint>
#include <random>

namespace lg
{

class Schedule
{
public:
    enum class Kind { even, poisson };

    // The plan of connection `index` out of `connections` sharing `rate` requests/s.
    // Even: one request every connections/rate seconds, the connections staggered by
    // 1/rate so that together they send evenly. Poisson: exponential gaps with the
    // same mean (C independent Poisson streams make one of the total rate); `seed`
    // makes the plan reproducible.
    Schedule(Kind kind, double rate, unsigned connections, unsigned index, std::uint64_t seed = 1);

    // Nanoseconds from the start of the run at which the next request is due;
    // each call moves on by one request. Never decreases.
    std::int64_t next();
    // The due time next() will return, without moving on.
    std::int64_t peek() const { return next_ns_; }

private:
    void advance();

    Kind kind_;
    double interval_ns_; // mean gap between two requests of this connection
    double offset_ns_;
    std::uint64_t sent_ = 0;
    double poisson_ns_ = 0;
    std::int64_t next_ns_ = 0;
    std::mt19937_64 random_;
    std::exponential_distribution<double> gaps_;
};

} // namespace lg
