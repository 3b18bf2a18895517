// A tiny blocking HTTP/1.1 client over a real loopback socket, for tests only.
//
// Every read and write is bounded by SO_RCVTIMEO/SO_SNDTIMEO, so a server that
// never answers fails a test instead of hanging it. Send raw bytes, read one
// response at a time (status line, headers, then a Content-Length, chunked or
// close-delimited body), or read until the server closes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hbtest
{

struct Response {
    std::string version; // "HTTP/1.1"
    int status = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers; // in order, as sent
    std::string body;                                         // de-chunked
    bool chunked = false;
    bool close_delimited = false; // the body ended when the server closed

    // The first header of that name (case-insensitive), or nullopt.
    std::optional<std::string> header(std::string_view name) const;
    bool has(std::string_view name) const { return header(name).has_value(); }
};

class Client
{
public:
    // Connect to host:port (a numeric IPv4 or IPv6 address); every later read
    // or write gives up after timeout_ms.
    explicit Client(int port, int timeout_ms = 5000, const char *host = "127.0.0.1");
    ~Client();
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;
    Client(Client &&other) noexcept;

    bool connected() const { return fd_ >= 0; }
    int local_port() const; // this end's port, as the server sees it

    // Write all of bytes; false on error or timeout.
    bool send(std::string_view bytes);
    void shutdown_write();

    // One response; nullopt when the connection closed, timed out or sent garbage
    // before a whole response arrived. head: the request was HEAD (no body follows).
    std::optional<Response> read_response(bool head = false);

    // Everything until the server closes (after what is already buffered);
    // nullopt when it is still open after the timeout.
    std::optional<std::string> read_until_close();

    // Read until the bytes received but not yet consumed contain needle;
    // false on close or timeout. Consumes nothing.
    bool wait_for(std::string_view needle);

    // Without reading anything: true once the server has closed or reset the
    // connection, false when it is still open after the timeout.
    bool wait_hangup();

    // Convenience: send, then read one response.
    std::optional<Response> request(std::string_view bytes, bool head = false);

private:
    int fill();                        // read more into buffer_: >0 bytes, 0 closed, -1 error or timeout
    bool read_line(std::string &line); // up to CRLF, consumed
    bool read_exact(std::size_t n, std::string &out);

    int fd_ = -1;
    int timeout_ms_;
    std::string buffer_; // received, not yet consumed
    bool eof_ = false;
};

// "GET <path> HTTP/1.1" with a Host header and any extra header lines ("Name: v\r\n").
std::string get(std::string_view path, std::string_view extra_headers = "");
// A POST with Content-Length.
std::string post(std::string_view path, std::string_view body, std::string_view extra_headers = "");

} // namespace hbtest
