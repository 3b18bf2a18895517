// A Beast basic_parser that copies one request into per-connection buffers which
// are reused from request to request, so a steady stream of requests allocates
// nothing, and exposes it as the C view (hb_request).
//
// On top of Beast's own checks it enforces what RFC 9112 asks of a server and
// Beast leaves to its user: Host rules (§3.2), absolute-form targets (§3.2.2),
// Transfer-Encoding framing (§6.1, §6.3), and trailers kept out of the headers
// (RFC 9110 §6.5.1). A request it refuses names the status to answer.
#pragma once

#include "httpbridge.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace hb
{

// The storage a request view points into. One per connection.
struct RequestStore {
    std::string text; // method, target and header names/values, back to back
    // A flat_buffer, not a string: a long body is read from the socket straight
    // into its free space (Connection::read), with no zero-filling and no copy.
    boost::beast::flat_buffer body;
    const char *body_in_place = nullptr; // where body_space() put the bytes a read brings
    struct Span {
        std::uint32_t offset = 0, length = 0;
    };
    Span method, target, host;
    Span path, query;           // absolute-form only; origin-form splits the target in fill()
    bool absolute_form = false; // "http://authority/path?query"
    std::vector<Span> fields;   // name, value, name, value, ...
    std::vector<hb_header> headers;
    int version = 11;
    bool expect_continue = false;

    void clear();
    Span keep(std::string_view s);
    void append_body(std::string_view s);
    // Room for n more body bytes to read into. The parser commits them when they
    // are put() to it from there, so the bytes are not copied again.
    char *body_space(std::size_t n);
    std::string_view body_view() const
    {
        return {static_cast<const char *>(body.data().data()), body.size()};
    }
    hb_str str(Span s) const { return hb_str{text.data() + s.offset, s.length}; }
    // Fill view; valid until the next clear() or keep().
    void fill(hb_request &view, bool keep_alive, std::string_view remote_addr);
    // Give back capacity above `keep` bytes per buffer (an idle connection).
    void shrink(std::size_t keep);
    std::size_t capacity() const; // bytes held, for the engine's own accounting
};

// What to do about a request line Beast refused with bad_version.
enum class VersionVerdict {
    retry,       // "HTTP/1.N" with N > 1, rewritten in place to "HTTP/1.1": parse again
    unsupported, // another major version: 505
    malformed    // not a version problem we can name: 400
};
// line: the buffered bytes from the start of the request (mutable: see retry).
VersionVerdict judge_version(char *line, std::size_t size);

class RequestParser final : public boost::beast::http::basic_parser<true>
{
public:
    RequestParser(RequestStore &store, std::size_t header_limit, std::uint64_t body_limit);

    // The status to answer when put() failed because of a rule of ours, else 0.
    int refusal() const { return refusal_; }
    // The request line was complete (a header_limit error is then 431, else 414).
    bool started() const { return started_; }

private:
    using error_code = boost::beast::error_code;
    using string_view = boost::beast::string_view;

    void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int version,
                         error_code &) override;
    void on_response_impl(int, string_view, int, error_code &) override {}
    void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                       error_code &) override;
    void on_header_impl(error_code &) override;
    void on_body_init_impl(boost::optional<std::uint64_t> const &length, error_code &) override;
    std::size_t on_body_impl(string_view body, error_code &) override;
    void on_chunk_header_impl(std::uint64_t, string_view, error_code &) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code &) override;
    void on_finish_impl(error_code &) override {}

    void refuse(int status, error_code &ec);
    void split_absolute_target(string_view target, error_code &ec);

    RequestStore &store_;
    std::size_t header_limit_;
    RequestStore::Span authority_; // of an absolute-form target
    int refusal_ = 0;
    unsigned host_fields_ = 0;
    bool started_ = false;
    bool transfer_encoding_ = false; // a Transfer-Encoding field arrived
    bool other_coding_ = false;      // ... naming a coding other than chunked
};

} // namespace hb
