/*
 * httpbridge.h - an HTTP/1.1 server (Boost.Beast inside) behind a small C ABI.
 *
 * The server owns its threads and sockets; the embedding program (C, Python,
 * anything with a C FFI) registers handlers and answers requests through a
 * response handle. Nothing in this header depends on C++.
 *
 * Conventions, stated once:
 *   - Errors are negative ints (HB_E_*); 0 means success. hb_strerror() names them.
 *   - Strings are pointer + length (hb_str), never NUL-terminated unless said,
 *     and may contain NUL bytes.
 *   - Everything a request view points to is borrowed from the server's
 *     buffers and valid only until the handler returns. Copy what you keep.
 *   - Handlers run on the server's io threads. A response handle is valid only
 *     on the thread that runs its handler, until that handler returns; used
 *     anywhere else it returns an error code, it never crashes.
 */
#ifndef HTTPBRIDGE_H
#define HTTPBRIDGE_H

#include <stddef.h>
#include <stdint.h>

#define HB_VERSION_MAJOR 0
#define HB_VERSION_MINOR 1
#define HB_VERSION_PATCH 0
#define HB_VERSION_NUMBER (HB_VERSION_MAJOR * 10000 + HB_VERSION_MINOR * 100 + HB_VERSION_PATCH)

#if defined(_WIN32)
#define HB_API __declspec(dllexport)
#elif defined(__GNUC__)
#define HB_API __attribute__((visibility("default")))
#else
#define HB_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------ */

enum {
    HB_OK = 0,
    HB_E_INVAL = -1,     /* an argument is out of range, NULL, or malformed */
    HB_E_NOMEM = -2,     /* allocation failed */
    HB_E_STATE = -3,     /* the call does not fit the server's state (e.g. listen twice) */
    HB_E_ADDRINUSE = -4, /* listen: the address is already in use */
    HB_E_ADDRESS = -5,   /* listen: the host is not a numeric IPv4/IPv6 address */
    HB_E_SOCKET = -6,    /* listen: another socket error (permission, ...) */
    HB_E_HANDLE = -7,    /* a response handle is stale, freed or forged */
    HB_E_THREAD = -8,    /* a response handle was used off its handler's thread */
    HB_E_SENT = -9,      /* status or headers changed after they were sent (flush) */
    HB_E_IO = -10,       /* the connection failed while flushing */
    HB_E_TIMEOUT = -11,  /* hb_server_wait: still serving when the timeout ran out */
    HB_E_AGAIN = -12     /* flush: the client has not read what was sent before; nothing lost, see there */
};

/* Static English text for an error code; never NULL, never to be freed. */
HB_API const char *hb_strerror(int code);

/* Library version as HB_VERSION_NUMBER, and as "major.minor.patch" (static). */
HB_API unsigned hb_version(void);
HB_API const char *hb_version_string(void);

/* ---- the request view -------------------------------------------------- */

/* A borrowed byte string: data may be NULL when len is 0. */
typedef struct hb_str {
    const char *data;
    size_t len;
} hb_str;

typedef struct hb_header {
    hb_str name;  /* as the client sent it (case preserved) */
    hb_str value; /* leading and trailing whitespace removed */
} hb_header;

/* What never reaches a handler (answered by the server, then the connection
 * closes): malformed requests (400); a Transfer-Encoding that does not end in
 * chunked, or any Transfer-Encoding in HTTP/1.0 (400), or one naming another
 * coding (501); HTTP/1.1 without exactly one valid Host (400); HTTP/2.0 and
 * other major versions (505; HTTP/1.2 and up are served as 1.1); a request
 * line over header_limit (414), headers over it (431), a chunk-size line,
 * its extensions or the trailer section over it (400); a body over
 * body_limit (413). Trailer fields are dropped: never in headers, never Host. */

/* One request, filled by the server, read-only for the handler, valid until it returns. */
typedef struct hb_request {
    hb_str method;            /* "GET", "POST", ... */
    hb_str target;            /* request-target as sent: "/path?query" or "http://host/path?query" */
    hb_str path;              /* target's path, up to '?' (not percent-decoded); "/" for "http://h" */
    hb_str query;             /* after '?', without it; empty when absent */
    hb_str host;              /* the Host header (validated), or an absolute target's authority */
    hb_str remote_addr;       /* peer as "ip:port" ("[ip6]:port" for IPv6) */
    hb_str body;              /* the whole body, de-chunked; trailer fields are dropped */
    const hb_header *headers; /* header_count entries in arrival order, repeats kept; no trailers */
    size_t header_count;
    int version;    /* 10 for HTTP/1.0, 11 for HTTP/1.1 */
    int keep_alive; /* nonzero when the connection stays open after this response */
} hb_request;

/* ---- responses --------------------------------------------------------- */

/* Names one in-flight response: 64 bits carrying a generation count, so a kept
 * handle goes stale when its handler returns. 0 is never a valid handle. */
