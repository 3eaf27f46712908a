#include "router/difficulty.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <initializer_list>

namespace hearth::router {

namespace {

// Signal weights, set by hand on the labelled prompts in tests/router/difficulty/prompts.jsonl
// (docs/ROUTING.md, "Calibrating difficulty"): one strong signal alone stays under the default
// threshold of 0.5, two of them (reasoning + depth, code + math, ...) go over it.
constexpr double kWeightLength = 0.45;      // reached at kLongPromptTokens
constexpr double kWeightReasoning = 0.35;   // per marker, capped at two
constexpr double kWeightMultiStep = 0.25;   // enumerated steps or "first ... then"
constexpr double kWeightMath = 0.35;
constexpr double kWeightCode = 0.30;
constexpr double kWeightDepth = 0.33;
constexpr double kWeightSimple = -0.40;
constexpr double kLongPromptTokens = 1500;  // prompts this long count as fully "long"
constexpr double kShortPromptTokens = 60;   // below this, length contributes nothing

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int CountAny(const std::string& lower, std::initializer_list<std::string_view> words) {
  int n = 0;
  for (std::string_view w : words) {
    if (lower.find(w) != std::string::npos) ++n;
  }
  return n;
}

int CountChar(std::string_view s, std::string_view chars) {
  int n = 0;
  for (char c : s) n += chars.find(c) != std::string_view::npos;
  return n;
}

// Lines that start with "1." / "2)" / "- " / "* ": an enumerated task.
int EnumeratedLines(std::string_view s) {
  int n = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    while (j < s.size() && (s[j] == ' ' || s[j] == '\t')) ++j;
    if (j + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[j])) &&
        (s[j + 1] == '.' || s[j + 1] == ')'))
      ++n;
    const size_t nl = s.find('\n', i);
    if (nl == std::string_view::npos) break;
    i = nl + 1;
  }
  return n;
}

}  // namespace

DifficultyReport ScoreDifficulty(std::string_view text, int64_t prompt_tokens) {
  DifficultyReport r;
  const std::string lower = Lower(text);
  auto add = [&](const char* name, double v) {
    if (v != 0) r.signals.push_back({name, v});
  };
  const double t = static_cast<double>(prompt_tokens);
  add("length", kWeightLength *
                    std::clamp((t - kShortPromptTokens) / (kLongPromptTokens - kShortPromptTokens), 0.0, 1.0));

  const int reasoning = CountAny(lower, {"prove", "proof", "derive", "why does", "why is", "explain why",
                                         "analy", "trade-off", "tradeoff", "compare", "evaluate",
                                         "justify", "reason about", "step by step", "step-by-step",
                                         "design a", "architect", "optimi", "critique",
                                         "counterexample", "implications"});
  add("reasoning", kWeightReasoning * std::min(reasoning, 2));

  const int steps = EnumeratedLines(text);
  const bool first_then = lower.find("first") != std::string::npos &&
                          (lower.find("then") != std::string::npos || lower.find("finally") != std::string::npos);
  add("multi_step", (steps >= 3 || first_then) ? kWeightMultiStep : 0.0);

  const int math_words = CountAny(lower, {"integral", "derivative", "theorem", "lemma", "equation",
                                          "matrix", "eigen", "probability", "expected value",
                                          "polynomial", "\\frac", "\\int", "\\sum", "modulo",
                                          "asymptotic", "complexity", "o(n"});
  const int operators = CountChar(text, "=^+*/<>");
  add("math", (math_words >= 1 || operators >= 12) ? kWeightMath * (math_words >= 2 ? 1.0 : 0.7) : 0.0);

  const int code_words = CountAny(lower, {"```", "def ", "class ", "function", "#include", "return ",
                                          "std::", "public static", "import ", "=> {", "select ",
                                          "stack trace", "segfault", "compile", "refactor", "regex",
                                          "python", "unit test", "c++", "javascript", "rust ", "sql"});
  const int braces = CountChar(text, "{};");
  add("code", (code_words >= 1 || braces >= 6) ? kWeightCode * (code_words >= 2 ? 1.0 : 0.7) : 0.0);

  const int depth = CountAny(lower, {"in detail", "detailed", "thorough", "comprehensive", "in depth",
                                     "in-depth", "rigorous", "carefully", "exhaustive", "edge cases",
                                     "all cases", "think hard"});
  add("depth", depth > 0 ? kWeightDepth : 0.0);

  const bool short_prompt = t < kShortPromptTokens;
  const int simple = CountAny(lower, {"hello", "hi ", "thanks", "thank you", "what is the capital",
                                      "translate", "summarize", "summarise", "spell", "define ",
                                      "what time", "fix the typo", "rephrase", "one word",
                                      "yes or no", "tl;dr"});
  add("simple", (simple > 0 && short_prompt) ? kWeightSimple : 0.0);

  double sum = 0;
  for (const DifficultySignal& s : r.signals) sum += s.value;
  r.score = std::clamp(sum, 0.0, 1.0);
  return r;
}

bool ShouldEscalate(const ConfidenceGate& gate, const AnswerConfidence& answer) {
  if (!gate.enabled || answer.tokens < gate.min_tokens) return false;
  return answer.mean_logprob < gate.min_mean_logprob || answer.mean_entropy > gate.max_mean_entropy;
}

}  // namespace hearth::router
