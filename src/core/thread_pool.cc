#include "core/thread_pool.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HEARTH_PAUSE() _mm_pause()
#else
#define HEARTH_PAUSE() ((void)0)
#endif

namespace hearth {

ThreadPool::ThreadPool(int n_threads) : n_threads_(std::max(1, n_threads)) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    // Spin a little: consecutive jobs in a forward pass arrive microseconds apart.
    // Past the first few thousand pauses, yield between checks: on a machine with more runnable
    // threads than cores, a spinning worker would otherwise hold the core the caller needs.
    int spins = 0;
    while (generation_.load(std::memory_order_acquire) == seen && spins < 20000) {
      HEARTH_PAUSE();
      if (++spins > 4000 && spins % 64 == 0) std::this_thread::yield();
    }
    if (generation_.load(std::memory_order_acquire) == seen) {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
    }
    seen = generation_.load(std::memory_order_acquire);
    if (stop_) return;
    job_call_(job_obj_, index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::RunOnAllImpl(void* obj, ThreadFn call) {
  if (n_threads_ == 1) {
    call(obj, 0);
    return;
  }
  // Several threads may share one pool (two models' schedulers): they take turns.
  std::lock_guard<std::mutex> turn(call_mu_);
  job_obj_ = obj;
  job_call_ = call;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  cv_.notify_all();
  call(obj, 0);
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    HEARTH_PAUSE();
    if (spins > 4000) std::this_thread::yield();  // a worker was descheduled: let it run
  }
  job_obj_ = nullptr;
  job_call_ = nullptr;
}

void ThreadPool::ParallelForImpl(int64_t n, int64_t grain, void* obj, RangeFn call) {
  if (n <= 0) return;
  grain = std::max<int64_t>(1, grain);
  const int64_t units = (n + grain - 1) / grain;
  const int64_t parts = std::min<int64_t>(units, n_threads_);
  if (parts <= 1) {
    call(obj, 0, n, 0);
    return;
  }
  auto job = [&](int t) {
    if (t >= parts) return;
    const int64_t u0 = units * t / parts, u1 = units * (t + 1) / parts;
    const int64_t b = u0 * grain, e = std::min(n, u1 * grain);
    if (b < e) call(obj, b, e, t);
  };
  RunOnAll(job);
}

int ThreadPool::DefaultThreads() {
  // Count distinct (physical id, core id) pairs; fall back to the logical count.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  std::string line;
  int phys = 0;
  while (std::getline(in, line)) {
    if (line.rfind("physical id", 0) == 0) phys = std::atoi(line.substr(line.find(':') + 1).c_str());
    if (line.rfind("core id", 0) == 0)
      cores.insert({phys, std::atoi(line.substr(line.find(':') + 1).c_str())});
  }
  int n = static_cast<int>(cores.size());
  int logical = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0) n = logical;
  return std::max(1, std::min(n, logical > 0 ? logical : n));
}

}  // namespace hearth
