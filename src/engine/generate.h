// The generation loop: sample, feed, detokenize and stop, with streaming text that never splits a
// UTF-8 character and never shows the start of a stop string before it is known not to be one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/sampler.h"
#include "engine/session.h"
#include "tokenizer/tokenizer.h"

namespace hearth::engine {

struct GenerateOptions {
  int64_t max_tokens = 256;          // -1: until end of generation or the context is full
  SamplingParams sampling;
  std::vector<std::string> stop;     // stop strings (not included in the output)
  int top_logprobs = 0;              // per token: the k most likely ids
  bool ignore_eos = false;
  bool render_special = false;       // show control tokens in the text
};

struct GeneratedToken {
  int32_t id = 0;
  std::string piece;        // the token's own text (may be a partial UTF-8 sequence)
  float logprob = 0;        // of the chosen id under the raw logits
  std::vector<std::pair<int32_t, float>> top;  // top_logprobs entries
};

enum class FinishReason { kStop, kLength, kContextFull, kCancelled };
const char* FinishReasonName(FinishReason r);  // "stop", "length", "context_full", "cancelled"

struct GenerateResult {
  std::vector<GeneratedToken> tokens;
  std::string text;              // the visible text (stop string removed)
  FinishReason finish = FinishReason::kStop;
  int64_t prompt_tokens = 0;
  double prefill_ms = 0, decode_ms = 0;
};

// Called with newly visible text and the tokens it came from; return false to cancel.
using StreamCallback = std::function<bool(const std::string& text, const GeneratedToken& tok)>;

// Feeds `prompt` (unless empty: then continues from the session's current logits) and generates.
Result<GenerateResult> Generate(Session& s, const tokenizer::Tokenizer& tok,
                                std::span<const int32_t> prompt, const GenerateOptions& opt,
                                const StreamCallback& on_text = nullptr);

}  // namespace hearth::engine
