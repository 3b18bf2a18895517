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

// The server's throughput: answers that arrived inside the window (whenever their
// requests were due) per second of it. A server that falls behind and catches up in
// the grace does not look as if it kept up. Without a warmup, the answers still in
// flight when the window ends are missing (latency / duration of the figure); with a
// warmup longer than the latency, the warmup's answers make up for them.
double achieved_rps(const RunResult &run);
// What the schedule asked for: sent + unsent over the window (the rate itself when
// evenly spaced; a Poisson plan's own count otherwise).
double scheduled_rps(const RunResult &run);
bool saturated(const RunResult &run); // open loop only: achieved < 99% of scheduled

} // namespace lg
