// JsonPrefix: recognises prefixes of a JSON object (RFC 8259), a byte at a time, so that sampling
// can refuse every token that would make the output something no JSON object starts with (the
// OpenAI `response_format: {"type": "json_object"}` and Ollama `format: "json"` modes).
//
// The top level must be an object (as both APIs require). Whitespace outside strings is limited to
// kMaxBlank bytes in a row, so a model cannot stall in blank space forever, and nesting to
// kMaxDepth. The state is a small value type: copying it to try a token costs no allocation.
#pragma once

#include <cstdint>
#include <string_view>

namespace hearth::engine {

class JsonPrefix {
 public:
  static constexpr int kMaxDepth = 48;
  static constexpr int kMaxBlank = 24;

  // Feeds one byte; false (and the state unchanged in meaning: do not use it further) when the
  // byte cannot continue a JSON object's text.
  bool Feed(uint8_t c);
  // Feeds every byte of `s`; false at the first that does not fit.
  bool Feed(std::string_view s) {
    for (char c : s)
      if (!Feed(static_cast<uint8_t>(c))) return false;
    return true;
  }
  // The top-level object has been closed: nothing but the end may follow.
  bool complete() const { return mode_ == kDone; }

 private:
  enum Mode : uint8_t {
    kStart,       // before the top-level '{'
    kValue,       // a value must follow
    kValueOrEnd,  // after '[': a value or ']'
    kKeyOrEnd,    // after '{': a key or '}'
    kKey,         // after ',' in an object
    kColon,       // after a key
    kAfter,       // after a value: ',' or the container's close
    kString,
    kEscape,
    kHex,
    kNumMinus, kNumZero, kNumInt, kNumDot, kNumFrac, kNumE, kNumESign, kNumExp,
    kLiteral,
    kDone,
  };
  bool StartValue(uint8_t c);
  bool After(uint8_t c);
  bool Blank(uint8_t c);
  bool Close();  // the innermost container ends
  bool EndNumber(uint8_t c);

  Mode mode_ = kStart;
  bool key_ = false;         // the string being read is an object key
  uint8_t hex_left_ = 0;     // \uXXXX digits still to read
  uint8_t blank_ = 0;        // whitespace bytes in a row
  uint8_t depth_ = 0;
  uint8_t lit_ = 0, lit_pos_ = 0;  // literal being read (0 true, 1 false, 2 null), bytes read
  char stack_[kMaxDepth];    // '{' or '['
};

}  // namespace hearth::engine
