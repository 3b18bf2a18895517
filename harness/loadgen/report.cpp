#include "report.hpp"

#include <cmath>
#include <cstdio>

namespace lg
{

namespace
{

// Just enough JSON: objects, arrays, numbers, strings; commas placed by nesting.
class Json
{
public:
    Json &open(char bracket)
    {
        comma();
        out_ += bracket;
        first_ = true;
        return *this;
    }
    Json &close(char bracket)
    {
        out_ += bracket;
        first_ = false;
        return *this;
    }
    Json &key(const char *name)
    {
        comma();
        string(name);
        out_ += ':';
        first_ = true;
        return *this;
    }
    Json &value(double v, int decimals = 3)
    {
        comma();
        if (!std::isfinite(v)) {
            out_ += "null";
            return *this;
        }
        char buf[64];
        std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
        out_ += buf;
        return *this;
    }
    Json &value(std::uint64_t v)
    {
        comma();
        out_ += std::to_string(v);
        return *this;
    }
    Json &value(unsigned v) { return value(static_cast<std::uint64_t>(v)); }
    Json &value(bool v)
    {
        comma();
        out_ += v ? "true" : "false";
        return *this;
    }
    Json &value(const std::string &s)
    {
        comma();
        string(s);
        return *this;
    }
    Json &null()
    {
        comma();
        out_ += "null";
        return *this;
    }
    std::string str() const { return out_ + "\n"; }

private:
    void comma()
    {
        if (!first_)
            out_ += ',';
        first_ = false;
    }
    void string(const std::string &s)
    {
        out_ += '"';
        for (char c : s) {
            auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out_ += '\\';
                out_ += c;
            } else if (u < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\u%04x", u);
                out_ += buf;
            } else {
                out_ += c;
            }
        }
        out_ += '"';
    }

