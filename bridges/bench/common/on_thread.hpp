// Run a benchmark's measured loop on a thread of its own, the way a server's io
// thread would run a handler, instead of on the program's main thread.
#pragma once

#include <benchmark/benchmark.h>

#include <thread>

namespace hbbench
{

// Google Benchmark times the loop on whichever thread iterates the State
// (CPU time is that thread's own), so the numbers stay per call.
template <class Fn> void on_new_thread(benchmark::State &state, Fn fn)
{
    std::thread thread([&] { fn(state); });
    thread.join();
}

} // namespace hbbench
