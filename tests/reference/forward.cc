#include "reference/forward.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "reference/dequant.h"

namespace hearth::reference {
namespace {

// RMSNorm applied separately to each head_dim slice of x (q-norm, k-norm, V-norm).
void NormPerHead(Vec& x, int head_dim, const Weight* w, double eps, Numerics mode) {
  for (size_t h = 0; h * head_dim < x.size(); ++h) {
    Vec head(x.begin() + h * head_dim, x.begin() + (h + 1) * head_dim);
    head = RmsNorm(head, w ? w->values.data() : nullptr, eps, mode);
    std::copy(head.begin(), head.end(), x.begin() + h * head_dim);
  }
}

void Add(Vec& acc, const Vec& v) {
  for (size_t i = 0; i < acc.size(); ++i) acc[i] += v[i];
}

}  // namespace

ForwardPass::ForwardPass(const Model& model, Numerics mode)
    : model_(model), mode_(mode), k_cache_(model.config.n_layer), v_cache_(model.config.n_layer) {}

Vec ForwardPass::Geglu(const Vec& gate, const Vec& up) const {
  Vec out(gate.size());
  for (size_t i = 0; i < gate.size(); ++i) out[i] = Gelu(gate[i], mode_) * up[i];
  return out;
}

Vec ForwardPass::DenseFfn(const LayerWeights& lw, const Vec& x) const {
  return MatVec(lw.ffn_down, Geglu(MatVec(lw.ffn_gate, x, mode_), MatVec(lw.ffn_up, x, mode_)),
                mode_);
}

// §5.7: P = (RMSNorm_per_layer(W_proj · x0 / sqrt(n_embd)) + E[token] · sqrt(n_pl)) / sqrt(2).
Vec ForwardPass::PerLayerInputs(int token, const Vec& x0) const {
  const Config& c = model_.config;
  const int n_pl = c.n_pl;
  Vec proj = MatVec(model_.per_layer_model_proj, x0, mode_);
  const double proj_scale = 1.0 / std::sqrt(static_cast<double>(c.n_embd));
  for (double& v : proj) v *= proj_scale;
  NormPerHead(proj, n_pl, &model_.per_layer_proj_norm, c.eps, mode_);
  const float* e = model_.per_layer_token_embd.Row(0, token);
  const double e_scale = std::sqrt(static_cast<double>(n_pl));
  Vec p(proj.size());
  for (size_t i = 0; i < p.size(); ++i) p[i] = (proj[i] + e[i] * e_scale) / std::sqrt(2.0);
  return p;
}

Vec ForwardPass::Attention(int il, const Vec& a) {
  const Config& c = model_.config;
  const LayerConfig& l = c.layers[il];
  const LayerWeights& lw = model_.layers[il];
  const int hd = l.head_dim;
  const float* freqs = (l.use_rope_freqs && model_.rope_freqs.present())
                           ? model_.rope_freqs.values.data() : nullptr;

  Vec q = MatVec(lw.attn_q, a, mode_);  // [n_head · hd]
  NormPerHead(q, hd, &lw.attn_q_norm, c.eps, mode_);
  for (int h = 0; h < l.n_head; ++h) {
    RopeNeox(&q[h * hd], hd, l.n_rot, pos_, l.rope_base, l.rope_scale, freqs, mode_);
  }
  for (double& v : q) v = MaybeRoundHalf(v * c.attn_q_scale, mode_);

  if (l.kv_source == il) {
    const Vec k_raw = MatVec(lw.attn_k, a, mode_);  // [n_head_kv · hd]
    Vec v = lw.attn_v.present() ? MatVec(lw.attn_v, a, mode_) : k_raw;
    Vec k = k_raw;
    NormPerHead(k, hd, &lw.attn_k_norm, c.eps, mode_);
    for (int h = 0; h < l.n_head_kv; ++h) {
      RopeNeox(&k[h * hd], hd, l.n_rot, pos_, l.rope_base, l.rope_scale, freqs, mode_);
    }
    if (c.v_norm) NormPerHead(v, hd, nullptr, c.eps, mode_);
    for (double& x : k) x = MaybeRoundHalf(x, mode_);
    for (double& x : v) x = MaybeRoundHalf(x, mode_);
    k_cache_[il].push_back(std::move(k));
    v_cache_[il].push_back(std::move(v));
  }
  const std::vector<Vec>& keys = k_cache_[l.kv_source];
  const std::vector<Vec>& values = v_cache_[l.kv_source];
  CHECK(static_cast<int>(keys.size()) == pos_ + 1) << "layer " << il << " cache out of step";

  // Causal mask, plus on sliding layers: key j visible iff pos - j < n_swa (§2).
  const int first = (l.sliding && c.n_swa > 0) ? std::max(0, pos_ - c.n_swa + 1) : 0;
  const int group = l.n_head / l.n_head_kv;
  Vec out(static_cast<size_t>(l.n_head) * hd, 0.0);
  for (int h = 0; h < l.n_head; ++h) {
    const int kvh = h / group;
    Vec scores(pos_ + 1 - first);
    for (int j = first; j <= pos_; ++j) {
      double s = 0;
      for (int d = 0; d < hd; ++d) s += q[h * hd + d] * keys[j][kvh * hd + d];
      scores[j - first] = s;  // kq_scale = 1 for both archs
    }
    if (mode_ == Numerics::kLlamaCpp) {
      // ggml CPU flash attention, one query row: online softmax in F32 with the V-weighted sum
      // accumulated in F16 (rescaled when the running max grows), divided by the sum at the end.
      float running_max = -INFINITY, running_sum = 0;
      std::vector<float> acc(hd, 0.0f);
      for (int j = first; j <= pos_; ++j) {
        const float s = static_cast<float>(scores[j - first]);
        float ms = 1.0f, vs = 1.0f;
        if (s > running_max) {
          const float old_max = running_max;
          running_max = s;
          ms = std::exp(old_max - running_max);
          for (float& a : acc) a = RoundToHalf(a * ms);
        } else {
          vs = std::exp(s - running_max);
        }
        for (int d = 0; d < hd; ++d) {
          acc[d] = RoundToHalf(acc[d] + static_cast<float>(values[j][kvh * hd + d]) * vs);
        }
        running_sum = running_sum * ms + vs;
      }
      for (int d = 0; d < hd; ++d) out[h * hd + d] = acc[d] * (1.0f / running_sum);
      continue;
    }
    const double max = *std::max_element(scores.begin(), scores.end());
    double sum = 0;
    for (double& s : scores) sum += (s = std::exp(s - max));
    for (int j = first; j <= pos_; ++j) {
      const double p = scores[j - first] / sum;
      for (int d = 0; d < hd; ++d) out[h * hd + d] += p * values[j][kvh * hd + d];
    }
  }
  return MatVec(lw.attn_output, out, mode_);
}

// §5.6 MoE block: shared MLP plus softmax-routed top-k experts.
Vec ForwardPass::MoeFfn(const LayerWeights& lw, const Vec& h) const {
  const Config& c = model_.config;
  Vec m1 = DenseFfn(lw, RmsNorm(h, lw.ffn_norm.values.data(), c.eps, mode_));
  m1 = RmsNorm(m1, lw.post_ffw_norm_1.values.data(), c.eps, mode_);

  Vec r = RmsNorm(h, nullptr, c.eps, mode_);
  const double r_scale = 1.0 / std::sqrt(static_cast<double>(c.n_embd));
  for (size_t i = 0; i < r.size(); ++i) {
    r[i] *= r_scale;
    if (lw.ffn_gate_inp_scale.present()) r[i] *= lw.ffn_gate_inp_scale.values[i];
  }
  Vec probs = MatVec(lw.ffn_gate_inp, r, mode_);
  const double max = *std::max_element(probs.begin(), probs.end());
  double sum = 0;
  for (double& p : probs) sum += (p = std::exp(p - max));
  for (double& p : probs) p /= sum;

  std::vector<int> order(c.n_expert);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return probs[a] > probs[b]; });
  order.resize(c.n_expert_used);
  double selected = 0;
  for (int e : order) selected += probs[e];
  selected = std::max(selected, 6.103515625e-5);

  const Vec x2 = RmsNorm(h, lw.pre_ffw_norm_2.values.data(), c.eps, mode_);
  const int nf = c.n_ff_exp;
  Vec m2(c.n_embd, 0.0);
  for (int e : order) {
    Vec gate, up;
    if (lw.ffn_gate_up_exps.present()) {
      const Vec gu = MatVec(lw.ffn_gate_up_exps, x2, mode_, e);  // gate rows first, then up
      gate.assign(gu.begin(), gu.begin() + nf);
      up.assign(gu.begin() + nf, gu.end());
    } else {
      gate = MatVec(lw.ffn_gate_exps, x2, mode_, e);
      up = MatVec(lw.ffn_up_exps, x2, mode_, e);
    }
    Vec y = MatVec(lw.ffn_down_exps, Geglu(gate, up), mode_, e);
    const double expert_scale =
        lw.ffn_down_exps_scale.present() ? lw.ffn_down_exps_scale.values[e] : 1.0;
    const double weight = probs[e] / selected;
    for (int i = 0; i < c.n_embd; ++i) m2[i] += y[i] * expert_scale * weight;
  }
  m2 = RmsNorm(m2, lw.post_ffw_norm_2.values.data(), c.eps, mode_);
  Add(m1, m2);
  return m1;
}

