// Router orchestration against an in-memory Dispatcher that records every request body it is
// given: blocks, redacted escalation round trips (plain and streamed), runtime fallback when
// the cloud fails, stage-2 escalation of an unsure local answer, x_route, ledger entries, and the
// router's own decision time (printed, not asserted).
#include <gtest/gtest.h>

#include <cstdio>

#include "router/explain.h"
#include "router/router.h"

namespace hearth::router {
namespace {

using nlohmann::json;

class FakeDispatcher : public Dispatcher {
 public:
  struct Call {
    Tier tier;
    std::string backend;
    std::string body;  // exact serialised body
    std::vector<std::string> redacted;
  };
  std::vector<Call> calls;
  bool cloud_fails = false;
  std::string answer = "ok";  // the cloud echoes placeholders back through this
  std::vector<BackendInfo> backends = {{"engine", Tier::kDevice, "gemma-3-4b", true, 0},
                                       {"openai", Tier::kCloud, "gpt-4o", true, 0}};

  Result<backends::ChatResult> Complete(Tier tier, const std::string& backend,
                                        const backends::ChatRequest& req,
                                        const backends::ChunkCallback* stream) override {
    calls.push_back({tier, backend, req.body.dump(), req.redacted_entity_types});
    if (tier == Tier::kCloud && cloud_fails) return UnavailableError("connection refused");
    // The fake model echoes the last user text, so placeholders come back in the answer.
    std::string text = answer;
    if (answer == "echo") {
      const json& content = req.body["messages"].back()["content"];
      text = content.is_string() ? content.get<std::string>() : content[0]["text"].get<std::string>();
    }
    backends::ChatResult r;
    r.backend = tier == Tier::kDevice ? "engine" : "openai";
    r.model = tier == Tier::kDevice ? "gemma-3-4b" : "gpt-4o";
    r.usage = {100, 20};
    r.response = {{"object", "chat.completion"},
                  {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}},
                                {"finish_reason", "stop"}}}}};
    if (stream) {
      // Three-byte chunks: placeholders are split everywhere.
      for (size_t i = 0; i < text.size(); i += 3) {
        json c = {{"object", "chat.completion.chunk"},
                  {"choices", {{{"index", 0}, {"delta", {{"content", text.substr(i, 3)}}}, {"finish_reason", nullptr}}}}};
        if (!(*stream)(c)) return CancelledError("client left");
      }
      (*stream)(json{{"object", "chat.completion.chunk"},
                     {"choices", {{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}}}});
    }
    return r;
  }
  std::vector<BackendInfo> Backends() const override { return backends; }
};

const char* kRedactingPolicy = R"(
[confidence]
min_mean_logprob = -1.0
[[rule]]
name = "pii-redacted"
when = { entities_any = ["email", "phone"] }
action = "escalate_redacted"
tier = "cloud"
[[rule]]
name = "no-secrets"
when = { sensitivity_at_least = "restricted" }
action = "block"
reason = "secrets never leave"
[[rule]]
name = "try-local-first"
when = { model_kind = ["auto"] }
action = "local"
escalate_if_unsure = true
)";

struct Fixture {
  FakeDispatcher fake;
  std::vector<ledger::Entry> ledger;
  std::unique_ptr<Router> router;
  explicit Fixture(const char* policy_text = kRedactingPolicy) {
    RouterOptions o;
    auto p = ParsePolicy(policy_text, "test.toml", {});
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    o.policy = std::move(p).value();
    o.prices["gpt-4o"] = {2.5, 10.0};
    o.record = [this](const ledger::Entry& e) {
      ledger.push_back(e);
      return Status::Ok();
    };
    o.answer_confidence = [](const backends::ChatResult& r) -> std::optional<AnswerConfidence> {
      // The fake engine is unsure whenever its answer says so.
      const bool unsure = r.response["choices"][0]["message"]["content"] == "not sure";
      return AnswerConfidence{unsure ? -2.5 : -0.2, unsure ? 3.0 : 0.5, 10};
    };
    router = std::move(Router::Create(std::move(o), &fake).value());
  }
};

json Chat(const std::string& text) {
  return {{"model", "auto"}, {"messages", {{{"role", "user"}, {"content", text}}}}};
}

