#include "backends/pool.h"

#include <algorithm>
#include <cmath>

namespace hearth::backends {

using Clock = std::chrono::steady_clock;

struct Pool::Slot {
  std::unique_ptr<Backend> backend;
  int max_retries = 2;
  int in_flight = 0;
  int consecutive_failures = 0;
  bool healthy = true;
  Clock::time_point cooldown_until{};
  int64_t requests = 0;
  int64_t failures = 0;
};

namespace {

// Failures that say something about the backend (not about the request or the client).
bool CountsAgainstBackend(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kCancelled:
      return false;
    default:
      return true;
  }
}

int64_t MsUntil(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count();
}

// Sleeps up to `ms`, waking early when the request is cancelled. Returns false when cancelled.
bool SleepUnlessCancelled(int64_t ms, const std::atomic<bool>* cancel) {
  auto until = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < until) {
    if (cancel != nullptr && cancel->load()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(
        std::chrono::milliseconds(10), until - Clock::now()));
  }
  return cancel == nullptr || !cancel->load();
}

}  // namespace

Pool::Pool(PoolOptions options) : options_(options) {
  rng_state_ = options_.seed != 0 ? options_.seed
                                  : static_cast<uint64_t>(Clock::now().time_since_epoch().count()) | 1;
  if (options_.health_interval_ms > 0) health_thread_ = std::thread([this] { HealthLoop(); });
}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  health_cv_.notify_all();
  if (health_thread_.joinable()) health_thread_.join();
}

void Pool::Add(std::unique_ptr<Backend> backend, int max_retries) {
  CHECK(backend != nullptr);
  auto slot = std::make_unique<Slot>();
  slot->backend = std::move(backend);
  slot->max_retries = std::max(0, max_retries);
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& s : slots_) CHECK(s->backend->name() != slot->backend->name()) << "duplicate backend " << s->backend->name();
  slots_.push_back(std::move(slot));
}

bool Pool::Available(const Slot& slot, Clock::time_point now) const {
  return slot.healthy && now >= slot.cooldown_until;
}

Pool::Slot* Pool::Pick(Tier tier, const Slot* avoid) {
  auto now = Clock::now();
  Slot* best = nullptr;
  auto better = [&](const Slot* a, const Slot* b) {  // is a better than b
    if (b == nullptr) return true;
    if ((a == avoid) != (b == avoid)) return b == avoid;
    if (a->in_flight != b->in_flight) return a->in_flight < b->in_flight;
    return a->requests < b->requests;  // spread ties
  };
  for (auto& s : slots_) {
    if (s->backend->tier() != tier || !Available(*s, now)) continue;
    if (better(s.get(), best)) best = s.get();
  }
  return best;
}

void Pool::RecordOutcome(Slot* slot, const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  --slot->in_flight;
  if (status.ok()) {
    slot->consecutive_failures = 0;
    slot->healthy = true;
    return;
  }
  if (!CountsAgainstBackend(status)) return;
  ++slot->failures;
  if (++slot->consecutive_failures >= options_.failures_before_cooldown) {
    slot->cooldown_until = Clock::now() + std::chrono::milliseconds(options_.cooldown_ms);
  }
}

int64_t Pool::BackoffMs(int attempt, const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  rng_state_ ^= rng_state_ << 13;
  rng_state_ ^= rng_state_ >> 7;
  rng_state_ ^= rng_state_ << 17;
  double jitter = 0.5 + static_cast<double>(rng_state_ >> 11) / static_cast<double>(1ull << 53);
  double base = static_cast<double>(options_.base_backoff_ms) * std::pow(2.0, attempt - 1);
  int64_t wait = static_cast<int64_t>(std::min(base, static_cast<double>(options_.max_backoff_ms)) * jitter);
  if (std::optional<int64_t> after = RetryAfterMs(status)) wait = std::max(wait, *after);
  return wait;
}

Result<ChatResult> Pool::Complete(Tier tier, const ChatRequest& request, const ChunkCallback* stream) {
  return Run(tier, nullptr, request, stream);
}

