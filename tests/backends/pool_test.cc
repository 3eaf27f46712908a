// Pool selection, retries with backoff, Retry-After, cooldown and health, with scripted in-process
// backends (no sockets), so the timing assertions are about the pool alone.
#include "backends/pool.h"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <thread>

namespace hearth::backends {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

class ScriptedBackend : public Backend {
 public:
  ScriptedBackend(std::string name, Tier tier) : name_(std::move(name)), tier_(tier) {}
  const std::string& name() const override { return name_; }
  Tier tier() const override { return tier_; }
  const std::string& model() const override { return model_; }

  // Outcomes consumed one per call; when empty, calls succeed.
  void Script(std::vector<Status> outcomes) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& s : outcomes) script_.push_back(std::move(s));
  }
  void set_hold_ms(int ms) { hold_ms_ = ms; }
  void set_health(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    health_ = std::move(s);
  }
  int calls() const { return calls_.load(); }
  std::vector<Clock::time_point> call_times() const {
    std::lock_guard<std::mutex> lock(mu_);
    return times_;
  }

  Result<ChatResult> Complete(const ChatRequest& request, const ChunkCallback* stream) override {
    ++calls_;
    Status outcome;
    {
      std::lock_guard<std::mutex> lock(mu_);
      times_.push_back(Clock::now());
      if (!script_.empty()) {
        outcome = script_.front();
        script_.pop_front();
      }
    }
    if (hold_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(hold_ms_));
    if (stream != nullptr && stream_before_failure_) (*stream)(json{{"choices", json::array()}});
    if (!outcome.ok()) return outcome;
    ChatResult r;
    r.backend = name_;
    r.response = {{"choices", json::array()}};
    return r;
  }
  Status Health() override {
    std::lock_guard<std::mutex> lock(mu_);
    return health_;
  }
  bool stream_before_failure_ = false;

 private:
  std::string name_, model_ = "scripted";
  Tier tier_;
  mutable std::mutex mu_;
  std::deque<Status> script_;
  std::vector<Clock::time_point> times_;
  std::atomic<int> calls_{0};
  int hold_ms_ = 0;
  Status health_;
};

struct Fixture {
  explicit Fixture(PoolOptions o = {}) : pool(o) {}
  ScriptedBackend* Add(const std::string& name, Tier tier, int max_retries = 2) {
    auto b = std::make_unique<ScriptedBackend>(name, tier);
    ScriptedBackend* raw = b.get();
    pool.Add(std::move(b), max_retries);
    return raw;
  }
  Pool pool;
};

PoolOptions Fast() {
  PoolOptions o;
  o.base_backoff_ms = 1;
  o.max_backoff_ms = 4;
  o.seed = 42;
  return o;
}

ChatRequest Req() {
  ChatRequest r;
  r.body = {{"messages", json::array()}};
  return r;
}

TEST(Pool, LeastBusyHealthyBackendIsChosen) {
  Fixture f(Fast());
  ScriptedBackend* a = f.Add("a", Tier::kPrivate);
  ScriptedBackend* b = f.Add("b", Tier::kPrivate);
  f.Add("cloud", Tier::kCloud);
  a->set_hold_ms(300);
  std::thread busy([&] { ASSERT_TRUE(f.pool.Complete(Tier::kPrivate, Req(), nullptr).ok()); });
  while (a->calls() + b->calls() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ScriptedBackend* first = a->calls() == 1 ? a : b;
  ScriptedBackend* other = first == a ? b : a;
  // While `first` holds a request, the next two go to the idle one.
  for (int i = 0; i < 2; ++i) {
    Result<ChatResult> r = f.pool.Complete(Tier::kPrivate, Req(), nullptr);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->backend, other->name());
  }
  busy.join();
  EXPECT_EQ(first->calls(), 1);
  EXPECT_EQ(other->calls(), 2);
}

