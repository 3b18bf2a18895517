/* c-callback: handlers written in C, served through httpbridge.h alone
 * (the post's "gohttp-c" row). With --work-us N, GET / first spends N us of
 * this thread's CPU: a native handler as slow as a given app, which the harness
 * serves to measure what the engine and the kernel cost a request of that app
 * when no Python is involved (harness/floor.py). */
#include "httpbridge.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static hb_server *g_server;
static double g_work_us; /* --work-us: CPU each GET / spends before answering */

static double thread_cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Spins on the thread's own CPU clock, not the wall clock: time this thread is
 * preempted or interrupted must not count as the handler's work. */
static void work(double us)
{
    double until = thread_cpu_us() + us;
    while (thread_cpu_us() < until) {
    }
}

static void on_signal(int sig)
{
    (void)sig;
    hb_server_stop(g_server); /* async-signal-safe by contract */
}

static int str_is(hb_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && memcmp(s.data, lit, n) == 0;
}

static int not_found(hb_response res)
{
    static const char body[] = "404 page not found\n";
    hb_response_set_status(res, 404);
    hb_response_add_header(res, "Content-Type", 12, "text/plain", 10);
    return hb_response_write(res, body, sizeof body - 1);
}

static int index_handler(hb_response res, const hb_request *req, void *user_data)
{
    static const char body[] = "Hello, world.\n";
    (void)user_data;
    if (!str_is(req->path, "/"))
        return not_found(res);
    if (g_work_us > 0)
        work(g_work_us);
    hb_response_add_header(res, "Content-Type", 12, "text/plain", 10);
    return hb_response_write(res, body, sizeof body - 1);
}

static int echo_handler(hb_response res, const hb_request *req, void *user_data)
{
    (void)user_data;
    if (!str_is(req->method, "POST"))
        return not_found(res);
    hb_response_add_header(res, "Content-Type", 12, "application/octet-stream", 24);
    return hb_response_write(res, req->body.data, req->body.len);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: c-callback [--host ADDR] [--port N] [--threads N] [--work-us US]\n"
                 "Serve GET / and POST /echo on ADDR:N (default 127.0.0.1:8000, 1 thread).\n"
                 "--work-us US: each GET / first spends US microseconds of CPU (0 to 1000000,\n"
                 "fractions allowed; default 0), a native handler as slow as a given app.\n");
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    unsigned port = 8000, threads = 1;
    hb_options options;
    int rc;

    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        }
        if (i + 1 >= argc) {
            usage(stderr);
            return 2;
        }
        if (!strcmp(argv[i], "--host"))
            host = argv[++i];
        else if (!strcmp(argv[i], "--port"))
            port = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--threads"))
            threads = (unsigned)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--work-us")) {
            char *end;
            g_work_us = strtod(argv[++i], &end);
            if (*argv[i] == '\0' || *end != '\0' || !(g_work_us >= 0 && g_work_us <= 1e6)) {
                fprintf(stderr,
                        "c-callback: --work-us wants microseconds from 0 to 1000000, "
                        "not '%s'\n",
                        argv[i]);
                return 2;
            }
        } else {
            usage(stderr);
            return 2;
        }
    }

    hb_options_init(&options);
    options.io_threads = threads;
    if ((rc = hb_server_create(&options, &g_server)) != HB_OK) {
        fprintf(stderr, "c-callback: %s\n", rc == HB_E_INVAL ? hb_options_check(&options) : hb_strerror(rc));
        return 1;
    }
    hb_server_handle(g_server, "/", index_handler, NULL);
    hb_server_handle(g_server, "/echo", echo_handler, NULL);
    if ((rc = hb_server_listen(g_server, host, port)) != HB_OK) {
        fprintf(stderr, "c-callback: cannot listen on %s:%u: %s\n", host, port, hb_strerror(rc));
        hb_server_free(g_server);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* The start line every variant prints (servers/README.md), with the port really bound. */
    const char *bracket = strchr(host, ':') ? "[" : "";
    fprintf(stderr, "listening on http://%s%s%s:%d\n", bracket, host, *bracket ? "]" : "",
            hb_server_port(g_server));
    fflush(stderr);
    rc = hb_server_serve(g_server);
    hb_server_free(g_server);
    return rc == HB_OK ? 0 : 1;
}
