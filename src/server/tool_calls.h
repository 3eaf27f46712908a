// Gemma 4 tool calls in the model's output, as OpenAI `tool_calls`.
//
// Gemma 4 writes a call as `<|tool_call>call:NAME{key:value,...}<tool_call|>` (both markers are
// single USER_DEFINED tokens, so they reach the text). Values are written the way the chat
// template's format_argument macro writes them: strings between `<|"|>` quotes, true/false,
// numbers, nested `{...}` (keys bare or quoted) and `[...]`. ParseToolCall turns one call into a
// name and a JSON arguments object; ToolCallFilter separates calls from the answer text as it
// streams.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace hearth::server {

struct ParsedToolCall {
  std::string name;
  nlohmann::json arguments;  // an object
};

// `text` is what lies between the markers: "call:NAME{...}". Errors name the offset.
Result<ParsedToolCall> ParseToolCall(std::string_view text);

// Streams answer text through, holding back from the first `<|tool_call>` on; Finish() returns the
// calls found (in order) and any text that followed them.
class ToolCallFilter {
 public:
  std::string Push(const std::string& text);  // answer text that is safe to show now
  struct Result {
    std::string rest;                   // answer text held back that was not part of a call
    std::vector<std::string> calls;     // raw "call:NAME{...}" bodies
  };
  Result Finish();

 private:
  std::string held_;
  bool in_calls_ = false;  // a call marker has been seen: everything is held until the end
};

}  // namespace hearth::server
