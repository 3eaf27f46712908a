#include "engine/generate.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "tokenizer/stream_decoder.h"

namespace hearth::engine {

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kContextFull: return "context_full";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "stop";
}

namespace {

double MsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Length of the longest suffix of `text` that is a proper prefix of some stop string.
size_t HeldBack(const std::string& text, const std::vector<std::string>& stops) {
  size_t hold = 0;
  for (const auto& s : stops) {
    for (size_t len = std::min(s.size() - 1, text.size()); len > hold; --len) {
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        hold = len;
        break;
      }
    }
  }
  return hold;
}

}  // namespace

Result<GenerateResult> Generate(Session& s, const tokenizer::Tokenizer& tok,
                                std::span<const int32_t> prompt, const GenerateOptions& opt,
                                const StreamCallback& on_text) {
  GenerateResult res;
  res.prompt_tokens = static_cast<int64_t>(prompt.size());
  SamplingParams sp = opt.sampling;
  for (int32_t id : tok.vocab().suppress_tokens)
    if (id >= 0 && id < s.n_vocab()) sp.logit_bias.push_back({id, -std::numeric_limits<float>::infinity()});
  TRY(sp.Validate(s.n_vocab()));
  for (const auto& st : opt.stop)
    if (st.empty()) return InvalidArgumentError("stop strings must not be empty");

  auto t0 = std::chrono::steady_clock::now();
  if (!prompt.empty()) {
    TRY(s.Feed(prompt));
  } else if (s.n_past() == 0) {
    return InvalidArgumentError("nothing to generate from: empty prompt");
  }
  res.prefill_ms = MsSince(t0);

  Sampler sampler(sp, s.n_vocab());
  tokenizer::StreamDecoder dec(tok, opt.render_special);
  std::string pending;  // decoded text not yet shown (may start a stop string)
  res.finish = FinishReason::kLength;
  auto t1 = std::chrono::steady_clock::now();
  bool stopped = false;

  auto emit = [&](const std::string& text, const GeneratedToken& g) -> bool {
    res.text += text;
    if (on_text && !text.empty()) return on_text(text, g);
    return true;
  };

  for (int64_t i = 0; opt.max_tokens < 0 || i < opt.max_tokens; ++i) {
    const float* logits = s.logits();
    GeneratedToken g;
    g.id = sampler.Sample(logits, s.history());
    g.piece = tok.TokenText(g.id);
    g.logprob = Logprob(logits, s.n_vocab(), g.id);
    if (opt.top_logprobs > 0) g.top = TopLogprobs(logits, s.n_vocab(), opt.top_logprobs);
    res.tokens.push_back(g);

    if (!opt.ignore_eos && tok.IsEog(g.id)) {
      res.finish = FinishReason::kStop;
      stopped = true;
      break;
    }
    pending += dec.Push(g.id);
    // A complete stop string ends generation; the text before it is shown.
    size_t cut = std::string::npos;
    for (const auto& st : opt.stop) cut = std::min(cut, pending.find(st));
    if (cut != std::string::npos) {
      emit(pending.substr(0, cut), g);
      pending.clear();
      res.finish = FinishReason::kStop;
      stopped = true;
      break;
    }
    const size_t hold = HeldBack(pending, opt.stop);
    const std::string show = pending.substr(0, pending.size() - hold);
    pending.erase(0, show.size());
    if (!emit(show, g)) {
      res.finish = FinishReason::kCancelled;
      stopped = true;
      break;
    }
    if (opt.max_tokens >= 0 && i + 1 >= opt.max_tokens) break;  // no need to feed the last one
    if (s.n_past() >= s.n_ctx()) {
      res.finish = FinishReason::kContextFull;
      break;
    }
    const int32_t id = g.id;
    TRY(s.Feed(std::span<const int32_t>(&id, 1)));
  }
  if (res.finish != FinishReason::kCancelled && !(stopped && pending.empty())) {
    pending += dec.Flush();
    if (!pending.empty() && !res.tokens.empty()) emit(pending, res.tokens.back());
  }
  res.decode_ms = MsSince(t1);
  return res;
}

}  // namespace hearth::engine