Result<ChatResult> Pool::CompleteOn(std::string_view backend_name, const ChatRequest& request,
                                    const ChunkCallback* stream) {
  Slot* fixed = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : slots_) {
      if (s->backend->name() == backend_name) fixed = s.get();
    }
  }
  if (fixed == nullptr) return NotFoundError("no backend named \"" + std::string(backend_name) + "\"");
  return Run(fixed->backend->tier(), fixed, request, stream);
}

Result<ChatResult> Pool::Run(Tier tier, Slot* fixed, const ChatRequest& request,
                             const ChunkCallback* stream) {
  auto start = Clock::now();
  const bool has_deadline = request.timeout_ms > 0;
  auto deadline = start + std::chrono::milliseconds(request.timeout_ms);
  Status last;
  Slot* previous = nullptr;
  int max_retries = -1;
  for (int attempt = 1;; ++attempt) {
    Slot* slot = nullptr;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (fixed != nullptr) {
        if (Available(*fixed, Clock::now())) slot = fixed;
      } else {
        slot = Pick(tier, previous);
      }
      if (slot != nullptr) {
        ++slot->in_flight;
        ++slot->requests;
        if (max_retries < 0) max_retries = slot->max_retries;
      }
    }
    if (slot == nullptr) {
      std::string what = fixed != nullptr ? "backend \"" + fixed->backend->name() + "\" is unhealthy or cooling down"
                                          : "no available backend in tier " + std::string(TierName(tier));
      if (last.ok()) return UnavailableError(what);
      return last.WithContext(what + " after " + std::to_string(attempt - 1) + " attempt(s)");
    }
    ChatRequest attempt_request = request;
    if (has_deadline) attempt_request.timeout_ms = std::max<int64_t>(1, MsUntil(deadline));
    int64_t chunks_sent = 0;
    ChunkCallback counting;
    if (stream != nullptr) {
      counting = [&](const nlohmann::json& chunk) {
        ++chunks_sent;
        return (*stream)(chunk);
      };
    }
    Result<ChatResult> result = slot->backend->Complete(attempt_request, stream ? &counting : nullptr);
    RecordOutcome(slot, result.status());
    if (result.ok()) {
      result->attempts = attempt;
      result->latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      return result;
    }
    last = result.status();
    bool cancelled = request.cancel != nullptr && request.cancel->load();
    if (!IsRetryable(last) || chunks_sent > 0 || attempt > max_retries || cancelled) return last;
    std::optional<int64_t> retry_after = RetryAfterMs(last);
    if (retry_after && *retry_after > options_.max_retry_after_ms) return last;
    int64_t wait = BackoffMs(attempt, last);
    if (has_deadline && wait >= MsUntil(deadline)) return last;
    if (!SleepUnlessCancelled(wait, request.cancel)) return CancelledError("cancelled while waiting to retry");
    previous = slot;
  }
}

bool Pool::HasTier(Tier tier) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& s : slots_) {
    if (s->backend->tier() == tier) return true;
  }
  return false;
}

bool Pool::TierAvailable(Tier tier) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = Clock::now();
  for (const auto& s : slots_) {
    if (s->backend->tier() == tier && Available(*s, now)) return true;
  }
  return false;
}

const Backend* Pool::Find(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& s : slots_) {
    if (s->backend->name() == name) return s->backend.get();
  }
  return nullptr;
}

std::vector<BackendState> Pool::States() const {
  std::lock_guard<std::mutex> lock(mu_);
  auto now = Clock::now();
  std::vector<BackendState> out;
  for (const auto& s : slots_) {
    out.push_back({s->backend->name(), s->backend->tier(), s->in_flight, s->consecutive_failures,
                   s->healthy, now < s->cooldown_until, s->requests, s->failures});
  }
  return out;
}

void Pool::CheckHealthNow() {
  std::vector<Slot*> slots;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : slots_) slots.push_back(s.get());
  }
  for (Slot* s : slots) {
    Status health = s->backend->Health();
    std::lock_guard<std::mutex> lock(mu_);
    s->healthy = health.ok();
  }
}

void Pool::HealthLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    health_cv_.wait_for(lock, std::chrono::milliseconds(options_.health_interval_ms),
                        [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    CheckHealthNow();
    lock.lock();
  }
}

}  // namespace hearth::backends
