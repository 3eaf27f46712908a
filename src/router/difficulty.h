// Difficulty: how much a request needs a frontier model, in two cheap stages.
//
// Stage 1 (before anything runs) scores the prompt text in [0, 1] from weighted signals —
// length, multi-step and reasoning markers, mathematics, code, explicit requests for depth —
// minus cues of a simple request (greetings, one-line lookups, translation of a phrase). It
// reads only the text, costs microseconds, and never calls a model. The policy compares the
// score with its threshold (`[difficulty] threshold`).
//
// Stage 2 (optional) runs after the local model has answered: the engine reports the answer's
// mean token log-probability and mean entropy, and ShouldEscalate() says whether the answer is
// too unsure to keep. docs/ROUTING.md explains how to calibrate both thresholds.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hearth::router {

struct DifficultySignal {
  std::string name;   // "length", "reasoning", "multi_step", "math", "code", "depth", "simple"
  double value = 0;   // contribution to the score before clipping (negative for "simple")
};

struct DifficultyReport {
  double score = 0;  // in [0, 1]
  std::vector<DifficultySignal> signals;  // the non-zero contributions
};

// Scores the concatenated user texts of a request (system and assistant texts are not read). `prompt_tokens` is the token estimate of the
// whole prompt (length is scored on it).
DifficultyReport ScoreDifficulty(std::string_view text, int64_t prompt_tokens);

// Confidence of the local answer, measured by the engine over its generated tokens.
struct AnswerConfidence {
  double mean_logprob = 0;  // mean natural-log probability of the sampled tokens (<= 0)
  double mean_entropy = 0;  // mean entropy of the next-token distribution, in nats
  int64_t tokens = 0;       // how many tokens the means cover
};

struct ConfidenceGate {
  bool enabled = false;
  double min_mean_logprob = -1.0;  // escalate when the mean log-probability is below this
  double max_mean_entropy = 2.5;   // or when the mean entropy is above this
  int64_t min_tokens = 4;          // answers shorter than this are never judged
};

// True when the gate is enabled and the answer's confidence falls outside it.
bool ShouldEscalate(const ConfidenceGate& gate, const AnswerConfidence& answer);

}  // namespace hearth::router
