#include "stats.hpp"

namespace lg
{

const char *error_name(ErrorKind kind)
{
    switch (kind) {
    case ErrorKind::connect: return "connect";
    case ErrorKind::closed: return "closed";
    case ErrorKind::reset: return "reset";
    case ErrorKind::read: return "read";
    case ErrorKind::write: return "write";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::parse: return "parse";
    case ErrorKind::count_: break;
    }
    return "?";
}

std::uint64_t Stats::error_total() const
{
    std::uint64_t total = 0;
    for (auto n : errors)
        total += n;
    return total;
}

void Stats::merge(const Stats &other)
{
    corrected.merge(other.corrected);
    uncorrected.merge(other.uncorrected);
    sender_lag.merge(other.sender_lag);
    requests += other.requests;
    unsent += other.unsent;
    sent += other.sent;
    unanswered += other.unanswered;
    for (std::size_t i = 0; i < status_classes.size(); ++i)
        status_classes[i] += other.status_classes[i];
    for (std::size_t i = 0; i < errors.size(); ++i)
        errors[i] += other.errors[i];
    answered_in_window += other.answered_in_window;
    connections_opened += other.connections_opened;
    bytes_read += other.bytes_read;
    bytes_written += other.bytes_written;
}

} // namespace lg
