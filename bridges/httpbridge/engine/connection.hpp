// One client connection: read, parse every complete request in the buffer,
// answer each into one output buffer, write it with one call, repeat.
//
// Batching is the point: sixteen pipelined requests cost one read and one
// write, and a lone request costs exactly one of each. Handlers run inline on
// the connection's io thread.
#pragma once

#include "engine.hpp"
#include "request_parser.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace hb
{

class Worker;

class Connection : public std::enable_shared_from_this<Connection>
{
public:
    Connection(boost::asio::ip::tcp::socket socket, const boost::asio::ip::tcp::endpoint &peer,
               Worker &worker);
    ~Connection();

    void start();
    void send_held();                    // the answers Worker::hold() kept are due
    void send_held_from_handler();       // the same, while another connection's handler runs
    void expire();                       // deadline passed or drain over: close now
    void drain();                        // server stopping: finish the request under way, then close
    int flush(Response &res);            // Response::flush, from inside a handler
    int wait_for_room();                 // Response::wait, from inside a handler: blocks
    std::size_t buffer_capacity() const; // bytes its buffers hold, for the engine's accounting
    std::size_t release_idle_memory();   // when idle between requests, shrink big buffers: bytes freed

    // Worker's intrusive list and the sweeper's view.
    Connection *prev = nullptr;
    Connection *next = nullptr;
    std::int64_t deadline_ms = 0;

private:
    enum class Phase { reading, writing, lingering, closed };

    void read();
    void on_read(boost::system::error_code ec, std::size_t n);
    std::size_t body_read_size() const;
    void on_body_read(boost::system::error_code ec, std::size_t n);
    void process();      // a read's bytes arrived: parse, answer, then write or read
    void parse_answer(); // ... the same, with this round's handler time kept
    void dispatch();
    void finish_response(int rc);
    void append_head(std::size_t content_length, bool chunked);
    void fail_request(int status);
    void refuse_unfinished(); // the client's EOF before its request ended
    void end_of_input();      // the client's EOF while a request is under way
    bool head_arrived();      // a held head is whole, or as long as header_limit allows
    int refusal_status(boost::system::error_code ec) const;
    void write();
    void wait_writable();
    void after_write();
    void end(); // after the final response: close, lingering if the client may still send
    void linger();
    void on_linger(boost::system::error_code ec, std::size_t n);
    void close();
    bool send_pending(); // non-blocking send of what is pending; false on a broken connection
    int abandon(int rc); // from inside a handler: close (no keep-alive), return rc for it
    std::size_t pending() const { return out_.size() - out_sent_ + tail_.size() - tail_sent_; }
    std::string &out(); // out_ to append to, a parked tail_ first moved behind it
    void set_deadline(unsigned timeout_ms);

    boost::asio::ip::tcp::socket socket_;
    Worker &worker_;
    Phase phase_ = Phase::reading;
    boost::beast::flat_buffer in_;
    std::string out_;
    std::size_t out_sent_ = 0; // bytes at the front of out_ already on the wire
    // A long response body swapped out of the response instead of copied
    // behind its head: it goes out after out_, in the same gather write.
    // Whatever is appended later goes through out(), which keeps the order.
    std::string tail_;
    std::size_t tail_sent_ = 0;
    std::optional<RequestParser> parser_;
    RequestStore store_;
    hb_request view_{};
    Response response_;
    std::string remote_;
    bool in_request_ = false;      // bytes of a request have arrived
    bool continued_ = false;       // 100 Continue sent for the current request
    bool head_held_ = false;       // in_ starts with part of a head, not yet given to a parser
    std::size_t head_scanned_ = 0; // bytes of a held head known to hold no blank line
    bool client_done_ = false;     // the client ended its side (EOF)
    bool close_after_write_ = false;
    bool must_linger_ = false;     // a refused request: its rest may still arrive
    bool keep_alive_ = true;       // of the request being answered
    bool head_ = false;            // ... which is a HEAD
    bool close_delimited_ = false; // flushed HTTP/1.0 response: the body ends at close

    // What the handlers of one process() took: slow ones' answers are held.
    std::chrono::steady_clock::duration handler_time_{};
};

} // namespace hb
