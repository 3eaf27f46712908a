#include "server/router_front.h"

#include <ctime>

#include "backends/audit_observer.h"
#include "backends/config.h"
#include "backends/factory.h"
#include "router/features.h"
#include "router/policy.h"
#include "server/http_util.h"
#include "server/metrics.h"

namespace hearth::server {

using nlohmann::json;

DeviceBackend::DeviceBackend(ModelHost* host) : host_(host), model_(host->DefaultModel()) {}

Result<backends::ChatResult> DeviceBackend::Complete(const backends::ChatRequest& request,
                                                     const backends::ChunkCallback* stream) {
  std::string wanted;
  if (request.body.contains("model") && request.body["model"].is_string()) {
    wanted = request.body["model"];
  }
  std::string name;  // "" = the default model
  for (const ModelInfo& m : host_->List()) {
    if (m.name == wanted) name = wanted;
  }
  Result<std::shared_ptr<LocalModel>> model = host_->Acquire(name, std::nullopt);
  if (!model.ok()) return AcquireError(model.status());
  backends::ChatRequest forwarded = request;
  if (name.empty()) forwarded.body.erase("model");
  else forwarded.body["model"] = name;
  Result<backends::ChatResult> r = (*model)->Complete(forwarded, stream);
  if (r.ok()) r->backend = name_;
  return r;
}

Status DeviceBackend::Health() {
  return host_->Ready() ? Status::Ok() : UnavailableError("the local model is still loading");
}

namespace {

int64_t StartOfThisMonthMs() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

}  // namespace

Result<std::unique_ptr<RouterFront>> RouterFront::Create(const RouterFrontOptions& options,
                                                         ModelHost* host) {
  std::unique_ptr<RouterFront> f(new RouterFront());
  ASSIGN_OR_RETURN(backends::BackendsConfig cfg, backends::LoadBackendsConfig(options.policy_path));
  const bool offline = options.offline || cfg.offline;
  std::vector<router::BackendRef> refs = {{"local", backends::Tier::kDevice}};
  for (const backends::BackendConfig& b : cfg.backends) refs.push_back({b.name, b.tier});
  ASSIGN_OR_RETURN(router::Policy policy, router::LoadPolicy(options.policy_path, refs));

  backends::NetworkOptions net;
  net.offline = offline;
  if (!offline && !cfg.backends.empty()) {
    ASSIGN_OR_RETURN(f->audit_, ledger::AuditLog::Open(options.audit_path));
    net.egress = backends::AuditingObserver(f->audit_.get());
  } else {
    // No network backend can exist; an egress would be a bug, so refuse it.
    net.egress = [](const backends::EgressRecord& r) {
      return FailedPreconditionError("egress to " + r.host + " refused: no audit log is open");
    };
  }
  backends::PoolOptions pool_options;
  pool_options.health_interval_ms = options.health_interval_ms;
  ASSIGN_OR_RETURN(f->pool_, backends::BuildPool(cfg, net, pool_options));
  f->network_backends_ = offline ? 0 : static_cast<int>(cfg.backends.size());
  f->pool_->Add(std::make_unique<DeviceBackend>(host), /*max_retries=*/0);
  f->dispatcher_ = std::make_unique<router::PoolDispatcher>(f->pool_.get());

  if (!options.ledger_path.empty()) {
    ledger::LedgerOptions lo;
    lo.prices = cfg.prices;
    lo.reference_cloud_model = cfg.reference_cloud_model;
    ASSIGN_OR_RETURN(f->ledger_, ledger::Ledger::Open(options.ledger_path, lo));
  }

  router::RouterOptions ro;
  ro.policy = policy;
  ro.local_context_tokens = options.local_context_tokens;
  ro.prices = cfg.prices;
  ro.count_tokens = [host](const json& body) -> int64_t {
    // Count with the tokenizer only when the default model is already loaded: a routing decision
    // must not load a model (the request may not run here at all).
    const std::string def = host->DefaultModel();
    for (const ModelInfo& m : host->Running()) {
      if (m.name != def) continue;
      Result<std::shared_ptr<LocalModel>> model = host->Acquire(def, std::nullopt);
      if (!model.ok()) break;
      const int64_t n = (*model)->CountPromptTokens(body);
      if (n >= 0) return n;
    }
    return router::EstimatePromptTokens(body);
  };
  // Stage 2: the engine reports its confidence in each local answer as x_confidence.
  ro.answer_confidence = [](const backends::ChatResult& r) -> std::optional<router::AnswerConfidence> {
    const json c = r.response.is_object() ? r.response.value("x_confidence", json()) : json();
    if (!c.is_object() || !c.contains("mean_logprob") || !c["mean_logprob"].is_number())
      return std::nullopt;
    router::AnswerConfidence a;
    a.mean_logprob = c["mean_logprob"].get<double>();
    a.mean_entropy = c.value("mean_entropy", 0.0);
    a.tokens = c.value("tokens", int64_t{0});
    return a;
  };
  ledger::Ledger* led = f->ledger_.get();
  if (led != nullptr) {
    ro.record = [led](const ledger::Entry& e) { return led->Record(e); };
    if (policy.monthly_budget_usd) {
      const router::Policy budget_policy = policy;
      ro.budget_remaining_usd = [led, budget_policy]() -> std::optional<double> {
        Result<ledger::Summary> s = led->Summarize(ledger::Period::kAll, StartOfThisMonthMs());
        // An unreadable ledger must not read as "budget left": treat it as spent.
        if (!s.ok()) return 0.0;
        return router::BudgetRemaining(budget_policy, s->total.cost_usd);
      };
    }
  } else if (policy.monthly_budget_usd) {
    // Without a ledger nothing records spending, so the budget could not be enforced: refuse to
    // start rather than run as if it were unlimited.
    return InvalidArgumentError(options.policy_path +
                                ": [budget] monthly_usd needs --ledger to know what was spent");
  }
  ASSIGN_OR_RETURN(f->router_, router::Router::Create(std::move(ro), f->dispatcher_.get()));
  return f;
}

RouterFront::~RouterFront() = default;

void RouterFront::Note(const router::RouteInfo* route, const Status& status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!status.ok()) ++errors_[std::string(StatusCodeName(status.code()))];
  if (route == nullptr || !status.ok()) return;
  ++routed_[{std::string(backends::TierName(route->tier)), route->backend}];
  for (const auto& [entity, n] : route->redactions) redactions_[entity] += n;
  cost_usd_ += route->cost_usd;
}

