// cpp-beast: the native baseline. The bridge's engine with handlers written in
// C++ and called directly, no C ABI in between (the post's "go-net/http" row).
#include "engine.hpp"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace
{

hb::Server *g_server = nullptr;

void on_signal(int)
{
    g_server->stop();
}

// "/" is a subtree pattern (as in Go's ServeMux): everything unknown lands
// here and must get the same 404 the engine gives an unrouted path.
int not_found(hb::Response &res)
{
    res.set_status(404);
    res.add_header("Content-Type", "text/plain");
    res.write("404 page not found\n");
    return 0;
}

int index(hb::Response &res, const hb_request &req, void *)
{
    if (std::string_view(req.path.data, req.path.len) != "/")
        return not_found(res);
    res.add_header("Content-Type", "text/plain");
    res.write("Hello, world.\n");
    return 0;
}

int echo(hb::Response &res, const hb_request &req, void *)
{
    if (std::string_view(req.method.data, req.method.len) != "POST")
        return not_found(res);
    res.add_header("Content-Type", "application/octet-stream");
    res.write({req.body.data, req.body.len});
    return 0;
}

void usage(FILE *out)
{
    std::fprintf(out, "usage: cpp-beast [--host ADDR] [--port N] [--threads N]\n"
                      "Serve GET / and POST /echo on ADDR:N (default 127.0.0.1:8000, 1 thread).\n");
}

} // namespace

int main(int argc, char **argv)
{
    std::string host = "127.0.0.1";
    unsigned port = 8000;
    unsigned threads = 1;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        if (arg == "--host")
            host = argv[++i];
        else if (arg == "--port")
            port = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        else if (arg == "--threads")
            threads = static_cast<unsigned>(std::strtoul(argv[++i], nullptr, 10));
        else {
            usage(stderr);
            return 2;
        }
    }

    hb_options options = hb::default_options();
    options.io_threads = threads;
    if (const char *problem = hb::check_options(options)) { // the engine's rule, as for every layer
        std::fprintf(stderr, "cpp-beast: --threads %u: %s\n", threads, problem);
        return 2;
    }
    hb::Server server(options);
    server.handle("/", index, nullptr);
    server.handle("/echo", echo, nullptr);
    if (int rc = server.listen(host.c_str(), port); rc != HB_OK) {
        std::fprintf(stderr, "cpp-beast: cannot listen on %s:%u: %s\n", host.c_str(), port,
                     hb::error_text(rc));
        return 1;
    }
    g_server = &server;
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    // The start line every variant prints (servers/README.md), with the port really bound.
    const char *bracket = host.find(':') != std::string::npos ? "[" : "";
    std::fprintf(stderr, "listening on http://%s%s%s:%d\n", bracket, host.c_str(),
                 *bracket ? "]" : "", server.port());
    std::fflush(stderr);
    server.start();
    server.wait(-1);
    return 0;
}
