// The C ABI: thin wrappers over the engine, plus the response handle that
// stands between a C (or Python) handler and the engine's Response.
#include "httpbridge.h"

#include "c_handler.hpp"
#include "engine.hpp"
#include "handle_table.hpp"

#include <list>
#include <new>
#include <stdexcept>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HB_INTENDED_LEAK(p) __lsan_ignore_object(p)
#else
#define HB_INTENDED_LEAK(p) (void)(p)
#endif

using hb::abi::Registration;
using hb::detail::HandleTable;

struct hb_server {
    explicit hb_server(const hb_options &options) : engine(options) {}
    std::list<Registration> registrations; // stable addresses: the engine keeps pointers
    hb::Server engine;
};

namespace hb::abi
{

int call_c_handler(hb::Response &res, const hb_request &req, void *user_data)
{
    auto *reg = static_cast<Registration *>(user_data);
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

} // namespace hb::abi

namespace
{

// Run op and turn any C++ exception into an error code: none may cross the
// ABI. Allocation failures (bad_alloc, and length_error from an absurd
// length) are HB_E_NOMEM.
template <class Op> int guarded(Op op) noexcept
{
    try {
        return op();
    } catch (const std::invalid_argument &) {
        return HB_E_INVAL;
    } catch (const std::bad_alloc &) {
        return HB_E_NOMEM;
    } catch (const std::length_error &) {
        return HB_E_NOMEM;
    } catch (...) {
        return HB_E_NOMEM;
    }
}

// Resolve a handle and run op on its response: a bad handle is an error code.
template <class Op> int with_response(hb_response handle, Op op) noexcept
{
    int error = HB_OK;
    auto *r = static_cast<hb::Response *>(HandleTable::current().lookup(handle, &error));
    if (r == nullptr)
        return error;
    return guarded([&] { return op(*r); });
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
    return HB_VERSION_STRING;
}

void hb_options_init(hb_options *opts)
{
    if (opts != nullptr)
        *opts = hb::default_options();
}

const char *hb_options_check(const hb_options *opts)
{
    return opts == nullptr ? nullptr : hb::check_options(*opts);
}

const char *hb_header_check(const char *name, size_t name_len, const char *value, size_t value_len)
{
    if ((name == nullptr && name_len != 0) || (value == nullptr && value_len != 0))
        return "a NULL pointer with a non-zero length";
    return hb::header_problem({name, name_len}, {value, value_len});
}

int hb_server_create(const hb_options *opts, hb_server **out)
{
    if (out == nullptr)
        return HB_E_INVAL;
    *out = nullptr;
    hb_options options = hb::default_options();
    if (opts != nullptr) {
        if (hb::check_options(*opts) != nullptr)
            return HB_E_INVAL;
        options = hb::complete_options(*opts);
    }
    return guarded([&] {
        *out = new hb_server(options);
        return HB_OK;
    });
}

int hb_server_handle(hb_server *srv, const char *pattern, hb_handler fn, void *user_data)
{
    if (srv == nullptr || pattern == nullptr || fn == nullptr)
        return HB_E_INVAL;
    return guarded([&] {
        srv->registrations.push_back({fn, user_data});
        int rc = srv->engine.handle(pattern, hb::abi::call_c_handler, &srv->registrations.back());
        if (rc != HB_OK)
            srv->registrations.pop_back();
        return rc;
    });
}

int hb_server_listen(hb_server *srv, const char *host, unsigned port)
{
    if (srv == nullptr)
        return HB_E_INVAL;
    int rc = guarded([&] { return srv->engine.listen(host, port); });
    return rc == HB_E_NOMEM ? HB_E_SOCKET : rc;
}

int hb_server_port(const hb_server *srv)
{
    return srv == nullptr ? HB_E_INVAL : srv->engine.port();
}

int hb_server_start(hb_server *srv)
{
    return srv == nullptr ? HB_E_INVAL : guarded([&] { return srv->engine.start(); });
}

int hb_server_wait(hb_server *srv, int timeout_ms)
{
    return srv == nullptr ? HB_E_INVAL : guarded([&] { return srv->engine.wait(timeout_ms); });
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
    if (srv == nullptr)
        return;
    if (srv->engine.on_own_thread()) {
        // From one of its own handlers: the registrations and the engine must
        // outlive the requests still being answered. Stop, and leak.
        srv->engine.stop();
        HB_INTENDED_LEAK(srv);
        return;
    }
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
    return with_response(res, [&](hb::Response &r) { return r.write({static_cast<const char *>(data), len}); });
}

int hb_response_set_length(hb_response res, uint64_t length)
{
    return with_response(res, [&](hb::Response &r) { return r.set_length(length); });
}

int hb_response_flush(hb_response res)
{
    return with_response(res, [](hb::Response &r) { return r.flush(); });
}

int hb_response_wait(hb_response res)
{
    return with_response(res, [](hb::Response &r) { return r.wait(); });
}

} // extern "C"
