#include "backends/factory.h"

#include <cstdlib>

#include "backends/adapters.h"

namespace hearth::backends {

Result<std::unique_ptr<Backend>> CreateBackend(const BackendConfig& config,
                                               const NetworkOptions& options) {
  if (options.offline) {
    return FailedPreconditionError("offline mode: refusing to create network backend \"" +
                                   config.name + "\" (" + config.url + ")");
  }
  if (!options.egress) {
    return FailedPreconditionError("backend \"" + config.name +
                                   "\": no egress observer (every send must be audited)");
  }
  std::string key;
  if (!config.api_key_env.empty()) {
    const char* value = std::getenv(config.api_key_env.c_str());
    if (value == nullptr || value[0] == '\0') {
      return FailedPreconditionError("backend \"" + config.name + "\": environment variable " +
                                     config.api_key_env + " (its API key) is not set");
    }
    key = value;
  }
  auto client = std::make_shared<const HttpClient>(options.egress);
  switch (config.kind) {
    case BackendKind::kOpenAi: return std::unique_ptr<Backend>(NewOpenAiBackend(config, key, client));
    case BackendKind::kAnthropic: return std::unique_ptr<Backend>(NewAnthropicBackend(config, key, client));
    case BackendKind::kGemini: return std::unique_ptr<Backend>(NewGeminiBackend(config, key, client));
  }
  return InternalError("unknown backend kind");
}

Result<std::unique_ptr<Pool>> BuildPool(const BackendsConfig& config, const NetworkOptions& options,
                                        PoolOptions pool_options) {
  auto pool = std::make_unique<Pool>(pool_options);
  if (options.offline || config.offline) return pool;
  for (const BackendConfig& c : config.backends) {
    ASSIGN_OR_RETURN(std::unique_ptr<Backend> backend, CreateBackend(c, options));
    pool->Add(std::move(backend), c.max_retries);
  }
  return pool;
}

}  // namespace hearth::backends
