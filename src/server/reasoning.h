// Splits a Gemma 4 answer into its thought channel and the answer proper, as text streams in.
//
// Gemma 4 writes its reasoning as `<|channel>thought\n...<channel|>` before the answer (both
// markers are single USER_DEFINED tokens, so they reach the text). The OpenAI convention used by
// llama-server puts that text in `reasoning_content`. The channel's name line ("thought\n") is
// dropped, an empty channel (what the template itself opens when thinking is off) leaves nothing,
// and a close marker outside a channel is dropped. Text that could be the start of a marker is
// held back until it is known not to be one.
#pragma once

#include <string>

namespace hearth::server {

class ReasoningSplitter {
 public:
  struct Piece {
    std::string content;
    std::string reasoning;
  };
  Piece Push(const std::string& text);
  Piece Flush();  // the end of the answer: whatever was held back

 private:
  enum class State { kAnswer, kName, kThought };
  void Emit(Piece& out, const std::string& s) const;
  State state_ = State::kAnswer;
  std::string held_;
};

}  // namespace hearth::server
