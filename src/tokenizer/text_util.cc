// UTF-8 symbol boundaries, space escaping and byte fallback shared by both algorithms.
#include <cstdio>

#include "tokenizer/tables.h"

namespace hearth::tokenizer {

uint8_t AttrOfType(TokenType t) {
  switch (t) {
    case TokenType::kNormal: return kAttrNormal;
    case TokenType::kUnknown: return kAttrUnknown;
    case TokenType::kControl: return kAttrControl;
    case TokenType::kUserDefined: return kAttrUserDefined;
    case TokenType::kUnused: return kAttrUnused;
    case TokenType::kByte: return kAttrByte;
  }
  return kAttrUnused;
}

size_t Utf8SymbolLen(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto cont = [&](size_t k) { return k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 1;
  if (c >= 0xE0 && c <= 0xEF) {
    if (i + 1 >= s.size()) return 1;
    unsigned char c1 = b(i + 1);
    bool ok1 = c == 0xE0 ? (c1 >= 0xA0 && c1 <= 0xBF)    // no overlong forms
               : c == 0xED ? (c1 >= 0x80 && c1 <= 0x9F)  // no surrogates
                           : (c1 & 0xC0) == 0x80;
    return ok1 && cont(i + 2) ? 3 : 1;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (i + 1 >= s.size()) return 1;
    unsigned char c1 = b(i + 1);
    bool ok1 = c == 0xF0 ? (c1 >= 0x90 && c1 <= 0xBF)    // no overlong forms
               : c == 0xF4 ? (c1 >= 0x80 && c1 <= 0x8F)  // nothing above U+10FFFF
                           : (c1 & 0xC0) == 0x80;
    return ok1 && cont(i + 2) && cont(i + 3) ? 4 : 1;
  }
  return 1;  // continuation byte without a lead, 0xC0/0xC1, 0xF5..0xFF
}

std::string EscapeSpaces(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (char c : s) {
    if (c == ' ') out += "\xE2\x96\x81";
    else out += c;
  }
  return out;
}

void AppendByteFallback(const Vocab& v, const TokenizerTables& t, std::string_view s,
                        std::vector<int32_t>* out) {
  for (unsigned char c : s) {
    int32_t id = t.byte_token[c];
    if (id >= 0) out->push_back(id);
    else if (v.unk_id >= 0) out->push_back(v.unk_id);
  }
}

}  // namespace hearth::tokenizer
