#include "handle_table.hpp"

#include "httpbridge.h"

#include <memory>
#include <mutex>
#include <unordered_set>

namespace hb::detail
{
namespace
{

constexpr unsigned kSlotBits = 8;
constexpr std::uint32_t kIdMask = (1u << 24) - 1;

// Ids of the tables whose threads are alive, so that a handle used on the wrong
// thread can be told apart from a forged one. Touched only when a thread starts
// or ends, when a table renews, and on the error path, never per request.
std::mutex g_registry_mutex;
std::unordered_set<std::uint32_t> &live_tables()
{
    static auto *ids = new std::unordered_set<std::uint32_t>; // outlives thread_local tables
    return *ids;
}
std::uint32_t g_next_id = 1; // never reused: a dead table's handles must not match a new one

std::uint64_t pack(std::uint32_t id, unsigned slot, std::uint32_t generation)
{
    return (std::uint64_t{id} << 40) | (std::uint64_t{slot} << 32) | generation;
}

} // namespace

// The calling thread's table, reached on every response call. initial-exec
// makes that one instruction instead of a __tls_get_addr call per access; a
// pointer is small enough for the static TLS that glibc keeps spare for
// libraries loaded later by dlopen (as Python loads us).
static __attribute__((tls_model("initial-exec"))) thread_local HandleTable *t_current = nullptr;

HandleTable &HandleTable::current()
{
    if (t_current != nullptr)
        return *t_current;
    thread_local std::unique_ptr<HandleTable> owner(new HandleTable); // freed at thread exit
    t_current = owner.get();
    return *owner;
}

HandleTable::HandleTable()
{
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    take_fresh_id();
    for (unsigned i = 0; i < kSlots; ++i)
        next_free_[i] = static_cast<std::uint16_t>(i + 1);
}

HandleTable::~HandleTable()
{
    if (t_current == this)
        t_current = nullptr;
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    live_tables().erase(id_);
}

void HandleTable::take_fresh_id()
{
    live_tables().erase(id_);
    // After 16M ids a process has no fresh one left: the table stays without
    // (id 0) and every acquire fails, so handlers answer 500 rather than risk
    // an old handle matching.
    id_ = g_next_id <= kIdMask ? g_next_id++ : 0;
    if (id_ != 0)
        live_tables().insert(id_);
}

void HandleTable::renew()
{
    {
        std::lock_guard<std::mutex> lock(g_registry_mutex);
        take_fresh_id();
    }
    for (unsigned i = 0; i < kSlots; ++i) {
        slots_[i] = Slot{};
        next_free_[i] = static_cast<std::uint16_t>(i + 1);
    }
    free_head_ = 0;
    retired_ = 0;
}

std::uint64_t HandleTable::acquire(void *object)
{
    if (free_head_ >= kSlots && retired_ != 0 && live_ == 0)
        renew(); // once per 2^31 uses of every slot
    if (free_head_ >= kSlots || id_ == 0)
        return 0;
    unsigned index = free_head_;
    free_head_ = next_free_[index];
    Slot &slot = slots_[index];
    slot.generation += 1; // even -> odd: live
    slot.object = object;
    ++live_;
    return pack(id_, index, slot.generation);
}

void *HandleTable::lookup(std::uint64_t handle, int *error) const
{
    auto id = static_cast<std::uint32_t>(handle >> 40);
    unsigned index = static_cast<unsigned>(handle >> 32) & ((1u << kSlotBits) - 1);
    auto generation = static_cast<std::uint32_t>(handle);
    if (id == id_) {
        const Slot &slot = slots_[index];
        if (slot.generation == generation && (generation & 1u) != 0)
            return slot.object;
        *error = HB_E_HANDLE;
        return nullptr;
    }
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    *error = live_tables().count(id) != 0 ? HB_E_THREAD : HB_E_HANDLE;
    return nullptr;
}

int HandleTable::release(std::uint64_t handle)
{
    int error = HB_OK;
    if (lookup(handle, &error) == nullptr)
        return error;
    unsigned index = static_cast<unsigned>(handle >> 32) & ((1u << kSlotBits) - 1);
    Slot &slot = slots_[index];
    slot.generation += 1; // odd -> even: free, and every copy of the handle is stale
    slot.object = nullptr;
    --live_;
    if (slot.generation == 0) {
        ++retired_; // wrapped: reusing it would bring back generation 1's handles
        return HB_OK;
    }
    next_free_[index] = static_cast<std::uint16_t>(free_head_);
    free_head_ = index;
    return HB_OK;
}

} // namespace hb::detail
