// bench_cgo: what each crossing between C and Go costs (Go 1.19 cgo). The
// Go-side loops run `batch` crossings per iteration: Time is per batch, the
// per_call counter per crossing.
#include "on_thread.hpp"

#include "libhbbench_cgo.h"

#include <benchmark/benchmark.h>

namespace
{

constexpr int kBatch = 1000;

void per_call(benchmark::State &state, double calls_per_iteration)
{
    state.counters["per_call"] = benchmark::Counter(
        calls_per_iteration, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

// A thread Go did not create calling an exported Go function, as a C server
// thread would call a Go handler: cgo must lend the thread a Go M each time.
void c_calls_go_foreign_thread(benchmark::State &state)
{
    hbbench::on_new_thread(state, [](benchmark::State &s) {
        for (auto _ : s)
            benchmark::DoNotOptimize(GoNoop(1));
        per_call(s, 1);
    });
}

// A goroutine calling C, as the reference's net/http handler calls the C handler.
void go_calls_c(benchmark::State &state)
{
    for (auto _ : state)
        benchmark::DoNotOptimize(GoCallsC(kBatch));
    per_call(state, kBatch);
}

// ... and that C handler calling back into Go (the reference's writes).
void go_calls_c_calls_go(benchmark::State &state)
{
    for (auto _ : state)
        benchmark::DoNotOptimize(GoCallsCCallsGo(kBatch));
    per_call(state, kBatch);
}

// ... with 14 bytes copied into Go memory, as ResponseWriter_Write does.
void go_calls_c_writes_go_14B(benchmark::State &state)
{
    for (auto _ : state)
        benchmark::DoNotOptimize(GoCallsCWritesGo(kBatch));
    per_call(state, kBatch);
}

// The reference's mutex-and-map handle registry, per request: Ref, Deref, Free
// (compare bench_c_abi's c_abi/handle_acquire_release).
void go_registry_ref_deref_free(benchmark::State &state)
{
    for (auto _ : state)
        benchmark::DoNotOptimize(GoRegistryRoundTrip(kBatch));
    per_call(state, kBatch);
}

} // namespace

BENCHMARK(c_calls_go_foreign_thread)->Name("cgo/c_calls_go_foreign_thread");
BENCHMARK(go_calls_c)->Name("cgo/go_calls_c/batch:1000");
BENCHMARK(go_calls_c_calls_go)->Name("cgo/go_calls_c_calls_go/batch:1000");
BENCHMARK(go_calls_c_writes_go_14B)->Name("cgo/go_calls_c_writes_go_14B/batch:1000");
BENCHMARK(go_registry_ref_deref_free)->Name("go/registry_ref_deref_free/batch:1000");
