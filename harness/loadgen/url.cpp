#include "url.hpp"

#include <cctype>

namespace lg
{

std::string Url::host_header() const
{
    std::string name = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return port == 80 ? name : name + ":" + std::to_string(port);
}

std::optional<Url> parse_url(const std::string &text, std::string &error)
{
    const std::string scheme = "http://";
    if (text.compare(0, scheme.size(), scheme) != 0) {
        error = text.compare(0, 8, "https://") == 0 ? "https is not supported (plain http:// only)"
                                                    : "the URL must start with http://";
        return std::nullopt;
    }
    Url url;
    std::string rest = text.substr(scheme.size());
    std::size_t slash = rest.find_first_of("/?");
    std::string authority = rest.substr(0, slash);
    url.target = slash == std::string::npos ? "/" : rest.substr(slash);
    if (url.target[0] == '?')
        url.target.insert(0, "/");
    if (authority.find('@') != std::string::npos) {
        error = "user:password@ in the URL is not supported";
        return std::nullopt;
    }

    bool has_port = false;
    std::string port_text;
    if (!authority.empty() && authority[0] == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string::npos) {
            error = "unclosed [ in the URL's IPv6 address";
            return std::nullopt;
        }
        url.host = authority.substr(1, close - 1);
        std::string after = authority.substr(close + 1);
        if (!after.empty() && after[0] != ':') {
            error = "unexpected text after the URL's IPv6 address";
            return std::nullopt;
        }
        has_port = !after.empty();
        port_text = has_port ? after.substr(1) : "";
    } else {
        std::size_t colon = authority.rfind(':');
        url.host = authority.substr(0, colon);
        has_port = colon != std::string::npos;
        port_text = has_port ? authority.substr(colon + 1) : "";
    }
    if (url.host.empty()) {
        error = "the URL has no host";
        return std::nullopt;
    }
    for (char c : url.target) {
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) {
            error = "the URL's path has a space or control character (percent-encode it)";
            return std::nullopt;
        }
    }
    if (has_port) {
        unsigned long port = 0;
        bool digits = !port_text.empty() && port_text.size() <= 5;
        for (char c : port_text) {
            digits = digits && std::isdigit(static_cast<unsigned char>(c));
            port = port * 10 + static_cast<unsigned long>(c - '0');
        }
        if (!digits || port == 0 || port > 65535) {
            error = "the URL's port must be a number from 1 to 65535";
            return std::nullopt;
        }
        url.port = static_cast<unsigned>(port);
    }
    return url;
}

} // namespace lg
