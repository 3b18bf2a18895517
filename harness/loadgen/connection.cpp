#include "connection.hpp"

#include <boost/asio/write.hpp>

#include <algorithm>
#include <cstring>

namespace lg
{

namespace asio = boost::asio;
using boost::system::error_code;

namespace
{

constexpr std::int64_t kRetryDelayNs = 10'000'000; // after a failed connect: no busy loop

bool is_reset(const error_code &ec)
{
    return ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::connection_aborted;
}

} // namespace

Connection::Connection(asio::io_context &io, const Plan &plan, Stats &stats, unsigned index)
    : io_(io), plan_(plan), stats_(stats), socket_(io), send_timer_(io), retry_timer_(io),
      in_(ResponseParser::max_head + 16 * 1024), ring_(plan.options.pipeline)
{
    const Options &o = plan.options;
    if (o.open_loop())
        schedule_.emplace(o.poisson ? Schedule::Kind::poisson : Schedule::Kind::even, o.rate, o.connections,
                          index, o.seed);
}

bool Connection::settled() const
{
    return settled_;
}

void Connection::connect()
{
    state_ = State::connecting;
    connect_started_ = now_ns();
    socket_ = asio::ip::tcp::socket(io_);
    unsigned generation = generation_;
    socket_.async_connect(plan_.endpoint,
                          [this, generation](const error_code &ec) { on_connect(ec, generation); });
}

void Connection::on_connect(const error_code &ec, unsigned generation)
{
    if (generation != generation_ || state_ == State::stopped)
        return;
    settled_ = true;
    std::int64_t now = now_ns();
    if (ec) {
        fail(ErrorKind::connect, now);
        return;
    }
    error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    state_ = State::open;
    ++stats_.connections_opened;
    update_ready(now);
    read();
    pump(now);
}

void Connection::start()
{
    started_ = true;
    if (schedule_)
        next_due_ = plan_.start_ns + schedule_->next();
    pump(now_ns());
}

void Connection::update_ready(std::int64_t now)
{
    bool ready = state_ == State::open && !writing_ && count_ < ring_.size();
    if (ready && !ready_)
        ready_since_ = now;
    ready_ = ready;
}

// Send every request that is due and fits in the pipeline, in one write.
void Connection::pump(std::int64_t now)
{
    if (!started_ || state_ != State::open || writing_)
        return;
    const std::size_t room = ring_.size() - count_;
    unsigned n = 0;
    if (schedule_) {
        while (n < room && next_due_ <= now && next_due_ < plan_.end_ns) {
            ring_[(head_ + count_++) % ring_.size()] = {next_due_, now};
            if (plan_.measured(next_due_)) {
                ++stats_.sent;
                stats_.sender_lag.record(now - std::max(next_due_, ready_since_));
            }
            next_due_ = plan_.start_ns + schedule_->next();
            ++n;
        }
    } else {
        // Closed loop: a request is due the moment there is room for it.
        while (n < room && now < plan_.end_ns) {
            ring_[(head_ + count_++) % ring_.size()] = {now, now};
            if (plan_.measured(now))
                ++stats_.sent;
            ++n;
        }
    }
    if (n > 0)
        write(n);
    else if (schedule_ && count_ < ring_.size() && next_due_ < plan_.end_ns)
        arm(next_due_);
}

void Connection::arm(std::int64_t due)
{
    if (armed_for_ == due)
        return;
    armed_for_ = due;
    unsigned seq = ++timer_seq_;
    send_timer_.expires_at(to_time_point(due));
    send_timer_.async_wait([this, seq](const error_code &ec) {
        if (seq != timer_seq_)
            return; // re-armed or closed since
        armed_for_ = -1;
        if (!ec)
            pump(now_ns());
    });
}

void Connection::write(unsigned count)
{
    writing_ = true;
    ready_ = false;
    unsigned generation = generation_;
    asio::async_write(socket_, asio::buffer(plan_.requests.data(), count * plan_.request_size),
                      [this, generation](const error_code &ec, std::size_t n) {
                          if (generation != generation_)
                              return;
                          writing_ = false;
                          std::int64_t now = now_ns();
                          stats_.bytes_written += n;
                          if (ec) {
                              fail(is_reset(ec) ? ErrorKind::reset : ErrorKind::write, now);
                              return;
                          }
                          update_ready(now);
                          pump(now);
                      });
}

void Connection::read()
{
    unsigned generation = generation_;
    socket_.async_read_some(
        asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
        [this, generation](const error_code &ec, std::size_t n) { on_read(ec, n, generation); });
}

void Connection::on_read(const error_code &ec, std::size_t n, unsigned generation)
{
    if (generation != generation_ || state_ != State::open)
        return;
    std::int64_t now = now_ns();
    if (ec) {
        if (ec == asio::error::eof) {
            // A body that runs to the close ends here; anything else in flight is lost.
            if (parser_.finish_at_eof() && !answered(now))
                return;
            if (count_ > 0 || parser_.in_progress())
                fail(ErrorKind::closed, now);
            else
                reconnect(); // the server ended an idle connection: not an error
        } else {
            fail(is_reset(ec) ? ErrorKind::reset : ErrorKind::read, now);
        }
        return;
    }
    stats_.bytes_read += n;
    in_end_ += n;
    while (in_begin_ < in_end_) {
        auto step = parser_.feed(in_.data() + in_begin_, in_end_ - in_begin_, plan_.head_request);
        in_begin_ += step.consumed;
        if (step.status == ResponseParser::Status::error) {
            fail(ErrorKind::parse, now);
            return;
        }
        if (step.status == ResponseParser::Status::complete) {
            if (!answered(now))
                return;
        } else if (step.consumed == 0) {
            break; // an incomplete head: keep its bytes, read more
        }
    }
    if (in_begin_ == in_end_) {
        in_begin_ = in_end_ = 0;
    } else if (in_end_ == in_.size()) {
        std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
    }
    pump(now);
    read();
}

// One response is complete: time it. False when the connection closed after it.
bool Connection::answered(std::int64_t now)
{
    if (count_ == 0) {
        fail(ErrorKind::parse, now); // an answer nobody asked for
        return false;
    }
    InFlight request = ring_[head_];
    head_ = (head_ + 1) % ring_.size();
    --count_;
    stats_.answered_in_window += plan_.measured(now) ? 1 : 0;
    if (plan_.measured(request.due)) {
        ++stats_.requests;
        stats_.corrected.record(now - request.due);
        stats_.uncorrected.record(now - request.sent);
        int status = parser_.status();
        ++stats_.status_classes[status >= 100 && status < 600 ? static_cast<std::size_t>(status / 100) : 0];
    }
    if (!parser_.keep_alive()) {
        // The server closes after this answer: whatever else was sent is lost.
        if (count_ > 0)
            fail(ErrorKind::closed, now);
        else
            reconnect();
        return false;
    }
    update_ready(now);
    return true;
}

std::uint64_t Connection::measured_in_flight() const
{
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < count_; ++i)
        n += plan_.measured(ring_[(head_ + i) % ring_.size()].due) ? 1 : 0;
    return n;
}

