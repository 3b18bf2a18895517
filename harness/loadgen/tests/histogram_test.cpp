// The histogram against the exact answer: percentiles of known samples, computed
// from a sorted list, must agree within the histogram's stated precision.
#include "histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

namespace
{

// Nearest rank: the smallest sample with at least p% of the samples at or below it.
std::int64_t exact_percentile(const std::vector<std::int64_t> &sorted, double p)
{
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()) - 1e-9));
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

void expect_percentiles_match(const std::vector<std::int64_t> &samples)
{
    lg::Histogram h;
    for (auto v : samples)
        h.record(v);
    std::vector<std::int64_t> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    for (double p : {1.0, 10.0, 25.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
        std::int64_t exact = exact_percentile(sorted, p);
        std::int64_t got = h.percentile(p);
        // Same bucket as the exact sample, and a bucket is at most 1/1000 of its values wide.
        EXPECT_EQ(h.lowest_equivalent(got), h.lowest_equivalent(exact)) << "p" << p;
        EXPECT_GE(got, exact) << "p" << p;
        EXPECT_LE(static_cast<double>(got - exact), static_cast<double>(exact) / 1000.0 + 1) << "p" << p;
    }
    EXPECT_EQ(h.count(), samples.size());
    EXPECT_EQ(h.min(), sorted.front());
    EXPECT_EQ(h.max(), sorted.back());
    EXPECT_EQ(h.percentile(100), sorted.back());
}

} // namespace

TEST(Histogram, PercentilesOfUniformSamplesMatchTheSortedList)
{
    std::mt19937_64 random(42);
    std::uniform_int_distribution<std::int64_t> latency(1'000, 10'000'000); // 1 us .. 10 ms in ns
    std::vector<std::int64_t> samples(100'000);
    for (auto &v : samples)
        v = latency(random);
    expect_percentiles_match(samples);
}

TEST(Histogram, PercentilesOfALongTailMatchTheSortedList)
{
    // Mostly fast answers, a few stalls of up to seconds: the shape coordinated omission hides.
    std::mt19937_64 random(7);
    std::lognormal_distribution<double> latency(std::log(50'000.0), 1.5);
    std::vector<std::int64_t> samples(200'000);
    for (auto &v : samples)
        v = std::min<std::int64_t>(static_cast<std::int64_t>(latency(random)) + 1, 59'000'000'000);
    expect_percentiles_match(samples);
}

TEST(Histogram, SmallValuesAreExact)
{
    lg::Histogram h;
    for (std::int64_t v = 0; v < 2048; ++v)
        h.record(v);
    EXPECT_EQ(h.percentile(50), 1023);
    EXPECT_EQ(h.lowest_equivalent(2047), 2047);
    EXPECT_EQ(h.highest_equivalent(2047), 2047);
}

TEST(Histogram, ThreeSignificantDigitsUpToSixtySeconds)
{
    lg::Histogram h;
    for (std::int64_t v : {std::int64_t{1'000}, std::int64_t{123'456}, std::int64_t{1'000'000'000},
                           std::int64_t{60'000'000'000}}) {
        std::int64_t width = h.highest_equivalent(v) - h.lowest_equivalent(v) + 1;
        EXPECT_LE(static_cast<double>(width), static_cast<double>(v) / 1000.0 + 1) << v;
        EXPECT_LE(h.lowest_equivalent(v), v);
        EXPECT_GE(h.highest_equivalent(v), v);
    }
}

TEST(Histogram, MemoryIsConstantWhateverIsRecorded)
{
    lg::Histogram h;
    std::size_t before = h.memory_bytes();
    EXPECT_LT(before, 512u * 1024);
    for (std::int64_t v = 1; v < 60'000'000'000; v = v * 3 + 1)
        h.record(v, 1000);
    EXPECT_EQ(h.memory_bytes(), before);
}

TEST(Histogram, ValuesAboveTheTopAreClampedAndCounted)
{
    lg::Histogram h(1'000'000, 3);
    h.record(5);
    h.record(2'000'000);
    EXPECT_EQ(h.count(), 2u);
    EXPECT_EQ(h.overflow(), 1u);
    EXPECT_EQ(h.max(), 1'000'000);
}

TEST(Histogram, MergeEqualsRecordingEverythingInOne)
{
    lg::Histogram a, b, both;
    for (std::int64_t v = 1; v < 100'000; v += 7) {
        (v % 2 ? a : b).record(v * 13);
        both.record(v * 13);
    }
    a.merge(b);
    EXPECT_EQ(a.count(), both.count());
    EXPECT_EQ(a.min(), both.min());
    EXPECT_EQ(a.max(), both.max());
    EXPECT_DOUBLE_EQ(a.mean(), both.mean());
    for (double p : {50.0, 90.0, 99.0, 99.9})
        EXPECT_EQ(a.percentile(p), both.percentile(p)) << p;
}

TEST(Histogram, EmptyHistogramAnswersZero)
{
    lg::Histogram h;
    EXPECT_EQ(h.count(), 0u);
    EXPECT_EQ(h.percentile(99), 0);
    EXPECT_EQ(h.max(), 0);
    EXPECT_TRUE(h.spectrum().empty());
}

TEST(Histogram, SpectrumRisesToTheMaximumInHalvingSteps)
{
    lg::Histogram h;
    for (std::int64_t v = 1; v <= 100'000; ++v)
        h.record(v * 1000);
    auto points = h.spectrum();
    ASSERT_GT(points.size(), 20u);
    EXPECT_EQ(points.front().percentile, 0.0);
    EXPECT_EQ(points.back().percentile, 100.0);
    EXPECT_EQ(points.back().value, h.max());
    for (std::size_t i = 1; i < points.size(); ++i) {
        EXPECT_GT(points[i].percentile, points[i - 1].percentile);
        EXPECT_GE(points[i].value, points[i - 1].value);
    }
    // Five steps per halving: 0, 10, 20, 30, 40, 50, then 55, 60, ...
    EXPECT_DOUBLE_EQ(points[5].percentile, 50.0);
    EXPECT_DOUBLE_EQ(points[6].percentile, 55.0);
}
