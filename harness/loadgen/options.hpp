// The command line: what to load, how hard, for how long. Bad input is a
// UsageError whose message says what to change (main exits 2 with it).
#pragma once

#include "url.hpp"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace lg
{

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Options {
    Url url;
    std::string url_text;
    double rate = 0; // total requests/s; 0: closed loop, as fast as the server answers
    unsigned connections = 10;
    unsigned threads = 1;
    double duration_s = 10;
    double warmup_s = 0;
    double timeout_s = 2; // a request unanswered this long is an error
    std::string method = "GET";
    std::uint64_t body_size = 0;
    unsigned pipeline = 1; // requests in flight per connection
    bool poisson = false;
    bool busy_poll = false; // threads never sleep: the least lag, one full CPU each
    std::uint64_t seed = 1;
    std::vector<std::string> headers; // "Name: value"
    bool help = false;

    bool open_loop() const { return rate > 0; }
    // After the last due request, how long outstanding answers are waited for.
    double grace_s() const { return timeout_s < 1 ? timeout_s : 1; }
};

Options parse_options(int argc, char **argv); // throws UsageError
const char *usage_text();

// The bytes of one request, as every connection sends it.
std::string build_request(const Options &options);

} // namespace lg
