#include "engine.hpp"

namespace hb
{

hb_options default_options()
{
    hb_options o{};
    o.io_threads = 1;
    o.header_limit = 8192;
    o.body_limit = 8u << 20;
    o.read_timeout_ms = 10000;
    o.idle_timeout_ms = 60000;
    o.drain_timeout_ms = 5000;
    o.max_connections = 10000;
    return o;
}

const char *error_text(int code)
{
    switch (code) {
    case HB_OK: return "success";
    case HB_E_INVAL: return "invalid argument";
    case HB_E_NOMEM: return "out of memory";
    case HB_E_STATE: return "not allowed in the server's current state";
    case HB_E_ADDRINUSE: return "address already in use";
    case HB_E_ADDRESS: return "not a local numeric IP address";
    case HB_E_SOCKET: return "socket error";
    case HB_E_HANDLE: return "stale, released or unknown response handle";
    case HB_E_THREAD: return "response handle used outside its handler's thread";
    case HB_E_SENT: return "status and headers were already sent";
    case HB_E_IO: return "connection failed while sending";
    case HB_E_TIMEOUT: return "timed out";
    case HB_E_AGAIN: return "the client has not read earlier output yet; nothing was lost";
    default: return "unknown error code";
    }
}

} // namespace hb
