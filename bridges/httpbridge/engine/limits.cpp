#include "limits.hpp"

#include <sys/resource.h>

namespace hb
{

void raise_open_file_limit() noexcept
{
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
        return;
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit); // a failure leaves the old limit: still a working server
}

bool ConnectionLimit::admit()
{
    // Only the acceptor adds, so a check then an add cannot overshoot.
    if (open_.load() < max_) {
        open_.fetch_add(1);
        return true;
    }
    // Say we wait before looking again: a release() that comes after this
    // store sees it and wakes us; one that came before left room we see now.
    paused_.store(true);
    if (open_.load() >= max_)
        return false;
    if (!paused_.exchange(false))
        return false; // a release() already claimed the wake-up: on_room will run
    open_.fetch_add(1);
    return true;
}

void ConnectionLimit::release()
{
    open_.fetch_sub(1);
    if (paused_.load() && paused_.exchange(false))
        on_room();
}

} // namespace hb
