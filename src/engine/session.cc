#include "engine/session.h"

#include <algorithm>

namespace hearth::engine {

Session::Session(const model::Model& m, SessionOptions opt, ThreadPool& pool, model::KvCache kv)
    : model_(m), opt_(opt), pool_(pool), kv_(std::move(kv)),
      own_st_(opt.shared_state ? nullptr
                               : std::make_unique<model::ForwardState>(m.config(), opt.n_batch)),
      st_(opt.shared_state ? opt.shared_state : own_st_.get()),
      logits_(m.config().n_vocab) {}

Result<std::unique_ptr<Session>> Session::Create(const model::Model& m, SessionOptions opt,
                                                 ThreadPool& pool) {
  if (opt.n_ctx <= 0) opt.n_ctx = m.config().n_ctx_train;
  if (opt.n_batch <= 0) return InvalidArgumentError("batch size must be positive");
  opt.n_batch = std::min(opt.n_batch, opt.n_ctx);
  if (opt.shared_state && opt.shared_state->max_batch < opt.n_batch)
    return InvalidArgumentError("shared activation buffers hold " +
                                std::to_string(opt.shared_state->max_batch) +
                                " rows, fewer than the batch of " + std::to_string(opt.n_batch));
  ASSIGN_OR_RETURN(model::KvCache kv, model::KvCache::Create(m.config(), opt.n_ctx, opt.n_batch,
                                                             opt.kv_type));
  return std::unique_ptr<Session>(new Session(m, opt, pool, std::move(kv)));
}

Status Session::Feed(std::span<const int32_t> ids) {
  if (ids.empty()) return Status::Ok();
  const int64_t n = static_cast<int64_t>(ids.size());
  if (n_past_ + n > opt_.n_ctx) {
    return OutOfRangeError("the sequence would need " + std::to_string(n_past_ + n) +
                           " positions but the context holds " + std::to_string(opt_.n_ctx) +
                           " tokens (" + std::to_string(n_past_) + " already used, " +
                           std::to_string(n) + " more given)");
  }
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= n_vocab())
      return InvalidArgumentError("token id " + std::to_string(ids[i]) + " at position " +
                                  std::to_string(i) + " is outside the vocabulary (0.." +
                                  std::to_string(n_vocab() - 1) + ")");
  }
  for (int64_t off = 0; off < n; off += opt_.n_batch) {
    model::Batch b;
    b.tokens = ids.data() + off;
    b.n_tok = std::min(opt_.n_batch, n - off);
    b.pos0 = n_past_;
    TRY(model_.Forward(b, kv_, *st_, pool_, logits_.data()));
    n_past_ += b.n_tok;
    history_.insert(history_.end(), b.tokens, b.tokens + b.n_tok);
  }
  return Status::Ok();
}

Status Session::FeedEmbeddings(const float* embd, int64_t n, bool causal) {
  if (n <= 0) return Status::Ok();
  if (n_past_ + n > opt_.n_ctx) {
    return OutOfRangeError("the sequence would need " + std::to_string(n_past_ + n) +
                           " positions but the context holds " + std::to_string(opt_.n_ctx) + " tokens");
  }
  if (!causal && n > opt_.n_batch) {
    return InvalidArgumentError("a bidirectional block of " + std::to_string(n) +
                                " rows does not fit one micro-batch of " +
                                std::to_string(opt_.n_batch));
  }
  const int64_t E = model_.config().n_embd;
  for (int64_t off = 0; off < n; off += opt_.n_batch) {
    model::Batch b;
    b.embd = embd + off * E;
    b.n_tok = std::min(opt_.n_batch, n - off);
    b.pos0 = n_past_;
    b.causal = causal;
    TRY(model_.Forward(b, kv_, *st_, pool_, logits_.data()));
    n_past_ += b.n_tok;
    history_.insert(history_.end(), b.n_tok, -1);
  }
  return Status::Ok();
}

void Session::Accept(int32_t id, const float* logits_row) {
  std::copy(logits_row, logits_row + n_vocab(), logits_.begin());
  history_.push_back(id);
  ++n_past_;
}

Status Session::Truncate(int64_t n) {
  if (n < 0 || n > n_past_)
    return InvalidArgumentError("cannot rewind to position " + std::to_string(n) + " of " +
                                std::to_string(n_past_));
  const model::Config& c = model_.config();
  for (int il = 0; il < c.n_layer; ++il) {
    const model::KvLayer& l = kv_.layer(il);
    // Positions [max(0, n - n_swa), n) must still be in the ring: nothing written at or after n
    // may have wrapped onto their cells.
    if (n > 0 && l.ring() && n_past_ > std::max<int64_t>(0, n - c.n_swa) + l.n_cells())
      return FailedPreconditionError("cannot rewind from " + std::to_string(n_past_) + " to " +
                                     std::to_string(n) + ": the sliding-window cache has moved on");
  }
  n_past_ = n;
  history_.resize(n);
  return Status::Ok();
}

}  // namespace hearth::engine
