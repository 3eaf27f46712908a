// Reading OpenAI message content (a string or an array of parts) in one place, for the adapters
// that must rebuild it in another provider's shape.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace hearth::backends {

struct ContentPart {
  enum class Kind { kText, kImage, kAudio };
  Kind kind = Kind::kText;
  std::string text;        // kText
  std::string url;         // kImage: a data: URL or an http(s) URL
  std::string media_type;  // kImage from a data: URL, kAudio ("audio/wav", "audio/mp3")
  std::string base64;      // kImage from a data: URL, kAudio
};

// Parses `content` of one message. `where` names it in errors ("messages[3].content").
Result<std::vector<ContentPart>> ReadContentParts(const nlohmann::json& content,
                                                  const std::string& where);
// Concatenated text of the text parts; error when a non-text part is present.
Result<std::string> ReadTextOnly(const nlohmann::json& content, const std::string& where);

}  // namespace hearth::backends
