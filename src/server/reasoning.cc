#include "server/reasoning.h"

#include <algorithm>

namespace hearth::server {

namespace {

constexpr const char* kOpen = "<|channel>";
constexpr const char* kClose = "<channel|>";

// Length of the longest suffix of `s` that is a proper prefix of `marker`.
size_t PartialSuffix(const std::string& s, const std::string& marker) {
  for (size_t len = std::min(s.size(), marker.size() - 1); len > 0; --len)
    if (s.compare(s.size() - len, len, marker, 0, len) == 0) return len;
  return 0;
}

}  // namespace

void ReasoningSplitter::Emit(Piece& out, const std::string& s) const {
  if (s.empty()) return;
  if (state_ == State::kThought) out.reasoning += s;
  else if (state_ == State::kAnswer) out.content += s;
}

ReasoningSplitter::Piece ReasoningSplitter::Push(const std::string& text) {
  Piece out;
  held_ += text;
  for (;;) {
    if (state_ == State::kName) {
      // The channel name runs to the end of its line.
      const size_t nl = held_.find('\n');
      const size_t close = held_.find(kClose);
      if (close != std::string::npos && (nl == std::string::npos || close < nl)) {
        held_.erase(0, close + std::string(kClose).size());  // an empty, unnamed channel
        state_ = State::kAnswer;
        continue;
      }
      if (nl == std::string::npos) return out;
      held_.erase(0, nl + 1);
      state_ = State::kThought;
      continue;
    }
    const size_t open = state_ == State::kAnswer ? held_.find(kOpen) : std::string::npos;
    const size_t close = held_.find(kClose);
    const size_t at = std::min(open, close);
    if (at == std::string::npos) {
      size_t hold = PartialSuffix(held_, kClose);
      if (state_ == State::kAnswer) hold = std::max(hold, PartialSuffix(held_, kOpen));
      Emit(out, held_.substr(0, held_.size() - hold));
      held_.erase(0, held_.size() - hold);
      return out;
    }
    Emit(out, held_.substr(0, at));
    if (at == open) {
      held_.erase(0, at + std::string(kOpen).size());
      state_ = State::kName;
    } else {
      held_.erase(0, at + std::string(kClose).size());
      state_ = State::kAnswer;  // end of a channel, or a stray close marker (dropped)
    }
  }
}

ReasoningSplitter::Piece ReasoningSplitter::Flush() {
  Piece out;
  if (state_ == State::kName) state_ = State::kThought;  // cut off inside the name line
  Emit(out, held_);
  held_.clear();
  return out;
}

}  // namespace hearth::server
