#include "router/decide.h"

#include <algorithm>
#include <cstdio>

namespace hearth::router {

namespace {

std::string Join(const std::vector<std::string>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + ("\"" + v[i] + "\"");
  return s + "]";
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string Bool(bool b) { return b ? "true" : "false"; }

bool In(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

std::string EntitySummary(const Features& f) {
  std::string s;
  for (const auto& [type, n] : f.entity_counts) {
    s += (s.empty() ? "" : ", ") + type + " x" + std::to_string(n);
  }
  return s;
}

std::string SensitivityText(const Features& f) {
  std::string s(SensitivityName(f.sensitivity()));
  if (!f.label_source.empty()) s += "; label " + std::string(SensitivityName(f.label)) + " from " + f.label_source;
  if (!f.entity_counts.empty()) s += "; found " + EntitySummary(f);
  return s;
}

}  // namespace

Status Decision::BlockStatus() const {
  if (!blocked()) return Status::Ok();
  return Status(block_code == StatusCode::kOk ? StatusCode::kPermissionDenied : block_code,
                "blocked by rule \"" + rule + "\": " + reason);
}

RuleTrace EvaluateRule(const Rule& rule, const Features& f, const Policy& policy) {
  RuleTrace t;
  t.rule = rule.name;
  const Conditions& c = rule.when;
  auto add = [&](std::string cond, std::string actual, bool held) {
    t.conditions.push_back({std::move(cond), std::move(actual), held});
  };
  const Sensitivity s = f.sensitivity();
  if (c.sensitivity_at_least) {
    add("sensitivity_at_least = \"" + std::string(SensitivityName(*c.sensitivity_at_least)) + "\"",
        SensitivityText(f), s >= *c.sensitivity_at_least);
  }
  if (c.sensitivity_below) {
    add("sensitivity_below = \"" + std::string(SensitivityName(*c.sensitivity_below)) + "\"",
        SensitivityText(f), s < *c.sensitivity_below);
  }
  if (c.sensitive) add("sensitive = " + Bool(*c.sensitive), SensitivityText(f), f.sensitive() == *c.sensitive);
  if (!c.entities_any.empty()) {
    bool hit = false;
    for (const std::string& e : c.entities_any) hit = hit || f.entity_counts.count(e) > 0;
    add("entities_any = " + Join(c.entities_any), f.entity_counts.empty() ? "none found" : EntitySummary(f), hit);
  }
  if (!c.modalities_any.empty()) {
    const bool hit = (In(c.modalities_any, "image") && f.modalities.image) ||
                     (In(c.modalities_any, "audio") && f.modalities.audio) ||
                     (In(c.modalities_any, "video") && f.modalities.video);
    add("modalities_any = " + Join(c.modalities_any), ModalitiesName(f.modalities), hit);
  }
  const std::string fit_text = "prompt " + std::to_string(f.prompt_tokens) + " + output " +
                               std::to_string(f.output_tokens) + " tokens vs local context " +
                               std::to_string(f.local_context_tokens);
  if (c.context_fits) add("context_fits = " + Bool(*c.context_fits), fit_text, f.context_fits == *c.context_fits);
  if (c.prompt_tokens_above) {
    add("prompt_tokens_above = " + std::to_string(*c.prompt_tokens_above), std::to_string(f.prompt_tokens),
        f.prompt_tokens > *c.prompt_tokens_above);
  }
  const std::string diff = Num(f.difficulty.score);
  if (c.difficulty_at_least) add("difficulty_at_least = " + Num(*c.difficulty_at_least), diff, f.difficulty.score >= *c.difficulty_at_least);
  if (c.difficulty_below) add("difficulty_below = " + Num(*c.difficulty_below), diff, f.difficulty.score < *c.difficulty_below);
  if (c.hard) {
    const bool hard = f.difficulty.score >= policy.difficulty_threshold;
    add("hard = " + Bool(*c.hard), diff + " vs threshold " + Num(policy.difficulty_threshold), hard == *c.hard);
  }
  if (c.latency_budget_ms_below) {
    add("latency_budget_ms_below = " + std::to_string(*c.latency_budget_ms_below),
        f.latency_budget_ms ? std::to_string(*f.latency_budget_ms) + " ms" : "no budget given",
        f.latency_budget_ms && *f.latency_budget_ms < *c.latency_budget_ms_below);
  }
  const std::string budget = f.budget_remaining_usd ? "$" + Num(*f.budget_remaining_usd) + " left" : "no budget configured";
  if (c.budget_exhausted) add("budget_exhausted = " + Bool(*c.budget_exhausted), budget, f.budget_exhausted == *c.budget_exhausted);
  if (c.budget_remaining_below) {
    add("budget_remaining_below = " + Num(*c.budget_remaining_below), budget,
        f.budget_remaining_usd && *f.budget_remaining_usd < *c.budget_remaining_below);
  }
  if (c.cloud_available) {
    const bool a = f.TierAvailable(Tier::kCloud);
    add("cloud_available = " + Bool(*c.cloud_available), Bool(a), a == *c.cloud_available);
  }
  if (c.private_available) {
    const bool a = f.TierAvailable(Tier::kPrivate);
    add("private_available = " + Bool(*c.private_available), Bool(a), a == *c.private_available);
  }
  if (!c.backend_unavailable.empty()) {
    std::string down;
    for (const std::string& name : c.backend_unavailable) {
      const BackendInfo* b = f.FindBackend(name);
      if (b == nullptr || !b->available) down += (down.empty() ? "" : ", ") + name;
    }
    add("backend_unavailable = " + Join(c.backend_unavailable), down.empty() ? "all available" : "down: " + down, !down.empty());
  }
  if (!c.model_kind.empty()) {
    add("model_kind = " + Join(c.model_kind), std::string(ModelKindName(f.model_kind)) + " (model \"" + f.model + "\")",
        In(c.model_kind, ModelKindName(f.model_kind)));
  }
  if (!c.model_tier.empty()) {
    const bool named = f.model_kind == ModelKind::kNamed;
    add("model_tier = " + Join(c.model_tier), named ? std::string(TierLabel(f.model_tier)) : "no named model",
        named && (In(c.model_tier, TierLabel(f.model_tier)) ||
                  (f.model_tier == Tier::kDevice && In(c.model_tier, "local"))));
  }
  if (!c.model.empty()) add("model = " + Join(c.model), "\"" + f.model + "\"", In(c.model, f.model));
  if (!c.api_key.empty()) add("api_key = [...]", "(not shown)", In(c.api_key, f.api_key));
  if (!c.route.empty()) add("route = " + Join(c.route), f.route, In(c.route, f.route));
  if (c.stream) add("stream = " + Bool(*c.stream), Bool(f.stream), f.stream == *c.stream);
  t.matched = std::all_of(t.conditions.begin(), t.conditions.end(),
                          [](const ConditionTrace& ct) { return ct.held; });
  return t;
}

namespace {

void Block(Decision& d, StatusCode code, std::string reason) {
  d.action = ActionKind::kBlock;
  d.block_code = code;
  d.reason = std::move(reason);
  d.backend.clear();
}

// Runs locally after an escalation could not go where it was sent; or, when the prompt does not
// fit locally, on a private backend; or refuses.
void FallBack(Decision& d, const Features& f, FallbackKind kind, const std::string& why,
              const std::string& what) {
  d.fell_back = true;
  d.fallback = why;
  if (kind == FallbackKind::kBlock) {
    Block(d, why == "budget_exhausted" ? StatusCode::kResourceExhausted : StatusCode::kUnavailable,
          what + "; the policy blocks instead of falling back");
    return;
  }
  if (f.context_fits) {
    d.action = ActionKind::kLocal;
    d.tier = Tier::kDevice;
    d.backend.clear();
    d.reason = what + "; fell back to local";
    return;
  }
  if (d.tier == Tier::kCloud && f.TierAvailable(Tier::kPrivate)) {
    d.tier = Tier::kPrivate;
    d.backend.clear();
    d.reason = what + "; the prompt does not fit locally, so it goes to a private backend";
    return;
  }
  Block(d, StatusCode::kUnavailable,
        what + ", and the prompt (" + std::to_string(f.prompt_tokens) + " + " +
            std::to_string(f.output_tokens) + " output tokens) does not fit the local context of " +
            std::to_string(f.local_context_tokens) + " tokens");
}

std::string DescribeMatch(const RuleTrace& t) {
  std::string s;
  for (const ConditionTrace& c : t.conditions) {
    s += (s.empty() ? "" : "; ") + c.condition + " (" + c.actual + ")";
  }
  return s.empty() ? "no conditions" : s;
}

}  // namespace

Decision Decide(const Features& f, const Policy& policy, std::vector<RuleTrace>* trace) {
  const Rule* matched = nullptr;
  RuleTrace matched_trace;
  for (const Rule& rule : policy.rules) {
    RuleTrace t = EvaluateRule(rule, f, policy);
    if (trace) trace->push_back(t);
    if (t.matched) {
      matched = &rule;
      matched_trace = std::move(t);
      break;
    }
  }
  Rule fallback_rule;
  if (matched == nullptr) {
    fallback_rule.name = "default";
    fallback_rule.action = policy.default_action;
    fallback_rule.tier = policy.default_tier;
    fallback_rule.reason = "no rule matched; the policy default applies";
    matched = &fallback_rule;
  }
  Decision d;
  d.rule = matched->name;
  d.action = matched->action;
  d.reason = matched->reason.empty() ? DescribeMatch(matched_trace) : matched->reason;
  if (f.sensitive() && d.reason.find("found") == std::string::npos) {
    d.reason += " [sensitivity " + SensitivityText(f) + "]";
  }

  switch (matched->action) {
    case ActionKind::kBlock:
      Block(d, StatusCode::kPermissionDenied, d.reason);
      return d;
    case ActionKind::kLocal:
      d.tier = Tier::kDevice;
      if (!f.context_fits) {
        Block(d, StatusCode::kOutOfRange,
              "the prompt (" + std::to_string(f.prompt_tokens) + " tokens + " +
                  std::to_string(f.output_tokens) + " output) does not fit the local context of " +
                  std::to_string(f.local_context_tokens) + " tokens and rule \"" + d.rule +
                  "\" keeps it local (" + d.reason + ")");
        return d;
      }
      if (matched->escalate_if_unsure && policy.confidence.enabled) {
        d.escalate_if_unsure = true;
        d.unsure_tier = matched->tier.value_or(Tier::kCloud);
        d.unsure_backend = matched->backend;
      }
      return d;
    case ActionKind::kEscalate:
    case ActionKind::kEscalateRedacted:
      break;
  }

  // Where the escalation goes.
  if (!matched->backend.empty()) {
    d.backend = matched->backend;
    const BackendInfo* b = f.FindBackend(d.backend);
    d.tier = b != nullptr ? b->tier : matched->tier.value_or(Tier::kCloud);
  } else if (matched->tier) {
    d.tier = *matched->tier;
    if (f.model_kind == ModelKind::kNamed && f.model_tier == d.tier) d.backend = f.model_backend;
  } else if (f.model_kind == ModelKind::kNamed) {
    d.tier = f.model_tier;
    d.backend = f.model_backend;
  } else {
    d.tier = Tier::kCloud;
  }
  if (d.tier == Tier::kCloud && f.budget_exhausted) {
    FallBack(d, f, policy.on_budget_exhausted, "budget_exhausted", "the cloud budget is exhausted");
    return d;
  }
  bool available;
  if (!d.backend.empty()) {
    const BackendInfo* b = f.FindBackend(d.backend);
    available = b != nullptr && b->available;
  } else {
    available = f.TierAvailable(d.tier);
  }
  if (!available) {
    const std::string where = d.backend.empty() ? "tier " + std::string(TierLabel(d.tier))
                                                : "backend \"" + d.backend + "\"";
    FallBack(d, f, policy.on_cloud_unavailable,
             d.tier == Tier::kCloud ? "cloud_unavailable" : "private_unavailable",
             "rule \"" + d.rule + "\" escalates to " + where + ", which has no available backend");
  }
  return d;
}

}  // namespace hearth::router
