// The per-thread response handle table alone: generations, forgeries, threads.
#include "handle_table.hpp"

#include "httpbridge.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <vector>

namespace
{

using hb::detail::HandleTable;

// Lookup result: the error code (HB_OK when found) and the object.
struct Found {
    void *object;
    int error;
};

Found find(std::uint64_t handle)
{
    int error = HB_OK;
    void *object = HandleTable::current().lookup(handle, &error);
    return {object, object == nullptr ? error : HB_OK};
}

// Slot and generation as handle_table.hpp documents: [id:24][slot:8][generation:32].
std::uint64_t with_generation(std::uint64_t handle, std::uint32_t generation)
{
    return (handle & ~std::uint64_t{0xffffffff}) | generation;
}

// Everything a test acquired is released again, so tests stay independent
// when gtest runs them all in one process.
class HandleTableTest : public ::testing::Test
{
protected:
    void TearDown() override { EXPECT_EQ(HandleTable::current().live(), live_before_); }
    unsigned live_before_ = HandleTable::current().live();
};

TEST_F(HandleTableTest, FreshHandleNamesItsObject)
{
    HandleTable &table = HandleTable::current();
    int a = 1, b = 2;
    std::uint64_t ha = table.acquire(&a);
    std::uint64_t hb = table.acquire(&b);
    ASSERT_NE(ha, 0u);
    ASSERT_NE(hb, 0u);
    EXPECT_NE(ha, hb);
    EXPECT_EQ(find(ha).object, &a);
    EXPECT_EQ(find(hb).object, &b);
    EXPECT_EQ(table.live(), live_before_ + 2);
    EXPECT_EQ(table.release(ha), HB_OK);
    EXPECT_EQ(table.release(hb), HB_OK);
}

TEST_F(HandleTableTest, ReleasedHandleIsStale)
{
    HandleTable &table = HandleTable::current();
    int a = 1;
    std::uint64_t h = table.acquire(&a);
    ASSERT_EQ(table.release(h), HB_OK);
    Found f = find(h);
    EXPECT_EQ(f.object, nullptr);
    EXPECT_EQ(f.error, HB_E_HANDLE);
}

TEST_F(HandleTableTest, DoubleReleaseIsAnError)
{
    HandleTable &table = HandleTable::current();
    int a = 1;
    std::uint64_t h = table.acquire(&a);
    ASSERT_EQ(table.release(h), HB_OK);
    EXPECT_EQ(table.release(h), HB_E_HANDLE);
    EXPECT_EQ(table.release(h), HB_E_HANDLE);
}

TEST_F(HandleTableTest, ReusedSlotDoesNotReviveTheOldHandle)
{
    HandleTable &table = HandleTable::current();
    int a = 1, b = 2;
    std::uint64_t old_handle = table.acquire(&a);
    ASSERT_EQ(table.release(old_handle), HB_OK);
    std::uint64_t new_handle = table.acquire(&b); // the free list hands the same slot back
    ASSERT_NE(new_handle, 0u);
    EXPECT_NE(new_handle, old_handle);
    EXPECT_EQ(find(new_handle).object, &b);
    EXPECT_EQ(find(old_handle).error, HB_E_HANDLE);
    // Releasing the stale copy must not free the live one.
    EXPECT_EQ(table.release(old_handle), HB_E_HANDLE);
    EXPECT_EQ(find(new_handle).object, &b);
    EXPECT_EQ(table.release(new_handle), HB_OK);
}

TEST_F(HandleTableTest, ForgedHandlesAreRefused)
{
    HandleTable &table = HandleTable::current();
    int a = 1;
    std::uint64_t live = table.acquire(&a);
    ASSERT_NE(live, 0u);

    for (std::uint64_t forged :
         {std::uint64_t{0}, ~std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{0xdeadbeefcafebabe}}) {
        SCOPED_TRACE(forged);
        Found f = find(forged);
        EXPECT_EQ(f.object, nullptr);
        EXPECT_NE(f.error, HB_OK);
        EXPECT_NE(table.release(forged), HB_OK);
    }

    // Our own table id and slot, every wrong generation nearby: even (free) or odd (not yet).
    auto generation = static_cast<std::uint32_t>(live);
    for (std::uint32_t wrong : {generation - 1, generation + 1, generation + 2, generation ^ 0x80000000u,
                                std::uint32_t{0}, std::uint32_t{0xffffffff}}) {
        SCOPED_TRACE(wrong);
        Found f = find(with_generation(live, wrong));
        EXPECT_EQ(f.object, nullptr);
        EXPECT_EQ(f.error, HB_E_HANDLE);
        EXPECT_EQ(table.release(with_generation(live, wrong)), HB_E_HANDLE);
    }

    // Our own table id, every other slot (none of them live in this test).
    for (unsigned slot = 0; slot < HandleTable::kSlots; ++slot) {
        std::uint64_t h = (std::uint64_t{table.id()} << 40) | (std::uint64_t{slot} << 32) | 1u;
        if (h == live)
            continue;
        EXPECT_EQ(find(h).error, HB_E_HANDLE) << "slot " << slot;
    }

    // Random values with a fixed seed: never an object, always an error.
    std::mt19937_64 random(12345);
    for (int i = 0; i < 10000; ++i) {
        std::uint64_t h = random();
        if (h == live)
            continue;
        Found f = find(h);
        ASSERT_EQ(f.object, nullptr) << h;
        ASSERT_TRUE(f.error == HB_E_HANDLE || f.error == HB_E_THREAD) << h;
    }

    // The live handle survived all of that.
    EXPECT_EQ(find(live).object, &a);
    EXPECT_EQ(table.release(live), HB_OK);
}

TEST_F(HandleTableTest, FullTableReturnsZeroUntilASlotIsFreed)
{
    HandleTable &table = HandleTable::current();
    std::vector<int> objects(HandleTable::kSlots);
    std::vector<std::uint64_t> handles;
    std::set<std::uint64_t> distinct;
    while (table.live() < HandleTable::kSlots) {
        std::uint64_t h = table.acquire(&objects[handles.size()]);
        ASSERT_NE(h, 0u);
        handles.push_back(h);
        distinct.insert(h);
    }
    EXPECT_EQ(distinct.size(), handles.size());
    EXPECT_EQ(table.acquire(&objects[0]), 0u);

    int extra = 0;
    ASSERT_EQ(table.release(handles.back()), HB_OK);
    std::uint64_t h = table.acquire(&extra);
    ASSERT_NE(h, 0u);
    EXPECT_EQ(find(h).object, &extra);
    handles.back() = h;

    for (std::size_t i = 0; i + 1 < handles.size(); ++i)
        EXPECT_EQ(find(handles[i]).object, &objects[i]);
    for (std::uint64_t each : handles)
        EXPECT_EQ(table.release(each), HB_OK);
}

// A slot's generation wraps after 2^31 uses; a kept handle of its first use
// would then match again. The slot is retired instead.
TEST(HandleTableRenewal, ASlotWhoseGenerationWouldWrapIsRetired)
{
    std::thread([] { // a table of its own: the retired slot stays out of the other tests' way
        HandleTable &table = HandleTable::current();
        int a = 1, b = 2;
        std::uint64_t first = table.acquire(&a);
        unsigned slot = static_cast<unsigned>(first >> 32) & 0xff;
        ASSERT_EQ(table.release(first), HB_OK);
        table.set_generation_for_test(slot, 0xfffffffeu); // free, one use before the wrap
        std::uint64_t last = table.acquire(&a);           // LIFO: the same slot
        ASSERT_EQ(static_cast<unsigned>(last >> 32) & 0xff, slot);
        ASSERT_EQ(static_cast<std::uint32_t>(last), 0xffffffffu);
        ASSERT_EQ(table.release(last), HB_OK);

        std::uint64_t next = table.acquire(&b);
        ASSERT_NE(next, 0u);
        EXPECT_NE(static_cast<unsigned>(next >> 32) & 0xff, slot) << "a wrapped slot was reused";
        EXPECT_EQ(find(first).error, HB_E_HANDLE);
        EXPECT_EQ(find(last).error, HB_E_HANDLE);
        EXPECT_EQ(find(next).object, &b);
        EXPECT_EQ(table.release(next), HB_OK);
    })
        .join();
}

// Once every slot is retired the table renews under a fresh id: all it ever
// handed out stays stale, and it serves on.
TEST(HandleTableRenewal, EveryHandleStaysStaleAcrossARenewal)
{
    std::thread([] { // a table of its own, so that no other test sees it renew
        HandleTable &table = HandleTable::current();
        std::uint32_t old_id = table.id();
        std::vector<int> objects(HandleTable::kSlots);
        std::vector<std::uint64_t> kept;
        for (unsigned i = 0; i < HandleTable::kSlots; ++i)
            table.set_generation_for_test(i, 0xfffffffeu);
        for (unsigned i = 0; i < HandleTable::kSlots; ++i)
            kept.push_back(table.acquire(&objects[i]));
        for (std::uint64_t h : kept)
            ASSERT_EQ(table.release(h), HB_OK);

        int fresh = 0;
        std::uint64_t h = table.acquire(&fresh);
        ASSERT_NE(h, 0u);
        EXPECT_NE(table.id(), old_id);
        EXPECT_EQ(find(h).object, &fresh);
        for (std::uint64_t old : kept)
            EXPECT_EQ(find(old).error, HB_E_HANDLE);
        EXPECT_EQ(table.release(h), HB_OK);
    })
        .join();
}

// Table ids are never reused: a handle kept from a thread that has ended is
// refused by every later thread's table.
TEST(HandleTableRenewal, AnEndedThreadsHandlesNeverMatchALaterTable)
{
    std::uint64_t kept = 0;
    int object = 0;
    std::thread([&] {
        kept = HandleTable::current().acquire(&object);
        HandleTable::current().release(kept);
    }).join();
    std::set<std::uint32_t> ids;
    for (int i = 0; i < 50; ++i) {
        std::thread([&] {
            HandleTable &table = HandleTable::current();
            ids.insert(table.id());
            int mine = 0;
            std::uint64_t h = table.acquire(&mine); // generation 1 of slot 0, as kept had
            EXPECT_NE(h, kept);
            EXPECT_EQ(find(kept).object, nullptr);
            table.release(h);
        }).join();
    }
    EXPECT_EQ(ids.size(), 50u);
    EXPECT_EQ(ids.count(static_cast<std::uint32_t>(kept >> 40)), 0u);
}

TEST_F(HandleTableTest, EachThreadHasItsOwnTable)
{
    std::uint32_t mine = HandleTable::current().id();
    std::uint32_t theirs = 0;
    std::thread([&] { theirs = HandleTable::current().id(); }).join();
    EXPECT_NE(mine, 0u);
    EXPECT_NE(theirs, 0u);
    EXPECT_NE(mine, theirs);
}

// A thread that acquires one handle, then waits until told to release it and end.
class HandleOwner
{
public:
    HandleOwner()
        : thread_([this] {
              int object = 7;
              HandleTable &table = HandleTable::current();
              std::uint64_t h = table.acquire(&object);
              {
                  std::unique_lock<std::mutex> lock(mutex_);
                  handle_ = h;
                  cv_.notify_all();
                  cv_.wait(lock, [this] { return finish_; });
                  still_found_ = table.lookup(h, &error_) == &object;
              }
              table.release(h);
          })
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait(lock, [this] { return handle_ != 0; });
    }
    ~HandleOwner() { end(); }

