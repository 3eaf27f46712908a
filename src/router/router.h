// Router: one chat request from the HTTP front to a backend and back.
//
//   request + headers -> features -> Decide -> (redact) -> backend via Dispatcher -> (restore)
//   -> response with `x_route` -> ledger entry
//
// The router owns no network code: it asks a Dispatcher (backends::Pool behind PoolDispatcher,
// with the local engine registered as the `device` backend) to run the request, and every egress
// is audited by the backends' EgressObserver, to which the router passes the entity types it
// redacted. It measures its own decision time (features + decide + redact), separately from the
// backend's time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "core/status.h"
#include "ledger/ledger.h"
#include "ledger/prices.h"
#include "router/decide.h"
#include "router/features.h"
#include "router/policy.h"
#include "router/redact.h"

namespace hearth::router {

// What the router runs requests on.
class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  // Runs on `backend` when named, else on the least busy available backend of `tier`.
  virtual Result<backends::ChatResult> Complete(Tier tier, const std::string& backend,
                                                const backends::ChatRequest& request,
                                                const backends::ChunkCallback* stream) = 0;
  // Every backend with its tier, model and availability now.
  virtual std::vector<BackendInfo> Backends() const = 0;
};

struct RouterOptions {
  Policy policy = DefaultPolicy();
  int64_t local_context_tokens = 8192;
  int64_t default_output_tokens = 512;
  std::function<int64_t(const nlohmann::json& body)> count_tokens;  // null: chars/4
  std::function<std::optional<double>()> budget_remaining_usd;      // null: no budget
  ledger::PriceTable prices;                                        // for x_route cost
  std::function<Status(const ledger::Entry&)> record;               // ledger; may be null
  // Stage-2 confidence of a local answer (from the engine); null disables stage 2.
  std::function<std::optional<AnswerConfidence>(const backends::ChatResult&)> answer_confidence;
};

// Everything `x_route` reports.
struct RouteInfo {
  std::string request_id;
  ActionKind action = ActionKind::kLocal;
  Tier tier = Tier::kDevice;
  std::string backend;
  std::string model;
  std::string rule;
  std::string reason;
  std::string fallback;                   // "" or why the route changed
  std::map<std::string, int> redactions;  // entity type -> occurrences replaced
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  double cost_usd = 0;
  double latency_ms = 0;                  // whole request
  double router_ms = 0;                   // features + decide + redact
  bool escalated_unsure = false;          // stage 2 replaced a local answer
  nlohmann::json ToJson() const;
};

// A decision without sending anything (route explain, tests, the server's dry runs).
struct Plan {
  Features features;
  Decision decision;
  std::vector<RuleTrace> trace;
  std::optional<Redaction> redaction;  // for escalate_redacted
  double router_ms = 0;
};

struct DecisionTimeStats {
  int64_t count = 0;
  double p50_us = 0;
  double p99_us = 0;
  double max_us = 0;
};

class Router {
 public:
  // Compiles the policy's detectors (fails on a bad user pattern).
  static Result<std::unique_ptr<Router>> Create(RouterOptions options, Dispatcher* dispatcher);

  // Features and decision only.
  Result<Plan> MakePlan(const nlohmann::json& body, const RequestMeta& meta) const;

  // Non-streaming: the chat.completion with `x_route`, or the block/backend error.
  Result<nlohmann::json> Handle(const nlohmann::json& body, const RequestMeta& meta,
                                RouteInfo* route = nullptr);
  // Streaming: each chunk goes to `sink` restored, `x_route` on the first one. Returns the route.
  Result<RouteInfo> HandleStream(const nlohmann::json& body, const RequestMeta& meta,
                                 const backends::ChunkCallback& sink);

  DecisionTimeStats decision_time() const;
  const Policy& policy() const { return options_.policy; }

 private:
  Router(RouterOptions options, Dispatcher* dispatcher, Detector detector)
      : options_(std::move(options)), dispatcher_(dispatcher), detector_(std::move(detector)) {}
  Environment MakeEnvironment() const;
  // Request id, plan, decision time and the route fields known before the backend runs.
  Result<Plan> Begin(const nlohmann::json& body, const RequestMeta& meta, RouteInfo& route);
  void Record(const RouteInfo& route, const Status& status);
  void NoteDecisionTime(double us);

  RouterOptions options_;
  Dispatcher* dispatcher_;
  Detector detector_;
  mutable std::mutex mu_;
  std::vector<double> decision_us_;  // ring of the latest kDecisionSamples
  size_t decision_next_ = 0;
  int64_t decision_count_ = 0;
  int64_t next_request_ = 0;
};

}  // namespace hearth::router
