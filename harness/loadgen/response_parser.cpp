#include "response_parser.hpp"

#include <cstring>
#include <string_view>

namespace lg
{

namespace
{

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
        char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
        if (x != y)
            return false;
    }
    return true;
}

// Does the comma-separated header value hold `token` (case-insensitive)?
bool has_token(std::string_view value, std::string_view token)
{
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t'))
            item.remove_prefix(1);
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t'))
            item.remove_suffix(1);
        if (iequals(item, token))
            return true;
        if (comma == std::string_view::npos)
            break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

bool parse_decimal(std::string_view text, std::uint64_t &out)
{
    if (text.empty() || text.size() > 18)
        return false;
    std::uint64_t value = 0;
    for (char c : text) {
        if (c < '0' || c > '9')
            return false;
        value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out = value;
    return true;
}

const char *find_line_end(const char *data, std::size_t size)
{
    const void *p = std::memchr(data, '\n', size);
    return static_cast<const char *>(p);
}

} // namespace

void ResponseParser::reset()
{
    state_ = State::head;
    scanned_ = 0;
    remaining_ = 0;
    status_ = 0;
    keep_alive_ = true;
    error_ = nullptr;
}

ResponseParser::Step ResponseParser::fail(const char *why)
{
    error_ = why;
    return {Status::error, 0};
}

ResponseParser::Step ResponseParser::finished(std::size_t consumed)
{
    state_ = State::head;
    scanned_ = 0;
    return {Status::complete, consumed};
}

ResponseParser::Step ResponseParser::feed(const char *data, std::size_t size, bool head_request)
{
    switch (state_) {
    case State::head: return parse_head(data, size, head_request);
    case State::body: {
        std::size_t take = remaining_ < size ? static_cast<std::size_t>(remaining_) : size;
        remaining_ -= take;
        if (remaining_ == 0)
            return finished(take);
        return {Status::need_more, take};
    }
    case State::until_close: return {Status::need_more, size};
    case State::chunk_size: {
        const char *eol = find_line_end(data, size);
        if (!eol)
            return size > 1024 ? fail("chunk size line too long") : Step{Status::need_more, 0};
        std::uint64_t chunk = 0;
        std::size_t digits = 0;
        for (const char *p = data; p < eol; ++p, ++digits) {
            char c = *p;
            int v = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
            if (v < 0)
                break; // chunk extensions or the CR
            if (digits >= 15)
                return fail("chunk size too large");
            chunk = chunk * 16 + static_cast<std::uint64_t>(v);
        }
        if (digits == 0)
            return fail("bad chunk size");
        std::size_t used = static_cast<std::size_t>(eol - data) + 1;
        if (chunk == 0) {
            state_ = State::trailers;
        } else {
            state_ = State::chunk_data;
            remaining_ = chunk;
        }
        return {Status::need_more, used};
    }
    case State::chunk_data: {
        std::size_t take = remaining_ < size ? static_cast<std::size_t>(remaining_) : size;
        remaining_ -= take;
        if (remaining_ == 0)
            state_ = State::chunk_end;
        return {Status::need_more, take};
    }
    case State::chunk_end: {
        const char *eol = find_line_end(data, size);
        if (!eol)
            return size > 2 ? fail("no CRLF after a chunk") : Step{Status::need_more, 0};
        state_ = State::chunk_size;
        return {Status::need_more, static_cast<std::size_t>(eol - data) + 1};
    }
    case State::trailers: {
        const char *eol = find_line_end(data, size);
        if (!eol)
            return size > max_head ? fail("trailers too long") : Step{Status::need_more, 0};
        std::size_t used = static_cast<std::size_t>(eol - data) + 1;
        bool blank = used == 1 || (used == 2 && data[0] == '\r');
        if (blank)
            return finished(used);
        return {Status::need_more, used};
    }
    }
    return fail("parser state");
}

ResponseParser::Step ResponseParser::parse_head(const char *data, std::size_t size, bool head_request)
{
    // Find the blank line, searching only bytes not searched before.
    std::size_t from = scanned_ > 3 ? scanned_ - 3 : 0;
    const char *end = nullptr;
    if (size >= 4 && from <= size - 4) {
        const void *found = memmem(data + from, size - from, "\r\n\r\n", 4);
        end = static_cast<const char *>(found);
    }
    if (!end) {
        scanned_ = size; // > 0: a response is under way
        if (size >= max_head)
            return fail("response head over 64 KiB");
        return {Status::need_more, 0};
    }
    std::size_t head_size = static_cast<std::size_t>(end - data) + 4;
    std::string_view head(data, head_size - 4);

    // Status line: HTTP/1.x SSS reason
    std::size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || line[8] != ' ' ||
        (line.size() > 12 && line[12] != ' '))
        return fail("malformed status line");
    int minor = line[7] - '0';
    int code = 0;
    for (int i = 9; i < 12; ++i) {
        if (line[static_cast<std::size_t>(i)] < '0' || line[static_cast<std::size_t>(i)] > '9')
            return fail("malformed status code");
        code = code * 10 + (line[static_cast<std::size_t>(i)] - '0');
    }
    if ((minor != 0 && minor != 1) || code < 100)
        return fail("malformed status line");

    bool has_length = false, chunked = false, close = false, keep = false;
    std::uint64_t length = 0;
    std::string_view rest = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    while (!rest.empty()) {
        std::size_t next = rest.find("\r\n");
        std::string_view header = rest.substr(0, next);
        rest = next == std::string_view::npos ? std::string_view() : rest.substr(next + 2);
        std::size_t colon = header.find(':');
        if (colon == std::string_view::npos || colon == 0)
            return fail("malformed header line");
        std::string_view name = header.substr(0, colon);
        std::string_view value = header.substr(colon + 1);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
            value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
            value.remove_suffix(1);
        if (iequals(name, "content-length")) {
            std::uint64_t parsed = 0;
            if (!parse_decimal(value, parsed) || (has_length && parsed != length))
                return fail("bad Content-Length");
            has_length = true;
            length = parsed;
        } else if (iequals(name, "transfer-encoding")) {
            chunked = has_token(value, "chunked");
        } else if (iequals(name, "connection")) {
            close = close || has_token(value, "close");
            keep = keep || has_token(value, "keep-alive");
        }
    }
    status_ = code;
    // HTTP/1.1 stays open unless told otherwise; HTTP/1.0 only when asked to.
    keep_alive_ = minor == 1 ? !close : keep && !close;

    if (code < 200 && code != 101) { // interim (100 Continue): the real answer follows
        scanned_ = 0;
        return {Status::need_more, head_size};
    }
    bool no_body = head_request || code == 204 || code == 304 || code == 101;
    if (no_body)
        return finished(head_size);
    if (chunked) {
        state_ = State::chunk_size;
        return {Status::need_more, head_size};
    }
    if (has_length) {
        if (length == 0)
            return finished(head_size);
        state_ = State::body;
        remaining_ = length;
        return {Status::need_more, head_size};
    }
    // No length: the body runs to the close, and the connection cannot be reused.
    keep_alive_ = false;
    state_ = State::until_close;
    return {Status::need_more, head_size};
}

bool ResponseParser::finish_at_eof()
{
    if (state_ == State::until_close) {
        state_ = State::head;
        scanned_ = 0;
        return true;
    }
    return false;
}

} // namespace lg
