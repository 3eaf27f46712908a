#include "router/router.h"

#include <algorithm>
#include <atomic>

#include "core/clock.h"

namespace hearth::router {

using nlohmann::json;

namespace {

constexpr size_t kDecisionSamples = 4096;  // decision times kept for p50/p99

double Cost(const ledger::PriceTable& prices, const std::string& model, int64_t in, int64_t out) {
  auto it = prices.find(model);
  if (it == prices.end()) return 0;
  return (in * it->second.input_per_mtok + out * it->second.output_per_mtok) / 1e6;
}

}  // namespace

json RouteInfo::ToJson() const {
  json j = {{"request_id", request_id},
            {"action", ActionName(action)},
            {"tier", action == ActionKind::kBlock ? json(nullptr) : json(TierLabel(tier))},
            {"backend", backend},
            {"model", model},
            {"rule", rule},
            {"reason", reason},
            {"fallback", fallback.empty() ? json(nullptr) : json(fallback)},
            {"redactions", json::object()},
            {"prompt_tokens", prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"cost_usd", cost_usd},
            {"latency_ms", latency_ms},
            {"router_ms", router_ms}};
  for (const auto& [type, n] : redactions) j["redactions"][type] = n;
  if (escalated_unsure) j["escalated_unsure"] = true;
  return j;
}

Result<std::unique_ptr<Router>> Router::Create(RouterOptions options, Dispatcher* dispatcher) {
  CHECK(dispatcher != nullptr);
  auto detector = Detector::Create(options.policy.detectors);
  if (!detector.ok()) return detector.status().WithContext("router policy " + options.policy.source);
  return std::unique_ptr<Router>(new Router(std::move(options), dispatcher, std::move(detector).value()));
}

Environment Router::MakeEnvironment() const {
  Environment env;
  env.local_context_tokens = options_.local_context_tokens;
  env.default_output_tokens = options_.default_output_tokens;
  env.count_tokens = options_.count_tokens;
  if (options_.budget_remaining_usd) env.budget_remaining_usd = options_.budget_remaining_usd();
  env.backends = dispatcher_->Backends();
  return env;
}

Result<Plan> Router::MakePlan(const json& body, const RequestMeta& meta) const {
  const Environment env = MakeEnvironment();  // outside the timed part: it asks the pool
  const auto t0 = std::chrono::steady_clock::now();
  Plan plan;
  ASSIGN_OR_RETURN(plan.features, ExtractFeatures(body, meta, env, options_.policy, detector_));
  plan.decision = Decide(plan.features, options_.policy, &plan.trace);
  if (plan.decision.action == ActionKind::kEscalateRedacted) {
    plan.redaction = Redact(body, plan.features);
  }
  plan.router_ms = MsSince(t0);
  return plan;
}

void Router::NoteDecisionTime(double us) {
  std::lock_guard<std::mutex> lock(mu_);
  if (decision_us_.size() < kDecisionSamples) {
    decision_us_.push_back(us);
  } else {
    decision_us_[decision_next_] = us;
  }
  decision_next_ = (decision_next_ + 1) % kDecisionSamples;
  ++decision_count_;
}

DecisionTimeStats Router::decision_time() const {
  std::vector<double> v;
  DecisionTimeStats s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    v = decision_us_;
    s.count = decision_count_;
  }
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto at = [&](double q) { return v[std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5))]; };
  s.p50_us = at(0.50);
  s.p99_us = at(0.99);
  s.max_us = v.back();
  return s;
}

void Router::Record(const RouteInfo& route, const Status& status) {
  if (!options_.record) return;
  ledger::Entry e;
  e.request_id = route.request_id;
  e.tier = route.action == ActionKind::kBlock ? "" : std::string(TierLabel(route.tier));
  e.backend = route.backend;
  e.model = route.model;
  e.rule = route.rule;
  for (const auto& [type, n] : route.redactions) e.redactions[type] = n;
  e.prompt_tokens = route.prompt_tokens;
  e.completion_tokens = route.completion_tokens;
  e.latency_ms = route.latency_ms;
  e.status = status.ok() ? "ok" : std::string(StatusCodeName(status.code()));
  // A ledger failure must not fail the user's request; it is the ledger's job to report it.
  (void)options_.record(e);
}