Vec ForwardPass::Step(int token, bool want_logits) {
  const Config& c = model_.config;
  CHECK(token >= 0 && token < c.n_vocab) << "token id " << token << " outside the vocabulary";

  // Token embedding × sqrt(n_embd) (§2); llama.cpp does this product in F32.
  Vec x(c.n_embd);
  const float* row = model_.token_embd.Row(0, token);
  for (int i = 0; i < c.n_embd; ++i) {
    x[i] = mode_ == Numerics::kExact
               ? row[i] * std::sqrt(static_cast<double>(c.n_embd))
               : row[i] * std::sqrt(static_cast<float>(c.n_embd));
  }
  const Vec ple = c.n_pl > 0 ? PerLayerInputs(token, x) : Vec();

  for (int il = 0; il < c.n_layer; ++il) {
    const LayerWeights& lw = model_.layers[il];
    const Vec a = RmsNorm(x, lw.attn_norm.values.data(), c.eps, mode_);
    Vec h = RmsNorm(Attention(il, a), lw.post_attention_norm.values.data(), c.eps, mode_);
    Add(h, x);  // h = x + post_attention_norm(attention)

    const Vec f = c.layers[il].moe
                      ? MoeFfn(lw, h)
                      : DenseFfn(lw, RmsNorm(h, lw.ffn_norm.values.data(), c.eps, mode_));
    Vec y = RmsNorm(f, lw.post_ffw_norm.values.data(), c.eps, mode_);
    Add(y, h);

    if (c.n_pl > 0) {  // §5.6: PLE gate and projection
      Vec g = MatVec(lw.inp_gate, y, mode_);
      for (int i = 0; i < c.n_pl; ++i) g[i] = Gelu(g[i], mode_) * ple[il * c.n_pl + i];
      Add(y, RmsNorm(MatVec(lw.proj, g, mode_), lw.post_norm.values.data(), c.eps, mode_));
    }
    if (lw.layer_output_scale.present()) {
      for (double& v : y) v *= lw.layer_output_scale.values[0];
    }
    x = std::move(y);
  }
  ++pos_;
  if (!want_logits) return Vec();

  Vec logits = MatVec(model_.head(), RmsNorm(x, model_.output_norm.values.data(), c.eps, mode_),
                      mode_);
  if (c.softcap != 0) {
    for (double& v : logits) v = c.softcap * std::tanh(v / c.softcap);
  }
  return logits;
}

}  // namespace hearth::reference
