// Policy: the routing rules, read from TOML, and the built-in default policy.
//
// A policy is an ordered list of rules; the first rule whose conditions all hold decides, and
// `[defaults] action` applies when none does. Each rule has one action: `local`, `escalate` (to a
// tier or a named backend), `escalate_redacted` (the same, after replacing every finding with a
// placeholder) or `block` (with a reason). docs/ROUTING.md is the language reference;
// DefaultPolicyToml() is the default in full.
//
//   ASSIGN_OR_RETURN(Policy policy, ParsePolicy(text, "policy.toml", backends));
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "router/detectors.h"
#include "router/difficulty.h"
#include "router/features.h"

namespace hearth::router {

enum class ActionKind { kLocal, kEscalate, kEscalateRedacted, kBlock };
std::string_view ActionName(ActionKind a);  // "local", "escalate", "escalate_redacted", "block"

// All present conditions must hold (AND). Absent ones are not checked.
struct Conditions {
  std::optional<Sensitivity> sensitivity_at_least;
  std::optional<Sensitivity> sensitivity_below;
  std::optional<bool> sensitive;                   // sensitivity >= confidential
  std::vector<std::string> entities_any;           // some finding has one of these types
  std::vector<std::string> modalities_any;         // "image", "audio", "video"
  std::optional<bool> context_fits;
  std::optional<int64_t> prompt_tokens_above;
  std::optional<double> difficulty_at_least;
  std::optional<double> difficulty_below;
  std::optional<bool> hard;                        // difficulty >= [difficulty] threshold
  std::optional<int64_t> latency_budget_ms_below;  // a budget is given and is below this
  std::optional<bool> budget_exhausted;
  std::optional<double> budget_remaining_below;
  std::optional<bool> cloud_available;
  std::optional<bool> private_available;
  std::vector<std::string> backend_unavailable;    // any of these named backends is down
  std::vector<std::string> model_kind;             // "auto", "local", "named"
  std::vector<std::string> model_tier;             // tier of the named model's backend
  std::vector<std::string> model;                  // exact requested model names
  std::vector<std::string> api_key;                // the caller's API key
  std::vector<std::string> route;                  // the HTTP route
  std::optional<bool> stream;
};

struct Rule {
  std::string name;
  Conditions when;
  ActionKind action = ActionKind::kLocal;
  std::optional<Tier> tier;  // escalate target tier (default: the named model's, else cloud)
  std::string backend;       // or one named backend
  std::string reason;        // block reason or a note shown in x_route / explain
  bool escalate_if_unsure = false;  // local: run the confidence gate, escalate to `tier`/cloud
  int line = 0;              // where the rule starts in the policy file
};

// Sets an explicit sensitivity label from the caller's API key or route.
struct LabelRule {
  std::string name;
  std::vector<std::string> api_key;
  std::vector<std::string> route;
  Sensitivity level = Sensitivity::kConfidential;
};

// What happens when an escalation cannot go where it was sent.
enum class FallbackKind { kLocal, kBlock };

class Policy {
 public:
  std::string source = "<default policy>";
  std::vector<Rule> rules;
  ActionKind default_action = ActionKind::kLocal;
  std::optional<Tier> default_tier;                       // for an escalating default action
  FallbackKind on_cloud_unavailable = FallbackKind::kLocal;
  FallbackKind on_budget_exhausted = FallbackKind::kLocal;
  double difficulty_threshold = 0.5;
  ConfidenceGate confidence;
  std::vector<std::string> local_models;  // model names that mean "run it locally"
  std::optional<double> monthly_budget_usd;  // [budget] monthly_usd: cloud spend allowed per month
  std::vector<LabelRule> labels;
  DetectorOptions detectors;
};

// A backend a policy may name (from the backends config).
struct BackendRef {
  std::string name;
  Tier tier = Tier::kCloud;
};

// Parses and validates a policy. Errors name the file, line and column and what is wrong:
// TOML syntax, an unknown key, a wrong type, an unknown action, tier, sensitivity, modality or
// backend name, a bad detector pattern. Tables the backends config owns ([[backend]], [prices],
// offline, reference_cloud_model) are skipped so one file can hold both.
Result<Policy> ParsePolicy(std::string_view toml_text, std::string_view source,
                           const std::vector<BackendRef>& backends);
Result<Policy> LoadPolicy(const std::string& path, const std::vector<BackendRef>& backends);

// What is left of the monthly cloud budget after `spent_this_month_usd` (from the ledger's
// monthly summary), or nullopt when the policy sets no budget. Feeds Environment.
std::optional<double> BudgetRemaining(const Policy& policy, double spent_this_month_usd);

// The built-in default policy as TOML text (docs/ROUTING.md quotes it) and parsed.
std::string_view DefaultPolicyToml();
const Policy& DefaultPolicy();

}  // namespace hearth::router
