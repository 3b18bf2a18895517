#include "options.hpp"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace lg
{

namespace
{

const char kUsage[] =
    "usage: hb-loadgen [options] http://HOST[:PORT]/PATH\n"
    "\n"
    "Open-loop HTTP/1.1 load generator: each connection sends on a fixed schedule and every\n"
    "latency is timed from when its request was due (corrected for coordinated omission),\n"
    "and also from when it was actually sent. Prints one JSON document on stdout.\n"
    "\n"
    "  -R, --rate R          total requests/s over all connections (k and M suffixes: 50k);\n"
    "                        without it: closed loop, each connection as fast as answers come\n"
    "  -c, --connections C   keep-alive connections (default 10)\n"
    "  -t, --threads T       threads, each with its share of the connections (default 1)\n"
    "  -d, --duration D      measured time (default 10s; units ms, s, m)\n"
    "  -w, --warmup D        time run first and left out of every figure (default 0)\n"
    "      --timeout D       a request unanswered this long is an error (default 2s)\n"
    "  -m, --method M        request method (default GET)\n"
    "  -b, --body-size N     request body of N bytes with Content-Length (default 0; k = 1000)\n"
    "  -H, --header 'N: V'   extra request header (repeatable)\n"
    "  -p, --pipeline N      requests in flight per connection (default 1)\n"
    "      --poisson         exponential gaps between requests (default: evenly spaced)\n"
    "      --seed N          seed of the Poisson schedule (default 1)\n"
    "      --busy-poll       threads spin instead of sleeping between events: the sender is\n"
    "                        on time to a few us, at the cost of one full CPU per thread\n"
    "  -h, --help            this text\n"
    "\n"
    "Exit status: 0 done (see the JSON for errors), 1 cannot connect or run, 2 bad usage.\n";

// 12, 12.5, 50k, 1.5M
double parse_number(const std::string &name, const std::string &text)
{
    char *end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    std::string suffix = end ? std::string(end) : "";
    if (suffix == "k" || suffix == "K")
        value *= 1e3;
    else if (suffix == "M")
        value *= 1e6;
    else if (!suffix.empty() || end == text.c_str())
        throw UsageError(name + ": '" + text + "' is not a number");
    if (!std::isfinite(value))
        throw UsageError(name + ": '" + text + "' is not a finite number");
    return value;
}

unsigned parse_count(const std::string &name, const std::string &text, unsigned low, unsigned high)
{
    double value = parse_number(name, text);
    if (value != std::floor(value) || value < low || value > high)
        throw UsageError(name + ": '" + text + "' must be a whole number from " + std::to_string(low) +
                         " to " + std::to_string(high));
    return static_cast<unsigned>(value);
}

// 5, 5s, 250ms, 2m: seconds
double parse_duration(const std::string &name, const std::string &text)
{
    char *end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    std::string unit = end ? std::string(end) : "";
    if (end == text.c_str())
        unit = "?";
    if (unit == "ms")
        value /= 1e3;
    else if (unit == "m")
        value *= 60;
    else if (unit == "us")
        value /= 1e6;
    else if (!unit.empty() && unit != "s")
        throw UsageError(name + ": '" + text + "' is not a duration (like 10s, 500ms, 1m)");
    if (!std::isfinite(value) || value < 0 || value > 24 * 3600)
        throw UsageError(name + ": '" + text + "' must be between 0 and 24h");
    return value;
}

bool is_token(const std::string &text)
{
    if (text.empty())
        return false;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        if (!(std::isalnum(u) || std::string("!#$%&'*+-.^_`|~").find(c) != std::string::npos))
            return false;
    }
    return true;
}

} // namespace

const char *usage_text()
{
    return kUsage;
}

