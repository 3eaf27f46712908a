// Backends and prices described in TOML, parsed into plain structs.
//
//   offline = false                       # optional; true = no network backend may be created
//   reference_cloud_model = "gpt-4o"      # prices "cloud cost avoided" for local requests
//   [[backend]]
//   name = "openai-main"   tier = "cloud"   kind = "openai"      # openai | anthropic | gemini
//   url = "https://api.openai.com/v1"   model = "gpt-4o"   api_key_env = "OPENAI_API_KEY"
//   timeout_ms = 60000   connect_timeout_ms = 5000   max_retries = 2
//   health_path = "/models"   # optional GET probe, relative to url ("" = passive health)
//   max_tokens = 4096         # optional default for providers that require it (Anthropic)
//   [prices."gpt-4o"]
//   input_per_mtok = 2.5   output_per_mtok = 10.0
//
// Unknown top-level tables are ignored, so a policy file may embed these tables and the whole file
// can be handed to ParseBackendsConfig. Unknown keys inside [[backend]] are errors (typos).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend.h"
#include "core/status.h"
#include "ledger/prices.h"

namespace hearth::backends {

enum class BackendKind { kOpenAi, kAnthropic, kGemini };
std::string_view BackendKindName(BackendKind kind);  // "openai", "anthropic", "gemini"

struct BackendConfig {
  std::string name;
  Tier tier = Tier::kPrivate;
  BackendKind kind = BackendKind::kOpenAi;
  std::string url;           // base URL: ".../v1" (OpenAI, Anthropic), ".../v1beta" (Gemini)
  std::string model;         // "" = send the request's own model field
  std::string api_key_env;   // environment variable holding the key; "" = no key
  int64_t timeout_ms = 60000;
  int64_t connect_timeout_ms = 5000;
  int max_retries = 2;
  std::string health_path;   // "" = passive health (failures and cooldown only)
  int64_t max_tokens = 4096; // default max_tokens when the provider requires one
};

struct BackendsConfig {
  bool offline = false;
  std::string reference_cloud_model;   // "" = no cost-avoided figure
  std::vector<BackendConfig> backends;
  ledger::PriceTable prices;
};

// Parses TOML text. `source` names it in errors ("policy.toml: [[backend]] #2: missing url").
Result<BackendsConfig> ParseBackendsConfig(std::string_view toml_text, std::string_view source);
Result<BackendsConfig> LoadBackendsConfig(const std::string& path);

}  // namespace hearth::backends
