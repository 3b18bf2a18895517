// The C++ HTTP engine on Boost.Beast that httpbridge.h wraps.
//
// Native C++ handlers (servers/cpp-beast) use it directly; the C ABI adds only
// the response handle and the function-pointer call, so the difference between
// the two variants is the cost of crossing the C boundary.
#pragma once

#include "httpbridge.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hb
{

class Connection;

hb_options default_options();     // the defaults httpbridge.h documents, size set
const char *error_text(int code); // hb_strerror

// The one place options are validated (hb_options_check): nullptr when they
// are acceptable, else static text naming the field at fault.
const char *check_options(const hb_options &options);

// options, with the fields a caller of size options.size did not know set to
// their defaults; check_options(options) must have passed.
hb_options complete_options(const hb_options &options);

// The one place a response header is validated (hb_header_check): nullptr
// when it may be sent, else static text saying why not.
const char *header_problem(std::string_view name, std::string_view value);

// Report through options.log (default: stderr); printf-style, one line.
void log_line(const hb_options &options, int level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

// The response a handler builds. Lives in its connection and is reused.
class Response
{
public:
    int set_status(int status);
    int add_header(std::string_view name, std::string_view value);
    int set_length(std::uint64_t length); // hb_response_set_length
    // Append body bytes; HB_E_INVAL (nothing kept) past a declared length.
    int write(std::string_view data)
    {
        if (has_length_ && data.size() > length_ - counted_ - body_.size())
            return HB_E_INVAL;
        body_.append(data);
        return HB_OK;
    }
    int flush(); // send what is written so far; the rest goes chunked, or identity with a declared length
    int wait();  // hb_response_wait: block until a flush would send again

    int status() const { return status_; }

private:
    friend class Connection;
    void reset();

    int status_ = 200;
    std::string headers_;  // "Name: value\r\n" lines, as they will be sent
    std::string body_;     // not yet sent
    bool flushed_ = false; // status line and headers are on the wire
    bool has_length_ = false;   // set_length was called: length_ is the Content-Length
    std::uint64_t length_ = 0;  // the declared body length
    std::uint64_t counted_ = 0; // body bytes flushed out of body_ (or dropped, for a HEAD)
    Connection *conn_ = nullptr;
};

// A handler returns 0 on success; non-zero means "answer 500 if you still can".
using Handler = int (*)(Response &res, const hb_request &req, void *user_data);

class Server
{
public:
    // Throws std::invalid_argument with check_options' text for bad options.
    explicit Server(const hb_options &options);
    ~Server(); // stops, drains and joins; from one of its own handlers, see httpbridge.h
    Server(const Server &) = delete;
    Server &operator=(const Server &) = delete;

    int handle(std::string_view pattern, Handler fn, void *user_data);
    int listen(const char *host, unsigned port);
    int port() const;
    int start();
    int wait(int timeout_ms);   // HB_E_STATE on one of this server's own io threads
    void stop() noexcept;       // async-signal-safe
    bool on_own_thread() const; // whether the caller is one of this server's io threads

    // The engine's own accounting, for tests and debugging: open connections
    // and the bytes their buffers hold. From any thread but an io thread,
    // while running (else zeros).
    struct Stats {
        std::size_t connections = 0;
        std::size_t buffer_bytes = 0;
    };
    Stats stats();

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace hb
