// Policy parsing (errors with line and column) and every rule of the default policy, through
// ExtractFeatures + Decide on realistic requests.
#include <gtest/gtest.h>

#include <string>

#include "router/decide.h"
#include "router/policy.h"

namespace hearth::router {
namespace {

using nlohmann::json;

json Chat(const std::string& text, const std::string& model = "auto") {
  return {{"model", model}, {"messages", {{{"role", "user"}, {"content", text}}}}};
}

Environment Env(bool cloud_up = true, bool private_up = false) {
  Environment env;
  env.local_context_tokens = 4096;
  env.backends.push_back({"device", Tier::kDevice, "gemma-3-4b", true, 0});
  env.backends.push_back({"openai", Tier::kCloud, "gpt-4o", cloud_up, 0});
  env.backends.push_back({"claude", Tier::kCloud, "claude-sonnet", cloud_up, 0});
  env.backends.push_back({"node2", Tier::kPrivate, "gemma-3-27b", private_up, 0});
  return env;
}

Decision DecideOn(const json& body, const Environment& env, const Policy& policy = DefaultPolicy(),
                  RequestMeta meta = {}) {
  auto detector = Detector::Create(policy.detectors);
  EXPECT_TRUE(detector.ok());
  auto f = ExtractFeatures(body, meta, env, policy, *detector);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return Decide(*f, policy);
}

const std::string kHard =
    "Prove step by step that the integral of x^2 from 0 to 1 equals 1/3, then derive the general "
    "formula for x^n and analyze its asymptotic behaviour in detail.";

TEST(DefaultPolicyTest, Parses) {
  const Policy& p = DefaultPolicy();
  ASSERT_EQ(p.rules.size(), 9u);
  EXPECT_EQ(p.rules[0].name, "model-local");
  EXPECT_EQ(p.default_action, ActionKind::kLocal);
  EXPECT_DOUBLE_EQ(p.difficulty_threshold, 0.5);
}

TEST(DefaultPolicyTest, ModelLocal) {
  Decision d = DecideOn(Chat(kHard, "local"), Env());
  EXPECT_EQ(d.rule, "model-local");
  EXPECT_EQ(d.action, ActionKind::kLocal);
  EXPECT_EQ(d.tier, Tier::kDevice);
  // The device backend's own model name means local too.
  EXPECT_EQ(DecideOn(Chat(kHard, "gemma-3-4b"), Env()).rule, "model-local");
}

TEST(DefaultPolicyTest, SensitiveNamedCloudModelIsBlocked) {
  Decision d = DecideOn(Chat("Email jane.doe@example.com the results", "gpt-4o"), Env());
  EXPECT_EQ(d.rule, "sensitive-named-cloud-model");
  EXPECT_TRUE(d.blocked());
  EXPECT_EQ(d.block_code, StatusCode::kPermissionDenied);
  EXPECT_NE(d.reason.find("email x1"), std::string::npos) << d.reason;
  EXPECT_EQ(d.reason.find("jane.doe"), std::string::npos) << "reasons never carry values";
}

TEST(DefaultPolicyTest, HeaderLabelMakesItSensitive) {
  RequestMeta meta;
  meta.SetHeader("X-Hearth-Sensitivity", "confidential");
  Decision d = DecideOn(Chat("What is the capital of France?", "gpt-4o"), Env(), DefaultPolicy(), meta);
  EXPECT_EQ(d.rule, "sensitive-named-cloud-model");
  meta.SetHeader("x-hearth-sensitivity", "top-secret");
  auto detector = Detector::Create({});
  auto f = ExtractFeatures(Chat("hi"), meta, Env(), DefaultPolicy(), *detector);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("X-Hearth-Sensitivity"), std::string::npos);
}

TEST(DefaultPolicyTest, MediaStaysLocal) {
  json body = {{"model", "auto"},
               {"messages",
                {{{"role", "user"},
                  {"content",
                   {{{"type", "text"}, {"text", kHard}},
                    {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}}}}}}}};
  Decision d = DecideOn(body, Env());
  EXPECT_EQ(d.rule, "media-stays-local");
  EXPECT_EQ(d.tier, Tier::kDevice);
  body["messages"][0]["content"][1] = {{"type", "input_audio"}, {"input_audio", {{"data", "AAAA"}, {"format", "wav"}}}};
  EXPECT_EQ(DecideOn(body, Env()).rule, "media-stays-local");
  body["messages"][0]["content"][1] = {{"type", "input_video"}, {"input_video", {{"url", "file:///v.mp4"}}}};
  EXPECT_EQ(DecideOn(body, Env()).rule, "media-stays-local");
}

