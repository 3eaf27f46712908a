#include "tokenizer/stream_decoder.h"

#include "tokenizer/tables.h"

namespace hearth::tokenizer {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length a UTF-8 sequence starting with lead byte c must have; 0 if c cannot start one.
size_t ExpectedLen(unsigned char c) {
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return 2;
  if (c >= 0xE0 && c <= 0xEF) return 3;
  if (c >= 0xF0 && c <= 0xF4) return 4;
  return 0;
}

// True if s[i..] (fewer bytes than the full character) could still become a valid character.
bool IsValidPrefix(std::string_view s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  for (size_t k = i + 1; k < s.size(); ++k) {
    unsigned char ck = static_cast<unsigned char>(s[k]);
    if (k == i + 1) {
      if (c == 0xE0 && (ck < 0xA0 || ck > 0xBF)) return false;
      if (c == 0xED && (ck < 0x80 || ck > 0x9F)) return false;
      if (c == 0xF0 && (ck < 0x90 || ck > 0xBF)) return false;
      if (c == 0xF4 && (ck < 0x80 || ck > 0x8F)) return false;
    }
    if ((ck & 0xC0) != 0x80) return false;
  }
  return true;
}

}  // namespace

StreamDecoder::StreamDecoder(const Tokenizer& tok, bool render_special)
    : tok_(&tok), render_special_(render_special) {}

std::string StreamDecoder::Push(int32_t id) {
  pending_ += tok_->Piece(id, render_special_);
  std::string out;
  size_t i = 0;
  while (i < pending_.size()) {
    unsigned char c = static_cast<unsigned char>(pending_[i]);
    size_t need = ExpectedLen(c);
    if (need == 0) {  // can never start a character
      out += kReplacement;
      ++i;
      continue;
    }
    if (i + need > pending_.size()) {
      if (IsValidPrefix(pending_, i)) break;  // wait for the rest
      out += kReplacement;
      ++i;
      continue;
    }
    size_t len = Utf8SymbolLen(pending_, i);
    if (len == need) {
      out.append(pending_, i, len);
      i += len;
    } else {
      out += kReplacement;  // broken sequence: replace the lead byte, resync on the next
      ++i;
    }
  }
  pending_.erase(0, i);
  return out;
}

std::string StreamDecoder::Flush() {
  std::string out;
  for (size_t i = 0; i < pending_.size(); ++i) out += kReplacement;
  pending_.clear();
  return out;
}

}  // namespace hearth::tokenizer
