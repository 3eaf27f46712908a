// model::Model: a loaded Gemma decoder (config + weight views over the mapped GGUF) and its forward
// pass. engine::Session drives it; one Model may serve several sessions (it is immutable).
//
//   ASSIGN_OR_RETURN(auto model, Model::Load(std::move(file)));
//   ForwardState st(model->config(), max_batch);
//   TRY(model->Forward(batch, kv, st, pool, logits));
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "gguf/file.h"
#include "kernels/matmul.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/weights.h"

namespace hearth::model {

// One forward call: either token ids or embeddings (a micro-batch is one or the other).
struct Batch {
  const int32_t* tokens = nullptr;  // [n_tok], or null when `embd` is given
  const float* embd = nullptr;      // [n_tok, n_embd], fed with scale 1 (multimodal rows)
  int64_t n_tok = 0;
  int64_t pos0 = 0;                 // position of the first row; rows are consecutive
  bool causal = true;               // false: rows attend to each other bidirectionally
  bool all_logits = false;          // logits for every row (else only for the last)
};

// One sequence's rows in a multi-sequence batch: its cache and the position of its first row.
struct SeqRows {
  KvCache* kv = nullptr;
  int64_t pos0 = 0;
  int64_t n_tok = 0;
};

// Activations for up to max_batch rows, allocated once per session.
struct ForwardState {
  ForwardState(const Config& c, int64_t max_batch);
  // Bytes the buffers of a ForwardState(c, max_batch) take (memory planning).
  static int64_t PlanBytes(const Config& c, int64_t max_batch);
  int64_t max_batch;
  std::vector<float> x;        // [B, n_embd] residual stream
  std::vector<float> xn;       // [B, n_embd] normed input of a block
  std::vector<float> h;        // [B, n_embd] scratch
  std::vector<float> q;        // [B, n_head·head_dim]
  std::vector<float> k, v;     // [B, n_head_kv·head_dim]
  std::vector<float> attn;     // [B, n_head·head_dim]
  std::vector<float> gate, up; // [B, max n_ff (or 2·n_ff_exp)]
  std::vector<float> f, f2;    // [B, n_embd]
  std::vector<float> rope_cs;  // [B, max head_dim] cos/sin
  std::vector<int32_t> pos, limit;  // [B]
  std::vector<float> ple;      // [B, n_pl·n_layer] per-layer inputs (Gemma 4 PLE)
  std::vector<float> ple_tmp;  // [B, max(n_pl·n_layer, n_pl)]
  std::vector<float> router;   // [B, n_expert]
  std::vector<float> moe_x, moe_y;  // [B, n_embd] gathered rows for one expert
  std::vector<int32_t> moe_sel;     // [B, n_expert_used]
  std::vector<float> moe_w;         // [B, n_expert_used]
  std::vector<int32_t> moe_order;   // [n_expert] scratch for top-k
  std::vector<int64_t> moe_rows;    // [B] (row, slot) indices routed to one expert
  kernels::Workspace ws;
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> Load(std::unique_ptr<gguf::File> file);

  const Config& config() const { return config_; }
  const Weights& weights() const { return weights_; }
  const gguf::File& file() const { return *file_; }

  // Runs the batch through the decoder, writing its K/V into `kv` and the logits of the last row
  // (or of every row when batch.all_logits) into logits[rows × n_vocab].
  Status Forward(const Batch& batch, KvCache& kv, ForwardState& st, ThreadPool& pool,
                 float* logits) const;

  // Several sequences' token rows in one pass, so each weight is read once for all of them
  // (continuous batching). The rows of seqs[i] follow those of seqs[i-1] in `tokens`; each
  // sequence writes and attends to its own cache only, causally. Writes the logits of each
  // sequence's last row to logits[i × n_vocab].
  Status ForwardSeqs(const int32_t* tokens, std::span<const SeqRows> seqs, ForwardState& st,
                     ThreadPool& pool, float* logits) const;

  // Row `id` of the token embedding scaled by sqrt(n_embd) (what the first layer sees).
  void EmbedToken(int32_t id, float* out) const;

 private:
  Model() = default;
  Status Run(const Batch& b, std::span<const SeqRows> seqs, ForwardState& st, ThreadPool& pool,
             float* logits) const;
  std::unique_ptr<gguf::File> file_;
  Config config_;
  Weights weights_;
};

// Gemma 4 pieces used by the decoder loop (gemma4.cc).
void Gemma4PerLayerInputs(const Model& m, const Batch& b, ForwardState& st, ThreadPool& pool);
void Gemma4Moe(const Model& m, int il, int64_t n_tok, ForwardState& st, ThreadPool& pool,
               float* out);

}  // namespace hearth::model