void RouterFront::RenderMetrics(std::string* out) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    AppendHeader("hearth_router_requests_total", "counter", "Routed requests by tier and backend.",
                 out);
    for (const auto& [k, n] : routed_) {
      AppendSample("hearth_router_requests_total",
                   "tier=\"" + LabelValue(k.first) + "\",backend=\"" + LabelValue(k.second) + "\"",
                   static_cast<double>(n), out);
    }
    AppendHeader("hearth_router_errors_total", "counter",
                 "Routed requests that failed or were blocked, by status code.", out);
    for (const auto& [code, n] : errors_) {
      AppendSample("hearth_router_errors_total", "code=\"" + LabelValue(code) + "\"",
                   static_cast<double>(n), out);
    }
    AppendHeader("hearth_router_redactions_total", "counter",
                 "Findings replaced by placeholders before an escalation, by entity type.", out);
    for (const auto& [entity, n] : redactions_) {
      AppendSample("hearth_router_redactions_total", "entity=\"" + LabelValue(entity) + "\"",
                   static_cast<double>(n), out);
    }
    AppendHeader("hearth_router_cost_usd_total", "counter", "Cost of routed requests in USD.", out);
    AppendSample("hearth_router_cost_usd_total", "", cost_usd_, out);
  }
  const router::DecisionTimeStats d = router_->decision_time();
  AppendHeader("hearth_router_decision_seconds", "summary",
               "The router's own time per request (features, decision, redaction).", out);
  AppendSample("hearth_router_decision_seconds", "quantile=\"0.5\"", d.p50_us / 1e6, out);
  AppendSample("hearth_router_decision_seconds", "quantile=\"0.99\"", d.p99_us / 1e6, out);
  AppendSample("hearth_router_decision_seconds_count", "", static_cast<double>(d.count), out);
  AppendHeader("hearth_router_backend_available", "gauge",
               "1 when a backend is healthy and not cooling down.", out);
  const std::vector<router::BackendInfo> backends = dispatcher_->Backends();
  for (const router::BackendInfo& b : backends) {
    AppendSample("hearth_router_backend_available",
                 "backend=\"" + LabelValue(b.name) + "\",tier=\"" +
                     std::string(backends::TierName(b.tier)) + "\"",
                 b.available ? 1 : 0, out);
  }
  AppendHeader("hearth_router_backend_in_flight", "gauge", "Requests running on each backend.",
               out);
  for (const router::BackendInfo& b : backends) {
    AppendSample("hearth_router_backend_in_flight", "backend=\"" + LabelValue(b.name) + "\"",
                 b.in_flight, out);
  }
}

}  // namespace hearth::server
