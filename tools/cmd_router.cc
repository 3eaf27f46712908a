// hearth route explain / ledger / audit verify: the router's decision for a request (sending
// nothing), the cost ledger's summary, and the audit log's hash-chain check.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "backends/config.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "router/explain.h"
#include "router/policy.h"
#include "tools/cli_common.h"

namespace hearth::cli {
namespace {

struct ExplainOptions {
  std::string policy, request;
  int64_t local_ctx = 8192;
  bool json = false;
};

Status Explain(const ExplainOptions& o) {
  backends::BackendsConfig cfg;
  if (!o.policy.empty()) {
    // The policy file may embed [[backend]] tables and prices; read them with the same text.
    ASSIGN_OR_RETURN(cfg, backends::LoadBackendsConfig(o.policy));
  }
  std::vector<router::BackendRef> refs;
  router::Environment env;
  env.local_context_tokens = o.local_ctx;
  env.backends.push_back({"local", backends::Tier::kDevice, "", true, 0});
  refs.push_back({"local", backends::Tier::kDevice});
  for (const auto& b : cfg.backends) {
    refs.push_back({b.name, b.tier});
    env.backends.push_back({b.name, b.tier, b.model, !cfg.offline, 0});
  }
  router::Policy policy = router::DefaultPolicy();
  if (!o.policy.empty()) {
    ASSIGN_OR_RETURN(policy, router::LoadPolicy(o.policy, refs));
  }
  ASSIGN_OR_RETURN(router::ExplainInput in, router::LoadExplainInput(o.request));
  ASSIGN_OR_RETURN(router::Plan plan, router::ExplainRequest(in.body, in.meta, env, policy));
  if (o.json) std::printf("%s\n", router::ExplainJson(plan, policy).dump(2).c_str());
  else std::printf("%s", router::ExplainText(plan, policy).c_str());
  return Status::Ok();
}

struct LedgerOptions {
  std::string path = "hearth-ledger.sqlite", period = "month";
  bool json = false;
};

Status Ledger(const LedgerOptions& o) {
  ASSIGN_OR_RETURN(ledger::Period period, ledger::ParsePeriod(o.period));
  ASSIGN_OR_RETURN(std::unique_ptr<ledger::Ledger> l, ledger::Ledger::Open(o.path));
  ASSIGN_OR_RETURN(ledger::Summary s, l->Summarize(period));
  if (o.json) std::printf("%s\n", ledger::SummaryJson(s).dump(2).c_str());
  else std::printf("%s", ledger::SummaryText(s).c_str());
  return Status::Ok();
}

struct AuditOptions {
  std::string path = "hearth-audit.jsonl";
  bool json = false;
};

// Exit status 0 when the chain verifies, 4 when it does not (the report says where and how).
Status AuditVerify(const AuditOptions& o, int* exit_code) {
  ASSIGN_OR_RETURN(ledger::VerifyReport r, ledger::Verify(o.path));
  if (o.json) std::printf("%s\n", ledger::VerifyJson(o.path, r).dump(2).c_str());
  else std::printf("%s", ledger::VerifyText(o.path, r).c_str());
  if (!r.ok) *exit_code = 4;
  return Status::Ok();
}

}  // namespace

void AddRouterCommands(CLI::App& app, int* exit_code) {
  CLI::App* route = app.add_subcommand("route", "routing policy tools");
  route->require_subcommand(1);
  auto e = std::make_shared<ExplainOptions>();
  CLI::App* ex = route->add_subcommand("explain", "show the decision for a request and why, sending nothing");
  ex->add_option("--policy", e->policy, "policy TOML (default: the built-in policy)");
  ex->add_option("request", e->request, "request JSON (a chat-completions body)")->required();
  ex->add_option("--local-ctx", e->local_ctx, "tokens that fit the local model's context");
  ex->add_flag("--json", e->json, "machine-readable output");
  ex->callback([e, exit_code] {
    Status s = Explain(*e);
    if (!s.ok()) *exit_code = Fail(s);
  });

  auto l = std::make_shared<LedgerOptions>();
  CLI::App* lg = app.add_subcommand("ledger", "summarise the cost ledger by tier and period");
  lg->add_option("--db", l->path, "ledger database");
  lg->add_option("--period", l->period, "day, week, month or all");
  lg->add_flag("--json", l->json, "machine-readable output");
  lg->callback([l, exit_code] {
    Status s = Ledger(*l);
    if (!s.ok()) *exit_code = Fail(s);
  });

  auto a = std::make_shared<AuditOptions>();
  CLI::App* au = app.add_subcommand("audit", "egress audit log tools");
  au->require_subcommand(1);
  CLI::App* av = au->add_subcommand("verify", "check the audit log's hash chain");
  av->add_option("log", a->path, "audit log (JSON lines)");
  av->add_flag("--json", a->json, "machine-readable output");
  av->callback([a, exit_code] {
    Status s = AuditVerify(*a, exit_code);
    if (!s.ok()) *exit_code = Fail(s);
  });
}

}  // namespace hearth::cli
