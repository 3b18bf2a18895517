// http://host[:port][/path][?query]: the only kind of URL the loadgen sends to.
#pragma once

#include <optional>
#include <string>

namespace lg
{

struct Url {
    std::string host; // without the brackets of an IPv6 literal
    unsigned port = 80;
    std::string target; // path and query, "/" at least
    std::string host_header() const;
};

// The URL, or nullopt with `error` saying what is wrong with it.
std::optional<Url> parse_url(const std::string &text, std::string &error);

} // namespace lg
