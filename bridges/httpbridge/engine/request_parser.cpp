#include "request_parser.hpp"

#include <boost/beast/core/string.hpp>

namespace hb
{

void RequestStore::clear()
{
    text.clear();
    body.clear();
    fields.clear();
    headers.clear();
    method = target = host = Span{};
    version = 11;
    expect_continue = false;
}

RequestStore::Span RequestStore::keep(std::string_view s)
{
    Span span{static_cast<std::uint32_t>(text.size()), static_cast<std::uint32_t>(s.size())};
    text.append(s);
    return span;
}

void RequestStore::fill(hb_request &view, bool keep_alive, std::string_view remote_addr)
{
    // Spans, not pointers, until now: text may have moved while it grew.
    headers.resize(fields.size() / 2);
    for (std::size_t i = 0; i < headers.size(); ++i)
        headers[i] = hb_header{str(fields[2 * i]), str(fields[2 * i + 1])};

    hb_str whole = str(target);
    std::string_view t(whole.data, whole.len);
    std::size_t q = t.find('?');
    view.method = str(method);
    view.target = whole;
    view.path = hb_str{whole.data, q == std::string_view::npos ? whole.len : q};
    view.query = q == std::string_view::npos ? hb_str{whole.data + whole.len, 0}
                                             : hb_str{whole.data + q + 1, whole.len - q - 1};
    view.host = str(host);
    view.remote_addr = hb_str{remote_addr.data(), remote_addr.size()};
    view.body = hb_str{body.data(), body.size()};
    view.headers = headers.data();
    view.header_count = headers.size();
    view.version = version;
    view.keep_alive = keep_alive ? 1 : 0;
}

void RequestParser::on_request_impl(boost::beast::http::verb, string_view method, string_view target,
                                    int version, error_code &)
{
    store_.clear();
    store_.method = store_.keep({method.data(), method.size()});
    store_.target = store_.keep({target.data(), target.size()});
    store_.version = version;
}

void RequestParser::on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                                  error_code &)
{
    auto n = store_.keep({name_string.data(), name_string.size()});
    auto v = store_.keep({value.data(), value.size()});
    store_.fields.push_back(n);
    store_.fields.push_back(v);
    if (name == boost::beast::http::field::host && store_.host.length == 0)
        store_.host = v;
    else if (name == boost::beast::http::field::expect && boost::beast::iequals(value, "100-continue"))
        store_.expect_continue = true;
}

void RequestParser::on_body_init_impl(boost::optional<std::uint64_t> const &length, error_code &)
{
    // Content-Length was checked against body_limit before we get here.
    if (length)
        store_.body.reserve(static_cast<std::size_t>(*length));
}

std::size_t RequestParser::on_body_impl(string_view body, error_code &)
{
    store_.body.append(body.data(), body.size());
    return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code &)
{
    store_.body.append(body.data(), body.size());
    return body.size();
}

} // namespace hb
