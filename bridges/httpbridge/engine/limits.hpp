// Limits on descriptors: the process's RLIMIT_NOFILE and the server's cap on
// open connections.
#pragma once

#include <atomic>
#include <functional>

namespace hb
{

// Raise the soft RLIMIT_NOFILE to the hard limit, as Go's runtime does at
// start: the default soft limit (often 1024) is far below what a server
// holding many keep-alive connections needs. Best effort, idempotent.
void raise_open_file_limit() noexcept;

// The cap on open connections over all io threads. At the cap the acceptor
// stops waiting on the listener (clients queue in the kernel's backlog) and
// the connection whose close makes room wakes it up: no busy loop, no
// refused clients. Costs two atomic operations per connection, none per request.
class ConnectionLimit
{
public:
    explicit ConnectionLimit(unsigned max) : max_(max == 0 ? ~0u : max) {}

    // Acceptor thread, before accepting: true takes a slot. false: at the cap;
    // stop accepting, on_room will be called once there is room.
    bool admit();
    // Acceptor thread: give back a slot admit() took for nothing (EAGAIN).
    void unadmit() { open_.fetch_sub(1); }
    // Any thread, as a connection closes.
    void release();

    unsigned open() const { return open_.load(std::memory_order_relaxed); }

    std::function<void()> on_room; // set before start; posts a resume to the acceptor

private:
    const unsigned max_;
    std::atomic<unsigned> open_{0};
    std::atomic<bool> paused_{false};
};

} // namespace hb
