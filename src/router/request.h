// Request: read-only views of an OpenAI chat-completions request body (nlohmann::json) that the
// router needs — every text the user wrote (for detectors, difficulty and redaction), the
// modalities present, the requested model and output budget — plus the HTTP headers beside it.
//
// Texts are addressed by JSON pointer so that redaction can rewrite exactly those strings:
//   /messages/0/content                      (string content)
//   /messages/1/content/0/text               (a {"type":"text"} part)
//   /messages/2/tool_calls/0/function/arguments
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace hearth::router {

struct TextSlot {
  std::string pointer;  // JSON pointer into the request body
  std::string text;     // the string at that pointer
  std::string role;     // the message's role ("user", "system", "assistant", "tool", ...)
};

// Every user- or assistant-written text of the request, in message order. Fails
// (InvalidArgument, naming the field) when `messages` is missing or malformed.
Result<std::vector<TextSlot>> CollectTexts(const nlohmann::json& body);

struct Modalities {
  bool image = false;
  bool audio = false;
  bool video = false;
  bool any_media() const { return image || audio || video; }
};
Modalities DetectModalities(const nlohmann::json& body);
// "text", "text+image", "text+image+audio", ...
std::string ModalitiesName(const Modalities& m);

// The string at `key` of an object, or "" when absent or not a string (never throws).
std::string StringField(const nlohmann::json& object, std::string_view key);
// The integer at `key` of an object, or `fallback` when absent or not an integer.
int64_t IntField(const nlohmann::json& object, std::string_view key, int64_t fallback);

// max_completion_tokens, else max_tokens, else `fallback`.
int64_t RequestedOutputTokens(const nlohmann::json& body, int64_t fallback);

// HTTP headers with case-insensitive names (stored lower-case), the caller's API key (already
// authenticated by the server) and the route it came in on.
class RequestMeta {
 public:
  RequestMeta() = default;
  void SetHeader(std::string_view name, std::string value);
  // nullptr when absent.
  const std::string* Header(std::string_view name) const;

  std::string api_key;
  std::string route = "/v1/chat/completions";

 private:
  std::map<std::string, std::string> headers_;
};

inline constexpr std::string_view kSensitivityHeader = "x-hearth-sensitivity";
inline constexpr std::string_view kLatencyBudgetHeader = "x-hearth-latency-budget-ms";

}  // namespace hearth::router
