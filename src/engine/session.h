// engine::Session: one sequence running on a Model: its KV cache, activations and the logits of the
// last position. Feeds prompts in micro-batches (prefill) and single tokens (decode).
//
//   ASSIGN_OR_RETURN(auto s, Session::Create(model, {.n_ctx = 4096}, pool));
//   TRY(s->Feed(prompt_ids));           // logits() now predicts the token after the prompt
//   TRY(s->Feed({next_id}));
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace hearth::engine {

struct SessionOptions {
  int64_t n_ctx = 4096;      // positions the sequence may reach (0: the model's training context)
  int64_t n_batch = 512;     // rows per forward call (prefill micro-batch)
  model::KvType kv_type = model::KvType::kF16;
  // Activation buffers to use instead of the session's own (several sessions that never run at
  // the same time share one; its max_batch must be >= n_batch). Not owned.
  model::ForwardState* shared_state = nullptr;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> Create(const model::Model& m, SessionOptions opt,
                                                 ThreadPool& pool);

  // Appends tokens at the end of the sequence; afterwards logits() predicts the next token.
  // OutOfRange (naming both numbers) if they do not fit in the context; nothing is fed then.
  Status Feed(std::span<const int32_t> ids);
  // Appends n rows of embeddings (scale 1). causal = false makes the rows attend to each other
  // bidirectionally (image blocks); such a block must fit in one micro-batch.
  Status FeedEmbeddings(const float* embd, int64_t n, bool causal);

  const float* logits() const { return logits_.data(); }
  int32_t n_vocab() const { return model_.config().n_vocab; }
  int64_t n_past() const { return n_past_; }
  int64_t n_ctx() const { return opt_.n_ctx; }
  const std::vector<int32_t>& history() const { return history_; }  // ids fed (−1 for embeddings)
  // Forgets everything after the first n positions (n <= n_past): the next Feed overwrites them.
  // FailedPrecondition when a sliding layer's ring has already overwritten keys that position n
  // would still need (rewinding further back than one micro-batch past the window).
  Status Truncate(int64_t n);
  const model::Model& model() const { return model_; }

  // For callers that batch several sessions in one forward pass (model::ForwardSeqs): the cache
  // to write position n_past() into, and Accept() to record the token fed there and the logits
  // the pass produced for it.
  model::KvCache& kv() { return kv_; }
  void Accept(int32_t id, const float* logits_row);
  int64_t kv_bytes() const { return kv_.bytes(); }

 private:
  Session(const model::Model& m, SessionOptions opt, ThreadPool& pool, model::KvCache kv);
  const model::Model& model_;
  SessionOptions opt_;
  ThreadPool& pool_;
  model::KvCache kv_;
  std::unique_ptr<model::ForwardState> own_st_;
  model::ForwardState* st_;
  std::vector<float> logits_;  // [n_vocab]
  std::vector<int32_t> history_;
  int64_t n_past_ = 0;
};

}  // namespace hearth::engine
