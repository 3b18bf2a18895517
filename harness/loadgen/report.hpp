// The run's figures as one JSON document (schema "httpbridge-loadgen", version
// in kSchemaVersion; README.md describes every field and the history).
#pragma once

#include "plan.hpp"
#include "stats.hpp"

#include <string>

namespace lg
{

constexpr int kSchemaVersion = 1;

struct RunResult {
    const Plan &plan;
    const Stats &stats;
    double duration_s; // the measured window
    double wall_s;     // the whole run, warmup and grace included
    double cpu_s;      // the loadgen's own user + system time
};

std::string to_json(const RunResult &run);
std::string summary_line(const RunResult &run); // one line for stderr

// Answers to the requests due in the window, per second from the window's start to
// the end of the window or the last answer, whichever is later: a server that falls
// behind and catches up during the grace does not look as if it kept up.
double achieved_rps(const RunResult &run);
double answered_over_s(const RunResult &run); // the seconds achieved_rps divides by
// What the schedule asked for: sent + unsent over the window (the rate itself when
// evenly spaced; a Poisson plan's own count otherwise).
double scheduled_rps(const RunResult &run);
bool saturated(const RunResult &run); // open loop only: achieved < 99% of scheduled

} // namespace lg
