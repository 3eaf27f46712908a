// Creating network backends from their config. The one place where `offline` is enforced:
// in offline mode every CreateBackend call fails with kFailedPrecondition before any client,
// resolver or socket exists.
#pragma once

#include <memory>

#include "backends/backend.h"
#include "backends/config.h"
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

}  // namespace hearth::backends
