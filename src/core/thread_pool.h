// ThreadPool: a fixed set of workers that run one parallel-for at a time.
//
// The forward pass calls ParallelFor once per matrix product, so the cost that matters is the
// fork/join latency: workers spin briefly on an atomic generation counter before sleeping on a
// condition variable. The calling thread takes part as worker 0. Callers on different threads may
// share a pool: their parallel-fors run one after another (a job must not start another).
//
//   pool.ParallelFor(n_rows, [&](int64_t begin, int64_t end, int thread) { ... });
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <type_traits>
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
  // last), and runs fn(begin, end, thread_index) on them; returns when all are done. `fn` is
  // called through a reference, never copied: no allocation per call.
  template <typename F>
  void ParallelFor(int64_t n, F&& fn, int64_t grain = 1) {
    using Fn = std::remove_reference_t<F>;
    ParallelForImpl(n, grain, const_cast<void*>(static_cast<const void*>(&fn)),
                    [](void* f, int64_t b, int64_t e, int t) { (*static_cast<Fn*>(f))(b, e, t); });
  }

  // Runs fn(thread_index) once on each of the size() threads.
  template <typename F>
  void RunOnAll(F&& fn) {
    using Fn = std::remove_reference_t<F>;
    RunOnAllImpl(const_cast<void*>(static_cast<const void*>(&fn)),
                 [](void* f, int t) { (*static_cast<Fn*>(f))(t); });
  }

  // Physical cores of this machine (falls back to hardware_concurrency).
  static int DefaultThreads();

 private:
  using RangeFn = void (*)(void*, int64_t, int64_t, int);
  using ThreadFn = void (*)(void*, int);
  void ParallelForImpl(int64_t n, int64_t grain, void* obj, RangeFn call);
  void RunOnAllImpl(void* obj, ThreadFn call);
  void WorkerLoop(int index);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::mutex call_mu_;  // one RunOnAll at a time
  std::condition_variable cv_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  void* job_obj_ = nullptr;  // the running RunOnAll job
  ThreadFn job_call_ = nullptr;
};

}  // namespace hearth
