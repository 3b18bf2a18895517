// A log-linear latency histogram in the manner of HdrHistogram: constant memory,
// a fixed number of significant digits at every magnitude, cheap to record into
// and to merge. Values are integers (the loadgen records nanoseconds).
#pragma once

#include <cstdint>
#include <vector>

namespace lg
{

class Histogram
{
public:
    // Values 0..highest are kept with `digits` significant decimal digits (1..5);
    // larger ones are clamped to highest and counted in overflow().
    explicit Histogram(std::int64_t highest = 60'000'000'000, int digits = 3);

    void record(std::int64_t value);
    void record(std::int64_t value, std::uint64_t times);
    void merge(const Histogram &other); // both must have the same layout
    void reset();

    std::uint64_t count() const { return total_; }
    std::uint64_t overflow() const { return overflow_; }
    std::int64_t min() const { return total_ ? min_ : 0; }
    std::int64_t max() const { return total_ ? max_ : 0; }
    double mean() const;
    double stdev() const;

    // The smallest recorded value v such that at least p% of the values are <= v
    // (nearest rank), reported as the top of v's bucket, never above max().
    // 0 when empty; p is clamped to [0, 100].
    std::int64_t percentile(double p) const;

    // Every value in [lowest_equivalent(v), highest_equivalent(v)] shares v's bucket.
    std::int64_t lowest_equivalent(std::int64_t value) const;
    std::int64_t highest_equivalent(std::int64_t value) const;

    struct Point {
        double percentile;
        std::int64_t value;
    };
    // The percentile spectrum as HdrHistogram prints it: `ticks` steps per halving of
    // the distance to 100% (0, 10, ..., 50, 55, ..., 75, 77.5, ...), ending at 100% = max.
    std::vector<Point> spectrum(int ticks = 5) const;

    std::size_t memory_bytes() const { return counts_.size() * sizeof(counts_[0]); }

private:
    std::size_t index_of(std::int64_t value) const;
    std::int64_t value_at(std::size_t index) const;
    std::int64_t bucket_size(std::int64_t value) const;

    std::int64_t highest_;
    int sub_half_magnitude_ = 0; // log2 of half the sub-buckets per bucket
    std::int64_t sub_count_ = 0; // sub-buckets per bucket (power of two)
    std::vector<std::uint64_t> counts_;
    std::uint64_t total_ = 0;
    std::uint64_t overflow_ = 0;
    std::int64_t min_ = 0;
    std::int64_t max_ = 0;
    double sum_ = 0;
    double sum_squares_ = 0;
};

} // namespace lg