    std::string out_;
    bool first_ = true;
};

double us(std::int64_t ns)
{
    return static_cast<double>(ns) / 1000.0;
}

void histogram(Json &j, const Histogram &h, bool with_spectrum)
{
    j.open('{');
    j.key("count").value(h.count());
    j.key("min").value(us(h.min()));
    j.key("mean").value(h.mean() / 1000.0);
    j.key("stdev").value(h.stdev() / 1000.0);
    j.key("max").value(us(h.max()));
    static const std::pair<const char *, double> percentiles[] = {
        {"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}, {"p99.99", 99.99}};
    for (const auto &[name, p] : percentiles) {
        j.key(name);
        if (h.count())
            j.value(us(h.percentile(p)));
        else
            j.null();
    }
    j.key("overflow").value(h.overflow());
    if (with_spectrum) {
        j.key("spectrum").open('[');
        for (const auto &point : h.spectrum()) {
            j.open('[').value(point.percentile, 6).value(us(point.value)).close(']');
        }
        j.close(']');
    }
    j.close('}');
}

} // namespace

double achieved_rps(const RunResult &run)
{
    return run.duration_s > 0 ? static_cast<double>(run.stats.answered_in_window) / run.duration_s : 0.0;
}

double scheduled_rps(const RunResult &run)
{
    return run.duration_s > 0 ? static_cast<double>(run.stats.sent + run.stats.unsent) / run.duration_s : 0.0;
}

bool saturated(const RunResult &run)
{
    return run.plan.options.open_loop() && achieved_rps(run) < 0.99 * scheduled_rps(run);
}

std::string to_json(const RunResult &run)
{
    const Options &o = run.plan.options;
    const Stats &s = run.stats;
    Json j;
    j.open('{');
    j.key("format").value(std::string("httpbridge-loadgen"));
    j.key("schema_version").value(static_cast<unsigned>(kSchemaVersion));
    j.key("generator").open('{').key("name").value(std::string("hb-loadgen"));
    j.key("clock").value(std::string("CLOCK_MONOTONIC")).close('}');

    j.key("settings").open('{');
    j.key("url").value(o.url_text);
    j.key("method").value(o.method);
    j.key("body_size").value(o.body_size);
    j.key("headers").open('[');
    for (const auto &h : o.headers)
        j.value(h);
    j.close(']');
    j.key("connections").value(o.connections);
    j.key("threads").value(o.threads);
    j.key("pipeline").value(o.pipeline);
    j.key("mode").value(std::string(o.open_loop() ? "open-loop" : "closed-loop"));
    j.key("rate");
    o.open_loop() ? j.value(o.rate) : j.null();
    j.key("schedule");
    o.open_loop() ? j.value(std::string(o.poisson ? "poisson" : "even")) : j.null();
    j.key("seed").value(o.seed);
    j.key("busy_poll").value(o.busy_poll);
    j.key("duration_s").value(o.duration_s);
    j.key("warmup_s").value(o.warmup_s);
    j.key("timeout_s").value(o.timeout_s);
    j.key("grace_s").value(o.grace_s());
    j.close('}');

    j.key("duration_s").value(run.duration_s, 6);
    j.key("offered_rps");
    o.open_loop() ? j.value(o.rate) : j.null();
    j.key("scheduled_rps");
    o.open_loop() ? j.value(scheduled_rps(run)) : j.null();
    j.key("achieved_rps").value(achieved_rps(run));
    j.key("answered_in_window").value(run.stats.answered_in_window);
    j.key("saturated");
    o.open_loop() ? j.value(saturated(run)) : j.null();
    j.key("requests").value(s.requests);
    j.key("sent").value(s.sent);
    j.key("unsent").value(s.unsent);
    j.key("unanswered").value(s.unanswered);
    j.key("status").open('{');
    static const char *classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (std::size_t i = 1; i <= 5; ++i)
        j.key(classes[i]).value(s.status_classes[i]);
    j.key("other").value(s.status_classes[0]);
    j.close('}');
    j.key("non_2xx").value(s.non_2xx());
    j.key("errors").open('{');
    for (std::size_t i = 0; i < error_kinds; ++i)
        j.key(error_name(static_cast<ErrorKind>(i))).value(s.errors[i]);
    j.close('}');
    j.key("errors_total").value(s.error_total());
    j.key("connections_opened").value(s.connections_opened);
    j.key("bytes_read").value(s.bytes_read);
    j.key("bytes_written").value(s.bytes_written);

    j.key("latency_us").open('{');
    j.key("corrected");
    histogram(j, s.corrected, true);
    j.key("uncorrected");
    histogram(j, s.uncorrected, true);
    j.close('}');
    j.key("sender_lag_us");
    if (o.open_loop())
        histogram(j, s.sender_lag, false);
    else
        j.null();

    j.key("client").open('{');
    j.key("wall_s").value(run.wall_s, 6);
    j.key("cpu_s").value(run.cpu_s, 6);
    j.key("utilisation").value(run.wall_s > 0 ? run.cpu_s / run.wall_s : 0.0);
    j.close('}');
    j.close('}');
    return j.str();
}

std::string summary_line(const RunResult &run)
{
    const Options &o = run.plan.options;
    const Stats &s = run.stats;
    char buf[512];
    std::string offered = o.open_loop() ? std::to_string(static_cast<long long>(o.rate)) + " req/s offered, "
                                        : std::string("closed loop, ");
    std::snprintf(buf, sizeof buf,
                  "hb-loadgen: %s%.0f achieved%s; p99 %.1f us corrected, %.1f us uncorrected; "
                  "%llu requests, %llu non-2xx, %llu errors",
                  offered.c_str(), achieved_rps(run), saturated(run) ? " (saturated)" : "",
                  us(s.corrected.percentile(99)), us(s.uncorrected.percentile(99)),
                  static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.non_2xx()),
                  static_cast<unsigned long long>(s.error_total()));
    std::string line = buf;
    if (o.open_loop()) {
        std::snprintf(buf, sizeof buf, "; sender lag p99 %.1f us", us(s.sender_lag.percentile(99)));
        line += buf;
    }
    return line;
}

} // namespace lg
