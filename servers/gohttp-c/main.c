/*
 * gohttp-c: the reference's "gohttp-c" row. Go's net/http (libgohttp.so)
 * serves; these C handlers answer through the bridge's handle registry.
 *
 * usage: gohttp-c [--host H] [--port P] [--threads N]
 * (defaults 127.0.0.1, 8000, 1; --threads is Go's GOMAXPROCS)
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libgohttp.h"

static const char hello[] = "Hello, world.\n";
static const char not_found_body[] = "404 page not found\n";

/* True when the URL's path (before any query) is exactly path. */
static int path_is(const char *url, const char *path)
{
    size_t n = strcspn(url, "?");
    return strlen(path) == n && memcmp(url, path, n) == 0;
}

static void not_found(ResponseWriterPtr w)
{
    ResponseWriter_SetHeader(w, "Content-Type", "text/plain");
    ResponseWriter_WriteHeader(w, 404);
    ResponseWriter_Write(w, (char *)not_found_body, (int)strlen(not_found_body));
}

/* Content-Length is set so that a large echo is not sent chunked. */
static void send_body(ResponseWriterPtr w, const char *type, const char *body, long long n)
{
    char length[24];
    snprintf(length, sizeof length, "%lld", n);
    ResponseWriter_SetHeader(w, "Content-Type", (char *)type);
    ResponseWriter_SetHeader(w, "Content-Length", length);
    ResponseWriter_Write(w, (char *)body, (int)n);
}

/* Registered for "/", which Go's ServeMux also routes every unknown path to. */
static void index_handler(ResponseWriterPtr w, Request *r)
{
    int get = strcmp(r->Method, "GET") == 0 || strcmp(r->Method, "HEAD") == 0;
    if (!get || !path_is(r->URL, "/")) {
        not_found(w);
        return;
    }
    send_body(w, "text/plain", hello, (long long)strlen(hello));
}

static void echo_handler(ResponseWriterPtr w, Request *r)
{
    if (strcmp(r->Method, "POST") != 0) {
        not_found(w);
        return;
    }
    send_body(w, "application/octet-stream", r->Body, r->BodyLength);
}

/*
 * SIGTERM/SIGINT: Shutdown() is Go code and must not run in a signal handler,
 * so the handler only writes to a pipe and a thread calls Shutdown().
 */
static int stop_pipe[2];

static void on_stop_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;
    if (write(stop_pipe[1], &c, 1) < 0) { /* nothing to do in a handler */
    }
    errno = saved;
}

static void *stopper(void *unused)
{
    char c;
    (void)unused;
    while (read(stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
    }
    Shutdown();
    return NULL;
}

static int watch_stop_signals(void)
{
    pthread_t thread;
    struct sigaction sa;
    if (pipe(stop_pipe) != 0 || pthread_create(&thread, NULL, stopper, NULL) != 0)
        return -1;
    pthread_detach(thread);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    return 0;
}

static void usage(const char *program)
{
    fprintf(stderr, "usage: %s [--host H] [--port P] [--threads N]\n", program);
}

/*
 * Go reads GOMAXPROCS once, when libgohttp.so is loaded, before main runs:
 * to change it, set it and start this program again. 0: nothing to do.
 */
static int apply_threads(const char *threads, char **argv)
{
    const char *current = getenv("GOMAXPROCS");
    if (current != NULL && strcmp(current, threads) == 0)
        return 0;
    if (setenv("GOMAXPROCS", threads, 1) != 0)
        return -1;
    execv("/proc/self/exe", argv);
    return -1; /* execv returns only on failure */
}

int main(int argc, char **argv)
{
    const char *host = "127.0.0.1";
    const char *port = "8000";
    const char *threads = "1";
    char addr[300];

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--host") == 0)
            host = argv[i + 1];
        else if (strcmp(argv[i], "--port") == 0)
            port = argv[i + 1];
        else if (strcmp(argv[i], "--threads") == 0)
            threads = argv[i + 1];
        else {
            usage(argv[0]);
            return 2;
        }
    }
    if (argc % 2 == 0 || atoi(threads) < 1) {
        usage(argv[0]);
        return 2;
    }
    if (apply_threads(threads, argv) != 0) {
        perror("gohttp-c: setting GOMAXPROCS");
        return 1;
    }
    /* IPv6 literals need brackets in Go's "host:port". */
    snprintf(addr, sizeof addr, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);

    if (watch_stop_signals() != 0) {
        perror("gohttp-c: signal setup");
        return 1;
    }
    HandleFunc("/", index_handler);
    HandleFunc("/echo", echo_handler);
    /*
     * The start line every variant prints (servers/README.md). ListenAndServe
     * binds and serves in one call, so this comes just before the bind; if the
     * bind fails, Go says so and the program exits 1.
     */
    fprintf(stderr, "listening on http://%s\n", addr);
    return ListenAndServe(addr) == 0 ? 0 : 1;
}
