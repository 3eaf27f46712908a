// Creating network backends from their config. The one place where `offline` is enforced:
// in offline mode every CreateBackend call fails with kFailedPrecondition before any client,
// resolver or socket exists.
#pragma once

#include <memory>

#include "backends/backend.h"
#include "backends/config.h"
#include "backends/pool.h"
#include "core/status.h"

namespace hearth::backends {

struct NetworkOptions {
  bool offline = false;
  EgressObserver egress;  // required: every send is reported here first
};

// An adapter for config.kind (openai, anthropic, gemini). Reads the API key from
// config.api_key_env now; a named but unset variable is an error naming the variable (never its
// value).
Result<std::unique_ptr<Backend>> CreateBackend(const BackendConfig& config,
                                               const NetworkOptions& options);

// A pool holding every backend of `config` (each with its max_retries). In offline mode no
// backend is created and the pool is empty: the device tier (added by the caller) is all there is.
// Fails, naming the backend, when one cannot be created (for example its key variable is unset).
Result<std::unique_ptr<Pool>> BuildPool(const BackendsConfig& config, const NetworkOptions& options,
                                        PoolOptions pool_options = {});

}  // namespace hearth::backends
