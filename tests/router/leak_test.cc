// Zero leaks: the prompts of tests/router/leak_corpus/ (personal data and secrets in varied
// forms, wrapped in hard tasks) go through the real Router, Pool, HTTP adapters and audit log to
// loopback OpenAI, Anthropic and Gemini servers that record every byte they receive.
//
//  1. Default policy: no sensitive string ever reaches a recorder, and every prompt would have
//     escalated if its data had not been detected (checked on the prompt with the data removed).
//  2. A redacting policy (personal data -> escalate_redacted, secrets -> block): the cloud
//     receives placeholders only, and the client gets the originals back.
// In both, the audit log holds exactly one record per request the recorders received, with the
// SHA-256 of the exact body bytes, and the ledger one row per request.
// Faults: with every cloud down, slow, rate-limited, failing, cutting streams or sending malformed
// JSON, hard requests fall back to local (or fail cleanly once a stream has started), nothing
// hangs, and the ledger keeps one row per request.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "backends/factory.h"
#include "backends/fake_providers.h"
#include "backends/pool.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "router/pool_dispatcher.h"
#include "router/router.h"

namespace hearth::router {
namespace {

using nlohmann::json;

struct LeakPrompt {
  std::string id, model, prompt;
  std::vector<std::string> sensitive;
};

std::vector<LeakPrompt> LoadCorpus() {
  std::ifstream in(std::string(HEARTH_SOURCE_DIR) + "/tests/router/leak_corpus/prompts.jsonl");
  std::vector<LeakPrompt> out;
  std::string line;
  while (std::getline(in, line)) {
    const json j = json::parse(line);
    out.push_back({j["id"], j["model"], j["prompt"], j["sensitive"].get<std::vector<std::string>>()});
  }
  return out;
}

// The in-process engine stand-in: answers "Echo: <last user text>", streamed or not.
class EchoEngine : public backends::Backend {
 public:
  const std::string& name() const override { return name_; }
  backends::Tier tier() const override { return backends::Tier::kDevice; }
  const std::string& model() const override { return model_; }
  Status Health() override { return Status::Ok(); }
  Result<backends::ChatResult> Complete(const backends::ChatRequest& req,
                                        const backends::ChunkCallback* stream) override {
    const std::string text = "Echo: " + req.body["messages"].back()["content"].get<std::string>();
    backends::ChatResult r;
    r.backend = name_;
    r.model = model_;
    r.usage = {10, 10};
    r.response = {{"object", "chat.completion"},
                  {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}, {"finish_reason", "stop"}}}}};
    if (stream) {
      (*stream)(json{{"choices", {{{"index", 0}, {"delta", {{"content", text}}}, {"finish_reason", "stop"}}}}});
    }
    return r;
  }

 private:
  std::string name_ = "engine", model_ = "gemma-3-4b";
};

class World {
 public:
  explicit World(const Policy& policy, int64_t timeout_ms = 5000) {
    dir_ = std::filesystem::temp_directory_path() / ("hearth_leak_" + std::to_string(getpid()) + "_" +
                                                     std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    audit_ = std::move(ledger::AuditLog::Open((dir_ / "audit.log").string()).value());
    ledger_ = std::move(ledger::Ledger::Open((dir_ / "ledger.db").string()).value());
    backends::PoolOptions po;
    po.base_backoff_ms = 1;
    po.seed = 7;
    pool_ = std::make_unique<backends::Pool>(po);
    pool_->Add(std::make_unique<EchoEngine>());
    backends::NetworkOptions net;
    net.egress = [this](const backends::EgressRecord& e) {
      ledger::AuditRecord a;
      a.backend = e.backend;
      a.host = e.host;
      a.sha256_hex = e.sha256_hex;
      a.entity_types = e.redacted_entity_types;
      a.bytes = e.bytes;
      a.request_id = e.request_id;
      return audit_->Append(a);
    };
    struct Cloud {
      fakes::FakeProvider* fake;
      const char* name;
      backends::BackendKind kind;
      const char* model;
    };
    for (const Cloud& c : {Cloud{&openai_, "openai", backends::BackendKind::kOpenAi, "gpt-4o"},
                           Cloud{&anthropic_, "anthropic", backends::BackendKind::kAnthropic, "claude-sonnet-4"},
                           Cloud{&gemini_, "gemini", backends::BackendKind::kGemini, "gemini-2.0-flash"}}) {
      backends::BackendConfig cfg;
      cfg.name = c.name;
      cfg.tier = backends::Tier::kCloud;
      cfg.kind = c.kind;
      cfg.url = c.fake->base_url();
      cfg.model = c.model;
      cfg.timeout_ms = timeout_ms;
      auto b = backends::CreateBackend(cfg, net);
      EXPECT_TRUE(b.ok()) << b.status().ToString();
      pool_->Add(std::move(b).value(), /*max_retries=*/0);
    }
    dispatcher_ = std::make_unique<PoolDispatcher>(pool_.get());
    RouterOptions o;
    o.policy = policy;
    o.local_context_tokens = 8192;
    o.record = [this](const ledger::Entry& e) { return ledger_->Record(e); };
    router_ = std::move(Router::Create(std::move(o), dispatcher_.get()).value());
  }
  ~World() { std::filesystem::remove_all(dir_); }

  Router& router() { return *router_; }
  std::vector<fakes::FakeProvider*> fakes() { return {&openai_, &anthropic_, &gemini_}; }
  int64_t ledger_rows() { return ledger_->Count().value(); }

  // Every audit record's sha256 equals the SHA-256 of one body a recorder received, one to one.
  void ExpectAuditMatchesRecorders() {
    std::vector<std::string> audited, received;
    std::ifstream in(dir_ / "audit.log");
    std::string line;
    while (std::getline(in, line)) audited.push_back(json::parse(line)["sha256"]);
    for (fakes::FakeProvider* f : fakes()) {
      for (const fakes::RecordedRequest& r : f->requests()) received.push_back(ledger::Sha256Hex(r.body));
    }
    std::sort(audited.begin(), audited.end());
    std::sort(received.begin(), received.end());
    EXPECT_EQ(audited, received);
    auto report = ledger::Verify((dir_ / "audit.log").string());
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok) << report->detail;
  }

