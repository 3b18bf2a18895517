/* c-callback: handlers written in C, served through httpbridge.h alone
 * (the post's "gohttp-c" row). */
#include "httpbridge.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hb_server *g_server;

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
    fprintf(out, "usage: c-callback [--host ADDR] [--port N] [--threads N]\n"
                 "Serve GET / and POST /echo on ADDR:N (default 127.0.0.1:8000, 1 thread).\n");
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
        else {
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
