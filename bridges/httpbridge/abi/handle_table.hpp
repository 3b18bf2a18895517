// Per-thread table of live response handles.
//
// A handle is 64 bits: [table id:24][slot:8][generation:32]. Each io thread owns
// one table and is the only thread that touches it, so the hot path takes no
// lock and no atomic. A handle from another thread's table, a released slot
// (stale generation) or a made-up value is refused with an error code; the
// table never dereferences anything a handle claims to point at.
//
// A handle, once released, never names a live response again: table ids are
// never reused in a process (so a dead thread's handles cannot match a new
// table), and a slot whose generation would wrap is retired instead of
// reused; once every slot is retired the table takes a fresh id.
#pragma once

#include <array>
#include <cstdint>

namespace hb::detail
{

class HandleTable
{
public:
    static constexpr unsigned kSlots = 256;

    // The calling thread's table, created on first use, lives as long as the thread.
    static HandleTable &current();

    HandleTable(const HandleTable &) = delete;
    HandleTable &operator=(const HandleTable &) = delete;
    ~HandleTable();

    // Register object; returns a fresh handle, or 0 when all slots are taken.
    std::uint64_t acquire(void *object);

    // The object a handle names, or nullptr with *error set (HB_E_HANDLE, HB_E_THREAD).
    void *lookup(std::uint64_t handle, int *error) const;

    // Retire a handle: every later lookup of it fails. HB_OK or HB_E_HANDLE.
    int release(std::uint64_t handle);

    std::uint32_t id() const { return id_; } // 0 once the process ran out of ids: acquire fails
    unsigned live() const { return live_; }

    // Tests only: age a free slot, to reach its generation's wrap without 2^31 requests.
    void set_generation_for_test(unsigned slot, std::uint32_t generation)
    {
        slots_[slot].generation = generation;
    }

private:
    HandleTable();
    void take_fresh_id(); // with the registry locked
    void renew();         // every slot retired and none live: fresh id, fresh generations

    struct Slot {
        std::uint32_t generation = 0; // odd while live, even while free
        void *object = nullptr;
    };

    std::uint32_t id_ = 0;
    unsigned live_ = 0;
    unsigned retired_ = 0;   // slots whose generation wrapped: out of the free list
    unsigned free_head_ = 0; // slots form a free list through next_free_
    std::array<Slot, kSlots> slots_{};
    std::array<std::uint16_t, kSlots> next_free_{};
};

} // namespace hb::detail
