// Built-in detector rules: one RE2 pattern per shape, each with the validator that confirms it.
//
// Internal to the detectors; detectors.cc compiles the table once per Detector.
#pragma once

#include <string_view>
#include <vector>

#include "router/detectors.h"

namespace hearth::router::internal {

// Confirms a candidate: may narrow the span, set the subtype and adjust the confidence.
// Returns false to drop it. `text` is the whole scanned text; `f` spans the pattern's span group.
using Validator = bool (*)(std::string_view text, Finding& f);

struct RuleSpec {
  std::string_view type;
  std::string_view subtype;
  std::string_view pattern;  // RE2 syntax
  double confidence;         // before the validator adjusts it
  int span_group;            // 0: the whole match; 1: capture group 1
  Validator validate;        // nullptr: the pattern is enough
};

const std::vector<RuleSpec>& BuiltinRuleSpecs();

// True when one of `words` (lower case) occurs in the `before` bytes preceding `begin` or the
// `after` bytes following `end`, compared case-insensitively.
bool ContextHas(std::string_view text, size_t begin, size_t end, size_t before, size_t after,
                std::initializer_list<std::string_view> words);

}  // namespace hearth::router::internal
