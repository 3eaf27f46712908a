// The generation loop: sample, feed, detokenize and stop, with streaming text that never splits a
// UTF-8 character and never shows the start of a stop string before it is known not to be one.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "engine/json_prefix.h"
#include "engine/sampler.h"
#include "engine/session.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"

namespace hearth::engine {

struct GenerateOptions {
  int64_t max_tokens = 256;          // -1: until end of generation or the context is full
  SamplingParams sampling;
  std::vector<std::string> stop;     // stop strings (not included in the output)
  int top_logprobs = 0;              // per token: the k most likely ids
  bool ignore_eos = false;
  bool render_special = false;       // show control tokens in the text
  // Constrain the output to one JSON object (JsonPrefix): tokens that cannot continue it are
  // never sampled, and generation ends when the object closes.
  bool json_object = false;
};

struct GeneratedToken {
  int32_t id = 0;
  std::string piece;        // the token's own text (may be a partial UTF-8 sequence)
  float logprob = 0;        // of the chosen id under the raw logits
  float entropy = 0;        // of the raw next-token distribution, nats
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
// Called with every sampled token, before its text (if any) reaches the StreamCallback.
using TokenCallback = std::function<void(const GeneratedToken& tok)>;

// One sequence's generation, a step at a time: the loop of Generate() for callers that run the
// forward pass themselves (the continuous-batching scheduler feeds many sequences in one pass).
//
//   ASSIGN_OR_RETURN(auto g, Generator::Create(tok, n_vocab, opt, &on_text));
//   while (g->Step(logits, history, n_past, n_ctx)) { feed g->next(); logits = ...; }
//   GenerateResult r = g->Finish();
class Generator {
 public:
  // Validates the options (sampling ranges, stop strings) against the vocabulary.
  static Result<std::unique_ptr<Generator>> Create(const tokenizer::Tokenizer& tok,
                                                   int32_t n_vocab, const GenerateOptions& opt,
                                                   StreamCallback on_text,
                                                   TokenCallback on_token = nullptr);
  // Samples from `logits` (predicting position n_past), streams the visible text and decides
  // whether to go on. True: feed next() and call again with the new logits.
  bool Step(const float* logits, const std::vector<int32_t>& history, int64_t n_past,
            int64_t n_ctx);
  int32_t next() const { return res_.tokens.back().id; }
  // Ends generation (flushing held-back text) and returns the result; `cancelled` marks a stop
  // from outside (client gone).
  GenerateResult Finish(bool cancelled = false);
  const GenerateResult& result() const { return res_; }

 private:
  Generator(const tokenizer::Tokenizer& tok, int32_t n_vocab, const GenerateOptions& opt,
            SamplingParams sp, StreamCallback on_text, TokenCallback on_token);
  bool Emit(const std::string& text, const GeneratedToken& g);
  // The sampler's choice among the tokens that keep the output a JSON object's prefix.
  int32_t SampleJson(const float* logits, const std::vector<int32_t>& history);
  bool FitsJson(int32_t id) const;

  const tokenizer::Tokenizer& tok_;
  int32_t n_vocab_;
  GenerateOptions opt_;
  Sampler sampler_;
  tokenizer::StreamDecoder dec_;
  StreamCallback on_text_;
  TokenCallback on_token_;
  GenerateResult res_;
  std::string pending_;   // decoded text not yet shown (may start a stop string)
  bool stopped_ = false;  // ended by end-of-generation, a stop string or the callback
  bool done_ = false;
  std::optional<JsonPrefix> json_;
  std::vector<float> masked_;  // logits with refused tokens at -inf (JSON mode)
};

// Feeds `prompt` (unless empty: then continues from the session's current logits) and generates.
Result<GenerateResult> Generate(Session& s, const tokenizer::Tokenizer& tok,
                                std::span<const int32_t> prompt, const GenerateOptions& opt,
                                const StreamCallback& on_text = nullptr);

}  // namespace hearth::engine
