// tokenizer::StreamDecoder: turns generated token ids into text as they arrive, emitting only
// complete UTF-8 characters. A character split over byte tokens (<0xF0><0x9F><0x98><0x81>) is held
// back until its last byte arrives, so a streamed reply never shows half a character.
//
//   tokenizer::StreamDecoder dec(tok, /*render_special=*/false);
//   for (int32_t id : generated) send(dec.Push(id));
//   send(dec.Flush());
#pragma once

#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace hearth::tokenizer {

class StreamDecoder {
 public:
  // `tok` must outlive the decoder.
  StreamDecoder(const Tokenizer& tok, bool render_special);

  // Appends the token's piece and returns the longest prefix of pending bytes that ends on a
  // character boundary. Invalid bytes that can never become a character are emitted as U+FFFD
  // right away.
  std::string Push(int32_t id);
  // Returns what is still held back, each leftover byte as U+FFFD, and resets.
  std::string Flush();

 private:
  const Tokenizer* tok_;
  bool render_special_;
  std::string pending_;  // bytes of an incomplete character
};

}  // namespace hearth::tokenizer
