// Hooks into the C ABI's internals for bench_c_abi; exported by libhbbench_abi.so only.
#pragma once

#include "engine.hpp"
#include "httpbridge.h"

#include <cstdint>

namespace hbbench
{

// The function the engine calls for every route registered through
// hb_server_handle: abi/httpbridge.cpp's call_c_handler itself.
HB_API hb::Handler c_abi_entry();

// What hb_server_handle stores as that route's user_data; free with free_registration.
HB_API void *new_registration(hb_handler fn, void *user_data);
HB_API void free_registration(void *registration);

// The calling thread's handle table inside the library (what call_c_handler uses).
HB_API hb_response acquire_handle(hb::Response &res);
HB_API int release_handle(hb_response handle);

} // namespace hbbench
