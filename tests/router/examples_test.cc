// The three example policies of docs/ROUTING.md (tests/router/policies/*.toml) parse and decide
// as the document says; the document quotes them and the default policy verbatim.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "router/decide.h"
#include "router/policy.h"

namespace hearth::router {
namespace {

using nlohmann::json;

std::string Read(const std::string& rel) {
  std::ifstream in(std::string(HEARTH_SOURCE_DIR) + "/" + rel);
  EXPECT_TRUE(in.good()) << rel;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Policy Load(const std::string& name) {
  auto p = ParsePolicy(Read("tests/router/policies/" + name), name, {{"openai-main", Tier::kCloud}});
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

Environment Env() {
  Environment env;
  env.local_context_tokens = 8192;
  env.backends = {{"engine", Tier::kDevice, "gemma-3-12b", true, 0},
                  {"gpu-server", Tier::kPrivate, "gemma-3-27b", true, 0},
                  {"openai-main", Tier::kCloud, "gpt-4o", true, 0}};
  return env;
}

Decision On(const Policy& p, const std::string& text, const std::string& model = "auto",
            Environment env = Env(), RequestMeta meta = {}) {
  auto detector = Detector::Create(p.detectors);
  EXPECT_TRUE(detector.ok());
  json body = {{"model", model}, {"messages", {{{"role", "user"}, {"content", text}}}}};
  auto f = ExtractFeatures(body, meta, env, p, *detector);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return Decide(*f, p);
}

const std::string kHard =
    "Prove step by step that the sum of the first n odd numbers is n^2, then derive a closed form "
    "for the sum of squares and analyze its asymptotic complexity in detail.";

TEST(ExamplePoliciesTest, Hospital) {
  const Policy p = Load("hospital.toml");
  EXPECT_EQ(On(p, "Summarise the chemotherapy response for MRN 1234567").rule, "patient-data-stays-here");
  Decision d = On(p, "Summarise the chemotherapy response for MRN 1234567", "gpt-4o");
  EXPECT_TRUE(d.blocked());
  EXPECT_EQ(d.rule, "no-cloud-model-for-patient-data");
  RequestMeta ehr;
  ehr.api_key = "ehr-integration-key";
  EXPECT_EQ(On(p, kHard, "auto", Env(), ehr).rule, "patient-data-stays-here");
  d = On(p, kHard);
  EXPECT_EQ(d.rule, "hard-public-question");
  EXPECT_EQ(d.tier, Tier::kCloud);
  d = On(p, "Patient born on 02/03/1961: " + std::string(40000, 'x'));
  EXPECT_EQ(d.rule, "patient-data-too-long-to-private");
  EXPECT_EQ(d.tier, Tier::kPrivate);
}

TEST(ExamplePoliciesTest, BudgetTeam) {
  const Policy p = Load("budget_team.toml");
  ASSERT_TRUE(p.monthly_budget_usd.has_value());
  EXPECT_DOUBLE_EQ(*BudgetRemaining(p, 480.0), 20.0);
  Decision d = On(p, kHard + " Then email the result to ana@example.com.");
  EXPECT_EQ(d.rule, "hard-with-personal-data-redacted");
  EXPECT_EQ(d.action, ActionKind::kEscalateRedacted);
  EXPECT_EQ(d.backend, "openai-main");
  EXPECT_EQ(On(p, "my token: Zx8#pQ4!mT7v " + kHard).rule, "secrets-stay-local");
  RequestMeta fast;
  fast.SetHeader("X-Hearth-Latency-Budget-Ms", "500");
  EXPECT_EQ(On(p, kHard, "auto", Env(), fast).rule, "interactive-local");
  Environment low = Env();
  low.budget_remaining_usd = BudgetRemaining(p, 480.0);
  EXPECT_EQ(On(p, kHard, "auto", low).rule, "low-budget-auto-stays-local");
  d = On(p, kHard, "gpt-4o", low);
  EXPECT_EQ(d.rule, "named-model");
  EXPECT_EQ(d.tier, Tier::kCloud);
  Environment spent = Env();
  spent.budget_remaining_usd = BudgetRemaining(p, 512.0);
  d = On(p, kHard, "gpt-4o", spent);
  EXPECT_TRUE(d.fell_back);
  EXPECT_EQ(d.fallback, "budget_exhausted");
  EXPECT_EQ(d.tier, Tier::kDevice);
  d = On(p, "Write a limerick about a cat.");
  EXPECT_EQ(d.rule, "local-first");
  EXPECT_TRUE(d.escalate_if_unsure);
  EXPECT_EQ(d.unsure_tier, Tier::kCloud);
}

TEST(ExamplePoliciesTest, OfflineSite) {
  const Policy p = Load("offline_site.toml");
  Environment offline;
  offline.local_context_tokens = 8192;
  offline.backends = {{"engine", Tier::kDevice, "gemma-3-4b", true, 0}};
  EXPECT_EQ(On(p, kHard, "auto", offline).rule, "everything-local");
  EXPECT_EQ(On(p, kHard, "gpt-4o", offline).tier, Tier::kDevice);  // no backend serves it
  Decision d = On(p, std::string(40000, 'x'), "auto", offline);
  EXPECT_TRUE(d.blocked());
  EXPECT_NE(d.reason.find("shorten it"), std::string::npos);
}

TEST(ExamplePoliciesTest, DocumentQuotesPoliciesVerbatim) {
  const std::string doc = Read("docs/ROUTING.md");
  EXPECT_NE(doc.find(std::string(DefaultPolicyToml())), std::string::npos) << "default policy";
  for (const char* name : {"hospital.toml", "budget_team.toml", "offline_site.toml"}) {
    EXPECT_NE(doc.find(Read(std::string("tests/router/policies/") + name)), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace hearth::router
