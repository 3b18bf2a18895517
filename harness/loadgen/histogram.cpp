#include "histogram.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace lg
{

namespace
{

int bucket_of(std::int64_t value, std::int64_t sub_mask, int sub_half_magnitude)
{
    int pow2_ceiling = 64 - __builtin_clzll(static_cast<unsigned long long>(value | sub_mask));
    return pow2_ceiling - (sub_half_magnitude + 1);
}

} // namespace

Histogram::Histogram(std::int64_t highest, int digits) : highest_(highest)
{
    if (digits < 1 || digits > 5 || highest < 2)
        throw std::invalid_argument("histogram: digits must be 1..5 and highest >= 2");
    // Enough sub-buckets that a bucket's width is at most 1/10^digits of its values.
    std::int64_t single_unit_top = 2 * static_cast<std::int64_t>(std::pow(10, digits));
    int sub_magnitude = static_cast<int>(std::ceil(std::log2(static_cast<double>(single_unit_top))));
    sub_half_magnitude_ = sub_magnitude - 1;
    sub_count_ = std::int64_t{1} << sub_magnitude;
    int buckets = 1;
    for (std::int64_t untrackable = sub_count_; untrackable <= highest; untrackable <<= 1)
        ++buckets;
    counts_.assign(static_cast<std::size_t>(buckets + 1) * static_cast<std::size_t>(sub_count_ / 2), 0);
}

std::size_t Histogram::index_of(std::int64_t value) const
{
    int bucket = bucket_of(value, sub_count_ - 1, sub_half_magnitude_);
    std::int64_t sub = value >> bucket;
    return static_cast<std::size_t>((static_cast<std::int64_t>(bucket + 1) << sub_half_magnitude_) +
                                    (sub - sub_count_ / 2));
}

std::int64_t Histogram::value_at(std::size_t index) const
{
    std::int64_t half = sub_count_ / 2;
    std::int64_t bucket = static_cast<std::int64_t>(index >> sub_half_magnitude_) - 1;
    std::int64_t sub = static_cast<std::int64_t>(index & static_cast<std::size_t>(half - 1)) + half;
    if (bucket < 0) {
        sub -= half;
        bucket = 0;
    }
    return sub << bucket;
}

std::int64_t Histogram::bucket_size(std::int64_t value) const
{
    return std::int64_t{1} << bucket_of(value, sub_count_ - 1, sub_half_magnitude_);
}

std::int64_t Histogram::lowest_equivalent(std::int64_t value) const
{
    int bucket = bucket_of(value, sub_count_ - 1, sub_half_magnitude_);
    return (value >> bucket) << bucket;
}

std::int64_t Histogram::highest_equivalent(std::int64_t value) const
{
    return lowest_equivalent(value) + bucket_size(value) - 1;
}

void Histogram::record(std::int64_t value)
{
    record(value, 1);
}

void Histogram::record(std::int64_t value, std::uint64_t times)
{
    if (times == 0)
        return;
    if (value < 0)
        value = 0;
    if (value > highest_) {
        value = highest_;
        overflow_ += times;
    }
    counts_[index_of(value)] += times;
    if (total_ == 0 || value < min_)
        min_ = value;
    if (total_ == 0 || value > max_)
        max_ = value;
    total_ += times;
    double v = static_cast<double>(value);
    sum_ += v * static_cast<double>(times);
    sum_squares_ += v * v * static_cast<double>(times);
}

void Histogram::merge(const Histogram &other)
{
    if (other.counts_.size() != counts_.size() || other.highest_ != highest_)
        throw std::invalid_argument("histogram: merging histograms of different layouts");
    if (other.total_ == 0)
        return;
    for (std::size_t i = 0; i < counts_.size(); ++i)
        counts_[i] += other.counts_[i];
    min_ = total_ ? std::min(min_, other.min_) : other.min_;
    max_ = total_ ? std::max(max_, other.max_) : other.max_;
    total_ += other.total_;
    overflow_ += other.overflow_;
    sum_ += other.sum_;
    sum_squares_ += other.sum_squares_;
}

void Histogram::reset()
{
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = overflow_ = 0;
    min_ = max_ = 0;
    sum_ = sum_squares_ = 0;
}

double Histogram::mean() const
{
    return total_ ? sum_ / static_cast<double>(total_) : 0.0;
}

double Histogram::stdev() const
{
    if (total_ < 2)
        return 0.0;
    double m = mean();
    double variance = sum_squares_ / static_cast<double>(total_) - m * m;
    return variance > 0 ? std::sqrt(variance) : 0.0;
}

std::int64_t Histogram::percentile(double p) const
{
    if (total_ == 0)
        return 0;
    if (p <= 0)
        return min_;
    p = std::min(p, 100.0);
    // Nearest rank; the epsilon keeps 99% of 1000 at rank 990, not 991.
    auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_) - 1e-9));
    rank = std::clamp<std::uint64_t>(rank, 1, total_);
    std::uint64_t seen = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
        seen += counts_[i];
        if (seen >= rank)
            return std::min(highest_equivalent(value_at(i)), max_);
    }
    return max_;
}

std::vector<Histogram::Point> Histogram::spectrum(int ticks) const
{
    std::vector<Point> points;
    if (total_ == 0)
        return points;
    ticks = std::max(ticks, 1);
    double p = 0;
    while (p < 100.0) {
        points.push_back({p, percentile(p)});
        // Halvings of the remaining distance so far: 0 below 50%, 1 below 75%, ...
        int halvings = static_cast<int>(std::floor(std::log2(100.0 / (100.0 - p)))) + 1;
        p += 100.0 / (ticks * std::ldexp(1.0, halvings));
        // Past the last rank the histogram can tell apart, only the maximum remains.
        if ((100.0 - p) / 100.0 * static_cast<double>(total_) < 1.0)
            break;
    }
    points.push_back({100.0, max_});
    return points;
}

} // namespace lg
