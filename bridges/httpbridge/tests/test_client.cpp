#include "test_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <strings.h>

namespace hbtest
{
namespace
{

constexpr std::size_t kMaxHead = 1 << 20; // a response head this long is garbage

bool iequal(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool parse_size(std::string_view text, int base, std::size_t &out)
{
    if (text.empty())
        return false;
    std::string digits(text);
    char *end = nullptr;
    errno = 0;
    unsigned long long value = std::strtoull(digits.c_str(), &end, base);
    if (errno != 0 || end != digits.c_str() + digits.size())
        return false;
    out = static_cast<std::size_t>(value);
    return true;
}

} // namespace

std::optional<std::string> Response::header(std::string_view name) const
{
    for (const auto &[n, v] : headers)
        if (iequal(n, name))
            return v;
    return std::nullopt;
}

Client::Client(int port, int timeout_ms, const char *host) : timeout_ms_(timeout_ms)
{
    sockaddr_storage storage{};
    socklen_t length = 0;
    auto *v4 = reinterpret_cast<sockaddr_in *>(&storage);
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&storage);
    if (::inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<std::uint16_t>(port));
        length = sizeof *v4;
    } else if (::inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<std::uint16_t>(port));
        length = sizeof *v6;
    } else {
        return;
    }
    int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, reinterpret_cast<sockaddr *>(&storage), length) != 0) {
        ::close(fd);
        return;
    }
    fd_ = fd;
}

Client::~Client()
{
    if (fd_ >= 0)
        ::close(fd_);
}

Client::Client(Client &&other) noexcept
    : fd_(other.fd_), timeout_ms_(other.timeout_ms_), buffer_(std::move(other.buffer_)), eof_(other.eof_)
{
    other.fd_ = -1;
}

int Client::local_port() const
{
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (fd_ < 0 || ::getsockname(fd_, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        return -1;
    if (addr.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<sockaddr_in6 *>(&addr)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in *>(&addr)->sin_port);
}

bool Client::send(std::string_view bytes)
{
    if (fd_ < 0)
        return false;
    while (!bytes.empty()) {
        ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

void Client::shutdown_write()
{
    if (fd_ >= 0)
        ::shutdown(fd_, SHUT_WR);
}

int Client::fill()
{
    if (fd_ < 0 || eof_)
        return 0;
    char chunk[64 * 1024];
    for (;;) {
        ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
        if (n > 0) {
            buffer_.append(chunk, static_cast<std::size_t>(n));
            return static_cast<int>(n);
        }
        if (n == 0 || errno == ECONNRESET) {
            eof_ = true;
            return 0;
        }
        if (errno == EINTR)
            continue;
        return -1; // EAGAIN: SO_RCVTIMEO ran out
    }
}

bool Client::read_line(std::string &line)
{
    std::size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) {
        if (buffer_.size() > kMaxHead || fill() <= 0)
            return false;
    }
    line.assign(buffer_, 0, end);
    buffer_.erase(0, end + 2);
    return true;
}

bool Client::read_exact(std::size_t n, std::string &out)
{
    while (buffer_.size() < n)
        if (fill() <= 0)
            return false;
    out.append(buffer_, 0, n);
    buffer_.erase(0, n);
    return true;
}

std::optional<Response> Client::read_response(bool head)
{
    Response r;
    std::string line;
    if (!read_line(line))
        return std::nullopt;
    // Status line: HTTP/1.1 200 OK
    std::size_t sp1 = line.find(' ');
    if (sp1 == std::string::npos || line.compare(0, 5, "HTTP/") != 0)
        return std::nullopt;
    std::size_t sp2 = line.find(' ', sp1 + 1);
    std::size_t code = 0;
    std::string_view code_text = std::string_view(line).substr(sp1 + 1, 3);
    std::size_t code_end = sp2 == std::string::npos ? line.size() : sp2;
    if (code_end != sp1 + 4 || !parse_size(code_text, 10, code))
        return std::nullopt;
    r.version = line.substr(0, sp1);
    r.status = static_cast<int>(code);
    r.reason = sp2 == std::string::npos ? "" : line.substr(sp2 + 1);

    for (;;) {
        if (!read_line(line))
            return std::nullopt;
        if (line.empty())
            break;
        std::size_t colon = line.find(':');
        if (colon == std::string::npos || colon == 0)
            return std::nullopt;
        r.headers.emplace_back(line.substr(0, colon),
                               std::string(trim(std::string_view(line).substr(colon + 1))));
    }

    if (head || r.status / 100 == 1 || r.status == 204 || r.status == 304)
        return r;

    auto te = r.header("Transfer-Encoding");
    auto cl = r.header("Content-Length");
    if (te && iequal(*te, "chunked")) {
        r.chunked = true;
        for (;;) {
            if (!read_line(line))
                return std::nullopt;
            std::string_view size_text = line;
            size_text = trim(size_text.substr(0, size_text.find(';')));
            std::size_t size = 0;
            if (!parse_size(size_text, 16, size))
                return std::nullopt;
            if (size == 0)
                break;
            std::string crlf;
            if (!read_exact(size, r.body) || !read_exact(2, crlf) || crlf != "\r\n")
                return std::nullopt;
        }
        for (;;) { // trailers, then the empty line
            if (!read_line(line))
                return std::nullopt;
            if (line.empty())
                break;
        }
    } else if (cl) {
        std::size_t length = 0;
        if (!parse_size(*cl, 10, length) || !read_exact(length, r.body))
            return std::nullopt;
    } else {
        r.close_delimited = true;
        auto rest = read_until_close();
        if (!rest)
            return std::nullopt;
        r.body = std::move(*rest);
    }
    return r;
}

std::optional<std::string> Client::read_until_close()
{
    for (;;) {
        int n = fill();
        if (n == 0)
            break;
        if (n < 0)
            return std::nullopt;
    }
    std::string all = std::move(buffer_);
    buffer_.clear();
    return all;
}

bool Client::wait_for(std::string_view needle)
{
    while (buffer_.find(needle) == std::string::npos)
        if (fill() <= 0)
            return false;
    return true;
}

bool Client::wait_hangup()
{
    if (fd_ < 0 || eof_)
        return true;
    pollfd p{fd_, POLLRDHUP, 0}; // POLLHUP and POLLERR are always reported; POLLIN is not asked for
    for (;;) {
        int n = ::poll(&p, 1, timeout_ms_);
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
    }
}

std::optional<Response> Client::request(std::string_view bytes, bool head)
{
    if (!send(bytes))
        return std::nullopt;
    return read_response(head);
}

std::string get(std::string_view path, std::string_view extra_headers)
{
    std::string r = "GET ";
    r.append(path);
    r.append(" HTTP/1.1\r\nHost: test\r\n");
    r.append(extra_headers);
    r.append("\r\n");
    return r;
}

std::string post(std::string_view path, std::string_view body, std::string_view extra_headers)
{
    std::string r = "POST ";
    r.append(path);
    r.append(" HTTP/1.1\r\nHost: test\r\nContent-Length: ");
    r.append(std::to_string(body.size()));
    r.append("\r\n");
    r.append(extra_headers);
    r.append("\r\n");
    r.append(body);
    return r;
}

} // namespace hbtest
