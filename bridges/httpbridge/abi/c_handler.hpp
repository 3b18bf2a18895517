// Internal to the ABI layer: how a route registered through hb_server_handle
// reaches its C handler. Declared here, not in httpbridge.cpp, so that the
// benchmarks (bridges/bench/c_abi) can enter the ABI exactly as the engine
// does, through these very functions rather than a copy.
#pragma once

#include "engine.hpp"
#include "httpbridge.h"

namespace hb::abi
{

// What hb_server_handle stores as the engine route's user_data.
struct Registration {
    hb_handler fn;
    void *user_data;
};

// The engine Handler of every C route: names the response by a fresh handle,
// calls reg->fn, and retires the handle so that a kept copy goes stale.
// user_data is a Registration.
int call_c_handler(hb::Response &res, const hb_request &req, void *user_data);

} // namespace hb::abi
