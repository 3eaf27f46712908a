// Pool: several backends per tier; picks the least busy healthy one, retries retryable failures
// with exponential backoff and jitter (on the same or another backend), and cools a backend down
// after consecutive failures (a circuit breaker).
//
// Retries never happen once a streamed chunk has reached the caller's callback: from then on a
// failure is returned as is. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "core/status.h"

namespace hearth::backends {

struct PoolOptions {
  int64_t base_backoff_ms = 200;      // first retry waits base * 2^0 * jitter(0.5..1.5)
  int64_t max_backoff_ms = 5000;      // cap for one wait (a provider's Retry-After wins if larger,
                                      // up to max_retry_after_ms)
  int64_t max_retry_after_ms = 30000; // a longer Retry-After is not waited for: the call fails
  int failures_before_cooldown = 3;   // consecutive failures that open the breaker
  int64_t cooldown_ms = 30000;        // how long an open breaker keeps the backend out
  int64_t health_interval_ms = 0;     // > 0: a thread probes Health() this often
  uint64_t seed = 0;                  // jitter seed (0 = from the clock)
};

// What the pool knows about one backend, for the router's `backend health` feature and metrics.
struct BackendState {
  std::string name;
  Tier tier = Tier::kPrivate;
  int in_flight = 0;
  int consecutive_failures = 0;
  bool healthy = true;        // last health probe (or last call) succeeded
  bool cooling_down = false;  // breaker open now
  int64_t requests = 0;
  int64_t failures = 0;
};

class Pool {
 public:
  explicit Pool(PoolOptions options = {});
  ~Pool();  // stops the health thread
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  // Adds a backend; `max_retries` is its retry budget per call (BackendConfig::max_retries).
  void Add(std::unique_ptr<Backend> backend, int max_retries = 2);

  // Runs the request on the least busy available backend of `tier`.
  // kUnavailable "no available backend in tier cloud" when none is healthy or all are cooling.
  Result<ChatResult> Complete(Tier tier, const ChatRequest& request, const ChunkCallback* stream);
  // Runs it on one named backend (retries stay on it). kNotFound for an unknown name.
  Result<ChatResult> CompleteOn(std::string_view backend_name, const ChatRequest& request,
                                const ChunkCallback* stream);

  bool HasTier(Tier tier) const;        // any backend configured in the tier
  bool TierAvailable(Tier tier) const;  // any healthy, not cooling backend in the tier
  const Backend* Find(std::string_view name) const;
  std::vector<BackendState> States() const;

  // Probes every backend's Health() now and updates its state.
  void CheckHealthNow();

 private:
  struct Slot;
  Slot* Pick(Tier tier, const Slot* avoid);
  bool Available(const Slot& slot, std::chrono::steady_clock::time_point now) const;
  Result<ChatResult> Run(Tier tier, Slot* fixed, const ChatRequest& request,
                         const ChunkCallback* stream);
  void RecordOutcome(Slot* slot, const Status& status);
  int64_t BackoffMs(int attempt, const Status& status);
  void HealthLoop();

  PoolOptions options_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Slot>> slots_;
  uint64_t rng_state_;
  std::thread health_thread_;
  std::condition_variable health_cv_;
  bool stopping_ = false;
};

}  // namespace hearth::backends
