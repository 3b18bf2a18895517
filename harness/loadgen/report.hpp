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

double achieved_rps(const RunResult &run);
bool saturated(const RunResult &run); // open loop only: achieved < 99% of offered

} // namespace lg
