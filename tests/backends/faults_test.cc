// Every fault mode of every fake, streaming and not: the call fails cleanly with the right code,
// within a bound, and a pool falls back to a healthy backend unless chunks already reached the
// client. The ledger written from the outcomes stays consistent.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <tuple>

#include "backends/pool.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "test_util.h"

namespace hearth::backends {
namespace {

using fakes::Fault;
using fakes::FakeProvider;
using fakes::Wire;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int64_t kShortTimeoutMs = 600;   // the client's total timeout in these tests
constexpr int kSlowMs = 4000;              // what the slow fake waits: well beyond the timeout

struct FaultCase {
  Fault fault;
  StatusCode code;
  const char* name;
};

const FaultCase kFaults[] = {
    {Fault::kDown, StatusCode::kUnavailable, "down"},
    {Fault::kSlow, StatusCode::kDeadlineExceeded, "slow"},
    {Fault::kRateLimited, StatusCode::kResourceExhausted, "rate_limited"},
    {Fault::kServerError, StatusCode::kUnavailable, "server_error"},
    {Fault::kCutStream, StatusCode::kUnavailable, "cut"},
    {Fault::kMalformedJson, StatusCode::kUnavailable, "malformed_json"},
    {Fault::kWrongContentType, StatusCode::kUnavailable, "wrong_content_type"},
};

const char* WireName(Wire w) {
  return w == Wire::kOpenAi ? "openai" : w == Wire::kAnthropic ? "anthropic" : "gemini";
}

class FaultTest : public ::testing::TestWithParam<std::tuple<Wire, int, bool>> {};

TEST_P(FaultTest, FailsCleanlyWithTheRightCode) {
  auto [wire, fault_index, streaming] = GetParam();
  const FaultCase& fc = kFaults[fault_index];
  FakeProvider fake(wire);
  fake.SetSlowMs(kSlowMs);
  fake.SetRetryAfterSeconds(2);
  EgressLog log;
  BackendConfig config = ConfigFor(fake, "faulty", "m");
  config.timeout_ms = kShortTimeoutMs;
  auto backend = std::move(CreateBackend(config, NetworkOptions{false, log.observer()})).value();
  fake.SetFault(fc.fault);

  ChatRequest req;
  req.body = SimpleBody("fault test");
  std::vector<json> chunks;
  ChunkCallback cb = [&](const json& c) {
    chunks.push_back(c);
    return true;
  };
  auto start = Clock::now();
  Result<ChatResult> r = backend->Complete(req, streaming ? &cb : nullptr);
  auto elapsed = Clock::now() - start;

  ASSERT_FALSE(r.ok()) << "fault " << fc.name << " was not detected";
  EXPECT_EQ(r.status().code(), fc.code) << r.status().ToString();
  EXPECT_LT(elapsed, kFaultTestBound);
  EXPECT_EQ(r.status().message().rfind("backend faulty", 0), 0u) << r.status().message();
  if (fc.fault == Fault::kRateLimited) EXPECT_EQ(RetryAfterMs(r.status()), 2000);
  if (fc.fault == Fault::kSlow) {
    EXPECT_LT(elapsed, std::chrono::milliseconds(kShortTimeoutMs + 1500));
  }
  if (fc.fault == Fault::kDown) {
    EXPECT_TRUE(log.records().empty()) << "nothing left: nothing to audit";
  } else {
    // Whatever reached the fake was reported first, byte for byte.
    ASSERT_EQ(fake.request_count(), 1u);
    ASSERT_EQ(log.records().size(), 1u);
    EXPECT_EQ(log.records()[0].sha256_hex, ledger::Sha256Hex(fake.requests()[0].body));
  }
}

INSTANTIATE_TEST_SUITE_P(
    AllWiresAllFaults, FaultTest,
    ::testing::Combine(::testing::Values(Wire::kOpenAi, Wire::kAnthropic, Wire::kGemini),
                       ::testing::Range(0, static_cast<int>(std::size(kFaults))), ::testing::Bool()),
    [](const auto& info) {
      return std::string(WireName(std::get<0>(info.param))) + "_" +
             kFaults[std::get<1>(info.param)].name + (std::get<2>(info.param) ? "_stream" : "_plain");
    });

// A pool with a faulty and a healthy cloud backend: every fault falls back (non-streaming), the
// ledger gets one consistent row per request.
TEST(FaultFallback, PoolFallsBackForEveryFaultAndLedgerStaysConsistent) {
  std::filesystem::path db = std::filesystem::temp_directory_path() / "hearth_faults_ledger.db";
  std::filesystem::remove(db);
  ledger::LedgerOptions lopts;
  lopts.prices["m"] = {1.0, 2.0};
  auto ledger = std::move(ledger::Ledger::Open(db.string(), lopts)).value();

  int requests = 0;
  for (const FaultCase& fc : kFaults) {
    FakeProvider bad(Wire::kOpenAi), good(Wire::kAnthropic);
    bad.SetSlowMs(kSlowMs);
    bad.SetRetryAfterSeconds(0);
    EgressLog log;
    PoolOptions popts;
    popts.base_backoff_ms = 1;
    popts.seed = 7;
    Pool pool(popts);
    BackendConfig bc = ConfigFor(bad, "bad", "m");
    bc.timeout_ms = kShortTimeoutMs;
    pool.Add(std::move(CreateBackend(bc, NetworkOptions{false, log.observer()})).value(), 1);
    pool.Add(std::move(CreateBackend(ConfigFor(good, "good", "m"), NetworkOptions{false, log.observer()})).value(), 1);
    bad.SetFault(fc.fault);
    // Make "bad" the first pick: it has fewer requests only if "good" already served one.
    ChatRequest warm;
    warm.body = SimpleBody("warm");
    ASSERT_TRUE(pool.CompleteOn("good", warm, nullptr).ok());

    ChatRequest req;
    req.body = SimpleBody("needs an answer");
    req.request_id = std::string("req-") + fc.name;
    auto start = Clock::now();
    Result<ChatResult> r = pool.Complete(Tier::kCloud, req, nullptr);
    EXPECT_LT(Clock::now() - start, kFaultTestBound);
    ASSERT_TRUE(r.ok()) << fc.name << ": " << r.status().ToString();
    EXPECT_EQ(r->backend, "good") << fc.name;
    EXPECT_EQ(r->attempts, 2) << fc.name;
    EXPECT_EQ(r->response["choices"][0]["message"]["content"], "Echo: needs an answer");
    if (fc.fault != Fault::kDown) EXPECT_EQ(bad.request_count(), 1u) << fc.name;
    ledger::Entry e;
    e.request_id = req.request_id;
    e.tier = "cloud";
    e.backend = r->backend;
    e.model = "m";
    e.rule = "test";
    e.prompt_tokens = r->usage.prompt_tokens;
    e.completion_tokens = r->usage.completion_tokens;
    e.latency_ms = r->latency_ms;
    ASSERT_TRUE(ledger->Record(e).ok());
    ++requests;
  }
  auto entries = std::move(ledger->Entries()).value();
  ASSERT_EQ(static_cast<int>(entries.size()), requests);
  for (const auto& e : entries) {
    EXPECT_EQ(e.backend, "good");
    EXPECT_EQ(e.status, "ok");
    EXPECT_EQ(e.prompt_tokens, 11);
    EXPECT_DOUBLE_EQ(e.cost_usd, (11 * 1.0 + 7 * 2.0) / 1e6);
  }
  std::filesystem::remove(db);
}

TEST(FaultFallback, NoRetryOnceStreamChunksReachedTheClient) {
  FakeProvider bad(Wire::kOpenAi), good(Wire::kOpenAi);
  bad.SetChunkChars(2);
  EgressLog log;
  PoolOptions popts;
  popts.base_backoff_ms = 1;
  Pool pool(popts);
  pool.Add(std::move(CreateBackend(ConfigFor(bad, "bad", "m"), NetworkOptions{false, log.observer()})).value(), 3);
  pool.Add(std::move(CreateBackend(ConfigFor(good, "good", "m"), NetworkOptions{false, log.observer()})).value(), 3);
  ChatRequest warm;
  warm.body = SimpleBody("warm");
  ASSERT_TRUE(pool.CompleteOn("good", warm, nullptr).ok());
  bad.SetFault(Fault::kCutStream);
  ChatRequest req;
  req.body = SimpleBody("a fairly long prompt so the reply has many chunks");
  int chunks = 0;
  ChunkCallback cb = [&](const json&) {
    ++chunks;
    return true;
  };
  Result<ChatResult> r = pool.Complete(Tier::kCloud, req, &cb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_GT(chunks, 0);
  EXPECT_EQ(good.request_count(), 1u) << "only the warm-up: the broken stream was not replayed";
}

TEST(Cancellation, ClientGoneStopsTheStream) {
  FakeProvider fake(Wire::kOpenAi);
  fake.SetChunkChars(1);
  fake.SetChunkDelayMs(20);
  EgressLog log;
  auto backend = std::move(CreateBackend(ConfigFor(fake, "f", "m"), NetworkOptions{false, log.observer()})).value();
  ChatRequest req;
  req.body = SimpleBody("a long answer please, a long one");
  int chunks = 0;
  ChunkCallback cb = [&](const json&) { return ++chunks < 3; };
  auto start = Clock::now();
  Result<ChatResult> r = backend->Complete(req, &cb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_EQ(chunks, 3);
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(2));
}

TEST(Cancellation, CancelFlagAbortsAWaitingRequest) {
  FakeProvider fake(Wire::kOpenAi);
  fake.SetSlowMs(5000);
  fake.SetFault(Fault::kSlow);
  EgressLog log;
  BackendConfig c = ConfigFor(fake, "f", "m");
  c.timeout_ms = 10000;
  auto backend = std::move(CreateBackend(c, NetworkOptions{false, log.observer()})).value();
  std::atomic<bool> cancel{false};
  ChatRequest req;
  req.body = SimpleBody("x");
  req.cancel = &cancel;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel = true;
  });
  auto start = Clock::now();
  Result<ChatResult> r = backend->Complete(req, nullptr);
  canceller.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled) << r.status().ToString();
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(2500));
}

TEST(Timeouts, RequestDeadlineShortensTheBackendTimeout) {
  FakeProvider fake(Wire::kOpenAi);
  fake.SetSlowMs(3000);
  fake.SetFault(Fault::kSlow);
  EgressLog log;
  BackendConfig c = ConfigFor(fake, "f", "m");
  c.timeout_ms = 10000;
  auto backend = std::move(CreateBackend(c, NetworkOptions{false, log.observer()})).value();
  ChatRequest req;
  req.body = SimpleBody("x");
  req.timeout_ms = 300;
  auto start = Clock::now();
  Result<ChatResult> r = backend->Complete(req, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1500));
}

}  // namespace
}  // namespace hearth::backends
