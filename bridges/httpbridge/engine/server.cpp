// Server lifecycle: listen, accept and hand connections round-robin to the io
// threads, stop (from anywhere, even a signal handler) and drain.
#include "engine.hpp"

#include "connection.hpp"
#include "limits.hpp"
#include "worker.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include <atomic>
#include <chrono>
#include <cerrno>
#include <condition_variable>
#include <future>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace hb
{
namespace asio = boost::asio;
using asio::ip::tcp;
using boost::system::error_code;

namespace
{
// The server whose io thread this is, if any: a handler must not wait for,
// or destroy, the server it runs on.
thread_local const void *t_serving = nullptr;
} // namespace

struct Server::Impl {
    enum class State { created, listening, running, stopped };

    explicit Impl(const hb_options &o) : options(o)
    {
        for (unsigned i = 0; i < options.io_threads; ++i) {
            workers.push_back(std::make_unique<Worker>(options, router));
            workers.back()->limit = &limit;
            workers.back()->stop_requested = &stop_requested;
        }
        limit.on_room = [this] {
            asio::post(accept_ctx(), [this] {
                if (acceptor && acceptor->is_open())
                    accept();
            });
        };
        if (::pipe2(stop_pipe, O_NONBLOCK | O_CLOEXEC) != 0)
            stop_pipe[0] = stop_pipe[1] = -1;
    }

    ~Impl()
    {
        for (int fd : stop_pipe)
            if (fd >= 0)
                ::close(fd);
    }

    asio::io_context &accept_ctx() { return workers.front()->ctx; }

    void accept();
    void watch_stop_pipe();
    void on_stop_requested();
    void thread_main(Worker &w);

    hb_options options;
    ConnectionLimit limit{options.max_connections};
    detail::Router<Route> router;
    std::vector<std::unique_ptr<Worker>> workers;
    std::optional<tcp::acceptor> acceptor;
    std::optional<asio::posix::stream_descriptor> stop_reader;
    std::optional<asio::steady_timer> accept_backoff;
    char stop_byte = 0;
    int stop_pipe[2] = {-1, -1};
    std::atomic<bool> stop_requested{false};
    std::atomic<State> state{State::created};
    unsigned next_worker = 0;
    int bound_port = -1;
    tcp listen_protocol = tcp::v4();

    std::vector<std::thread> threads;
    std::mutex mutex;
    std::condition_variable all_done;
    unsigned finished = 0;
    std::mutex join_mutex; // several waiters may be done at once; one joins
};

// Wait until the listener is readable, then accept everything queued (one
// wakeup for a burst of connections) and hand each descriptor to a worker,
// which wraps it in its own io_context: every socket is registered with,
// and touched by, one thread only.
void Server::Impl::accept()
{
    acceptor->async_wait(tcp::acceptor::wait_read, [this](error_code ec) {
        if (ec == asio::error::operation_aborted || !acceptor->is_open())
            return;
        for (;;) {
            if (!limit.admit())
                return;         // at the cap: the next connection to close resumes us
            tcp::endpoint peer; // filled by accept4: no getpeername later
            socklen_t peer_len = static_cast<socklen_t>(peer.capacity());
            int fd =
                ::accept4(acceptor->native_handle(), peer.data(), &peer_len, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) {
                peer.resize(peer_len);
                int one = 1;
                ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                Worker &target = *workers[next_worker++ % workers.size()];
                asio::post(target.ctx, [&target, protocol = listen_protocol, fd, peer] {
                    error_code e;
                    tcp::socket socket(target.ctx);
                    socket.assign(protocol, fd, e);
                    if (e) {
                        ::close(fd);
                        target.limit->release();
                        return;
                    }
                    std::make_shared<Connection>(std::move(socket), peer, target)->start();
                });
                continue;
            }
            limit.unadmit();
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            // Out of descriptors or memory: back off instead of spinning on the error.
            log_line(options, HB_LOG_ERROR, "accept: %s (retrying in 50 ms)", std::strerror(errno));
            accept_backoff.emplace(accept_ctx(), std::chrono::milliseconds(50));
            accept_backoff->async_wait([this](error_code e) {
                if (!e && acceptor->is_open())
                    accept();
            });
            return;
        }
        accept();
    });
}

void Server::Impl::watch_stop_pipe()
{
    stop_reader->async_read_some(asio::buffer(&stop_byte, 1), [this](error_code ec, std::size_t) {
        if (ec == asio::error::operation_aborted)
            return;
        on_stop_requested();
    });
}

void Server::Impl::on_stop_requested()
{
    error_code ignored;
    if (acceptor)
        acceptor->close(ignored);
    if (accept_backoff)
        accept_backoff->cancel();
    stop_reader->close(ignored);
    for (auto &w : workers) {
        Worker *worker = w.get();
        asio::post(worker->ctx, [worker] { worker->begin_drain(); });
    }
}

void Server::Impl::thread_main(Worker &w)
{
    t_serving = this;
    if (options.on_thread_start != nullptr)
        options.on_thread_start(options.hook_data);
    w.run();
    if (options.on_thread_stop != nullptr)
        options.on_thread_stop(options.hook_data);
    t_serving = nullptr;
    std::lock_guard<std::mutex> lock(mutex);
    ++finished;
    all_done.notify_all();
}

namespace
{
const hb_options &checked(const hb_options &options)
{
    if (const char *problem = check_options(options))
        throw std::invalid_argument(problem);
    return options;
}
} // namespace

Server::Server(const hb_options &options) : impl_(std::make_unique<Impl>(complete_options(checked(options))))
{
}

Server::~Server()
{
    stop();
    if (on_own_thread()) {
        // A handler is destroying the server it runs on: freeing it would pull
        // the io thread, its connection and its request from under the
        // handler. Let it drain and end on its own, and leak it.
        Impl *leaked = impl_.release();
#if defined(__SANITIZE_ADDRESS__)
        __lsan_ignore_object(leaked);
#endif
        (void)leaked;
        return;
    }
    wait(-1);
    // Close what lives on the io_contexts before the workers that own them go.
    impl_->acceptor.reset();
    impl_->stop_reader.reset();
    impl_->accept_backoff.reset();
}

int Server::handle(std::string_view pattern, Handler fn, void *user_data)
{
    if (fn == nullptr)
        return HB_E_INVAL;
    if (impl_->state == Impl::State::running || impl_->state == Impl::State::stopped)
        return HB_E_STATE;
    return impl_->router.add(std::string(pattern), Route{fn, user_data}) ? HB_OK : HB_E_INVAL;
}

int Server::listen(const char *host, unsigned port)
{
    if (impl_->state != Impl::State::created)
        return HB_E_STATE;
    if (host == nullptr || port > 65535)
        return HB_E_INVAL;
    error_code ec;
    auto address = asio::ip::make_address(host, ec);
    if (ec)
        return HB_E_ADDRESS;
    tcp::endpoint endpoint(address, static_cast<unsigned short>(port));
    tcp::acceptor acceptor(impl_->accept_ctx());
    acceptor.open(endpoint.protocol(), ec);
    if (!ec)
        acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec && impl_->options.reuse_port) {
        int one = 1;
        if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
            ec.assign(errno, boost::system::system_category());
    }
    if (!ec)
        acceptor.bind(endpoint, ec);
    if (!ec)
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec == asio::error::address_in_use)
        return HB_E_ADDRINUSE;
    if (ec == boost::system::errc::address_not_available)
        return HB_E_ADDRESS;
    if (ec)
        return HB_E_SOCKET;
    impl_->bound_port = acceptor.local_endpoint().port();
    impl_->listen_protocol = endpoint.protocol();
    impl_->acceptor.emplace(std::move(acceptor));
    impl_->state = Impl::State::listening;
    return HB_OK;
}

