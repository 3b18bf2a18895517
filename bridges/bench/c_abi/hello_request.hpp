// The request and response a handler sees for `GET /`, as the engine hands
// them over, built without a socket.
#pragma once

#include "engine.hpp"
#include "httpbridge.h"

#include <string_view>

namespace hbbench
{

inline hb_str str(std::string_view s)
{
    return {s.data(), s.size()};
}

// What the engine fills for `GET / HTTP/1.1` from a load generator.
inline hb_request hello_request()
{
    static const hb_header headers[] = {{str("Host"), str("127.0.0.1:8080")}, {str("Accept"), str("*/*")}};
    hb_request req{};
    req.method = str("GET");
    req.target = str("/");
    req.path = str("/");
    req.host = str("127.0.0.1:8080");
    req.remote_addr = str("127.0.0.1:40000");
    req.headers = headers;
    req.header_count = 2;
    req.version = 11;
    req.keep_alive = 1;
    return req;
}

// The connection reuses one Response and calls its (engine-private) reset()
// before each request. Assigning an empty Response does the same: libstdc++
// keeps a string's capacity when it is assigned an empty one, so no
// allocation happens in a warm loop.
inline void reset_response(hb::Response &res)
{
    static const hb::Response fresh;
    res = fresh;
}

} // namespace hbbench
