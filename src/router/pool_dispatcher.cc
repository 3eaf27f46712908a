#include "router/pool_dispatcher.h"

namespace hearth::router {

Result<backends::ChatResult> PoolDispatcher::Complete(Tier tier, const std::string& backend,
                                                      const backends::ChatRequest& request,
                                                      const backends::ChunkCallback* stream) {
  if (!backend.empty()) return pool_->CompleteOn(backend, request, stream);
  return pool_->Complete(tier, request, stream);
}

std::vector<BackendInfo> PoolDispatcher::Backends() const {
  std::vector<BackendInfo> out;
  for (const backends::BackendState& s : pool_->States()) {
    BackendInfo b;
    b.name = s.name;
    b.tier = s.tier;
    if (const backends::Backend* backend = pool_->Find(s.name)) b.model = backend->model();
    b.available = s.healthy && !s.cooling_down;
    b.in_flight = s.in_flight;
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace hearth::router