int Server::port() const
{
    return impl_->bound_port >= 0 ? impl_->bound_port : HB_E_STATE;
}

int Server::start()
{
    Impl &s = *impl_;
    if (s.state != Impl::State::listening)
        return HB_E_STATE;
    if (s.stop_pipe[0] < 0)
        return HB_E_NOMEM;
    raise_open_file_limit();
    if (s.stop_requested.load()) {
        s.state = Impl::State::stopped; // stopped before it began
        return HB_OK;
    }
    s.stop_reader.emplace(s.accept_ctx(), ::dup(s.stop_pipe[0]));
    s.watch_stop_pipe();
    s.accept();
    s.state = Impl::State::running;
    try {
        for (auto &w : s.workers)
            s.threads.emplace_back([&s, worker = w.get()] { s.thread_main(*worker); });
    } catch (const std::system_error &) {
        stop(); // threads that did start will drain and end; wait() joins them
        std::lock_guard<std::mutex> lock(s.mutex);
        s.finished += static_cast<unsigned>(s.workers.size() - s.threads.size());
        return HB_E_NOMEM;
    }
    return HB_OK;
}

bool Server::on_own_thread() const
{
    return t_serving == impl_.get();
}

int Server::wait(int timeout_ms)
{
    Impl &s = *impl_;
    if (on_own_thread())
        return HB_E_STATE; // it cannot drain while this handler waits for it
    if (s.state != Impl::State::running)
        return HB_OK;
    {
        std::unique_lock<std::mutex> lock(s.mutex);
        auto done = [&s] {
            return s.finished == s.workers.size();
        };
        if (timeout_ms < 0)
            s.all_done.wait(lock, done);
        else if (!s.all_done.wait_for(lock, std::chrono::milliseconds(timeout_ms), done))
            return HB_E_TIMEOUT;
    }
    // Several waiters may get here; only one joins.
    std::lock_guard<std::mutex> lock(s.join_mutex);
    for (auto &t : s.threads)
        if (t.joinable())
            t.join();
    s.state = Impl::State::stopped;
    return HB_OK;
}

Server::Stats Server::stats()
{
    Stats total;
    if (impl_->state != Impl::State::running)
        return total;
    for (auto &w : impl_->workers) {
        Worker *worker = w.get();
        auto answer = std::make_shared<std::promise<Stats>>(); // outlives a wait that gives up
        auto future = answer->get_future();
        asio::post(worker->ctx, [worker, answer] { answer->set_value(worker->stats()); });
        if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
            return total; // the worker is stuck or gone: never block the caller
        Stats s = future.get();
        total.connections += s.connections;
        total.buffer_bytes += s.buffer_bytes;
    }
    return total;
}

void Server::stop() noexcept
{
    // Only an atomic exchange and write(2): both async-signal-safe.
    if (!impl_->stop_requested.exchange(true) && impl_->stop_pipe[1] >= 0) {
        char byte = 1;
        ssize_t ignored = ::write(impl_->stop_pipe[1], &byte, 1);
        (void)ignored;
    }
}

} // namespace hb
