// PoolDispatcher: the Router's Dispatcher over a backends::Pool. The server registers the local
// engine in the pool as the `device` backend, next to the private and cloud ones.
#pragma once

#include "backends/pool.h"
#include "router/router.h"

namespace hearth::router {

class PoolDispatcher : public Dispatcher {
 public:
  explicit PoolDispatcher(backends::Pool* pool) : pool_(pool) {}
  Result<backends::ChatResult> Complete(Tier tier, const std::string& backend,
                                        const backends::ChatRequest& request,
                                        const backends::ChunkCallback* stream) override;
  std::vector<BackendInfo> Backends() const override;

 private:
  backends::Pool* pool_;
};

}  // namespace hearth::router
