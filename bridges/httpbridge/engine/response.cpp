#include "connection.hpp"
#include "engine.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <array>

namespace hb
{
namespace
{

// RFC 9110 token characters: what a header name may be made of. A table,
// because this runs for every header of every response.
constexpr auto kTokenChars = [] {
    std::array<bool, 256> table{};
    for (int c = '0'; c <= '9'; ++c)
        table[c] = true;
    for (int c = 'a'; c <= 'z'; ++c)
        table[c] = table[c - 'a' + 'A'] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~"))
        table[static_cast<unsigned char>(c)] = true;
    return table;
}();

bool is_token(std::string_view s)
{
    if (s.empty())
        return false;
    for (unsigned char c : s)
        if (!kTokenChars[c])
            return false;
    return true;
}

bool is_field_value(std::string_view s)
{
    for (char c : s)
        if (c == '\r' || c == '\n' || c == '\0')
            return false; // would let a handler inject headers or split the response
    return true;
}

} // namespace

const char *header_problem(std::string_view name, std::string_view value)
{
    if (!is_token(name))
        return "a header name must be a non-empty HTTP token (letters, digits and !#$%&'*+-.^_`|~)";
    if (!is_field_value(value))
        return "a header value must not contain CR, LF or NUL";
    // Framing is the server's job: a handler's own value could desync the stream.
    if (boost::beast::iequals(name, "Content-Length") || boost::beast::iequals(name, "Transfer-Encoding"))
        return "Content-Length and Transfer-Encoding are set by the server";
    return nullptr;
}

void Response::reset()
{
    status_ = 200;
    headers_.clear();
    body_.clear();
    flushed_ = false;
    has_length_ = false;
    length_ = 0;
    counted_ = 0;
}

int Response::set_length(std::uint64_t length)
{
    if (flushed_)
        return HB_E_SENT; // the head, and with it the framing, is on the wire
    if (body_.size() > length)
        return HB_E_INVAL; // what is written already would not fit
    has_length_ = true;
    length_ = length;
    return HB_OK;
}

int Response::set_status(int status)
{
    if (flushed_)
        return HB_E_SENT;
    if (status < 100 || status > 999)
        return HB_E_INVAL;
    status_ = status;
    return HB_OK;
}

int Response::add_header(std::string_view name, std::string_view value)
{
    if (flushed_)
        return HB_E_SENT;
    if (header_problem(name, value) != nullptr)
        return HB_E_INVAL;
    std::size_t at = headers_.size();
    headers_.resize(at + name.size() + value.size() + 4);
    char *out = headers_.data() + at;
    out = std::copy(name.begin(), name.end(), out);
    *out++ = ':';
    *out++ = ' ';
    out = std::copy(value.begin(), value.end(), out);
    *out++ = '\r';
    *out = '\n';
    return HB_OK;
}

int Response::flush()
{
    if (conn_ == nullptr)
        return HB_E_STATE;
    return conn_->flush(*this);
}

int Response::wait()
{
    if (conn_ == nullptr)
        return HB_E_STATE;
    return conn_->wait_for_room();
}

} // namespace hb
