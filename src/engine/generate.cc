#include "engine/generate.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "core/clock.h"


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

Generator::Generator(const tokenizer::Tokenizer& tok, int32_t n_vocab, const GenerateOptions& opt,
                     SamplingParams sp, StreamCallback on_text, TokenCallback on_token)
    : tok_(tok), n_vocab_(n_vocab), opt_(opt), sampler_(std::move(sp), n_vocab),
      dec_(tok, opt.render_special), on_text_(std::move(on_text)),
      on_token_(std::move(on_token)) {
  res_.finish = FinishReason::kLength;
  if (opt.json_object) json_.emplace();
}

bool Generator::FitsJson(int32_t id) const {
  if (tok_.IsEog(id)) return false;  // the object is not closed yet
  const std::string piece = tok_.Piece(id, /*render_special=*/false);
  if (piece.empty()) return false;   // control tokens add nothing and must not stall the object
  JsonPrefix p = *json_;
  return p.Feed(piece);
}

int32_t Generator::SampleJson(const float* logits, const std::vector<int32_t>& history) {
  // Usually the sampler's own choice fits; when it does not, refuse it and draw again, and after a
  // few refusals refuse every token that does not fit at once.
  int32_t id = sampler_.Sample(logits, history);
  if (FitsJson(id)) return id;
  masked_.assign(logits, logits + n_vocab_);
  const float kNo = -std::numeric_limits<float>::infinity();
  for (int attempt = 0; attempt < 12; ++attempt) {
    masked_[id] = kNo;
    id = sampler_.Sample(masked_.data(), history);
    if (FitsJson(id)) return id;
  }
  bool any = false;
  for (int32_t t = 0; t < n_vocab_; ++t) {
    if (masked_[t] == kNo) continue;
    if (FitsJson(t)) any = true;
    else masked_[t] = kNo;
  }
  if (!any) return tok_.eog_ids().empty() ? id : tok_.eog_ids().front();  // nothing can continue
  return sampler_.Sample(masked_.data(), history);
}

Result<std::unique_ptr<Generator>> Generator::Create(const tokenizer::Tokenizer& tok,
                                                     int32_t n_vocab, const GenerateOptions& opt,
                                                     StreamCallback on_text,
                                                     TokenCallback on_token) {
  SamplingParams sp = opt.sampling;
  for (int32_t id : tok.vocab().suppress_tokens)
    if (id >= 0 && id < n_vocab) sp.logit_bias.push_back({id, -std::numeric_limits<float>::infinity()});
  TRY(sp.Validate(n_vocab));
  for (const auto& st : opt.stop)
    if (st.empty()) return InvalidArgumentError("stop strings must not be empty");
  if (opt.top_logprobs < 0 || opt.top_logprobs > n_vocab)
    return InvalidArgumentError("top_logprobs must be between 0 and the vocabulary size, got " +
                                std::to_string(opt.top_logprobs));
  if (opt.max_tokens == 0) return InvalidArgumentError("max_tokens must be at least 1");
  return std::unique_ptr<Generator>(new Generator(tok, n_vocab, opt, std::move(sp),
                                                  std::move(on_text), std::move(on_token)));
}

bool Generator::Emit(const std::string& text, const GeneratedToken& g) {
  res_.text += text;
  if (on_text_ && !text.empty()) return on_text_(text, g);
  return true;
}

bool Generator::Step(const float* logits, const std::vector<int32_t>& history, int64_t n_past,
                     int64_t n_ctx) {
  if (done_) return false;
  GeneratedToken g;
  g.id = json_ ? SampleJson(logits, history) : sampler_.Sample(logits, history);
  g.piece = tok_.TokenText(g.id);
  const TokenStats stats = LogprobAndEntropy(logits, n_vocab_, g.id);
  g.logprob = stats.logprob;
  g.entropy = stats.entropy;
  if (opt_.top_logprobs > 0) g.top = TopLogprobs(logits, n_vocab_, opt_.top_logprobs);
  res_.tokens.push_back(g);
  const GeneratedToken& cur = res_.tokens.back();
  if (on_token_) on_token_(cur);

  if (!opt_.ignore_eos && tok_.IsEog(g.id)) {
    res_.finish = FinishReason::kStop;
    stopped_ = done_ = true;
    return false;
  }
  pending_ += dec_.Push(g.id);
  if (json_) {
    json_->Feed(tok_.Piece(g.id, /*render_special=*/false));
    if (json_->complete()) {  // the object is closed: that is the answer
      pending_ += dec_.Flush();
      Emit(pending_, cur);
      pending_.clear();
      res_.finish = FinishReason::kStop;
      stopped_ = done_ = true;
      return false;
    }
  }
  // A complete stop string ends generation; the text before it is shown.
  size_t cut = std::string::npos;
  for (const auto& st : opt_.stop) cut = std::min(cut, pending_.find(st));
  if (cut != std::string::npos) {
    Emit(pending_.substr(0, cut), cur);
    pending_.clear();
    res_.finish = FinishReason::kStop;
    stopped_ = done_ = true;
    return false;
  }
  const size_t hold = HeldBack(pending_, opt_.stop);
  const std::string show = pending_.substr(0, pending_.size() - hold);
  pending_.erase(0, show.size());
  if (!Emit(show, cur)) {
    res_.finish = FinishReason::kCancelled;
    stopped_ = done_ = true;
    return false;
  }
  const int64_t made = static_cast<int64_t>(res_.tokens.size());
  if (opt_.max_tokens >= 0 && made >= opt_.max_tokens) {  // no need to feed the last one
    res_.finish = FinishReason::kLength;
    done_ = true;
    return false;
  }
  if (n_past >= n_ctx) {
    res_.finish = FinishReason::kContextFull;
    done_ = true;
    return false;
  }
  return true;
}

GenerateResult Generator::Finish(bool cancelled) {
  done_ = true;
  if (cancelled) {
    res_.finish = FinishReason::kCancelled;
    stopped_ = true;
  }
  if (res_.finish != FinishReason::kCancelled && !(stopped_ && pending_.empty())) {
    pending_ += dec_.Flush();
    if (!pending_.empty() && !res_.tokens.empty()) Emit(pending_, res_.tokens.back());
    pending_.clear();
  }
  return std::move(res_);
}

Result<GenerateResult> Generate(Session& s, const tokenizer::Tokenizer& tok,
                                std::span<const int32_t> prompt, const GenerateOptions& opt,
                                const StreamCallback& on_text) {
  ASSIGN_OR_RETURN(std::unique_ptr<Generator> gen,
                   Generator::Create(tok, s.n_vocab(), opt, on_text));
  auto t0 = std::chrono::steady_clock::now();
  if (!prompt.empty()) {
    TRY(s.Feed(prompt));
  } else if (s.n_past() == 0) {
    return InvalidArgumentError("nothing to generate from: empty prompt");
  }
  const double prefill_ms = MsSince(t0);

  auto t1 = std::chrono::steady_clock::now();
  while (gen->Step(s.logits(), s.history(), s.n_past(), s.n_ctx())) {
    const int32_t id = gen->next();
    TRY(s.Feed(std::span<const int32_t>(&id, 1)));
  }
  GenerateResult res = gen->Finish();
  res.prompt_tokens = static_cast<int64_t>(prompt.size());
  res.prefill_ms = prefill_ms;
  res.decode_ms = MsSince(t1);
  return res;
}

}  // namespace hearth::engine
