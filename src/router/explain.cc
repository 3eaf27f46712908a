#include "router/explain.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace hearth::router {

using nlohmann::json;

Result<ExplainInput> ParseExplainInput(std::string_view json_text, std::string_view source) {
  const json j = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgumentError(std::string(source) + ": not valid JSON");
  if (!j.is_object()) return InvalidArgumentError(std::string(source) + ": expected a JSON object");
  ExplainInput in;
  if (!j.contains("body")) {
    in.body = j;
    return in;
  }
  in.body = j["body"];
  if (auto h = j.find("headers"); h != j.end()) {
    if (!h->is_object()) return InvalidArgumentError(std::string(source) + ": \"headers\" must be an object");
    for (const auto& [name, value] : h->items()) {
      if (!value.is_string()) {
        return InvalidArgumentError(std::string(source) + ": header \"" + name + "\" must be a string");
      }
      in.meta.SetHeader(name, value.get<std::string>());
    }
  }
  if (j.contains("api_key")) in.meta.api_key = StringField(j, "api_key");
  if (j.contains("route")) in.meta.route = StringField(j, "route");
  return in;
}

Result<ExplainInput> LoadExplainInput(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFoundError("request file " + path + ": cannot open");
  std::ostringstream ss;
  ss << f.rdbuf();
  return ParseExplainInput(ss.str(), path);
}

Result<Plan> ExplainRequest(const json& body, const RequestMeta& meta, const Environment& env,
                            const Policy& policy) {
  ASSIGN_OR_RETURN(Detector detector, Detector::Create(policy.detectors));
  const auto t0 = std::chrono::steady_clock::now();
  Plan plan;
  ASSIGN_OR_RETURN(plan.features, ExtractFeatures(body, meta, env, policy, detector));
  plan.decision = Decide(plan.features, policy, &plan.trace);
  if (plan.decision.action == ActionKind::kEscalateRedacted) plan.redaction = Redact(body, plan.features);
  plan.router_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  return plan;
}

namespace {

json FeaturesJson(const Features& f) {
  json findings = json::array();
  for (const TextFinding& tf : f.findings) {
    findings.push_back({{"type", tf.finding.type},
                        {"subtype", tf.finding.subtype},
                        {"where", f.texts[tf.slot].pointer},
                        {"begin", tf.finding.begin},
                        {"end", tf.finding.end},
                        {"confidence", tf.finding.confidence}});
  }
  json signals = json::object();
  for (const DifficultySignal& s : f.difficulty.signals) signals[s.name] = s.value;
  json backends = json::array();
  for (const BackendInfo& b : f.backends) {
    backends.push_back({{"name", b.name}, {"tier", TierLabel(b.tier)}, {"model", b.model},
                        {"available", b.available}, {"in_flight", b.in_flight}});
  }
  return {{"sensitivity", SensitivityName(f.sensitivity())},
          {"label", SensitivityName(f.label)},
          {"label_source", f.label_source},
          {"detected", SensitivityName(f.detected)},
          {"entities", f.entity_counts},
          {"findings", findings},
          {"modalities", ModalitiesName(f.modalities)},
          {"prompt_tokens", f.prompt_tokens},
          {"output_tokens", f.output_tokens},
          {"local_context_tokens", f.local_context_tokens},
          {"context_fits", f.context_fits},
          {"difficulty", f.difficulty.score},
          {"difficulty_signals", signals},
          {"latency_budget_ms", f.latency_budget_ms ? json(*f.latency_budget_ms) : json(nullptr)},
          {"budget_remaining_usd", f.budget_remaining_usd ? json(*f.budget_remaining_usd) : json(nullptr)},
          {"budget_exhausted", f.budget_exhausted},
          {"model", f.model},
          {"model_kind", ModelKindName(f.model_kind)},
          {"model_backend", f.model_backend},
          {"backends", backends}};
}

json DecisionJson(const Decision& d) {
  json j = {{"action", ActionName(d.action)},
            {"tier", d.blocked() ? json(nullptr) : json(TierLabel(d.tier))},
            {"backend", d.backend},
            {"rule", d.rule},
            {"reason", d.reason},
            {"fallback", d.fell_back ? json(d.fallback) : json(nullptr)},
            {"leaves_machine", d.leaves_machine()}};
  if (d.blocked()) j["error"] = std::string(StatusCodeName(d.block_code));
  if (d.escalate_if_unsure) {
    j["escalate_if_unsure"] = {{"tier", TierLabel(d.unsure_tier)}, {"backend", d.unsure_backend}};
  }
  return j;
}

}  // namespace