Options parse_options(int argc, char **argv)
{
    Options o;
    std::vector<std::string> positional;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        std::string value;
        bool has_inline = false;
        if (arg.rfind("--", 0) == 0 && arg.find('=') != std::string::npos) {
            value = arg.substr(arg.find('=') + 1);
            arg = arg.substr(0, arg.find('='));
            has_inline = true;
        }
        auto flag = [&](const char *shortname, const char *longname) {
            return (shortname && arg == shortname) || arg == longname;
        };
        auto next = [&]() -> std::string {
            if (has_inline)
                return value;
            if (i + 1 >= argc)
                throw UsageError(arg + " needs a value");
            return argv[++i];
        };
        if (flag("-h", "--help")) {
            o.help = true;
        } else if (flag("-R", "--rate")) {
            o.rate = parse_number("--rate", next());
            if (!(o.rate > 0) || o.rate > 1e8)
                throw UsageError("--rate must be above 0 and at most 100M requests/s");
        } else if (flag("-c", "--connections")) {
            o.connections = parse_count("--connections", next(), 1, 100000);
        } else if (flag("-t", "--threads")) {
            o.threads = parse_count("--threads", next(), 1, 256);
        } else if (flag("-d", "--duration")) {
            o.duration_s = parse_duration("--duration", next());
            if (o.duration_s <= 0)
                throw UsageError("--duration must be above 0");
        } else if (flag("-w", "--warmup")) {
            o.warmup_s = parse_duration("--warmup", next());
        } else if (flag(nullptr, "--timeout")) {
            o.timeout_s = parse_duration("--timeout", next());
            if (o.timeout_s < 0.001)
                throw UsageError("--timeout must be at least 1ms");
        } else if (flag("-m", "--method")) {
            o.method = next();
            if (!is_token(o.method))
                throw UsageError("--method: '" + o.method + "' is not an HTTP method token");
        } else if (flag("-b", "--body-size")) {
            double size = parse_number("--body-size", next());
            if (size < 0 || size != std::floor(size) || size > 64e6)
                throw UsageError("--body-size must be a whole number of bytes from 0 to 64M");
            o.body_size = static_cast<std::uint64_t>(size);
        } else if (flag("-H", "--header")) {
            std::string header = next();
            std::size_t colon = header.find(':');
            if (colon == std::string::npos || !is_token(header.substr(0, colon)) ||
                header.find_first_of("\r\n") != std::string::npos)
                throw UsageError("--header: '" + header + "' is not 'Name: value'");
            o.headers.push_back(header);
        } else if (flag("-p", "--pipeline")) {
            o.pipeline = parse_count("--pipeline", next(), 1, 1024);
        } else if (flag(nullptr, "--poisson")) {
            o.poisson = true;
        } else if (flag(nullptr, "--busy-poll")) {
            o.busy_poll = true;
        } else if (flag(nullptr, "--seed")) {
            o.seed = parse_count("--seed", next(), 0, 4294967295u);
        } else if (arg.size() > 1 && arg[0] == '-') {
            throw UsageError("unknown option " + arg);
        } else {
            positional.push_back(arg);
        }
    }
    if (o.help)
        return o;
    if (positional.empty())
        throw UsageError("no URL given");
    if (positional.size() > 1)
        throw UsageError("one URL only (got '" + positional[0] + "' and '" + positional[1] + "')");
    std::string error;
    auto url = parse_url(positional[0], error);
    if (!url)
        throw UsageError("bad URL '" + positional[0] + "': " + error);
    o.url = *url;
    o.url_text = positional[0];
    if (o.threads > o.connections)
        throw UsageError("--threads (" + std::to_string(o.threads) + ") cannot exceed --connections (" +
                         std::to_string(o.connections) + ")");
    // Every connection writes from one buffer of `pipeline` requests: keep it reasonable.
    if (o.body_size * o.pipeline > 256'000'000)
        throw UsageError("--body-size times --pipeline must stay under 256M (one write holds them all)");
    if (o.poisson && !o.open_loop())
        throw UsageError("--poisson needs --rate (without it the run is closed-loop)");
    return o;
}

std::string build_request(const Options &o)
{
    std::string request =
        o.method + " " + o.url.target + " HTTP/1.1\r\nHost: " + o.url.host_header() + "\r\n";
    for (const auto &header : o.headers)
        request += header + "\r\n";
    bool needs_length = o.body_size > 0 || o.method == "POST" || o.method == "PUT" || o.method == "PATCH";
    if (needs_length)
        request += "Content-Length: " + std::to_string(o.body_size) + "\r\n";
    request += "\r\n";
    // A repeating, recognisable pattern: a server that counts bytes can also check them.
    for (std::uint64_t i = 0; i < o.body_size; ++i)
        request += static_cast<char>('a' + i % 26);
    return request;
}

} // namespace lg
