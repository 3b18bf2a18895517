// An incremental HTTP/1.x response parser that keeps nothing but what the load
// generator needs: the status, whether the connection stays open, and where the
// response ends (Content-Length, chunked, or the close of the connection).
// Bodies are skipped as they arrive, so a response of any size needs no memory.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lg
{

class ResponseParser
{
public:
    static constexpr std::size_t max_head = 64 * 1024;

    enum class Status { need_more, complete, error };
    struct Step {
        Status status;
        std::size_t consumed; // bytes of the input this step used up
    };

    // Parse from the start of `data`, which holds every unconsumed byte received.
    // A head is only parsed once complete, so need_more with consumed 0 asks the
    // caller to keep the bytes and append more. `head_request`: the response to
    // HEAD has no body whatever its headers say.
    Step feed(const char *data, std::size_t size, bool head_request);
    // The connection closed: true if that ends the current response (a body that
    // runs to the close), false if a response was cut short.
    bool finish_at_eof();
    // Bytes of a response are under way (a close now loses it).
    bool in_progress() const { return state_ != State::head || scanned_ > 0; }

    int status() const { return status_; }
    bool keep_alive() const { return keep_alive_; }
    const char *error() const { return error_; }
    void reset();

private:
    enum class State { head, body, chunk_size, chunk_data, chunk_end, trailers, until_close };

    Step parse_head(const char *data, std::size_t size, bool head_request);
    Step fail(const char *why);
    Step finished(std::size_t consumed);

    State state_ = State::head;
    std::size_t scanned_ = 0; // head bytes already searched for the blank line
    std::uint64_t remaining_ = 0;
    int status_ = 0;
    bool keep_alive_ = true;
    const char *error_ = nullptr;
};

} // namespace lg