typedef uint64_t hb_response;

/* Status code (100..999); default 200. Before the first flush only. */
HB_API int hb_response_set_status(hb_response res, int status);

/* Add a header (repeats allowed). Copied. CR, LF or NUL in either part, or a
 * name that is not an HTTP token, is HB_E_INVAL. Content-Length and
 * Transfer-Encoding are computed by the server and refused (HB_E_INVAL). */
HB_API int hb_response_add_header(hb_response res, const char *name, size_t name_len, const char *value,
                                  size_t value_len);

/* Append body bytes (copied). Returns 0; nothing is sent before the handler
 * returns unless hb_response_flush is called. */
HB_API int hb_response_write(hb_response res, const void *data, size_t len);

/* Send the status, headers and body so far now, switching the response to
 * chunked encoding (HTTP/1.1; on HTTP/1.0 the connection closes at the end
 * instead). Never waits for the client: what its socket does not take now
 * is sent by the server after the handler returns. If more than 256 KiB of
 * earlier output still wait for a slow client, it sends nothing new and
 * returns HB_E_AGAIN: the bytes stay in the response, sent by a later flush
 * or when the handler returns (so a handler may keep writing, or return).
 * Interrupted system calls are retried, never reported. HB_E_IO: the
 * connection is gone. Once sent, a response gets the read timeout per
 * stretch without progress, not for its whole length. */
HB_API int hb_response_flush(hb_response res);

/* ---- handlers and the server ------------------------------------------- */

/* Called on an io thread for each request routed to it. Return 0 on success;
 * any other value means failure: the client gets a 500 if nothing was sent
 * yet, else the connection is closed. req and res die when it returns. */
typedef int (*hb_handler)(hb_response res, const hb_request *req, void *user_data);

/* Called once on each io thread as it starts and as it ends (e.g. to keep one
 * interpreter thread state per server thread). */
typedef void (*hb_thread_hook)(void *hook_data);

typedef struct hb_options {
    unsigned io_threads;            /* threads serving requests; default 1 */
    size_t header_limit;            /* max bytes of request line + headers; default 8192 -> 431 */
    size_t body_limit;              /* max request body bytes; default 8 MiB -> 413 */
    unsigned read_timeout_ms;       /* max time to receive one request once begun; default 10000 */
    unsigned idle_timeout_ms;       /* max keep-alive idle time between requests; default 60000 */
    unsigned drain_timeout_ms;      /* on stop, max wait for in-flight requests; default 5000 */
    int reuse_port;                 /* nonzero: SO_REUSEPORT, for several processes on one port */
    hb_thread_hook on_thread_start; /* optional */
    hb_thread_hook on_thread_stop;  /* optional */
    void *hook_data;                /* passed to both hooks */
    unsigned max_connections;       /* open connections at most; at the cap the server stops accepting
                                       (clients wait in the listen backlog) until one closes; default
                                       10000, 0: no cap but the descriptor limit. The server raises its
                                       soft RLIMIT_NOFILE to the hard limit when it starts. */
} hb_options;

typedef struct hb_server hb_server; /* opaque */

/* Fill *opts with the defaults above. */
HB_API void hb_options_init(hb_options *opts);

/* Create a server; opts may be NULL for defaults (copied). *out receives the
 * server, owned by the caller until hb_server_free. */
HB_API int hb_server_create(const hb_options *opts, hb_server **out);

/* Route requests whose path equals pattern, or, when pattern ends in '/', lies
 * under it; the longest pattern wins; no match is 404. pattern is copied and
 * must start with '/'. user_data is passed back untouched, owned by the
 * caller, and must outlive the server. Before hb_server_start only. */
HB_API int hb_server_handle(hb_server *srv, const char *pattern, hb_handler fn, void *user_data);

/* Bind and listen on a numeric host and a port (0 picks a free one). */
HB_API int hb_server_listen(hb_server *srv, const char *host, unsigned port);

/* The bound port after hb_server_listen, else HB_E_STATE. */
HB_API int hb_server_port(const hb_server *srv);

/* Start the io threads and return at once. */
HB_API int hb_server_start(hb_server *srv);

/* Block until the server has stopped and drained: 0, or HB_E_TIMEOUT after
 * timeout_ms (negative: wait forever). Any thread. */
HB_API int hb_server_wait(hb_server *srv, int timeout_ms);

/* hb_server_start + hb_server_wait(srv, -1). */
HB_API int hb_server_serve(hb_server *srv);

/* Ask the server to stop: no new connections, in-flight requests finish (up
 * to drain_timeout_ms), then the io threads end. Safe from any thread and
 * from a signal handler; idempotent; before start it makes start a no-op. */
HB_API void hb_server_stop(hb_server *srv);

/* Stop, wait, and release everything. srv may be NULL. Not from a handler. */
HB_API void hb_server_free(hb_server *srv);

#ifdef __cplusplus
}
#endif

#endif /* HTTPBRIDGE_H */
