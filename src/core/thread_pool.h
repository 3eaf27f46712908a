// ThreadPool: a fixed set of workers that run one parallel-for at a time.
//
// The forward pass calls ParallelFor once per matrix product, so the cost that matters is the
// fork/join latency: workers spin briefly on an atomic generation counter before sleeping on a
// condition variable. The calling thread takes part as worker 0.
//
//   pool.ParallelFor(n_rows, [&](int64_t begin, int64_t end, int thread) { ... });
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace hearth {

class ThreadPool {
 public:
  // n_threads >= 1 counts the caller. 1 means: run everything on the caller.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Splits [0, n) into at most size() contiguous chunks, each a multiple of `grain` (except the
  // last), and runs fn(begin, end, thread_index) on them; returns when all are done.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn,
                   int64_t grain = 1);

  // Runs fn(thread_index) once on each of the size() threads.
  void RunOnAll(const std::function<void(int)>& fn);

  // Physical cores of this machine (falls back to hardware_concurrency).
  static int DefaultThreads();

 private:
  void WorkerLoop(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  const std::function<void(int)>* job_ = nullptr;
};

}  // namespace hearth
