// Hooks into the C ABI's internals: they hand out the ABI's own
// call_c_handler and handle table (abi/c_handler.hpp), never a copy that
// could drift from them.
#include "abi_probe.hpp"

#include "c_handler.hpp"
#include "handle_table.hpp"

namespace hbbench
{

using hb::abi::Registration;
using hb::detail::HandleTable;

hb::Handler c_abi_entry()
{
    return hb::abi::call_c_handler;
}

void *new_registration(hb_handler fn, void *user_data)
{
    return new Registration{fn, user_data};
}

void free_registration(void *registration)
{
    delete static_cast<Registration *>(registration);
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
