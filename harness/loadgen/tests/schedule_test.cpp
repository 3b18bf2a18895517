// The schedule is the plan the measurement is corrected against: it must send
// exactly the asked rate, evenly or as a Poisson stream, whatever the connections.
#include "schedule.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

TEST(Schedule, EvenGapsAtTheConnectionsShareOfTheRate)
{
    lg::Schedule s(lg::Schedule::Kind::even, 1000, 1, 0); // one request per ms
    EXPECT_EQ(s.next(), 0);
    EXPECT_EQ(s.next(), 1'000'000);
    EXPECT_EQ(s.next(), 2'000'000);
    EXPECT_EQ(s.peek(), 3'000'000);
}

TEST(Schedule, ConnectionsInterleaveIntoOneEvenStream)
{
    // 4 connections at 1000 req/s in total: together one request every ms, in turn.
    std::vector<lg::Schedule> plans;
    for (unsigned i = 0; i < 4; ++i)
        plans.emplace_back(lg::Schedule::Kind::even, 1000, 4, i);
    std::vector<std::int64_t> all;
    for (auto &plan : plans)
        for (int k = 0; k < 250; ++k)
            all.push_back(plan.next());
    std::sort(all.begin(), all.end());
    for (std::size_t k = 0; k < all.size(); ++k)
        EXPECT_EQ(all[k], static_cast<std::int64_t>(k) * 1'000'000) << k;
}

TEST(Schedule, EvenScheduleDoesNotDriftOverALongRun)
{
    lg::Schedule s(lg::Schedule::Kind::even, 3, 1, 0); // a gap of 333,333,333.33 ns
    std::int64_t last = 0;
    for (int k = 0; k <= 3'000'000; ++k)
        last = s.next();
    EXPECT_NEAR(static_cast<double>(last), 1e15, 1.0); // one million seconds, within a ns
}

TEST(Schedule, PoissonGapsHaveTheRightMeanAndSpread)
{
    lg::Schedule s(lg::Schedule::Kind::poisson, 10'000, 2, 1, 5); // mean gap 200 us
    const int n = 200'000;
    std::int64_t previous = s.next();
    double sum = 0, sum_squares = 0;
    for (int k = 0; k < n; ++k) {
        std::int64_t due = s.next();
        ASSERT_GE(due, previous);
        double gap = static_cast<double>(due - previous);
        sum += gap;
        sum_squares += gap * gap;
        previous = due;
    }
    double mean = sum / n;
    double stdev = std::sqrt(sum_squares / n - mean * mean);
    EXPECT_NEAR(mean, 200'000, 200'000 * 0.01);
    EXPECT_NEAR(stdev, 200'000, 200'000 * 0.02); // exponential: stdev equals the mean
}

TEST(Schedule, PoissonPlanIsReproducibleFromItsSeed)
{
    lg::Schedule a(lg::Schedule::Kind::poisson, 500, 3, 2, 99);
    lg::Schedule b(lg::Schedule::Kind::poisson, 500, 3, 2, 99);
    lg::Schedule other(lg::Schedule::Kind::poisson, 500, 3, 1, 99);
    bool differs = false;
    for (int k = 0; k < 100; ++k) {
        std::int64_t x = a.next();
        EXPECT_EQ(x, b.next());
        differs = differs || x != other.next();
    }
    EXPECT_TRUE(differs) << "two connections must not share one random stream";
}

TEST(Schedule, RejectsANonPositiveRate)
{
    EXPECT_THROW(lg::Schedule(lg::Schedule::Kind::even, 0, 1, 0), std::invalid_argument);
    EXPECT_THROW(lg::Schedule(lg::Schedule::Kind::even, 10, 2, 2), std::invalid_argument);
}
