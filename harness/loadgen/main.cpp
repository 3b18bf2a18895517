// hb-loadgen: the program's flow, top to bottom. Parse the options, find the
// server, open every connection, start all schedules at one instant, stop at the
// end plus a grace whatever the server does, print the JSON.
#include "options.hpp"
#include "plan.hpp"
#include "report.hpp"
#include "worker.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <sys/prctl.h>
#include <sys/resource.h>

#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

namespace asio = boost::asio;
using boost::system::error_code;

namespace
{

double cpu_seconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval &t) {
        return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

[[noreturn]] void die(const std::string &message)
{
    std::fprintf(stderr, "hb-loadgen: %s\n", message.c_str());
    std::exit(1);
}

// The server's address, and proof that it accepts connections, before anything is timed.
asio::ip::tcp::endpoint find_server(const lg::Options &o)
{
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    error_code ec;
    auto endpoints = resolver.resolve(o.url.host, std::to_string(o.url.port), ec);
    if (ec || endpoints.empty())
        die("cannot resolve host '" + o.url.host + "': " + ec.message());
    asio::ip::tcp::socket socket(io);
    asio::ip::tcp::endpoint chosen;
    error_code connect_ec = asio::error::timed_out;
    asio::async_connect(socket, endpoints, [&](const error_code &e, const asio::ip::tcp::endpoint &ep) {
        connect_ec = e;
        chosen = ep;
    });
    io.run_for(std::chrono::nanoseconds(static_cast<std::int64_t>(o.timeout_s * 1e9)));
    if (connect_ec)
        die("cannot connect to " + o.url_text + " (" + o.url.host + " port " + std::to_string(o.url.port) +
            "): " + connect_ec.message());
    return chosen;
}

// Each connection is a file descriptor: raise the soft limit as far as allowed, or say why not.
void ensure_descriptors(unsigned connections)
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return;
    rlim_t needed = connections + 64;
    if (limit.rlim_cur < needed && limit.rlim_max != limit.rlim_cur) {
        limit.rlim_cur = limit.rlim_max == RLIM_INFINITY || limit.rlim_max > needed ? needed : limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
    if (limit.rlim_cur < needed)
        die(std::to_string(connections) + " connections need " + std::to_string(needed) +
            " file descriptors; the limit is " + std::to_string(limit.rlim_cur) +
            " (raise it with ulimit -n)");
}

} // namespace

int main(int argc, char **argv)
{
    lg::Options options;
    try {
        options = lg::parse_options(argc, argv);
    } catch (const lg::UsageError &e) {
        std::fprintf(stderr, "hb-loadgen: %s\nRun 'hb-loadgen --help' for the options.\n", e.what());
        return 2;
    }
    if (options.help) {
        std::fputs(lg::usage_text(), stdout);
        return 0;
    }
    std::signal(SIGPIPE, SIG_IGN); // a peer that resets is an error to count, not a death
    // Timers fire when asked, not up to 50 us later (the default slack): the threads
    // created below inherit this.
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);

    ensure_descriptors(options.connections);
    lg::Plan plan;
    plan.options = options;
    plan.endpoint = find_server(options);
    std::string request = lg::build_request(options);
    plan.request_size = request.size();
    for (unsigned i = 0; i < options.pipeline; ++i)
        plan.requests += request;
    plan.head_request = options.method == "HEAD";

    std::vector<std::unique_ptr<lg::Worker>> workers;
    for (unsigned t = 0; t < options.threads; ++t) {
        std::vector<unsigned> mine;
        for (unsigned i = t; i < options.connections; i += options.threads)
            mine.push_back(i);
        workers.push_back(std::make_unique<lg::Worker>(plan, mine));
    }

    // Every thread opens its connections, then all start their schedules together.
    std::mutex mutex;
    std::condition_variable changed;
    unsigned connected = 0, done = 0;
    std::promise<void> go;
    std::shared_future<void> started = go.get_future().share();
    std::vector<std::thread> threads;
    for (auto &worker : workers) {
        threads.emplace_back([&, w = worker.get()] {
            w->connect_all();
            {
                std::lock_guard<std::mutex> lock(mutex);
                ++connected;
            }
            changed.notify_all();
            started.wait();
            w->run();
            {
                std::lock_guard<std::mutex> lock(mutex);
                ++done;
            }
            changed.notify_all();
        });
    }
    {
        std::unique_lock<std::mutex> lock(mutex);
        changed.wait(lock, [&] { return connected == workers.size(); }); // each bounded by the timeout
    }

    double wall_start = static_cast<double>(lg::now_ns());
    double cpu_start = cpu_seconds();
    plan.start_ns = lg::now_ns();
    plan.measure_ns = plan.start_ns + static_cast<std::int64_t>(options.warmup_s * 1e9);
    plan.end_ns = plan.measure_ns + static_cast<std::int64_t>(options.duration_s * 1e9);
    plan.stop_ns = plan.end_ns + static_cast<std::int64_t>(options.grace_s() * 1e9);
    go.set_value();

    // The workers stop themselves at stop_ns; this bound only guards against a bug.
    {
        std::unique_lock<std::mutex> lock(mutex);
        auto limit = lg::to_time_point(plan.stop_ns) + std::chrono::seconds(5);
        if (!changed.wait_until(lock, limit, [&] { return done == workers.size(); })) {
            std::fprintf(stderr, "hb-loadgen: the threads did not stop in time (a bug); giving up\n");
            std::fflush(stderr);
            std::_Exit(1);
        }
    }
    for (auto &thread : threads)
        thread.join();

    lg::Stats total;
    for (auto &worker : workers)
        total.merge(worker->stats());
    lg::RunResult run{plan, total, options.duration_s, (static_cast<double>(lg::now_ns()) - wall_start) / 1e9,
                      cpu_seconds() - cpu_start};
    std::fputs(lg::to_json(run).c_str(), stdout);
    std::fflush(stdout);
    std::fprintf(stderr, "%s\n", lg::summary_line(run).c_str());
    return 0;
}
