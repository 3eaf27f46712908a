// Features: everything the policy may look at, computed once per request.
//
// From the request: sensitivity (an explicit label from the X-Hearth-Sensitivity header or a
// policy rule on the API key / route, raised by what the detectors find), modalities, the prompt
// token estimate against the context that fits locally, difficulty, the latency budget
// (X-Hearth-Latency-Budget-Ms) and the requested model. From outside the request (Environment):
// the local context size, the remaining cloud budget and each backend's health.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "core/status.h"
#include "router/detectors.h"
#include "router/difficulty.h"
#include "router/request.h"

namespace hearth::router {

using backends::Tier;
std::string_view TierLabel(Tier tier);  // "device", "private", "cloud"
Result<Tier> ParseTierLabel(std::string_view name);

// Ordered: a request may go wherever its sensitivity allows, the policy says where that is.
enum class Sensitivity { kPublic = 0, kInternal = 1, kConfidential = 2, kRestricted = 3 };
std::string_view SensitivityName(Sensitivity s);  // "public", "internal", ...
Result<Sensitivity> ParseSensitivity(std::string_view name);

// What the requested `model` field asks for.
enum class ModelKind {
  kAuto,   // "auto", "" or a name no backend serves: the policy decides
  kLocal,  // "local" or one of the policy's local_models
  kNamed,  // a model that a configured private or cloud backend serves
};
std::string_view ModelKindName(ModelKind k);  // "auto", "local", "named"

// One backend as the router sees it (from backends::Pool::States plus its configured model).
struct BackendInfo {
  std::string name;
  Tier tier = Tier::kCloud;
  std::string model;       // the model it serves ("" = whatever the request names)
  bool available = true;   // healthy and not cooling down
  int in_flight = 0;
};

// A detector finding located in one text slot of the request.
struct TextFinding {
  size_t slot = 0;  // index into the request's TextSlot list
  Finding finding;
};

// Inputs that do not come from the request.
struct Environment {
  int64_t local_context_tokens = 8192;          // prompt + output that fit in local memory
  std::optional<double> budget_remaining_usd;   // nullopt: no cloud budget configured
  std::vector<BackendInfo> backends;
  // Counts prompt tokens; nullptr = the chars/4 heuristic over texts plus a per-part charge.
  std::function<int64_t(const nlohmann::json& body)> count_tokens;
  int64_t default_output_tokens = 512;          // when the request sets no max_tokens
};

struct Features {
  // Sensitivity.
  Sensitivity label = Sensitivity::kPublic;  // explicit (header or policy label rule)
  std::string label_source;                  // "header", "label rule <name>", "" when none
  Sensitivity detected = Sensitivity::kPublic;
  Sensitivity sensitivity() const { return label > detected ? label : detected; }
  bool sensitive() const { return sensitivity() >= Sensitivity::kConfidential; }
  std::vector<TextSlot> texts;
  std::vector<TextFinding> findings;
  std::map<std::string, int> entity_counts;  // entity type -> findings

  Modalities modalities;

  int64_t prompt_tokens = 0;
  int64_t output_tokens = 0;        // requested (or default) completion budget
  int64_t local_context_tokens = 0;
  bool context_fits = true;         // prompt + output <= local context

  DifficultyReport difficulty;

  std::optional<int64_t> latency_budget_ms;
  std::optional<double> budget_remaining_usd;
  bool budget_exhausted = false;

  std::vector<BackendInfo> backends;
  bool TierAvailable(Tier tier) const;
  const BackendInfo* FindBackend(std::string_view name) const;

  std::string model;                 // as requested
  ModelKind model_kind = ModelKind::kAuto;
  std::string model_backend;         // for kNamed: the backend serving it
  Tier model_tier = Tier::kDevice;   // for kNamed: that backend's tier

  std::string api_key;
  std::string route;
  bool stream = false;
};

class Policy;  // policy.h

// Computes the features. Fails with InvalidArgument for a malformed body or header (an unknown
// sensitivity label, a non-numeric latency budget).
Result<Features> ExtractFeatures(const nlohmann::json& body, const RequestMeta& meta,
                                 const Environment& env, const Policy& policy,
                                 const Detector& detector);

// The chars/4 estimate: text bytes / 4, plus 256 tokens per image and 750 per audio or video part.
int64_t EstimatePromptTokens(const nlohmann::json& body);

}  // namespace hearth::router
