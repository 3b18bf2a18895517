// The C ABI: thin wrappers over the engine, plus the response handle that
// stands between a C (or Python) handler and the engine's Response.
#include "httpbridge.h"

#include "engine.hpp"
#include "handle_table.hpp"

#include <cstdio>
#include <list>
#include <new>

using hb::detail::HandleTable;

struct hb_server {
    explicit hb_server(const hb_options &options) : engine(options) {}
    struct Registration {
        hb_handler fn;
        void *user_data;
    };
    std::list<Registration> registrations; // stable addresses: the engine keeps pointers
    hb::Server engine;
};

namespace
{

// The one crossing per request: name the response by a fresh handle, call the
// C handler, retire the handle so that a kept copy goes stale.
int call_c_handler(hb::Response &res, const hb_request &req, void *user_data)
{
    auto *reg = static_cast<hb_server::Registration *>(user_data);
    HandleTable &table = HandleTable::current();
    hb_response handle = table.acquire(&res);
    if (handle == 0)
        return -1; // cannot happen with one handler per thread at a time; answer 500
    int rc;
    try {
        rc = reg->fn(handle, &req, reg->user_data);
    } catch (...) {
        // A C++ handler threw (the engine answers 500): the handle must still
        // go stale, or its slot leaks and a kept copy outlives the response.
        table.release(handle);
        throw;
    }
    table.release(handle);
    return rc;
}

// Resolve a handle and run op on its response: a bad handle is an error code,
// and no C++ exception crosses the ABI.
template <class Op> int with_response(hb_response handle, Op op)
{
    int error = HB_OK;
    auto *r = static_cast<hb::Response *>(HandleTable::current().lookup(handle, &error));
    if (r == nullptr)
        return error;
    try {
        return op(*r);
    } catch (const std::bad_alloc &) {
        return HB_E_NOMEM;
    }
}
} // namespace

extern "C" {

const char *hb_strerror(int code)
{
    return hb::error_text(code);
}

unsigned hb_version(void)
{
    return HB_VERSION_NUMBER;
}

const char *hb_version_string(void)
{
#define HB_STR2(x) #x
#define HB_STR(x) HB_STR2(x)
    return HB_STR(HB_VERSION_MAJOR) "." HB_STR(HB_VERSION_MINOR) "." HB_STR(HB_VERSION_PATCH);
}

void hb_options_init(hb_options *opts)
{
    if (opts != nullptr)
        *opts = hb::default_options();
}

int hb_server_create(const hb_options *opts, hb_server **out)
{
    if (out == nullptr)
        return HB_E_INVAL;
    *out = nullptr;
    hb_options options;
    hb_options_init(&options);
    if (opts != nullptr)
        options = *opts;
    if (options.io_threads == 0 || options.io_threads > 1024 || options.header_limit == 0 ||
        options.header_limit > UINT32_MAX || options.read_timeout_ms == 0 || options.idle_timeout_ms == 0)
        return HB_E_INVAL;
    try {
        *out = new hb_server(options);
    } catch (const std::bad_alloc &) {
        return HB_E_NOMEM;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "httpbridge: create: %s\n", e.what());
        return HB_E_NOMEM;
    }
    return HB_OK;
}

int hb_server_handle(hb_server *srv, const char *pattern, hb_handler fn, void *user_data)
{
    if (srv == nullptr || pattern == nullptr || fn == nullptr)
        return HB_E_INVAL;
    try {
        srv->registrations.push_back({fn, user_data});
        int rc = srv->engine.handle(pattern, call_c_handler, &srv->registrations.back());
        if (rc != HB_OK)
            srv->registrations.pop_back();
        return rc;
    } catch (const std::bad_alloc &) {
        return HB_E_NOMEM;
    }
}

int hb_server_listen(hb_server *srv, const char *host, unsigned port)
{
    if (srv == nullptr)
        return HB_E_INVAL;
    try {
        return srv->engine.listen(host, port);
    } catch (const std::exception &) {
        return HB_E_SOCKET;
    }
}

int hb_server_port(const hb_server *srv)
{
    return srv == nullptr ? HB_E_INVAL : srv->engine.port();
}

int hb_server_start(hb_server *srv)
{
    if (srv == nullptr)
        return HB_E_INVAL;
    try {
        return srv->engine.start();
    } catch (const std::exception &) {
        return HB_E_NOMEM;
    }
}

int hb_server_wait(hb_server *srv, int timeout_ms)
{
    return srv == nullptr ? HB_E_INVAL : srv->engine.wait(timeout_ms);
}

int hb_server_serve(hb_server *srv)
{
    int rc = hb_server_start(srv);
    return rc != HB_OK ? rc : hb_server_wait(srv, -1);
}

void hb_server_stop(hb_server *srv)
{
    if (srv != nullptr)
        srv->engine.stop();
}

void hb_server_free(hb_server *srv)
{
    delete srv;
}

int hb_response_set_status(hb_response res, int status)
{
    return with_response(res, [&](hb::Response &r) { return r.set_status(status); });
}

int hb_response_add_header(hb_response res, const char *name, size_t name_len, const char *value,
                           size_t value_len)
{
    if ((name == nullptr && name_len != 0) || (value == nullptr && value_len != 0))
        return HB_E_INVAL;
    return with_response(res, [&](hb::Response &r) {
        return r.add_header({name, name_len}, {value, value_len});
    });
}

int hb_response_write(hb_response res, const void *data, size_t len)
{
    if (data == nullptr && len != 0)
        return HB_E_INVAL;
    return with_response(res, [&](hb::Response &r) {
        r.write({static_cast<const char *>(data), len});
        return HB_OK;
    });
}

int hb_response_flush(hb_response res)
{
    return with_response(res, [](hb::Response &r) { return r.flush(); });
}

} // extern "C"