TEST(Pool, RetriesRetryableErrorsOnAnotherBackendWithBackoff) {
  Fixture f(Fast());
  ScriptedBackend* a = f.Add("a", Tier::kCloud, 2);
  ScriptedBackend* b = f.Add("b", Tier::kCloud, 2);
  a->Script({UnavailableError("a down")});
  b->Script({UnavailableError("b down")});
  Result<ChatResult> r = f.pool.Complete(Tier::kCloud, Req(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->attempts, 3);
  EXPECT_EQ(a->calls() + b->calls(), 3);
  EXPECT_GE(a->calls(), 1);
  EXPECT_GE(b->calls(), 1);
}

TEST(Pool, NonRetryableErrorsReturnAtOnce) {
  Fixture f(Fast());
  ScriptedBackend* a = f.Add("a", Tier::kCloud, 5);
  for (Status s : {InvalidArgumentError("bad request"), PermissionDeniedError("bad key"),
                   NotFoundError("no model"), CancelledError("gone")}) {
    a->Script({s});
    Result<ChatResult> r = f.pool.Complete(Tier::kCloud, Req(), nullptr);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), s.code());
  }
  EXPECT_EQ(a->calls(), 4);
}

TEST(Pool, GivesUpAfterMaxRetries) {
  Fixture f(Fast());
  ScriptedBackend* a = f.Add("a", Tier::kCloud, 2);
  a->Script({UnavailableError("1"), UnavailableError("2"), UnavailableError("3"), UnavailableError("4")});
  Result<ChatResult> r = f.pool.Complete(Tier::kCloud, Req(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(a->calls(), 3) << "one try plus max_retries = 2";
}

TEST(Pool, ExponentialBackoffWithJitterBounds) {
  PoolOptions o;
  o.base_backoff_ms = 40;
  o.max_backoff_ms = 1000;
  o.seed = 1;
  o.failures_before_cooldown = 100;
  Fixture f(o);
  ScriptedBackend* a = f.Add("a", Tier::kCloud, 3);
  a->Script({UnavailableError("1"), UnavailableError("2"), UnavailableError("3")});
  ASSERT_TRUE(f.pool.Complete(Tier::kCloud, Req(), nullptr).ok());
  auto t = a->call_times();
  ASSERT_EQ(t.size(), 4u);
  // Wait n is base * 2^(n-1) * jitter, jitter in [0.5, 1.5); scheduling may only add.
  for (int n = 1; n <= 3; ++n) {
    double ms = std::chrono::duration<double, std::milli>(t[n] - t[n - 1]).count();
    double nominal = 40.0 * (1 << (n - 1));
    EXPECT_GE(ms, 0.5 * nominal) << "wait " << n;
    EXPECT_LT(ms, 1.5 * nominal + 150) << "wait " << n;  // 150 ms: scheduling slack, 2 shared cores
  }
}

TEST(Pool, RetryAfterIsHonouredAndTooLongIsNotWaitedFor) {
  PoolOptions o = Fast();
  o.max_retry_after_ms = 1000;
  Fixture f(o);
  ScriptedBackend* a = f.Add("a", Tier::kCloud, 2);
  a->Script({RateLimitedError("HTTP 429", 150)});
  auto start = Clock::now();
  ASSERT_TRUE(f.pool.Complete(Tier::kCloud, Req(), nullptr).ok());
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(150));

  a->Script({RateLimitedError("HTTP 429", 60000)});
  start = Clock::now();
  Result<ChatResult> r = f.pool.Complete(Tier::kCloud, Req(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(500));
}

TEST(Pool, CooldownAfterConsecutiveFailuresThenRecovery) {
  PoolOptions o = Fast();
  o.failures_before_cooldown = 3;
  o.cooldown_ms = 300;
  Fixture f(o);
  ScriptedBackend* a = f.Add("a", Tier::kCloud, 0);
  a->Script({UnavailableError("1"), UnavailableError("2"), UnavailableError("3")});
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(f.pool.Complete(Tier::kCloud, Req(), nullptr).ok());
  EXPECT_FALSE(f.pool.TierAvailable(Tier::kCloud));
  EXPECT_TRUE(f.pool.States()[0].cooling_down);
  Result<ChatResult> r = f.pool.Complete(Tier::kCloud, Req(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("no available backend in tier cloud"), std::string::npos);
  EXPECT_EQ(a->calls(), 3) << "the open breaker keeps calls away";
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  EXPECT_TRUE(f.pool.TierAvailable(Tier::kCloud));
  ASSERT_TRUE(f.pool.Complete(Tier::kCloud, Req(), nullptr).ok());
  EXPECT_EQ(f.pool.States()[0].consecutive_failures, 0);
}

TEST(Pool, RequestErrorsDoNotOpenTheBreaker) {
  PoolOptions o = Fast();
  o.failures_before_cooldown = 2;
  Fixture f(o);
  ScriptedBackend* a = f.Add("a", Tier::kCloud, 0);
  a->Script({InvalidArgumentError("1"), InvalidArgumentError("2"), InvalidArgumentError("3")});
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(f.pool.Complete(Tier::kCloud, Req(), nullptr).ok());
  EXPECT_TRUE(f.pool.TierAvailable(Tier::kCloud));
}

TEST(Pool, HealthChecksRemoveAndRestoreBackends) {
  Fixture f(Fast());
  ScriptedBackend* a = f.Add("a", Tier::kPrivate);
  ScriptedBackend* b = f.Add("b", Tier::kPrivate);
  a->set_health(UnavailableError("probe failed"));
  f.pool.CheckHealthNow();
  for (int i = 0; i < 3; ++i) {
    Result<ChatResult> r = f.pool.Complete(Tier::kPrivate, Req(), nullptr);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->backend, "b");
  }
  EXPECT_EQ(a->calls(), 0);
  a->set_health(Status::Ok());
  b->set_health(UnavailableError("probe failed"));
  f.pool.CheckHealthNow();
  EXPECT_EQ(f.pool.Complete(Tier::kPrivate, Req(), nullptr)->backend, "a");
}

TEST(Pool, PeriodicHealthThread) {
  PoolOptions o = Fast();
  o.health_interval_ms = 20;
  Fixture f(o);
  ScriptedBackend* a = f.Add("a", Tier::kPrivate);
  a->set_health(UnavailableError("probe failed"));
  auto deadline = Clock::now() + std::chrono::seconds(3);
  while (f.pool.TierAvailable(Tier::kPrivate) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_FALSE(f.pool.TierAvailable(Tier::kPrivate));
  a->set_health(Status::Ok());
  deadline = Clock::now() + std::chrono::seconds(3);
  while (!f.pool.TierAvailable(Tier::kPrivate) && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(f.pool.TierAvailable(Tier::kPrivate));
}

TEST(Pool, StreamingFailureAfterChunksIsNotRetried) {
  Fixture f(Fast());
  ScriptedBackend* a = f.Add("a", Tier::kCloud, 3);
  a->stream_before_failure_ = true;
  a->Script({UnavailableError("cut")});
  ChunkCallback cb = [](const json&) { return true; };
  Result<ChatResult> r = f.pool.Complete(Tier::kCloud, Req(), &cb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(a->calls(), 1);
}

TEST(Pool, NamedBackendAndUnknownNames) {
  Fixture f(Fast());
  f.Add("a", Tier::kCloud);
  f.Add("b", Tier::kCloud);
  EXPECT_EQ(f.pool.CompleteOn("b", Req(), nullptr)->backend, "b");
  EXPECT_EQ(f.pool.CompleteOn("zzz", Req(), nullptr).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(f.pool.HasTier(Tier::kCloud));
  EXPECT_FALSE(f.pool.HasTier(Tier::kPrivate));
  EXPECT_FALSE(f.pool.TierAvailable(Tier::kPrivate));
  EXPECT_EQ(f.pool.Complete(Tier::kPrivate, Req(), nullptr).status().code(), StatusCode::kUnavailable);
  EXPECT_NE(f.pool.Find("a"), nullptr);
}

TEST(Pool, DeadlineBoundsRetries) {
  PoolOptions o;
  o.base_backoff_ms = 200;
  o.seed = 3;
  Fixture f(o);
  ScriptedBackend* a = f.Add("a", Tier::kCloud, 5);
  a->Script({UnavailableError("1"), UnavailableError("2"), UnavailableError("3")});
  ChatRequest req = Req();
  req.timeout_ms = 150;  // less than the first backoff's minimum (100 ms) plus the second
  auto start = Clock::now();
  Result<ChatResult> r = f.pool.Complete(Tier::kCloud, req, nullptr);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(400));
  EXPECT_LE(a->calls(), 2);
}

}  // namespace
}  // namespace hearth::backends
