// Redaction: reversible masking for `escalate_redacted`.
//
// Each finding in every text of the request is replaced by a placeholder named after its entity
// type and numbered per type, "[EMAIL_1]", "[PHONE_2]"; the same original value gets the same
// placeholder everywhere in the request. The cloud sees only placeholders; the answer it returns
// is restored with the originals, also when streamed, where a placeholder may arrive split over
// several chunks ("[EMA" + "IL_1]"): the StreamRestorer holds back only a tail that could still
// become a placeholder, never more.
//
// The PlaceholderMap holds the originals. It lives in the request's memory only: it has no
// serialisation and no printing, and nothing in the router logs it.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "router/features.h"

namespace hearth::router {

class PlaceholderMap {
 public:
  // The placeholder for `original` of `type`, creating "[TYPE_n]" on first use.
  const std::string& PlaceholderFor(std::string_view type, std::string_view original);
  // Replaces every known placeholder in `text` with its original.
  std::string Restore(std::string_view text) const;
  // The original behind `placeholder`, or nullptr.
  const std::string* Find(std::string_view placeholder) const;
  // True when `s` is a proper prefix of some placeholder.
  bool IsPrefixOfPlaceholder(std::string_view s) const;
  size_t max_placeholder_size() const { return max_size_; }
  size_t size() const { return by_placeholder_.size(); }
  bool empty() const { return by_placeholder_.empty(); }

 private:
  std::map<std::string, std::string, std::less<>> by_placeholder_;   // placeholder -> original
  std::map<std::pair<std::string, std::string>, std::string> by_original_;  // (type, original)
  std::map<std::string, int> next_index_;                           // type -> last number used
  size_t max_size_ = 0;
};

struct Redaction {
  nlohmann::json body;              // the request with placeholders in place of findings
  PlaceholderMap map;               // placeholder -> original (never logged)
  std::map<std::string, int> counts;  // entity type -> occurrences replaced
  std::vector<std::string> entity_types() const;  // the keys of counts
};

// Replaces every finding in its text slot. `features.texts` and `features.findings` come from
// ExtractFeatures on this same body.
Redaction Redact(const nlohmann::json& body, const Features& features);

// Restores originals in a chat.completion: choices[].message.content (string or text parts),
// reasoning_content and tool call arguments.
void RestoreResponse(nlohmann::json& response, const PlaceholderMap& map);

// Restores a text stream chunk by chunk.
class StreamRestorer {
 public:
  explicit StreamRestorer(const PlaceholderMap* map) : map_(map) {}
  // Text that can be emitted now; a tail that may still become a placeholder is held back.
  std::string Push(std::string_view chunk);
  // Whatever is held back (the stream ended).
  std::string Finish();
  size_t held() const { return pending_.size(); }

 private:
  const PlaceholderMap* map_;
  std::string pending_;
};

// Restores OpenAI chat.completion.chunk objects in place: delta.content and tool call argument
// deltas, per choice. A chunk carrying finish_reason also receives whatever was held back.
class ChunkRestorer {
 public:
  explicit ChunkRestorer(const PlaceholderMap* map) : map_(map) {}
  void Restore(nlohmann::json& chunk);
  // Held-back text per choice index, for a stream that ended without finish_reason.
  std::map<int, std::string> Finish();

 private:
  StreamRestorer& For(int choice, int tool);  // tool -1 = content
  const PlaceholderMap* map_;
  std::map<std::pair<int, int>, StreamRestorer> restorers_;
};

}  // namespace hearth::router
