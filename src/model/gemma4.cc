// Gemma 4 (`gemma4`: E2B, E4B, 12B unified, 26B-A4B MoE, 31B): hyperparameters, tensor binding,
// per-layer embeddings and the mixture-of-experts FFN (spec §5). The decoder loop is decoder.cc.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "gguf/file.h"
#include "kernels/matmul.h"
#include "model/hparams.h"
#include "model/layers.h"
#include "model/model.h"

namespace hearth::model {

Result<Config> LoadGemma4Config(const gguf::File& f) {
  HParams hp(f, "gemma4");
  Config c;
  c.arch = Arch::kGemma4;
  c.arch_name = "gemma4";
  c.v_norm = true;
  c.attn_scale = 1.0f;
  ASSIGN_OR_RETURN(CommonHParams h, ReadCommonHParams(f, hp, c));
  const std::vector<int>& n_ff = h.n_ff;
  const std::vector<int>& n_head = h.n_head;
  const std::vector<int>& n_head_kv = h.n_head_kv;
  ASSIGN_OR_RETURN(uint32_t hd_full, hp.U32("attention.key_length"));
  ASSIGN_OR_RETURN(uint32_t hdv_full, hp.U32Or("attention.value_length", hd_full));
  ASSIGN_OR_RETURN(uint32_t hd_swa, hp.U32("attention.key_length_swa"));
  ASSIGN_OR_RETURN(uint32_t hdv_swa, hp.U32Or("attention.value_length_swa", hd_swa));
  if (hd_full != hdv_full || hd_swa != hdv_swa)
    return UnimplementedError("key and value head dims differ (" + std::to_string(hd_full) + "/" +
                              std::to_string(hdv_full) + ", swa " + std::to_string(hd_swa) + "/" +
                              std::to_string(hdv_swa) + ")");
  TRY(CheckDim(hp.Key("attention.key_length"), hd_full, 4096));
  TRY(CheckDim(hp.Key("attention.key_length_swa"), hd_swa, 4096));
  ASSIGN_OR_RETURN(c.rms_eps, hp.F32("attention.layer_norm_rms_epsilon"));
  ASSIGN_OR_RETURN(uint32_t n_swa, hp.U32("attention.sliding_window"));
  c.n_swa = static_cast<int>(n_swa);
  ASSIGN_OR_RETURN(std::vector<bool> sliding,
                   hp.BoolPerLayer("attention.sliding_window_pattern", c.n_layer));
  ASSIGN_OR_RETURN(uint32_t shared, hp.U32Or("attention.shared_kv_layers", 0));
  ASSIGN_OR_RETURN(uint32_t n_pl, hp.U32Or("embedding_length_per_layer_input", 0));
  c.n_pl = static_cast<int>(n_pl);
  ASSIGN_OR_RETURN(float base, hp.F32Or("rope.freq_base", 10000.0f));
  ASSIGN_OR_RETURN(float base_swa, hp.F32Or("rope.freq_base_swa", 10000.0f));
  ASSIGN_OR_RETURN(uint32_t n_rot, hp.U32Or("rope.dimension_count", hd_full));
  ASSIGN_OR_RETURN(uint32_t n_rot_swa, hp.U32Or("rope.dimension_count_swa", n_rot));
  ASSIGN_OR_RETURN(c.final_softcap, hp.F32Or("final_logit_softcapping", 30.0f));
  ASSIGN_OR_RETURN(uint32_t n_expert, hp.U32Or("expert_count", 0));
  ASSIGN_OR_RETURN(uint32_t n_expert_used, hp.U32Or("expert_used_count", 0));
  ASSIGN_OR_RETURN(uint32_t n_ff_exp, hp.U32Or("expert_feed_forward_length", 0));
  c.n_expert = static_cast<int>(n_expert);
  c.n_expert_used = static_cast<int>(n_expert_used);
  c.n_ff_exp = static_cast<int>(n_ff_exp);

  if (shared >= static_cast<uint32_t>(c.n_layer)) return InvalidArgumentError("shared_kv_layers >= block_count");
  const int kv_from_start = c.n_layer - static_cast<int>(shared);
  if (shared > 0 && kv_from_start < 2)
    return InvalidArgumentError("KV sharing needs at least two layers with their own KV");

  for (int il = 0; il < c.n_layer; ++il) {
    LayerConfig l;
    l.sliding = sliding[il];
    l.n_head = n_head[il];
    l.n_head_kv = n_head_kv[il];
    l.head_dim = static_cast<int>(l.sliding ? hd_swa : hd_full);
    l.n_ff = n_ff[il];
    l.n_rot = static_cast<int>(l.sliding ? n_rot_swa : n_rot);
    l.rope_base = l.sliding ? base_swa : base;
    l.rope_scale = 1.0f;
    l.rope_freq_factors = !l.sliding && f.FindTensor("rope_freqs.weight") != nullptr;
    const std::string p = "blk." + std::to_string(il) + ".";
    l.moe = f.FindTensor(p + "ffn_gate_inp.weight") != nullptr;
    l.has_v = f.FindTensor(p + "attn_v.weight") != nullptr;
    if (il >= kv_from_start) {
      l.kv_source = l.sliding ? kv_from_start - 2 : kv_from_start - 1;
    }
    if (l.moe && (c.n_expert <= 0 || c.n_expert_used <= 0 || c.n_expert_used > c.n_expert ||
                  c.n_ff_exp <= 0))
      return InvalidArgumentError("layer " + std::to_string(il) +
                                  " has an expert router but expert_count/expert_used_count/"
                                  "expert_feed_forward_length are missing or inconsistent");
    c.layers.push_back(l);
  }
  // A shared layer reads a source of the same type, with the same KV geometry.
  for (int il = kv_from_start; il < c.n_layer; ++il) {
    const LayerConfig& l = c.layers[il];
    const LayerConfig& s = c.layers[l.kv_source];
    if (s.sliding != l.sliding || s.head_dim != l.head_dim || s.n_head_kv != l.n_head_kv)
      return InvalidArgumentError("layer " + std::to_string(il) + " shares the KV of layer " +
                                  std::to_string(l.kv_source) + ", which has a different type or shape");
  }
  return c;
}

Result<Weights> BindGemma4Weights(const gguf::File& f, const Config& c) {
  Weights w;
  Binder b(f, w);
  const int64_t E = c.n_embd;
  TRY(b.Globals(c));
  bool any_factors = false;
  for (const auto& l : c.layers) any_factors |= l.rope_freq_factors;
  if (any_factors) {
    int full_rot = 0;
    for (const auto& l : c.layers)
      if (!l.sliding) full_rot = l.n_rot;
    TRY(b.Vector("rope_freqs.weight", full_rot / 2, &w.rope_freqs));
  }
  if (c.n_pl > 0) {
    const int64_t W = int64_t{c.n_pl} * c.n_layer;
    TRY(b.Mat("per_layer_token_embd.weight", W, c.n_vocab, &w.per_layer_token_embd));
    TRY(b.Mat("per_layer_model_proj.weight", E, W, &w.per_layer_model_proj));
    TRY(b.Vector("per_layer_proj_norm.weight", c.n_pl, &w.per_layer_proj_norm));
  }
  for (int il = 0; il < c.n_layer; ++il) {
    const LayerConfig& l = c.layers[il];
    LayerWeights& lw = w.layers[il];
    const std::string p = "blk." + std::to_string(il) + ".";
    const int64_t kv_w = int64_t{l.n_head_kv} * l.head_dim;
    TRY(b.BlockCommon(p, c, l, &lw));
    if (l.owns_kv()) {
      TRY(b.Mat(p + "attn_k.weight", E, kv_w, &lw.attn_k));
      TRY(b.Mat(p + "attn_v.weight", E, kv_w, &lw.attn_v, /*required=*/false));
      TRY(b.Vector(p + "attn_k_norm.weight", l.head_dim, &lw.attn_k_norm));
    }
    TRY(b.Scalar(p + "layer_output_scale.weight", &lw.output_scale));
    if (l.moe) {
      const int64_t X = c.n_expert, F = c.n_ff_exp;
      TRY(b.Mat(p + "ffn_gate_inp.weight", E, X, &lw.ffn_gate_inp));
      TRY(b.Vector(p + "ffn_gate_inp.scale", E, &lw.ffn_gate_inp_scale));
      TRY(b.Vector(p + "pre_ffw_norm_2.weight", E, &lw.pre_ffw_norm_2));
      TRY(b.Vector(p + "post_ffw_norm_1.weight", E, &lw.post_ffw_norm_1));
      TRY(b.Vector(p + "post_ffw_norm_2.weight", E, &lw.post_ffw_norm_2));
      if (b.Has(p + "ffn_gate_up_exps.weight")) {
        TRY(b.Experts(p + "ffn_gate_up_exps.weight", E, 2 * F, X, &lw.ffn_gate_up_exps));
      } else {
        TRY(b.Experts(p + "ffn_gate_exps.weight", E, F, X, &lw.ffn_gate_exps));
        TRY(b.Experts(p + "ffn_up_exps.weight", E, F, X, &lw.ffn_up_exps));
      }
      TRY(b.Experts(p + "ffn_down_exps.weight", F, E, X, &lw.ffn_down_exps));
      TRY(b.Vector(p + "ffn_down_exps.scale", X, &lw.ffn_down_exps_scale, /*required=*/false));
    }
    if (c.n_pl > 0) {
      TRY(b.Mat(p + "inp_gate.weight", E, c.n_pl, &lw.inp_gate));
      TRY(b.Mat(p + "proj.weight", c.n_pl, E, &lw.proj));
      TRY(b.Vector(p + "post_norm.weight", E, &lw.post_norm));
    }
  }
  return w;
}

// P[t] = ((proj · x0[t]) / sqrt(n_embd), RMSNorm'd per layer) + E[token] · sqrt(n_pl), all / sqrt(2)
void Gemma4PerLayerInputs(const Model& m, const Batch& b, ForwardState& st, ThreadPool& pool) {
  const Config& c = m.config();
  const Weights& w = m.weights();
  const int64_t n = b.n_tok, P = c.n_pl, W = P * c.n_layer;
  kernels::MatMul(w.per_layer_model_proj, st.x.data(), n, st.ple.data(), pool, st.ws);
  const float proj_scale = 1.0f / std::sqrt(static_cast<float>(c.n_embd));
  const float emb_scale = std::sqrt(static_cast<float>(P));
  const float out_scale = 1.0f / std::sqrt(2.0f);
  for (int64_t t = 0; t < n; ++t) {
    float* q = st.ple.data() + t * W;
    for (int64_t i = 0; i < W; ++i) q[i] *= proj_scale;
    RmsNormRows(q, w.per_layer_proj_norm.data, c.n_layer, P, c.rms_eps, q);
    float* e = st.ple_tmp.data() + t * W;
    // Multimodal rows have no id: llama.cpp uses row 0 (the pad token).
    kernels::GetRow(w.per_layer_token_embd, b.tokens ? b.tokens[t] : 0, e);
    for (int64_t i = 0; i < W; ++i) q[i] = (q[i] + e[i] * emb_scale) * out_scale;
  }
}

// Mixture of experts on the attention residual st.x (spec §5.6); writes the normed expert sum.
void Gemma4Moe(const Model& m, int il, int64_t n, ForwardState& st, ThreadPool& pool,
               float* out) {
  const Config& c = m.config();
  const LayerWeights& W = m.weights().layers[il];
  const int64_t E = c.n_embd, X = c.n_expert, K = c.n_expert_used, F = c.n_ff_exp;

  // Router: softmax over experts of W_r · (RMSNorm(h) / sqrt(n_embd) ⊙ scale), top-k.
  const float inv_sqrt = 1.0f / std::sqrt(static_cast<float>(E));
  for (int64_t t = 0; t < n; ++t) {
    float* r = st.h.data() + t * E;
    RmsNorm(st.x.data() + t * E, nullptr, E, c.rms_eps, r);
    for (int64_t i = 0; i < E; ++i) r[i] = r[i] * inv_sqrt * W.ffn_gate_inp_scale.data[i];
  }
  kernels::MatMul(W.ffn_gate_inp, st.h.data(), n, st.router.data(), pool, st.ws);
  std::vector<int32_t>& order = st.moe_order;
  for (int64_t t = 0; t < n; ++t) {
    float* p = st.router.data() + t * X;
    float mx = p[0];
    for (int64_t e = 1; e < X; ++e) mx = std::max(mx, p[e]);
    double sum = 0;
    for (int64_t e = 0; e < X; ++e) sum += (p[e] = std::exp(p[e] - mx));
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t e = 0; e < X; ++e) p[e] *= inv;
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[a] > p[b]; });
    float wsum = 0;
    for (int64_t k = 0; k < K; ++k) wsum += p[order[k]];
    wsum = std::max(wsum, 6.103515625e-5f);
    for (int64_t k = 0; k < K; ++k) {
      st.moe_sel[t * K + k] = order[k];
      st.moe_w[t * K + k] = p[order[k]] / wsum;
    }
  }

  // Expert input: RMSNorm(h, pre_ffw_norm_2). Each expert runs once on the rows that chose it;
  // outputs land in per-(row, slot) buffers so the sum goes in top-k order.
  RmsNormRows(st.x.data(), W.pre_ffw_norm_2.data, n, E, c.rms_eps, st.h.data());
  std::vector<int64_t>& rows = st.moe_rows;
  for (int64_t e = 0; e < X; ++e) {
    rows.clear();
    for (int64_t t = 0; t < n; ++t)
      for (int64_t k = 0; k < K; ++k)
        if (st.moe_sel[t * K + k] == e) rows.push_back(t * K + k);
    if (rows.empty()) continue;
    const int64_t cnt = static_cast<int64_t>(rows.size());
    for (int64_t i = 0; i < cnt; ++i)
      std::copy_n(st.h.data() + (rows[i] / K) * E, E, st.moe_x.data() + i * E);
    float* gate = st.gate.data();
    float* up = st.up.data();
    if (W.ffn_gate_up_exps) {
      // Fused [gate; up] rows: one product, then split each row's halves.
      kernels::MatMul(W.ffn_gate_up_exps.Expert(e), st.moe_x.data(), cnt, gate, pool, st.ws);
      for (int64_t i = 0; i < cnt; ++i) {
        const float* gu = gate + i * 2 * F;
        GeGlu(gu, gu + F, F, up + i * F);
      }
    } else {
      kernels::MatMul(W.ffn_gate_exps.Expert(e), st.moe_x.data(), cnt, gate, pool, st.ws);
      kernels::MatMul(W.ffn_up_exps.Expert(e), st.moe_x.data(), cnt, up, pool, st.ws);
      GeGlu(gate, up, cnt * F, up);
    }
    float* y = st.f2.data();  // [cnt, E] scratch (f2 is written below only after all experts)
    kernels::MatMul(W.ffn_down_exps.Expert(e), up, cnt, y, pool, st.ws);
    const float scale = W.ffn_down_exps_scale ? W.ffn_down_exps_scale.data[e] : 1.0f;
    for (int64_t i = 0; i < cnt; ++i) {
      const int64_t slot = rows[i];
      const float wt = st.moe_w[slot];
      float* dst = st.moe_y.data() + slot * E;
      for (int64_t j = 0; j < E; ++j) dst[j] = (y[i * E + j] * scale) * wt;
    }
  }
  for (int64_t t = 0; t < n; ++t) {
    float* o = out + t * E;
    std::copy_n(st.moe_y.data() + (t * K) * E, E, o);
    for (int64_t k = 1; k < K; ++k) {
      const float* s = st.moe_y.data() + (t * K + k) * E;
      for (int64_t j = 0; j < E; ++j) o[j] += s[j];
    }
  }
  RmsNormRows(out, W.post_ffw_norm_2.data, n, E, c.rms_eps, out);
}

}  // namespace hearth::model
