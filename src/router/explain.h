// Route explain: the decision for a request and why, without sending anything.
//
// `hearth route explain --policy policy.toml request.json` calls ExplainRequest and prints
// ExplainText (or ExplainJson with --json). The explanation lists the features, each rule
// evaluated with every condition and its actual value, the rule that decided, the fallbacks and,
// for escalate_redacted, the exact body that would leave. Findings are shown by type and byte
// span, never by value.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "router/features.h"
#include "router/policy.h"
#include "router/router.h"

namespace hearth::router {

// What `route explain` reads from request.json: either a bare chat-completions body, or
//   {"body": {...}, "headers": {"X-Hearth-Sensitivity": "confidential"}, "api_key": "...",
//    "route": "/v1/chat/completions"}
struct ExplainInput {
  nlohmann::json body;
  RequestMeta meta;
};
// Parses that JSON text without exceptions; errors name the source and what is wrong.
Result<ExplainInput> ParseExplainInput(std::string_view json_text, std::string_view source);
Result<ExplainInput> LoadExplainInput(const std::string& path);

// Plans `body` under `policy` in `env` (backends as configured, all assumed available unless
// the caller says otherwise).
Result<Plan> ExplainRequest(const nlohmann::json& body, const RequestMeta& meta,
                            const Environment& env, const Policy& policy);

std::string ExplainText(const Plan& plan, const Policy& policy);
nlohmann::json ExplainJson(const Plan& plan, const Policy& policy);

}  // namespace hearth::router