const std::string kPii = "Draft a reply to jane.doe@example.com and call +1 (415) 555-2671 or jane.doe@example.com.";

TEST(RouterFlowTest, RedactedRoundTrip) {
  Fixture fx;
  fx.fake.answer = "echo";
  RouteInfo route;
  auto resp = fx.router->Handle(Chat(kPii), {}, &route);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  ASSERT_EQ(fx.fake.calls.size(), 1u);
  const std::string& sent = fx.fake.calls[0].body;
  EXPECT_EQ(sent.find("jane.doe"), std::string::npos) << sent;
  EXPECT_EQ(sent.find("555-2671"), std::string::npos) << sent;
  EXPECT_NE(sent.find("[EMAIL_1] and call [PHONE_1] or [EMAIL_1]"), std::string::npos) << sent;
  EXPECT_EQ(fx.fake.calls[0].redacted, (std::vector<std::string>{"email", "phone"}));
  EXPECT_EQ((*resp)["choices"][0]["message"]["content"], kPii);
  const json& x = (*resp)["x_route"];
  EXPECT_EQ(x["tier"], "cloud");
  EXPECT_EQ(x["rule"], "pii-redacted");
  EXPECT_EQ(x["redactions"]["email"], 2);
  EXPECT_EQ(x["redactions"]["phone"], 1);
  EXPECT_DOUBLE_EQ(x["cost_usd"].get<double>(), (100 * 2.5 + 20 * 10.0) / 1e6);
  ASSERT_EQ(fx.ledger.size(), 1u);
  EXPECT_EQ(fx.ledger[0].tier, "cloud");
  EXPECT_EQ(fx.ledger[0].redactions.at("email"), 2);
}

TEST(RouterFlowTest, RedactedStreamRoundTrip) {
  Fixture fx;
  fx.fake.answer = "echo";
  std::string received;
  int chunks = 0;
  json first;
  auto route = fx.router->HandleStream(Chat(kPii), {}, [&](const json& c) {
    if (chunks++ == 0) first = c;
    if (!c["choices"].empty() && c["choices"][0]["delta"].contains("content")) {
      received += c["choices"][0]["delta"]["content"].get<std::string>();
    }
    return true;
  });
  ASSERT_TRUE(route.ok()) << route.status().ToString();
  EXPECT_EQ(received, kPii);
  ASSERT_TRUE(first.contains("x_route"));
  EXPECT_EQ(first["x_route"]["rule"], "pii-redacted");
  EXPECT_EQ(fx.fake.calls[0].body.find("jane.doe"), std::string::npos);
}

TEST(RouterFlowTest, BlockedNeverCallsABackend) {
  Fixture fx;
  RouteInfo route;
  auto resp = fx.router->Handle(Chat("here is my key AKIAIOSFODNN7EXAMPLE"), {}, &route);
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(resp.status().message().find("secrets never leave"), std::string::npos);
  EXPECT_TRUE(fx.fake.calls.empty());
  ASSERT_EQ(fx.ledger.size(), 1u);
  EXPECT_EQ(fx.ledger[0].status, "PERMISSION_DENIED");
  EXPECT_EQ(fx.ledger[0].tier, "");
}

TEST(RouterFlowTest, CloudFailureFallsBackToLocalWithOriginals) {
  Fixture fx;
  fx.fake.cloud_fails = true;
  RouteInfo route;
  auto resp = fx.router->Handle(Chat(kPii), {}, &route);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  ASSERT_EQ(fx.fake.calls.size(), 2u);
  EXPECT_EQ(fx.fake.calls[1].tier, Tier::kDevice);
  EXPECT_NE(fx.fake.calls[1].body.find("jane.doe"), std::string::npos);  // local gets the real text
  EXPECT_EQ((*resp)["x_route"]["tier"], "device");
  EXPECT_EQ((*resp)["x_route"]["fallback"], "backend_failed: UNAVAILABLE");
  EXPECT_TRUE((*resp)["x_route"]["redactions"].empty());
}

