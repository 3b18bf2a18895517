#include "request_parser.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <array>
#include <cstring>

namespace hb
{
namespace http = boost::beast::http;

namespace
{

// A Content-Length is a promise, not bytes: reserve at most this much up
// front and let the body grow as it arrives, so that announcing 8 MiB and
// sending nothing costs the server nothing.
constexpr std::size_t kBodyReserve = 64 * 1024;

// RFC 3986 reg-name and IPv4address characters (unreserved, pct-encoded and
// sub-delims). A table, because every request's Host is checked.
constexpr auto kHostChars = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c)
        table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        table[c] = table[c - 'a' + 'A'] = true;
    for (char c : std::string_view("-._~%!$&'()*+,;="))
        table[static_cast<unsigned char>(c)] = true;
    return table;
}();

bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

bool is_hex(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// RFC 9110 §7.2: Host = uri-host [ ":" port ], where uri-host is a reg-name,
// an IPv4 address or a bracketed IP literal. Empty is allowed (§7.2 lets a
// client send an empty Host when the target has no authority).
bool valid_host(std::string_view h)
{
    std::size_t i = 0;
    if (!h.empty() && h[0] == '[') {
        std::size_t close = h.find(']');
        if (close == std::string_view::npos || close == 1)
            return false;
        for (i = 1; i < close; ++i)
            if (!is_hex(h[i]) && h[i] != ':' && h[i] != '.')
                return false;
        i = close + 1;
    } else {
        for (; i < h.size() && h[i] != ':'; ++i) {
            if (!kHostChars[static_cast<unsigned char>(h[i])])
                return false;
            if (h[i] == '%' && (i + 2 >= h.size() || !is_hex(h[i + 1]) || !is_hex(h[i + 2])))
                return false;
        }
    }
    if (i == h.size())
        return true;
    if (h[i] != ':')
        return false;
    for (++i; i < h.size(); ++i)
        if (!is_digit(h[i]))
            return false;
    return true;
}

// A Transfer-Encoding value names a coding other than chunked.
bool names_other_coding(std::string_view value)
{
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        std::string_view coding = value.substr(0, comma);
        while (!coding.empty() && (coding.front() == ' ' || coding.front() == '\t'))
            coding.remove_prefix(1);
        while (!coding.empty() && (coding.back() == ' ' || coding.back() == '\t'))
            coding.remove_suffix(1);
        if (!coding.empty() && !boost::beast::iequals(coding, "chunked"))
            return true;
        if (comma == std::string_view::npos)
            break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

} // namespace

VersionVerdict judge_version(char *line, std::size_t size)
{
    // method SP target SP "HTTP/" DIGIT "." DIGIT: Beast reads exactly these
    // eight bytes of version and refuses anything but 1.0 and 1.1.
    char *end = line + size;
    char *sp1 = static_cast<char *>(std::memchr(line, ' ', size));
    if (sp1 == nullptr)
        return VersionVerdict::malformed;
    char *sp2 = static_cast<char *>(std::memchr(sp1 + 1, ' ', static_cast<std::size_t>(end - sp1 - 1)));
    if (sp2 == nullptr || end - sp2 < 9 || std::memcmp(sp2 + 1, "HTTP/", 5) != 0)
        return VersionVerdict::malformed;
    char major = sp2[6], dot = sp2[7];
    char &minor = sp2[8];
    if (!is_digit(major) || dot != '.' || !is_digit(minor))
        return VersionVerdict::malformed;
    if (major != '1')
        return VersionVerdict::unsupported;
    if (minor <= '1')
        return VersionVerdict::malformed; // 1.0 and 1.1 failed for another reason
    minor = '1'; // RFC 9110 §6.2: a 1.x request we do not know is served as the 1.x we do
    return VersionVerdict::retry;
}

void RequestStore::clear()
{
    text.clear();
    body.clear();
    body_in_place = nullptr;
    fields.clear();
    headers.clear();
    method = target = host = path = query = Span{};
    absolute_form = false;
    version = 11;
    expect_continue = false;
}

RequestStore::Span RequestStore::keep(std::string_view s)
{
    Span span{static_cast<std::uint32_t>(text.size()), static_cast<std::uint32_t>(s.size())};
    text.append(s);
    return span;
}

void RequestStore::append_body(std::string_view s)
{
    auto space = body.prepare(s.size());
    std::memcpy(space.data(), s.data(), s.size());
    body.commit(s.size());
}

char *RequestStore::body_space(std::size_t n)
{
    body_in_place = static_cast<char *>(body.prepare(n).data());
    return const_cast<char *>(body_in_place);
}

void RequestStore::fill(hb_request &view, bool keep_alive, std::string_view remote_addr)
{
    // Spans, not pointers, until now: text may have moved while it grew.
    headers.resize(fields.size() / 2);
    for (std::size_t i = 0; i < headers.size(); ++i)
        headers[i] = hb_header{str(fields[2 * i]), str(fields[2 * i + 1])};

    hb_str whole = str(target);
    view.method = str(method);
    view.target = whole;
    if (absolute_form) {
        view.path = str(path);
        view.query = str(query);
    } else {
        const void *q = std::memchr(whole.data, '?', whole.len);
        std::size_t at =
            q == nullptr ? whole.len : static_cast<std::size_t>(static_cast<const char *>(q) - whole.data);
        view.path = hb_str{whole.data, at};
        view.query = q == nullptr ? hb_str{whole.data + whole.len, 0}
                                  : hb_str{whole.data + at + 1, whole.len - at - 1};
    }
    view.host = str(host);
    view.remote_addr = hb_str{remote_addr.data(), remote_addr.size()};
    std::string_view b = body_view();
    view.body = hb_str{b.data(), b.size()};
    view.headers = headers.data();
    view.header_count = headers.size();
    view.version = version;
    view.keep_alive = keep_alive ? 1 : 0;
}

namespace
{
template <class Buffer> void shrink_one(Buffer &b, std::size_t keep)
{
    if (b.capacity() > keep) {
        b.clear();
        b.shrink_to_fit();
    }
}
} // namespace

void RequestStore::shrink(std::size_t keep)
{
    shrink_one(text, keep);
    shrink_one(body, keep);
    shrink_one(fields, keep / sizeof(Span));
    shrink_one(headers, keep / sizeof(hb_header));
}

std::size_t RequestStore::capacity() const
{
    return text.capacity() + body.capacity() + fields.capacity() * sizeof(Span) +
           headers.capacity() * sizeof(hb_header);
}

RequestParser::RequestParser(RequestStore &store, std::size_t header_limit, std::uint64_t body_limit)
    : store_(store), header_limit_(header_limit)
{
    this->header_limit(static_cast<std::uint32_t>(header_limit));
    this->body_limit(body_limit);
    // One element (the head, a chunk-size line, a piece of body, the trailers)
    // per put(): the connection gives a chunked body's framing header_limit
    // bytes at a time, and sees where each element ends (Connection::parse_answer).
    eager(false);
}

void RequestParser::refuse(int status, error_code &ec)
{
    refusal_ = status;
    ec = http::error::bad_value;
}

void RequestParser::on_request_impl(http::verb, string_view method, string_view target, int version,
                                    error_code &ec)
{
    started_ = true;
    store_.clear();
    store_.method = store_.keep({method.data(), method.size()});
    store_.target = store_.keep({target.data(), target.size()});
    store_.version = version;
    if (!target.empty() && target[0] != '/')
        split_absolute_target(target, ec);
}

// RFC 9112 §3.2.2: "http://authority/path?query". The path and query come from
// the target, the host from its authority (the Host field is then ignored).
void RequestParser::split_absolute_target(string_view target, error_code &ec)
{
    std::size_t sep = target.find("://");
    if (sep == string_view::npos)
        return; // asterisk- or authority-form, or junk: routed as is (and never matches)
    string_view scheme = target.substr(0, sep);
    if (!boost::beast::iequals(scheme, "http") && !boost::beast::iequals(scheme, "https"))
        return refuse(400, ec);
    std::size_t from = sep + 3;
    std::size_t to = std::min(target.find_first_of("/?", from), target.size());
    string_view authority = target.substr(from, to - from);
    // userinfo is deprecated for http(s) URIs (RFC 9110 §4.2.4) and a classic
    // way to make a URL look like another host's.
    if (authority.empty() || authority.find('@') != string_view::npos || !valid_host(authority))
        return refuse(400, ec);
    std::uint32_t base = store_.target.offset;
    auto span = [base](std::size_t at, std::size_t n) {
        return RequestStore::Span{base + static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(n)};
    };
    authority_ = span(from, authority.size());
    std::size_t q = std::min(target.find('?', to), target.size());
    if (q == to)
        store_.path = store_.keep("/"); // "http://h" and "http://h?x" mean the path "/"
    else
        store_.path = span(to, q - to);
    store_.query = q < target.size() ? span(q + 1, target.size() - q - 1) : span(target.size(), 0);
    store_.absolute_form = true;
}

void RequestParser::on_field_impl(http::field name, string_view name_string, string_view value,
                                  error_code &ec)
{
    // Fields after the body are trailers (RFC 9110 §6.5.1): dropped, never
    // headers. Beast parses them only once all of them are buffered, and the
    // connection bounds that buffer.
    if (is_header_done())
        return;
    auto n = store_.keep({name_string.data(), name_string.size()});
    auto v = store_.keep({value.data(), value.size()});
    store_.fields.push_back(n);
    store_.fields.push_back(v);
    // Beast bounds the bytes it holds unparsed; this bounds what we keep.
    if (store_.text.size() > header_limit_) {
        ec = http::error::header_limit;
        return;
    }
    switch (name) {
    case http::field::host:
        if (++host_fields_ > 1 || !valid_host({value.data(), value.size()}))
            return refuse(400, ec);
        store_.host = v;
        break;
    case http::field::transfer_encoding:
        transfer_encoding_ = true;
        other_coding_ = other_coding_ || names_other_coding({value.data(), value.size()});
        break;
    case http::field::expect:
        if (boost::beast::iequals(value, "100-continue"))
            store_.expect_continue = true;
        break;
    default: break;
    }
}

void RequestParser::on_header_impl(error_code &ec)
{
    if (store_.version >= 11 && host_fields_ == 0)
        return refuse(400, ec); // RFC 9112 §3.2
    if (store_.absolute_form)
        store_.host = authority_;
    if (transfer_encoding_) {
        // Framing we cannot follow: the body's end is unknown, so nothing after
        // it may be read as another request (RFC 9112 §6.1, §6.3).
        if (store_.version < 11 || !chunked())
            return refuse(400, ec);
        if (other_coding_)
            return refuse(501, ec); // e.g. "gzip, chunked": a coding we do not decode
    }
    // Room for the body now, with the head, not in on_body_init_impl: Beast
    // calls that only when the first body byte is put(), and when the head came
    // alone that byte was read into body_space(), which a reserve then would
    // move away from. Content-Length was checked against body_limit already.
    if (auto length = content_length(); length && !is_done())
        store_.body.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, kBodyReserve)));
}

void RequestParser::on_body_init_impl(boost::optional<std::uint64_t> const &, error_code &)
{
    // Nothing to do: the body's room was made with the head (on_header_impl).
}

std::size_t RequestParser::on_body_impl(string_view body, error_code &)
{
    if (body.data() == store_.body_in_place) {
        store_.body.commit(body.size()); // read into body_space(): already where it belongs
        store_.body_in_place = nullptr;
    } else {
        store_.append_body({body.data(), body.size()});
    }
    return body.size();
}

std::size_t RequestParser::on_chunk_body_impl(std::uint64_t, string_view body, error_code &)
{
    store_.append_body({body.data(), body.size()});
    return body.size();
}

} // namespace hb
