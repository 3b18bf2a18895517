#include "connection.hpp"
#include "engine.hpp"

#include <boost/beast/core/string.hpp>

namespace hb {
namespace {

// RFC 9110 token characters: what a header name may be made of.
bool is_token(std::string_view s)
{
    if (s.empty())
        return false;
    for (unsigned char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
        if (!ok)
            return false;
    }
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

void Response::reset()
{
    status_ = 200;
    headers_.clear();
    body_.clear();
    flushed_ = false;
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
    if (!is_token(name) || !is_field_value(value))
        return HB_E_INVAL;
    // Framing is the server's job: a handler's own value could desync the stream.
    if (boost::beast::iequals(name, "Content-Length") ||
        boost::beast::iequals(name, "Transfer-Encoding"))
        return HB_E_INVAL;
    headers_.append(name);
    headers_.append(": ");
    headers_.append(value);
    headers_.append("\r\n");
    return HB_OK;
}

int Response::flush()
{
    if (conn_ == nullptr)
        return HB_E_STATE;
    return conn_->flush(*this);
}

} // namespace hb
