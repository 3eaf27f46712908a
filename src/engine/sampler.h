// Sampler: turns a row of logits into the next token id.
//
// Order (as llama.cpp's default chain): logit bias (incl. the model's suppress_tokens) ->
// repetition / presence / frequency penalties over the recent history -> greedy if temperature
// <= 0, else top-k -> top-p -> min-p -> temperature -> a draw from the seeded generator.
// Log-probabilities reported to clients are computed from the raw logits (after the model's
// soft-cap, before bias, penalties and temperature).
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "core/status.h"

namespace hearth::engine {

struct SamplingParams {
  float temperature = 1.0f;      // <= 0: greedy
  int top_k = 64;                // <= 0: off
  float top_p = 0.95f;           // >= 1: off
  float min_p = 0.0f;            // <= 0: off
  float repeat_penalty = 1.0f;   // 1: off (llama.cpp semantics: divide positive, multiply negative)
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  int penalty_last_n = 64;       // history window for penalties (-1: whole history)
  uint64_t seed = 0xC0FFEE;
  std::vector<std::pair<int32_t, float>> logit_bias;  // id -> added to the logit (-inf bans)

  Status Validate(int32_t n_vocab) const;  // ranges, ids in the vocabulary
};

class Sampler {
 public:
  Sampler(SamplingParams p, int32_t n_vocab);
  const SamplingParams& params() const { return p_; }

  // Picks the next token from logits[n_vocab] given the tokens generated or fed so far.
  int32_t Sample(const float* logits, const std::vector<int32_t>& history);
  void Reseed(uint64_t seed) { rng_.seed(seed); }

 private:
  SamplingParams p_;
  int32_t n_vocab_;
  std::mt19937_64 rng_;
  std::vector<float> work_;                 // [n_vocab] adjusted logits
  std::vector<std::pair<float, int32_t>> cand_;  // candidates after filtering
  std::vector<double> prob_;                     // their probabilities
  std::vector<int32_t> recent_;                  // the penalty window, sorted
};

// The k most likely ids of the full-vocabulary softmax of logits, with natural-log probabilities,
// most likely first (ties: lower id first).
std::vector<std::pair<int32_t, float>> TopLogprobs(const float* logits, int32_t n_vocab, int k);
// log p(id) under the full softmax.
float Logprob(const float* logits, int32_t n_vocab, int32_t id);
// log p(id) and the entropy of the whole distribution (nats), in one pass over the logits: the
// engine's confidence in a token, for the router's second stage.
struct TokenStats {
  float logprob = 0;
  float entropy = 0;
};
TokenStats LogprobAndEntropy(const float* logits, int32_t n_vocab, int32_t id);

}  // namespace hearth::engine
