// One keep-alive connection following its schedule: send what is due (up to the
// pipeline depth in flight), read and time every answer, and on any failure count
// the requests it lost, reconnect and carry on with the schedule.
#pragma once

#include "plan.hpp"
#include "response_parser.hpp"
#include "schedule.hpp"
#include "stats.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace lg
{

class Connection
{
public:
    Connection(boost::asio::io_context &io, const Plan &plan, Stats &stats, unsigned index);

    void connect();                        // first connection, before the run starts
    bool settled() const;                  // the first connect finished, one way or the other
    void start();                          // the run's clock is set: follow the schedule
    void sweep(std::int64_t now);          // time out a late answer or a slow connect
    void stop(std::int64_t now);           // the run is over: count what is left, close
    bool finished(std::int64_t now) const; // past the end with nothing in flight

private:
    enum class State { idle, connecting, open, stopped };
    struct InFlight {
        std::int64_t due;
        std::int64_t sent;
    };

    void on_connect(const boost::system::error_code &ec, unsigned generation);
    void pump(std::int64_t now);
    void arm(std::int64_t due);
    void write(unsigned count);
    void read();
    void on_read(const boost::system::error_code &ec, std::size_t n, unsigned generation);
    bool answered(std::int64_t now);
    void fail(ErrorKind kind, std::int64_t now);
    void reconnect();
    void reconnect_later();
    void close_socket();
    void update_ready(std::int64_t now);
    std::uint64_t measured_in_flight() const;

    boost::asio::io_context &io_;
    const Plan &plan_;
    Stats &stats_;
    std::optional<Schedule> schedule_; // none: closed loop
    boost::asio::ip::tcp::socket socket_;
    boost::asio::steady_timer send_timer_;
    boost::asio::steady_timer retry_timer_;
    ResponseParser parser_;
    std::vector<char> in_;
    std::size_t in_begin_ = 0, in_end_ = 0;
    std::vector<InFlight> ring_; // the requests in flight, oldest at head_
    std::size_t head_ = 0, count_ = 0;

    State state_ = State::idle;
    bool started_ = false;
    bool settled_ = false;
    bool writing_ = false;
    bool ready_ = false;           // could send now if something were due
    std::int64_t ready_since_ = 0; // ... since then
    std::int64_t next_due_ = 0;    // the next request of the schedule not yet sent
    std::int64_t armed_for_ = -1;  // what send_timer_ waits for
    std::int64_t connect_started_ = 0;
    unsigned generation_ = 0; // bumped on every close: late completions are ignored
    unsigned timer_seq_ = 0;
};

} // namespace lg
