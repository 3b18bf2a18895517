// Options: their defaults, their validation, and the log they name. Every
// layer (the C ABI, cpp-beast, both Python bindings) checks options here.
#include "engine.hpp"

#include <cstdarg>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace hb
{
namespace
{

// hb_options as first released with a size field: a caller never passes less.
// A new option: append its field to hb_options (httpbridge.h), set its default
// in default_options() and its range in check_options(); this stays as it is,
// and complete_options() gives callers built before the field its default.
constexpr std::size_t kFirstOptionsSize = offsetof(hb_options, log_data) + sizeof(void *);

constexpr unsigned kMaxIoThreads = 1024;

} // namespace

hb_options default_options()
{
    hb_options o{};
    o.size = sizeof(hb_options);
    o.io_threads = 1;
    o.header_limit = 8192;
    o.body_limit = 8u << 20;
    o.read_timeout_ms = 10000;
    o.idle_timeout_ms = 60000;
    o.drain_timeout_ms = 5000;
    o.max_connections = 10000;
    return o;
}

const char *check_options(const hb_options &o)
{
    if (o.size < kFirstOptionsSize || o.size > sizeof(hb_options))
        return "hb_options.size is not a size this library knows: start from hb_options_init";
    hb_options full = complete_options(o);
    if (full.io_threads == 0 || full.io_threads > kMaxIoThreads)
        return "io_threads must be between 1 and 1024";
    if (full.header_limit == 0 || full.header_limit > UINT32_MAX)
        return "header_limit must be between 1 and 4294967295 bytes";
    if (full.read_timeout_ms == 0)
        return "read_timeout_ms must be at least 1";
    if (full.idle_timeout_ms == 0)
        return "idle_timeout_ms must be at least 1";
    return nullptr;
}

hb_options complete_options(const hb_options &options)
{
    hb_options full = default_options();
    std::size_t known = options.size < sizeof(hb_options) ? options.size : sizeof(hb_options);
    std::memcpy(static_cast<void *>(&full), &options, known);
    full.size = sizeof(hb_options);
    return full;
}

void log_line(const hb_options &options, int level, const char *format, ...)
{
    char line[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(line, sizeof line, format, args); // truncated past the buffer: one line is enough
    va_end(args);
    if (options.log != nullptr)
        options.log(options.log_data, level, line);
    else
        std::fprintf(stderr, "httpbridge: %s\n", line);
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
