// Internal: parses JSON text into a template Value the way Python's json.loads does: objects keep
// their key order (a repeated key keeps its first position and its last value), integers keep all
// their digits, numbers with a fraction or exponent are floats.
#pragma once

#include <string_view>

#include "chat/py_value.h"
#include "core/status.h"

namespace hearth::chat::internal {

// Deepest nesting accepted; deeper documents are rejected (InvalidArgument) instead of recursing.
inline constexpr int kMaxJsonDepth = 128;

// `what` names the input in error messages ("tools_json"). Errors are InvalidArgument with the byte
// offset of the problem.
Result<Value> ParseJson(std::string_view text, std::string_view what);

}  // namespace hearth::chat::internal