  // No sensitive string (nor its digits-only form, for numbers) in any byte any recorder got.
  void ExpectNoLeak(const std::vector<LeakPrompt>& corpus) {
    std::string all;
    for (fakes::FakeProvider* f : fakes()) all += f->AllReceivedBytes();
    for (const LeakPrompt& p : corpus) {
      for (const std::string& s : p.sensitive) {
        EXPECT_EQ(all.find(s), std::string::npos) << p.id << " leaked " << s;
        std::string digits;
        for (char c : s) if (c >= '0' && c <= '9') digits.push_back(c);
        if (digits.size() >= 9 && digits.size() * 2 >= s.size()) {
          EXPECT_EQ(all.find(digits), std::string::npos) << p.id << " leaked digits of " << s;
        }
      }
    }
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path dir_;
  fakes::FakeProvider openai_{fakes::Wire::kOpenAi}, anthropic_{fakes::Wire::kAnthropic},
      gemini_{fakes::Wire::kGemini};
  std::unique_ptr<ledger::AuditLog> audit_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<backends::Pool> pool_;
  std::unique_ptr<PoolDispatcher> dispatcher_;
  std::unique_ptr<Router> router_;
};

json Body(const std::string& model, const std::string& text, bool stream) {
  json b = {{"model", model}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  if (stream) b["stream"] = true;
  return b;
}

std::string Without(std::string text, const std::vector<std::string>& sensitive) {
  for (const std::string& s : sensitive) {
    for (size_t at; (at = text.find(s)) != std::string::npos;) text.replace(at, s.size(), "the record");
  }
  return text;
}

// Sends one request; returns the assistant text the client saw ("" when refused).
std::string Send(Router& router, const json& body, int64_t* requests) {
  ++*requests;
  if (body.value("stream", false)) {
    std::string text;
    auto r = router.HandleStream(body, {}, [&](const json& c) {
      if (!c["choices"].empty() && c["choices"][0]["delta"].contains("content")) {
        text += c["choices"][0]["delta"]["content"].get<std::string>();
      }
      return true;
    });
    return r.ok() ? text : "";
  }
  auto r = router.Handle(body, {});
  return r.ok() ? (*r)["choices"][0]["message"]["content"].get<std::string>() : "";
}

TEST(LeakTest, DefaultPolicySendsNoSensitiveByte) {
  const std::vector<LeakPrompt> corpus = LoadCorpus();
  ASSERT_GE(corpus.size(), 300u);
  World world(DefaultPolicy());
  int64_t requests = 0;
  int refused = 0, local = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const LeakPrompt& p = corpus[i];
    // Without its data the same prompt would have left the machine: the test is not vacuous.
    auto control = world.router().MakePlan(Body(p.model, Without(p.prompt, p.sensitive), false), {});
    ASSERT_TRUE(control.ok());
    EXPECT_TRUE(control->decision.leaves_machine()) << p.id << " " << control->decision.rule;
    const std::string answer = Send(world.router(), Body(p.model, p.prompt, i % 3 == 0), &requests);
    (answer.empty() ? refused : local)++;
    if (!answer.empty()) {
      EXPECT_EQ(answer, "Echo: " + p.prompt) << p.id;
    }
    // Every 10th prompt, send the data-free control for real so the recorders see traffic.
    if (i % 10 == 0) Send(world.router(), Body(p.model, Without(p.prompt, p.sensitive), i % 20 == 0), &requests);
  }
  size_t received = 0;
  for (auto* f : world.fakes()) received += f->request_count();
  std::printf("default policy: %zu prompts, %d kept local, %d refused (named cloud model); "
              "%zu data-free controls reached the recorders\n", corpus.size(), local, refused, received);
  EXPECT_GT(received, 0u);
  world.ExpectNoLeak(corpus);
  world.ExpectAuditMatchesRecorders();
  EXPECT_EQ(world.ledger_rows(), requests);
}

TEST(LeakTest, RedactingPolicySendsPlaceholdersOnly) {
  const std::vector<LeakPrompt> corpus = LoadCorpus();
  auto policy = ParsePolicy(R"(
[[rule]]
name = "secrets-blocked"
when = { sensitivity_at_least = "restricted" }
action = "block"
reason = "secrets never leave"
[[rule]]
name = "pii-redacted"
when = { sensitive = true }
action = "escalate_redacted"
[[rule]]
name = "rest"
action = "escalate"
)", "redacting.toml", {});
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  World world(*policy);
  int64_t requests = 0;
  int restored = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const LeakPrompt& p = corpus[i];
    const std::string answer = Send(world.router(), Body(p.model, p.prompt, i % 2 == 0), &requests);
    if (answer.empty()) continue;  // a secret: refused
    EXPECT_EQ(answer, "Echo: " + p.prompt) << p.id;  // originals restored, streamed or not
    ++restored;
  }
  size_t received = 0;
  for (auto* f : world.fakes()) received += f->request_count();
  std::printf("redacting policy: %d prompts went out redacted and came back restored; recorders got %zu requests\n",
              restored, received);
  EXPECT_GT(restored, 150);
  world.ExpectNoLeak(corpus);
  world.ExpectAuditMatchesRecorders();
  EXPECT_EQ(world.ledger_rows(), requests);
}