TEST(DefaultPolicyTest, SensitiveTooLongGoesPrivateElseFails) {
  const std::string long_text = "Patient SSN 536-22-1234. " + std::string(20000, 'a');
  Decision d = DecideOn(Chat(long_text), Env(/*cloud_up=*/true, /*private_up=*/true));
  EXPECT_EQ(d.rule, "sensitive-too-long-private");
  EXPECT_EQ(d.tier, Tier::kPrivate);
  // No private backend: it stays local, and local cannot hold it: a clear error, never the cloud.
  d = DecideOn(Chat(long_text), Env(true, false));
  EXPECT_EQ(d.rule, "sensitive-stays-local");
  EXPECT_TRUE(d.blocked());
  EXPECT_EQ(d.block_code, StatusCode::kOutOfRange);
  EXPECT_NE(d.reason.find("does not fit the local context of 4096 tokens"), std::string::npos) << d.reason;
}

TEST(DefaultPolicyTest, SensitiveMayGoToANamedPrivateModel) {
  Decision d = DecideOn(Chat("Summarise the file of patient SSN 536-22-1234", "gemma-3-27b"),
                        Env(/*cloud_up=*/true, /*private_up=*/true));
  EXPECT_EQ(d.rule, "sensitive-named-private-model");
  EXPECT_EQ(d.tier, Tier::kPrivate);
  EXPECT_EQ(d.backend, "node2");
  // Private backend down: the fallback keeps it here.
  d = DecideOn(Chat("Summarise the file of patient SSN 536-22-1234", "gemma-3-27b"), Env(true, false));
  EXPECT_EQ(d.rule, "sensitive-named-private-model");
  EXPECT_TRUE(d.fell_back);
  EXPECT_EQ(d.tier, Tier::kDevice);
  // Too long for here, not sensitive, a private model named: it goes to that model, not the cloud.
  d = DecideOn(Chat(std::string(20000, 'a'), "gemma-3-27b"), Env(true, true));
  EXPECT_EQ(d.rule, "context-too-long");
  EXPECT_EQ(d.backend, "node2");
}

TEST(DefaultPolicyTest, SensitiveStaysLocalEvenWhenHard) {
  Decision d = DecideOn(Chat(kHard + " My key is sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"), Env());
  EXPECT_EQ(d.rule, "sensitive-stays-local");
  EXPECT_EQ(d.tier, Tier::kDevice);
}

TEST(DefaultPolicyTest, ContextTooLongEscalates) {
  Decision d = DecideOn(Chat(std::string(20000, 'a')), Env());
  EXPECT_EQ(d.rule, "context-too-long");
  EXPECT_EQ(d.action, ActionKind::kEscalate);
  EXPECT_EQ(d.tier, Tier::kCloud);
  // Cloud down, private up: the private tier takes it.
  d = DecideOn(Chat(std::string(20000, 'a')), Env(false, true));
  EXPECT_TRUE(d.fell_back);
  EXPECT_EQ(d.tier, Tier::kPrivate);
  // Nothing can take it: a clear error.
  d = DecideOn(Chat(std::string(20000, 'a')), Env(false, false));
  EXPECT_TRUE(d.blocked());
  EXPECT_EQ(d.block_code, StatusCode::kUnavailable);
}

TEST(DefaultPolicyTest, NamedModelGoesToItsBackend) {
  Decision d = DecideOn(Chat("Write a haiku about autumn.", "claude-sonnet"), Env());
  EXPECT_EQ(d.rule, "named-model");
  EXPECT_EQ(d.tier, Tier::kCloud);
  EXPECT_EQ(d.backend, "claude");
}

TEST(DefaultPolicyTest, HardEscalatesEasyStaysLocal) {
  Decision d = DecideOn(Chat(kHard), Env());
  EXPECT_EQ(d.rule, "hard-escalates");
  EXPECT_EQ(d.tier, Tier::kCloud);
  d = DecideOn(Chat("Translate 'good morning' into French."), Env());
  EXPECT_EQ(d.rule, "default");
  EXPECT_EQ(d.tier, Tier::kDevice);
}

TEST(DefaultPolicyTest, UnreachableCloudFallsBackToLocal) {
  Decision d = DecideOn(Chat(kHard), Env(/*cloud_up=*/false));
  EXPECT_EQ(d.rule, "hard-escalates");
  EXPECT_TRUE(d.fell_back);
  EXPECT_EQ(d.fallback, "cloud_unavailable");
  EXPECT_EQ(d.tier, Tier::kDevice);
}