    std::uint64_t handle() const { return handle_; }
    // Let the thread check its handle one last time, release it and exit.
    bool end()
    {
        if (thread_.joinable()) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                finish_ = true;
                cv_.notify_all();
            }
            thread_.join();
        }
        return still_found_;
    }

private:
    std::mutex mutex_;
    std::condition_variable cv_;
    std::uint64_t handle_ = 0;
    bool finish_ = false;
    bool still_found_ = false;
    int error_ = HB_OK;
    std::thread thread_;
};

TEST_F(HandleTableTest, HandleFromAnotherLiveThreadIsAThreadError)
{
    HandleOwner owner;
    Found f = find(owner.handle());
    EXPECT_EQ(f.object, nullptr);
    EXPECT_EQ(f.error, HB_E_THREAD);
    // Releasing it here is refused too, and does not disturb the owner.
    EXPECT_EQ(HandleTable::current().release(owner.handle()), HB_E_THREAD);
    EXPECT_TRUE(owner.end()) << "the owner lost its handle to another thread's release";
}

TEST_F(HandleTableTest, HandleOfAThreadThatEndedIsStale)
{
    std::uint64_t h = 0;
    {
        HandleOwner owner;
        h = owner.handle();
        owner.end();
    }
    Found f = find(h);
    EXPECT_EQ(f.object, nullptr);
    EXPECT_EQ(f.error, HB_E_HANDLE);
}