TEST(RouterFlowTest, UnsureLocalAnswerEscalates) {
  Fixture fx;
  fx.fake.answer = "not sure";
  auto resp = fx.router->Handle(Chat("Which year did the Treaty of Westphalia end?"), {});
  ASSERT_TRUE(resp.ok());
  ASSERT_EQ(fx.fake.calls.size(), 2u);
  EXPECT_EQ(fx.fake.calls[0].tier, Tier::kDevice);
  EXPECT_EQ(fx.fake.calls[1].tier, Tier::kCloud);
  EXPECT_EQ((*resp)["x_route"]["escalated_unsure"], true);
  Fixture sure;
  sure.fake.answer = "1648";
  ASSERT_TRUE(sure.router->Handle(Chat("Which year did the Treaty of Westphalia end?"), {}).ok());
  EXPECT_EQ(sure.fake.calls.size(), 1u);
}

TEST(RouterFlowTest, ExplainSendsNothing) {
  Environment env;
  env.backends = {{"openai", Tier::kCloud, "gpt-4o", true, 0}};
  auto p = ParsePolicy(kRedactingPolicy, "test.toml", {});
  ASSERT_TRUE(p.ok());
  auto plan = ExplainRequest(Chat(kPii), {}, env, *p);
  ASSERT_TRUE(plan.ok());
  const std::string text = ExplainText(*plan, *p);
  EXPECT_NE(text.find("decision: escalate_redacted -> cloud by rule \"pii-redacted\""), std::string::npos) << text;
  EXPECT_NE(text.find("[EMAIL_1]"), std::string::npos);
  const json j = ExplainJson(*plan, *p);
  EXPECT_EQ(j["decision"]["rule"], "pii-redacted");
  EXPECT_EQ(j["features"]["entities"]["email"], 2);
  // Values never appear outside the redacted body's placeholders.
  EXPECT_EQ(j["features"].dump().find("jane.doe"), std::string::npos);
}

TEST(RouterFlowTest, ExplainInputForms) {
  auto bare = ParseExplainInput(R"({"model":"auto","messages":[{"role":"user","content":"hi"}]})", "a.json");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->body["model"], "auto");
  auto wrapped = ParseExplainInput(
      R"({"body":{"messages":[]},"headers":{"X-Hearth-Sensitivity":"restricted"},"api_key":"k"})", "b.json");
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(*wrapped->meta.Header("x-hearth-sensitivity"), "restricted");
  EXPECT_EQ(wrapped->meta.api_key, "k");
  auto broken = ParseExplainInput("{\"body\": ", "c.json");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().message(), "c.json: not valid JSON");
  EXPECT_FALSE(ParseExplainInput(R"({"body":{},"headers":{"a":1}})", "d.json").ok());
  EXPECT_EQ(LoadExplainInput("/nonexistent/request.json").status().code(), StatusCode::kNotFound);
}

TEST(RouterFlowTest, SystemPromptDoesNotMakeEverythingHard) {
  Environment env;
  env.backends = {{"openai", Tier::kCloud, "gpt-4o", true, 0}};
  json body = {{"model", "auto"},
               {"messages", {{{"role", "system"}, {"content", "Think step by step. Analyze carefully, in detail, "
                                                                 "and justify every claim rigorously."}},
                             {{"role", "user"}, {"content", "What is the capital of Peru?"}}}}};
  auto plan = ExplainRequest(body, {}, env, DefaultPolicy());
  ASSERT_TRUE(plan.ok());
  EXPECT_LT(plan->features.difficulty.score, DefaultPolicy().difficulty_threshold);
  EXPECT_EQ(plan->decision.tier, Tier::kDevice);
}

TEST(RouterFlowTest, DecisionTimeIsMeasured) {
  Fixture fx(DefaultPolicyToml().data());
  const std::string texts[] = {kPii, "What is the capital of France?",
                               "Prove step by step that sqrt(2) is irrational, in detail.",
                               std::string(6000, 'x') + " summarise this"};
  for (int i = 0; i < 400; ++i) ASSERT_TRUE(fx.router->Handle(Chat(texts[i % 4]), {}).ok());
  DecisionTimeStats s = fx.router->decision_time();
  EXPECT_EQ(s.count, 400);
  std::printf("router decision time over %lld requests: p50 %.1f us, p99 %.1f us, max %.1f us\n",
              static_cast<long long>(s.count), s.p50_us, s.p99_us, s.max_us);
}

}  // namespace
}  // namespace hearth::router
