// The Gemma decoder loop shared by gemma3 and gemma4 (spec §3.4 and §5.6): the per-layer block is
// the same shape for both; the architecture files bind the weights and set the config flags that
// switch on Gemma 4's V-norm, KV sharing, PLE, MoE and layer scale.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/matmul.h"
#include "model/layers.h"
#include "model/model.h"

namespace hearth::model {

using kernels::MatMul;

namespace {

// Element counts of every ForwardState buffer, so construction and planning agree.
struct StateSizes {
  int64_t x, q, kv, ff, rope, ple, router, moe_x, moe_y, moe_k;
};

StateSizes Sizes(const Config& c, int64_t b) {
  int64_t q_w = 0, kv_w = 0, ff = 0;
  for (const auto& l : c.layers) {
    q_w = std::max<int64_t>(q_w, int64_t{l.n_head} * l.head_dim);
    kv_w = std::max<int64_t>(kv_w, int64_t{l.n_head_kv} * l.head_dim);
    ff = std::max<int64_t>(ff, l.n_ff);
  }
  ff = std::max<int64_t>(ff, 2 * int64_t{c.n_ff_exp});
  StateSizes s{};
  s.x = b * c.n_embd;
  s.q = b * q_w;
  s.kv = b * kv_w;
  s.ff = b * ff;
  s.rope = b * std::max(c.max_head_dim(), 2);
  s.ple = c.n_pl > 0 ? b * c.n_pl * c.n_layer : 0;
  if (c.n_expert > 0) {
    s.router = b * c.n_expert;
    s.moe_x = b * c.n_embd;
    s.moe_y = b * c.n_expert_used * c.n_embd;
    s.moe_k = b * c.n_expert_used;
  }
  return s;
}

}  // namespace

int64_t ForwardState::PlanBytes(const Config& c, int64_t b) {
  const StateSizes s = Sizes(c, b);
  return 4 * (5 * s.x + 2 * s.q + 2 * s.kv + 2 * s.ff + s.rope + 2 * b + 2 * s.ple + s.router +
              s.moe_x + s.moe_y + 2 * s.moe_k);
}

ForwardState::ForwardState(const Config& c, int64_t b) : max_batch(b) {
  const StateSizes s = Sizes(c, b);
  x.resize(s.x);
  xn.resize(s.x);
  h.resize(s.x);
  f.resize(s.x);
  f2.resize(s.x);
  q.resize(s.q);
  attn.resize(s.q);
  k.resize(s.kv);
  v.resize(s.kv);
  gate.resize(s.ff);
  up.resize(s.ff);
  rope_cs.resize(s.rope);
  pos.resize(b);
  limit.resize(b);
  ple.resize(s.ple);
  ple_tmp.resize(s.ple);
  router.resize(s.router);
  moe_x.resize(s.moe_x);
  moe_y.resize(s.moe_y);
  moe_sel.resize(s.moe_k);
  moe_w.resize(s.moe_k);
  moe_order.resize(c.n_expert);
  moe_rows.reserve(b);
}

Result<std::unique_ptr<Model>> Model::Load(std::unique_ptr<gguf::File> file) {
  std::unique_ptr<Model> m(new Model());
  ASSIGN_OR_RETURN(m->config_, LoadConfig(*file));
  ASSIGN_OR_RETURN(m->weights_, BindWeights(*file, m->config_));
  InterleaveWeights(*file, m->weights_);
  file->SealCopies();
  m->file_ = std::move(file);
  return m;
}

void Model::EmbedToken(int32_t id, float* out) const {
  kernels::GetRow(weights_.token_embd, id, out);
  const float scale = std::sqrt(static_cast<float>(config_.n_embd));
  for (int i = 0; i < config_.n_embd; ++i) out[i] *= scale;
}

namespace {

// Per-head RMSNorm of n_tok rows holding n_head heads of width hd.
void HeadNorm(float* x, int64_t n_tok, int n_head, int hd, const float* w, float eps) {
  RmsNormRows(x, w, n_tok * n_head, hd, eps, x);
}

void AddRows(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace

Status Model::Forward(const Batch& b, KvCache& kv, ForwardState& st, ThreadPool& pool,
                      float* logits) const {
  const SeqRows one{&kv, b.pos0, b.n_tok};
  return Run(b, std::span<const SeqRows>(&one, 1), st, pool, logits);
}

Status Model::ForwardSeqs(const int32_t* tokens, std::span<const SeqRows> seqs, ForwardState& st,
                          ThreadPool& pool, float* logits) const {
  Batch b;
  b.tokens = tokens;
  for (const SeqRows& s : seqs) b.n_tok += s.n_tok;
  return Run(b, seqs, st, pool, logits);
}

Status Model::Run(const Batch& b, std::span<const SeqRows> seqs, ForwardState& st,
                  ThreadPool& pool, float* logits) const {
  const Config& c = config_;
  const int64_t n = b.n_tok;
  const int64_t E = c.n_embd;
  if (n <= 0 || seqs.empty()) return InvalidArgumentError("empty batch");
  CHECK(n <= st.max_batch) << "batch of " << n << " rows exceeds " << st.max_batch;
  CHECK((b.tokens == nullptr) != (b.embd == nullptr)) << "batch needs tokens xor embeddings";
  // Row t belongs to sequence seq_of[t]; positions run on from each sequence's pos0.
  int64_t t = 0;
  for (size_t si = 0; si < seqs.size(); ++si) {
    const SeqRows& s = seqs[si];
    if (s.n_tok <= 0) return InvalidArgumentError("sequence " + std::to_string(si) + " has no rows");
    if (s.pos0 + s.n_tok > s.kv->n_ctx()) {
      return OutOfRangeError("positions " + std::to_string(s.pos0) + ".." +
                             std::to_string(s.pos0 + s.n_tok - 1) + " exceed the context of " +
                             std::to_string(s.kv->n_ctx()) + " tokens");
    }
    for (int64_t i = 0; i < s.n_tok; ++i, ++t) {
      st.pos[t] = static_cast<int32_t>(s.pos0 + i);
      st.limit[t] = static_cast<int32_t>(b.causal ? s.pos0 + i : s.pos0 + s.n_tok - 1);
    }
  }
  CHECK(t == n) << "sequence rows (" << t << ") differ from the batch (" << n << ")";

  // Input rows: token embeddings × sqrt(n_embd), or the given embeddings with scale 1.
  if (b.tokens) {
    for (int64_t t = 0; t < n; ++t) {
      const int32_t id = b.tokens[t];
      if (id < 0 || id >= c.n_vocab) {
        return InvalidArgumentError("token id " + std::to_string(id) + " at batch row " +
                                    std::to_string(t) + " is outside the vocabulary (0.." +
                                    std::to_string(c.n_vocab - 1) + ")");
      }
      EmbedToken(id, st.x.data() + t * E);
    }
  } else {
    std::memcpy(st.x.data(), b.embd, sizeof(float) * n * E);
  }
  if (c.n_pl > 0) Gemma4PerLayerInputs(*this, b, st, pool);

  for (int il = 0; il < c.n_layer; ++il) {
    const LayerConfig& L = c.layers[il];
    const LayerWeights& W = weights_.layers[il];
    const int hd = L.head_dim;
    const int64_t q_w = int64_t{L.n_head} * hd, kv_w = int64_t{L.n_head_kv} * hd;

    // ---- attention ----
    RmsNormRows(st.x.data(), W.attn_norm.data, n, E, c.rms_eps, st.xn.data());
    MatMul(W.attn_q, st.xn.data(), n, st.q.data(), pool, st.ws);
    HeadNorm(st.q.data(), n, L.n_head, hd, W.attn_q_norm.data, c.rms_eps);
    RopeParams rp{L.n_rot, L.rope_base, L.rope_scale,
                  L.rope_freq_factors ? weights_.rope_freqs.data : nullptr};
    RopeTable(rp, st.pos.data(), n, st.rope_cs.data());
    for (int64_t t = 0; t < n; ++t)
      RopeApply(st.q.data() + t * q_w, L.n_head, hd, L.n_rot, st.rope_cs.data() + t * L.n_rot);
    if (c.attn_scale != 1.0f)
      for (int64_t i = 0; i < n * q_w; ++i) st.q[i] *= c.attn_scale;

    if (L.owns_kv()) {
      MatMul(W.attn_k, st.xn.data(), n, st.k.data(), pool, st.ws);
      if (W.attn_v.data) {
        MatMul(W.attn_v, st.xn.data(), n, st.v.data(), pool, st.ws);
      } else {
        std::memcpy(st.v.data(), st.k.data(), sizeof(float) * n * kv_w);  // raw K, before k-norm
      }
      HeadNorm(st.k.data(), n, L.n_head_kv, hd, W.attn_k_norm.data, c.rms_eps);
      for (int64_t t = 0; t < n; ++t)
        RopeApply(st.k.data() + t * kv_w, L.n_head_kv, hd, L.n_rot,
                  st.rope_cs.data() + t * L.n_rot);
      if (c.v_norm) HeadNorm(st.v.data(), n, L.n_head_kv, hd, nullptr, c.rms_eps);
      int64_t row = 0;
      for (const SeqRows& s : seqs) {
        KvLayer& cache = s.kv->layer(il);
        for (int64_t i = 0; i < s.n_tok; ++i, ++row)
          cache.Store(st.pos[row], st.k.data() + row * kv_w, st.v.data() + row * kv_w);
      }
    }

    // Each sequence attends to its own cache only.
    int64_t row0 = 0;
    for (const SeqRows& s : seqs) {
      AttentionArgs aa;
      aa.q = st.q.data() + row0 * q_w;
      aa.out = st.attn.data() + row0 * q_w;
      aa.n_tok = s.n_tok;
      aa.pos = st.pos.data() + row0;
      aa.limit = st.limit.data() + row0;
      aa.n_head = L.n_head;
      aa.n_head_kv = L.n_head_kv;
      aa.head_dim = hd;
      aa.window = L.sliding ? c.n_swa : 0;
      aa.kq_scale = 1.0f;
      Attention(aa, s.kv->layer(il), pool);
      row0 += s.n_tok;
    }

    MatMul(W.attn_output, st.attn.data(), n, st.h.data(), pool, st.ws);
    RmsNormRows(st.h.data(), W.post_attention_norm.data, n, E, c.rms_eps, st.h.data());
    AddRows(st.x.data(), st.h.data(), n * E);  // st.x is now the attention residual

    // ---- feed-forward ----
    RmsNormRows(st.x.data(), W.ffn_norm.data, n, E, c.rms_eps, st.xn.data());
    MatMul(W.ffn_gate, st.xn.data(), n, st.gate.data(), pool, st.ws);
    MatMul(W.ffn_up, st.xn.data(), n, st.up.data(), pool, st.ws);
    GeGlu(st.gate.data(), st.up.data(), n * L.n_ff, st.gate.data());
    MatMul(W.ffn_down, st.gate.data(), n, st.f.data(), pool, st.ws);
    if (L.moe) {
      RmsNormRows(st.f.data(), W.post_ffw_norm_1.data, n, E, c.rms_eps, st.f.data());
      Gemma4Moe(*this, il, n, st, pool, st.f2.data());
      AddRows(st.f.data(), st.f2.data(), n * E);
    }
    RmsNormRows(st.f.data(), W.post_ffw_norm.data, n, E, c.rms_eps, st.f.data());
    AddRows(st.x.data(), st.f.data(), n * E);

    // ---- per-layer embedding (Gemma 4 E2B/E4B) ----
    if (c.n_pl > 0) {
      const int64_t P = c.n_pl;
      MatMul(W.inp_gate, st.x.data(), n, st.gate.data(), pool, st.ws);  // [n, n_pl]
      for (int64_t t = 0; t < n; ++t) {
        float* g = st.gate.data() + t * P;
        const float* p = st.ple.data() + t * P * c.n_layer + int64_t{il} * P;
        for (int64_t i = 0; i < P; ++i) g[i] = Gelu(g[i]) * p[i];
      }
      MatMul(W.proj, st.gate.data(), n, st.f.data(), pool, st.ws);  // [n, n_embd]
      RmsNormRows(st.f.data(), W.post_norm.data, n, E, c.rms_eps, st.f.data());
      AddRows(st.x.data(), st.f.data(), n * E);
    }
    if (W.output_scale != 1.0f)
      for (int64_t i = 0; i < n * E; ++i) st.x[i] *= W.output_scale;
  }

  // ---- output ----
  // Every row, or the last row of each sequence.
  int64_t rows = 0;
  if (b.all_logits) {
    rows = n;
    RmsNormRows(st.x.data(), weights_.output_norm.data, n, E, c.rms_eps, st.xn.data());
  } else {
    int64_t end = 0;
    for (const SeqRows& s : seqs) {
      end += s.n_tok;
      RmsNormRows(st.x.data() + (end - 1) * E, weights_.output_norm.data, 1, E, c.rms_eps,
                  st.xn.data() + rows * E);
      ++rows;
    }
  }
  MatMul(weights_.lm_head(), st.xn.data(), rows, logits, pool, st.ws);
  if (c.final_softcap > 0) SoftCap(logits, rows * c.n_vocab, c.final_softcap);
  return Status::Ok();
}

}  // namespace hearth::model