TEST(RouterFaultsTest, CloudFaultsFallBackToLocalAndNothingHangs) {
  constexpr int64_t kTimeoutMs = 800;  // the cloud backends' total timeout here
  constexpr int kSlowMs = 3000;        // the slow fake: well beyond it
  const std::string hard =
      "Prove step by step that the harmonic series diverges, then derive a bound on its partial "
      "sums and analyze the asymptotic complexity in detail.";
  const struct {
    fakes::Fault fault;
    const char* name;
  } faults[] = {{fakes::Fault::kSlow, "slow"},
                {fakes::Fault::kRateLimited, "rate_limited"},
                {fakes::Fault::kServerError, "server_error"},
                {fakes::Fault::kMalformedJson, "malformed_json"},
                {fakes::Fault::kCutStream, "cut_stream"},
                {fakes::Fault::kDown, "down"}};
  for (const auto& fc : faults) {
    for (bool stream : {false, true}) {
      SCOPED_TRACE(std::string(fc.name) + (stream ? " streamed" : ""));
      World world(DefaultPolicy(), kTimeoutMs);
      for (fakes::FakeProvider* f : world.fakes()) {
        f->SetSlowMs(kSlowMs);
        f->SetRetryAfterSeconds(1);
        f->SetChunkChars(4);
        f->SetFault(fc.fault);
      }
      const auto t0 = std::chrono::steady_clock::now();
      int64_t requests = 0;
      for (int i = 0; i < 4; ++i) {  // later requests meet the breaker, not the fault
        json body = Body("auto", hard, stream);
        if (!stream) {
          RouteInfo route;
          auto r = world.router().Handle(body, {}, &route);
          ++requests;
          ASSERT_TRUE(r.ok()) << r.status().ToString();
          EXPECT_EQ((*r)["x_route"]["tier"], "device");
          EXPECT_FALSE((*r)["x_route"]["fallback"].is_null());
          EXPECT_EQ((*r)["choices"][0]["message"]["content"], "Echo: " + hard);
        } else {
          std::string text;
          int chunks = 0;
          auto r = world.router().HandleStream(body, {}, [&](const json& c) {
            ++chunks;
            if (!c["choices"].empty() && c["choices"][0]["delta"].contains("content")) {
              text += c["choices"][0]["delta"]["content"].get<std::string>();
            }
            return true;
          });
          ++requests;
          if (r.ok()) {
            EXPECT_EQ(r->tier, Tier::kDevice);
            EXPECT_FALSE(r->fallback.empty());
            EXPECT_EQ(text, "Echo: " + hard);
          } else {
            // Only a stream already under way may fail (the client holds part of a cloud
            // answer, so the router cannot start over locally), and it fails cleanly.
            EXPECT_GT(chunks, 0) << r.status().ToString();
            EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
          }
        }
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_LT(seconds, 4 * (kTimeoutMs / 1000.0) + 5.0) << "something waited too long";
      EXPECT_EQ(world.ledger_rows(), requests);
      world.ExpectAuditMatchesRecorders();
    }
  }
}

}  // namespace
}  // namespace hearth::router
