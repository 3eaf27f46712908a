// The router as the server's front (`hearth serve --policy policy.toml`): the policy and backends
// read from one TOML file as `hearth route explain` reads them, a backends::Pool holding the
// network backends (each egress written to the audit log first) plus the local models as the
// `device` backend, a PoolDispatcher, the Router, and the ledger. The HTTP layer sends
// /v1/chat/completions through router().Handle / HandleStream.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backends/backend.h"
#include "backends/pool.h"
#include "core/status.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "router/pool_dispatcher.h"
#include "router/router.h"
#include "server/model_host.h"

namespace hearth::server {

// The local models as one backend of the pool: tier device, name "local". A request naming a
// model the host serves runs on that model; any other name ("auto", "local", a cloud model the
// policy kept here) runs on the default model.
class DeviceBackend : public backends::Backend {
 public:
  explicit DeviceBackend(ModelHost* host);
  const std::string& name() const override { return name_; }
  backends::Tier tier() const override { return backends::Tier::kDevice; }
  const std::string& model() const override { return model_; }
  Result<backends::ChatResult> Complete(const backends::ChatRequest& request,
                                        const backends::ChunkCallback* stream) override;
  Status Health() override;

 private:
  ModelHost* host_;
  std::string name_ = "local";
  std::string model_;  // the host's default model
};

struct RouterFrontOptions {
  std::string policy_path;               // policy + [[backend]] tables in one TOML file
  bool offline = false;                  // also set by `offline = true` in the file
  std::string ledger_path;               // "" = no ledger
  std::string audit_path = "hearth-audit.jsonl";  // opened when a network backend exists
  int64_t local_context_tokens = 8192;   // the context one local sequence gets
  int64_t health_interval_ms = 30000;    // pool health probes
};

class RouterFront {
 public:
  static Result<std::unique_ptr<RouterFront>> Create(const RouterFrontOptions& options,
                                                     ModelHost* host);
  ~RouterFront();

  router::Router& router() { return *router_; }
  // Counts one routed request (or its failure) for /metrics.
  void Note(const router::RouteInfo* route, const Status& status);
  // hearth_router_* metrics.
  void RenderMetrics(std::string* out) const;
  int network_backends() const { return network_backends_; }

 private:
  RouterFront() = default;

  // Declared in dependency order: destroyed router first, audit log last.
  std::unique_ptr<ledger::AuditLog> audit_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<backends::Pool> pool_;
  std::unique_ptr<router::PoolDispatcher> dispatcher_;
  std::unique_ptr<router::Router> router_;
  int network_backends_ = 0;

  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> routed_;  // (tier, backend)
  std::map<std::string, uint64_t> redactions_;                      // entity type
  std::map<std::string, uint64_t> errors_;                          // status code name
  double cost_usd_ = 0;
};

}  // namespace hearth::server
