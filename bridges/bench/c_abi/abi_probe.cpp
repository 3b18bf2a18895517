// Includes the C ABI's implementation, so that the hooks hand out its
// internal call_c_handler itself rather than a copy that could drift from it.
#include "../../httpbridge/src/httpbridge.cpp"

#include "abi_probe.hpp"

namespace hbbench
{

hb::Handler c_abi_entry()
{
    return call_c_handler;
}

void *new_registration(hb_handler fn, void *user_data)
{
    return new hb_server::Registration{fn, user_data};
}

void free_registration(void *registration)
{
    delete static_cast<hb_server::Registration *>(registration);
}

hb_response acquire_handle(hb::Response &res)
{
    return HandleTable::current().acquire(&res);
}

int release_handle(hb_response handle)
{
    return HandleTable::current().release(handle);
}

} // namespace hbbench