TEST(DefaultPolicyTest, ExhaustedBudgetFallsBackToLocal) {
  Environment env = Env();
  env.budget_remaining_usd = 0.0;
  Decision d = DecideOn(Chat(kHard), env);
  EXPECT_TRUE(d.fell_back);
  EXPECT_EQ(d.fallback, "budget_exhausted");
  EXPECT_EQ(d.tier, Tier::kDevice);
  env.budget_remaining_usd = 3.5;
  EXPECT_EQ(DecideOn(Chat(kHard), env).tier, Tier::kCloud);
}

Status ParseError(const std::string& toml, std::vector<BackendRef> backends = {}) {
  auto p = ParsePolicy(toml, "p.toml", backends);
  return p.ok() ? Status::Ok() : p.status();
}

TEST(PolicyParseTest, SyntaxErrorHasLineAndColumn) {
  Status s = ParseError("[defaults]\naction = \"local\"\n[[rule]\n");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("p.toml:3:"), std::string::npos) << s.message();
}

TEST(PolicyParseTest, PreciseValidationErrors) {
  auto expect = [](const std::string& toml, const std::string& needle, std::vector<BackendRef> b = {}) {
    Status s = ParseError(toml, b);
    ASSERT_FALSE(s.ok()) << toml;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  };
  expect("[[rule]]\nname = \"a\"\naction = \"local\"\ncolour = 1\n", "p.toml:4:1: unknown key \"colour\"");
  expect("[[rule]]\nname = \"a\"\naction = \"teleport\"\n", "unknown action \"teleport\"");
  expect("[[rule]]\nname = \"a\"\naction = \"local\"\nwhen = { sensitive = \"yes\" }\n",
         "rule \"a\".when.sensitive must be a boolean");
  expect("[[rule]]\nname = \"a\"\naction = \"escalate\"\nbackend = \"nope\"\n",
         "unknown backend \"nope\" (configured: openai)", {{"openai", Tier::kCloud}});
  expect("[[rule]]\nname = \"a\"\naction = \"local\"\nwhen = { entities_any = [\"shoe_size\"] }\n",
         "unknown entity type \"shoe_size\"");
  expect("[[rule]]\nname = \"a\"\naction = \"block\"\n", "needs a reason");
  expect("[[rule]]\nname = \"a\"\naction = \"escalate\"\ntier = \"moon\"\n", "unknown tier \"moon\"");
  expect("[[rule]]\nname = \"a\"\naction = \"local\"\n[[rule]]\nname = \"a\"\naction = \"local\"\n",
         "duplicate rule name");
  expect("[difficulty]\nthreshold = 2\n", "must be in [0, 1]");
  expect("[[detectors.pattern]]\nname = \"x\"\nregex = \"(oops\"\n", "detectors.pattern \"x\"");
  expect("[defaults]\naction = \"maybe\"\n", "unknown action \"maybe\"");
  expect("[[label]]\nlevel = \"confidential\"\n", "needs api_key or route");
}

TEST(PolicyParseTest, BackendTablesAreIgnoredAndCustomRulesWork) {
  const std::string toml = R"(
offline = false
[[backend]]
name = "openai"
tier = "cloud"
[[detectors.words]]
name = "codename"
words = ["Bluebird"]
[[label]]
name = "hr"
api_key = "key-hr"
level = "restricted"
[[rule]]
name = "codename-blocked"
when = { entities_any = ["codename"] }
action = "block"
reason = "project codenames stay in house"
[[rule]]
name = "hr-redacted"
when = { sensitivity_at_least = "restricted" }
action = "escalate_redacted"
backend = "openai"
)";
  auto p = ParsePolicy(toml, "p.toml", {{"openai", Tier::kCloud}});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Decision d = DecideOn(Chat("Status of bluebird?"), Env(), *p);
  EXPECT_EQ(d.rule, "codename-blocked");
  RequestMeta meta;
  meta.api_key = "key-hr";
  d = DecideOn(Chat("Summarise the review"), Env(), *p, meta);
  EXPECT_EQ(d.rule, "hr-redacted");
  EXPECT_EQ(d.action, ActionKind::kEscalateRedacted);
  EXPECT_EQ(d.backend, "openai");
}

}  // namespace
}  // namespace hearth::router