json ExplainJson(const Plan& plan, const Policy& policy) {
  json rules = json::array();
  for (const RuleTrace& t : plan.trace) {
    json conds = json::array();
    for (const ConditionTrace& c : t.conditions) {
      conds.push_back({{"condition", c.condition}, {"actual", c.actual}, {"held", c.held}});
    }
    rules.push_back({{"rule", t.rule}, {"matched", t.matched}, {"conditions", conds}});
  }
  json j = {{"policy", policy.source},
            {"features", FeaturesJson(plan.features)},
            {"rules_evaluated", rules},
            {"decision", DecisionJson(plan.decision)},
            {"router_ms", plan.router_ms}};
  if (plan.redaction) {
    j["redactions"] = plan.redaction->counts;
    j["would_send"] = plan.redaction->body;
  }
  return j;
}

std::string ExplainText(const Plan& plan, const Policy& policy) {
  const Features& f = plan.features;
  const Decision& d = plan.decision;
  std::ostringstream os;
  os << "policy: " << policy.source << "\n\n";
  if (d.blocked()) {
    os << "decision: BLOCK (" << StatusCodeName(d.block_code) << ") by rule \"" << d.rule << "\"\n";
  } else {
    os << "decision: " << ActionName(d.action) << " -> " << TierLabel(d.tier)
       << (d.backend.empty() ? "" : " (backend " + d.backend + ")") << " by rule \"" << d.rule << "\"\n";
  }
  os << "reason:   " << d.reason << "\n";
  if (d.fell_back) os << "fallback: " << d.fallback << "\n";
  os << "leaves this machine: " << (d.leaves_machine() ? "yes" : "no") << "\n\nfeatures:\n";
  os << "  sensitivity   " << SensitivityName(f.sensitivity()) << " (label " << SensitivityName(f.label)
     << (f.label_source.empty() ? "" : " from " + f.label_source) << ", detected "
     << SensitivityName(f.detected) << ")\n";
  for (const TextFinding& tf : f.findings) {
    char conf[16];
    std::snprintf(conf, sizeof conf, "%.2f", tf.finding.confidence);
    os << "    found " << tf.finding.type << " at " << f.texts[tf.slot].pointer << " bytes "
       << tf.finding.begin << ".." << tf.finding.end << " (confidence " << conf << ")\n";
  }
  os << "  modalities    " << ModalitiesName(f.modalities) << "\n";
  os << "  tokens        prompt " << f.prompt_tokens << " + output " << f.output_tokens << " vs local context "
     << f.local_context_tokens << (f.context_fits ? " (fits)" : " (does NOT fit)") << "\n";
  char diff[32];
  std::snprintf(diff, sizeof diff, "%.2f", f.difficulty.score);
  os << "  difficulty    " << diff << " (threshold " << policy.difficulty_threshold << ";";
  for (const DifficultySignal& s : f.difficulty.signals) {
    char v[32];
    std::snprintf(v, sizeof v, " %s %+.2f", s.name.c_str(), s.value);
    os << v;
  }
  os << ")\n";
  os << "  model         \"" << f.model << "\" (" << ModelKindName(f.model_kind)
     << (f.model_backend.empty() ? "" : ", served by " + f.model_backend) << ")\n";
  if (f.latency_budget_ms) os << "  latency budget " << *f.latency_budget_ms << " ms\n";
  if (f.budget_remaining_usd) os << "  budget left   $" << *f.budget_remaining_usd << "\n";
  os << "  backends     ";
  for (const BackendInfo& b : f.backends) {
    os << " " << b.name << "[" << TierLabel(b.tier) << (b.available ? "" : ", DOWN") << "]";
  }
  os << "\n\nrules evaluated (first match wins):\n";
  for (const RuleTrace& t : plan.trace) {
    os << "  " << (t.matched ? "MATCH " : "      ") << t.rule << "\n";
    for (const ConditionTrace& c : t.conditions) {
      os << "      " << (c.held ? "yes " : "no  ") << c.condition << "   [" << c.actual << "]\n";
    }
  }
  if (d.rule == "default") os << "  (no rule matched: default action " << ActionName(policy.default_action) << ")\n";
  if (plan.redaction) {
    os << "\nwould send (redacted):\n" << plan.redaction->body.dump(2) << "\n";
  }
  return os.str();
}

}  // namespace hearth::router
