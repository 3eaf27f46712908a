#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

namespace hearth {
namespace {

TEST(ThreadPool, CoversRangeExactlyOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 7, 64, 1001}) {
      for (int64_t grain : {1, 4, 32}) {
        std::vector<std::atomic<int>> hits(n);
        pool.ParallelFor(n, [&](int64_t b, int64_t e, int t) {
          EXPECT_LT(t, threads);
          if (e < n) EXPECT_EQ((e - b) % grain, 0);
          for (int64_t i = b; i < e; ++i) hits[i]++;
        }, grain);
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << threads << " " << n;
      }
    }
  }
}

TEST(ThreadPool, ManyJobsInARow) {
  ThreadPool pool(4);
  std::atomic<int64_t> sum{0};
  for (int j = 0; j < 2000; ++j)
    pool.ParallelFor(100, [&](int64_t b, int64_t e, int) { sum += e - b; });
  EXPECT_EQ(sum.load(), 200000);
}

TEST(ThreadPool, RunOnAllUsesEveryThread) {
  ThreadPool pool(3);
  std::vector<std::atomic<int>> seen(3);
  pool.RunOnAll([&](int t) { seen[t]++; });
  for (auto& s : seen) EXPECT_EQ(s.load(), 1);
  EXPECT_GE(ThreadPool::DefaultThreads(), 1);
}

}  // namespace
}  // namespace hearth

// Counts heap allocations made by this test binary (operator new is replaced below).
namespace {
std::atomic<int64_t> g_allocs{0};
}  // namespace
void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace hearth {
namespace {

// The forward pass calls ParallelFor for every matrix product: it must not allocate, whatever the
// callable captures.
TEST(ThreadPool, ParallelForDoesNotAllocate) {
  ThreadPool pool(2);
  int64_t a = 1, b = 2, c = 3, d = 4, e = 5;
  std::atomic<int64_t> sum{0};
  auto body = [&](int64_t lo, int64_t hi, int) { sum += (hi - lo) * (a + b + c + d + e); };
  pool.ParallelFor(100, body);  // warm up (thread start-up)
  const int64_t before = g_allocs.load();
  for (int i = 0; i < 100; ++i) pool.ParallelFor(100, body, 4);
  EXPECT_EQ(g_allocs.load() - before, 0);
  EXPECT_EQ(sum.load(), 101 * 100 * 15);
}

}  // namespace
}  // namespace hearth
