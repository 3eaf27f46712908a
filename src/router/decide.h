// Decide: the routing decision as a pure function of the request's features and the policy.
//
// The first rule whose conditions all hold gives the action; then the fallbacks apply:
//   - an escalation whose target has no available backend runs locally
//     ([defaults] on_cloud_unavailable), or on a private backend when it does not fit locally;
//   - an escalation to the cloud with the budget exhausted runs locally (on_budget_exhausted);
//   - a local run whose prompt does not fit the local context is refused with a clear error
//     (never silently truncated).
// Nothing here does I/O; the same inputs always give the same Decision.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "router/features.h"
#include "router/policy.h"

namespace hearth::router {

struct Decision {
  ActionKind action = ActionKind::kLocal;  // kLocal, kEscalate, kEscalateRedacted or kBlock
  Tier tier = Tier::kDevice;               // where it runs (meaningless for kBlock)
  std::string backend;                     // a named backend, or "" = least busy in `tier`
  std::string rule;                        // the rule that decided ("default" when none did)
  std::string reason;                      // one sentence for x_route, logs and explain
  bool fell_back = false;                  // a fallback changed the rule's action
  std::string fallback;                    // which: "cloud_unavailable", "budget_exhausted", ...
  StatusCode block_code = StatusCode::kOk; // kBlock: kPermissionDenied (policy) or kOutOfRange
                                           // (does not fit) or kUnavailable (nowhere to run)
  bool escalate_if_unsure = false;         // local: apply the confidence gate to the answer
  Tier unsure_tier = Tier::kCloud;         // where to escalate an unsure answer
  std::string unsure_backend;

  bool blocked() const { return action == ActionKind::kBlock; }
  bool leaves_machine() const { return !blocked() && tier != Tier::kDevice; }
  // The status a server returns for a block (OK otherwise).
  Status BlockStatus() const;
};

// One condition as evaluated for explain: "sensitive = true" and whether it held.
struct ConditionTrace {
  std::string condition;  // as written in the policy
  std::string actual;     // the feature's value
  bool held = false;
};
struct RuleTrace {
  std::string rule;
  std::vector<ConditionTrace> conditions;
  bool matched = false;
};

// `trace`, when non-null, receives every rule evaluated up to and including the match.
Decision Decide(const Features& features, const Policy& policy,
                std::vector<RuleTrace>* trace = nullptr);

// The conditions of `rule` evaluated on `features` (all of them, even after one fails).
RuleTrace EvaluateRule(const Rule& rule, const Features& features, const Policy& policy);

}  // namespace hearth::router