Result<Plan> Router::Begin(const json& body, const RequestMeta& meta, RouteInfo& route) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    route.request_id = "hearth-" + std::to_string(++next_request_);
  }
  if (const std::string* id = meta.Header("x-request-id")) route.request_id = *id;
  ASSIGN_OR_RETURN(Plan plan, MakePlan(body, meta));
  NoteDecisionTime(plan.router_ms * 1000.0);
  const Decision& d = plan.decision;
  route.action = d.action;
  route.tier = d.tier;
  route.backend = d.backend;
  route.rule = d.rule;
  route.reason = d.reason;
  route.fallback = d.fallback;
  route.router_ms = plan.router_ms;
  route.prompt_tokens = plan.features.prompt_tokens;
  if (plan.redaction) route.redactions = plan.redaction->counts;
  return plan;
}

Result<json> Router::Handle(const json& body, const RequestMeta& meta, RouteInfo* route_out) {
  const auto t0 = std::chrono::steady_clock::now();
  RouteInfo route;
  auto plan_or = Begin(body, meta, route);
  if (!plan_or.ok()) return plan_or.status();
  Plan& plan = *plan_or;
  const Decision& d = plan.decision;
  if (d.blocked()) {
    route.latency_ms = MsSince(t0);
    const Status s = d.BlockStatus();
    Record(route, s);
    if (route_out) *route_out = route;
    return s;
  }

  backends::ChatRequest req;
  req.body = plan.redaction ? plan.redaction->body : body;
  req.request_id = route.request_id;
  if (plan.redaction) req.redacted_entity_types = plan.redaction->entity_types();
  auto result = dispatcher_->Complete(d.tier, d.backend, req, nullptr);

  // Runtime fallback: the escalation failed after the pool's retries; run it here if allowed.
  if (!result.ok() && d.tier != Tier::kDevice && result.status().code() != StatusCode::kInvalidArgument &&
      options_.policy.on_cloud_unavailable == FallbackKind::kLocal && plan.features.context_fits) {
    route.fallback = "backend_failed: " + std::string(StatusCodeName(result.status().code()));
    route.tier = Tier::kDevice;
    route.backend.clear();
    route.redactions.clear();
    req.body = body;
    req.redacted_entity_types.clear();
    plan.redaction.reset();
    result = dispatcher_->Complete(Tier::kDevice, "", req, nullptr);
  }

  // Stage 2: a local answer that is too unsure escalates (never sensitive data to the cloud).
  if (result.ok() && route.tier == Tier::kDevice && d.escalate_if_unsure && options_.answer_confidence &&
      !(plan.features.sensitive() && d.unsure_tier == Tier::kCloud)) {
    std::optional<AnswerConfidence> conf = options_.answer_confidence(*result);
    const bool target_ok = d.unsure_backend.empty() ? plan.features.TierAvailable(d.unsure_tier)
                                                     : plan.features.FindBackend(d.unsure_backend) != nullptr;
    const bool budget_ok = d.unsure_tier != Tier::kCloud || !plan.features.budget_exhausted;
    if (conf && ShouldEscalate(options_.policy.confidence, *conf) && target_ok && budget_ok) {
      auto second = dispatcher_->Complete(d.unsure_tier, d.unsure_backend, req, nullptr);
      if (second.ok()) {
        result = std::move(second);
        route.tier = d.unsure_tier;
        route.escalated_unsure = true;
      }
    }
  }

  route.latency_ms = MsSince(t0);
  if (!result.ok()) {
    Record(route, result.status());
    if (route_out) *route_out = route;
    return result.status();
  }
  backends::ChatResult& r = *result;
  if (!r.response.is_object()) {
    const Status s = InternalError("backend \"" + r.backend + "\" returned a response that is not a JSON object");
    Record(route, s);
    return s;
  }
  route.backend = r.backend;
  route.model = r.model;
  route.prompt_tokens = r.usage.prompt_tokens > 0 ? r.usage.prompt_tokens : route.prompt_tokens;
  route.completion_tokens = r.usage.completion_tokens;
  if (route.tier != Tier::kDevice) {
    route.cost_usd = Cost(options_.prices, r.model, route.prompt_tokens, route.completion_tokens);
  }
  if (plan.redaction) RestoreResponse(r.response, plan.redaction->map);
  r.response["x_route"] = route.ToJson();
  Record(route, Status::Ok());
  if (route_out) *route_out = route;
  return std::move(r.response);
}