// Count what the failure cost (each measured request it lost), close, and
// reconnect; the schedule goes on.
void Connection::fail(ErrorKind kind, std::int64_t now)
{
    bool counting = now >= plan_.measure_ns && now < plan_.stop_ns;
    std::uint64_t lost = kind == ErrorKind::connect ? 0 : measured_in_flight();
    if ((kind == ErrorKind::connect || kind == ErrorKind::parse) && lost == 0 && counting)
        lost = 1;
    stats_.count_error(kind, lost);
    if (kind == ErrorKind::connect) {
        close_socket();
        reconnect_later();
    } else {
        reconnect();
    }
}

void Connection::reconnect()
{
    close_socket();
    connect();
}

void Connection::reconnect_later()
{
    state_ = State::idle;
    unsigned generation = generation_;
    retry_timer_.expires_after(std::chrono::nanoseconds(kRetryDelayNs));
    retry_timer_.async_wait([this, generation](const error_code &ec) {
        if (!ec && generation == generation_ && state_ == State::idle)
            connect();
    });
}

void Connection::close_socket()
{
    ++generation_;
    ++timer_seq_;
    armed_for_ = -1;
    error_code ignored;
    socket_.close(ignored);
    send_timer_.cancel();
    retry_timer_.cancel();
    writing_ = false;
    ready_ = false;
    head_ = count_ = 0;
    in_begin_ = in_end_ = 0;
    parser_.reset();
    state_ = State::idle;
}

void Connection::sweep(std::int64_t now)
{
    if (state_ == State::open && count_ > 0 && now - ring_[head_].sent > plan_.timeout_ns())
        fail(ErrorKind::timeout, now);
    else if (state_ == State::connecting && now - connect_started_ > plan_.timeout_ns())
        fail(ErrorKind::connect, now);
}

bool Connection::finished(std::int64_t now) const
{
    return state_ == State::stopped || (started_ && now >= plan_.end_ns && count_ == 0);
}

void Connection::stop(std::int64_t)
{
    if (state_ == State::stopped)
        return;
    stats_.unanswered += measured_in_flight();
    // Requests the schedule had due in the window but this connection never sent.
    if (schedule_ && started_) {
        for (; next_due_ < plan_.end_ns; next_due_ = plan_.start_ns + schedule_->next())
            stats_.unsent += plan_.measured(next_due_) ? 1 : 0;
    }
    close_socket();
    state_ = State::stopped;
}

} // namespace lg
