// bench_c_abi: what the C ABI adds to one request. The engine calls a handler
// through a function pointer either way; natively (cpp-beast) the handler gets
// the Response&, through the C ABI (c-callback) it gets a handle that every
// hb_response_* call must look up. Then the pieces: one write each way, a
// refused handle, a handle's whole life.
#include "abi_probe.hpp"
#include "engine.hpp"
#include "hello_request.hpp"
#include "httpbridge.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string_view>

extern "C" int hello_c_handler(hb_response res, const hb_request *req, void *user_data);

namespace
{

constexpr std::string_view kBody = "Hello, world.\n";
constexpr unsigned kWritesPerReset = 1024; // keeps a written body in L1

// servers/cpp-beast's index handler.
int hello_cpp_handler(hb::Response &res, const hb_request &req, void *)
{
    if (std::string_view(req.path.data, req.path.len) != "/") {
        res.set_status(404);
        res.write("404 page not found\n");
        return 0;
    }
    res.add_header("Content-Type", "text/plain");
    res.write(kBody);
    return 0;
}

// One request as Connection::dispatch runs it, minus parsing and the socket.
void engine_calls_handler(benchmark::State &state, hb::Handler handler, void *user_data)
{
    hb::Response res;
    const hb_request req = hbbench::hello_request();
    // The engine calls through a pointer it cannot see into; a volatile read
    // keeps the compiler from inlining the native handler here.
    hb::Handler volatile opaque = handler;
    hb::Handler fn = opaque;
    for (auto _ : state) {
        hbbench::reset_response(res);
        int rc = fn(res, req, user_data);
        if (rc != 0) {
            state.SkipWithError("handler failed");
            break;
        }
        benchmark::ClobberMemory();
    }
}

void native_engine_calls_handler(benchmark::State &state)
{
    engine_calls_handler(state, hello_cpp_handler, nullptr);
}

// call_c_handler: acquire a handle, call the C function, whose add_header and
// write each go through the PLT and look the handle up, then release it.
void c_abi_engine_calls_handler(benchmark::State &state)
{
    void *registration = hbbench::new_registration(hello_c_handler, nullptr);
    engine_calls_handler(state, hbbench::c_abi_entry(), registration);
    hbbench::free_registration(registration);
}

// The cost already inside both of the above.
void native_response_reset(benchmark::State &state)
{
    hb::Response res;
    for (auto _ : state) {
        hbbench::reset_response(res);
        benchmark::ClobberMemory();
    }
}

// Response::write as native code calls it: an inlined append.
void native_write_14B(benchmark::State &state)
{
    hb::Response res;
    unsigned n = 0;
    for (auto _ : state) {
        res.write(kBody);
        if (++n % kWritesPerReset == 0)
            hbbench::reset_response(res);
        benchmark::ClobberMemory();
    }
}

// Response::add_header("Content-Type", "text/plain"): the header checks
// (token characters, no CR/LF, not a framing header) and the appends.
void native_add_header(benchmark::State &state)
{
    hb::Response res;
    unsigned n = 0;
    for (auto _ : state) {
        benchmark::DoNotOptimize(res.add_header("Content-Type", "text/plain"));
        if (++n % kWritesPerReset == 0)
            hbbench::reset_response(res);
    }
}

// hb_response_write: PLT call, thread_local table lookup, generation check, append.
void c_abi_write_14B(benchmark::State &state)
{
    hb::Response res;
    hb_response handle = hbbench::acquire_handle(res);
    unsigned n = 0;
    unsigned failed = 0;
    for (auto _ : state) {
        failed += hb_response_write(handle, kBody.data(), kBody.size()) != HB_OK;
        if (++n % kWritesPerReset == 0)
            hbbench::reset_response(res);
    }
    hbbench::release_handle(handle);
    if (failed != 0)
        state.SkipWithError("hb_response_write failed");
}

// A kept handle used after its handler returned: refused by the generation check.
void c_abi_write_stale_handle(benchmark::State &state)
{
    hb::Response res;
    hb_response handle = hbbench::acquire_handle(res);
    hbbench::release_handle(handle);
    int rc = HB_OK;
    for (auto _ : state)
        rc = hb_response_write(handle, kBody.data(), kBody.size());
    if (rc != HB_E_HANDLE)
        state.SkipWithError("stale handle was not refused");
}

// A made-up handle naming no live table: the error path that takes the
// registry mutex to tell a forged handle from one used on the wrong thread.
void c_abi_write_forged_handle(benchmark::State &state)
{
    const hb_response handle = (std::uint64_t{0xFFFFFF} << 40) | 1u;
    int rc = HB_OK;
    for (auto _ : state)
        rc = hb_response_write(handle, kBody.data(), kBody.size());
    if (rc != HB_E_HANDLE)
        state.SkipWithError("forged handle was not refused");
}

// The handle's life around each request, without the handler.
void c_abi_handle_acquire_release(benchmark::State &state)
{
    hb::Response res;
    unsigned failed = 0;
    for (auto _ : state)
        failed += hbbench::release_handle(hbbench::acquire_handle(res)) != HB_OK;
    if (failed != 0)
        state.SkipWithError("a handle was not released");
}

} // namespace

BENCHMARK(native_engine_calls_handler)->Name("native/engine_calls_handler");
BENCHMARK(c_abi_engine_calls_handler)->Name("c_abi/engine_calls_handler");
BENCHMARK(native_response_reset)->Name("native/response_reset");
BENCHMARK(native_add_header)->Name("native/add_header");
BENCHMARK(native_write_14B)->Name("native/write_14B");
BENCHMARK(c_abi_write_14B)->Name("c_abi/write_14B");
BENCHMARK(c_abi_write_stale_handle)->Name("c_abi/write_stale_handle");
BENCHMARK(c_abi_write_forged_handle)->Name("c_abi/write_forged_handle");
BENCHMARK(c_abi_handle_acquire_release)->Name("c_abi/handle_acquire_release");
