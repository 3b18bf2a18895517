// A Beast basic_parser that copies one request into per-connection buffers which
// are reused from request to request, so a steady stream of requests allocates
// nothing, and exposes it as the C view (hb_request).
#pragma once

#include "httpbridge.h"

#include <boost/beast/http/basic_parser.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hb
{

// The storage a request view points into. One per connection.
struct RequestStore {
    std::string text; // method, target and header names/values, back to back
    std::string body;
    struct Span {
        std::uint32_t offset = 0, length = 0;
    };
    Span method, target, host;
    std::vector<Span> fields; // name, value, name, value, ...
    std::vector<hb_header> headers;
    int version = 11;
    bool expect_continue = false;

    void clear();
    Span keep(std::string_view s);
    hb_str str(Span s) const { return hb_str{text.data() + s.offset, s.length}; }
    // Fill view; valid until the next clear() or keep().
    void fill(hb_request &view, bool keep_alive, std::string_view remote_addr);
};

class RequestParser final : public boost::beast::http::basic_parser<true>
{
public:
    explicit RequestParser(RequestStore &store) : store_(store) {}

private:
    using error_code = boost::beast::error_code;
    using string_view = boost::beast::string_view;

    void on_request_impl(boost::beast::http::verb, string_view method, string_view target, int version,
                         error_code &) override;
    void on_response_impl(int, string_view, int, error_code &) override {}
    void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                       error_code &) override;
    void on_header_impl(error_code &) override {}
    void on_body_init_impl(boost::optional<std::uint64_t> const &length, error_code &) override;
    std::size_t on_body_impl(string_view body, error_code &) override;
    void on_chunk_header_impl(std::uint64_t, string_view, error_code &) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code &) override;
    void on_finish_impl(error_code &) override {}

    RequestStore &store_;
};

} // namespace hb