Result<RouteInfo> Router::HandleStream(const json& body, const RequestMeta& meta,
                                       const backends::ChunkCallback& sink) {
  const auto t0 = std::chrono::steady_clock::now();
  RouteInfo route;
  auto plan_or = Begin(body, meta, route);
  if (!plan_or.ok()) return plan_or.status();
  Plan& plan = *plan_or;
  const Decision& d = plan.decision;
  if (d.blocked()) {
    route.latency_ms = MsSince(t0);
    const Status s = d.BlockStatus();
    Record(route, s);
    return s;
  }

  std::optional<ChunkRestorer> restorer;
  if (plan.redaction) restorer.emplace(&plan.redaction->map);
  bool first = true;
  backends::ChunkCallback relay = [&](const json& chunk) {
    json c = chunk;
    if (restorer) restorer->Restore(c);
    if (first && c.is_object()) {
      RouteInfo early = route;
      early.latency_ms = MsSince(t0);
      c["x_route"] = early.ToJson();
      first = false;
    }
    return sink(c);
  };
  backends::ChatRequest req;
  req.body = plan.redaction ? plan.redaction->body : body;
  req.request_id = route.request_id;
  if (plan.redaction) req.redacted_entity_types = plan.redaction->entity_types();
  auto result = dispatcher_->Complete(d.tier, d.backend, req, &relay);
  if (!result.ok() && first && d.tier != Tier::kDevice &&
      result.status().code() != StatusCode::kInvalidArgument &&
      result.status().code() != StatusCode::kCancelled &&
      options_.policy.on_cloud_unavailable == FallbackKind::kLocal && plan.features.context_fits) {
    // Nothing reached the client yet: run it here instead.
    route.fallback = "backend_failed: " + std::string(StatusCodeName(result.status().code()));
    route.tier = Tier::kDevice;
    route.backend.clear();
    route.redactions.clear();
    restorer.reset();
    req.body = body;
    req.redacted_entity_types.clear();
    result = dispatcher_->Complete(Tier::kDevice, "", req, &relay);
  }
  if (restorer) {
    // A stream cut before finish_reason: release what was held back so no text is lost.
    for (auto& [index, text] : restorer->Finish()) {
      json tail = {{"object", "chat.completion.chunk"},
                   {"choices", {{{"index", index}, {"delta", {{"content", text}}}, {"finish_reason", nullptr}}}}};
      sink(tail);
    }
  }
  route.latency_ms = MsSince(t0);
  if (!result.ok()) {
    Record(route, result.status());
    return result.status();
  }
  route.backend = result->backend;
  route.model = result->model;
  route.prompt_tokens = result->usage.prompt_tokens > 0 ? result->usage.prompt_tokens : route.prompt_tokens;
  route.completion_tokens = result->usage.completion_tokens;
  if (route.tier != Tier::kDevice) {
    route.cost_usd = Cost(options_.prices, result->model, route.prompt_tokens, route.completion_tokens);
  }
  Record(route, Status::Ok());
  return route;
}

}  // namespace hearth::router