// Many threads at once, each acquiring, looking up and releasing its own
// handles while trying every other thread's published handles. Every answer
// must be the right one; run it under ASan and UBSan too (make sanitize).
TEST_F(HandleTableTest, ConcurrentThreadsAlwaysGetTheRightAnswer)
{
    constexpr int kThreads = 8;
    constexpr int kRounds = 2000;
    constexpr int kPerRound = 8;

    std::vector<std::atomic<std::uint64_t>> published(kThreads);
    std::atomic<int> wrong{0}, foreign_checks{0}, still_running{kThreads};
    std::mutex mutex;
    std::condition_variable all_done;

    auto body = [&](int me) {
        HandleTable &table = HandleTable::current();
        std::mt19937_64 random(static_cast<std::uint64_t>(me) + 1);
        int objects[kPerRound];
        std::uint64_t handles[kPerRound];
        for (int round = 0; round < kRounds; ++round) {
            for (int i = 0; i < kPerRound; ++i) {
                handles[i] = table.acquire(&objects[i]);
                if (handles[i] == 0)
                    ++wrong;
            }
            published[me].store(handles[round % kPerRound], std::memory_order_relaxed);
            for (int i = 0; i < kPerRound; ++i) {
                int error = HB_OK;
                if (table.lookup(handles[i], &error) != &objects[i])
                    ++wrong;
            }
            // Someone else's handle: live or just released, it is never ours to use.
            int other = static_cast<int>(random() % kThreads);
            std::uint64_t theirs = published[other].load(std::memory_order_relaxed);
            if (other != me && theirs != 0) {
                int error = HB_OK;
                if (table.lookup(theirs, &error) != nullptr || error != HB_E_THREAD)
                    ++wrong;
                if (table.release(theirs) != HB_E_THREAD)
                    ++wrong;
                ++foreign_checks;
            }
            // A made-up handle.
            int error = HB_OK;
            if (table.lookup(random(), &error) != nullptr)
                ++wrong;
            for (int i = 0; i < kPerRound; ++i)
                if (table.release(handles[i]) != HB_OK)
                    ++wrong;
            // Our released handle, now stale.
            if (table.lookup(handles[0], &error) != nullptr || error != HB_E_HANDLE)
                ++wrong;
        }
        // Stay alive until everyone is done, so a handle seen as "another
        // live thread's" really belongs to a live thread.
        std::unique_lock<std::mutex> lock(mutex);
        if (--still_running == 0)
            all_done.notify_all();
        all_done.wait(lock, [&] { return still_running == 0; });
    };

    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back(body, t);
    for (auto &t : threads)
        t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_GT(foreign_checks.load(), 0);
}

} // namespace
