// The Gemma 4 E2B/E4B audio encoder (projector type `gemma4a`): log-mel features, two stride-2
// 3×3 convolutions with channel LayerNorm and ReLU, a Conformer (half-step FFNs, chunked local
// attention with relative positions and soft-capping, a causal depthwise convolution module) and
// the projection; one chunk per 30 s (gemma-gguf-spec.md §6.2).
#include <algorithm>
#include <cmath>

#include "kernels/quant.h"
#include "mm/internal.h"
#include "mm/preprocess.h"
#include "mm/projector.h"
#include "model/layers.h"

namespace hearth::mm {

namespace {

constexpr float kEps = 1e-6f;  // hard-coded for every norm of the graph
constexpr int kChunk = 12, kPast = 12, kCtx = kChunk + kPast, kRel = kPast + 1;

float Silu(float z) { return z / (1.0f + std::exp(-z)); }
float Sigmoid(float z) { return 1.0f / (1.0f + std::exp(-z)); }

}  // namespace

Status LoadGemma4a(const gguf::File& f, const TensorReader& r, int64_t n_embd_text, AudioParams& a) {
  const std::string& p = f.path();
  ASSIGN_OR_RETURN(a.n_embd, ReadCount(f, "clip.audio.embedding_length"));
  ASSIGN_OR_RETURN(a.n_layer, ReadCount(f, "clip.audio.block_count"));
  ASSIGN_OR_RETURN(a.n_head, ReadCount(f, "clip.audio.attention.head_count"));
  ASSIGN_OR_RETURN(a.n_ff, ReadCount(f, "clip.audio.feed_forward_length"));
  ASSIGN_OR_RETURN(a.n_mel, ReadCount(f, "clip.audio.num_mel_bins"));
  const int64_t d = a.n_embd;
  if (d % a.n_head != 0 || d < 4) {
    return InvalidArgumentError(p + ": clip.audio.embedding_length " + std::to_string(d) +
                                " is not divisible by head_count " + std::to_string(a.n_head));
  }
  int64_t c_in = 1, freq = a.n_mel;
  for (int i = 0; i < 2; ++i) {
    const std::string n = "a.conv1d." + std::to_string(i);
    const gguf::TensorInfo* t = r.Find(n + ".weight");
    if (!t) return NotFoundError(p + ": tensor '" + n + ".weight' is missing");
    if (t->ne[0] != 3 || t->ne[1] != 3 || t->ne[2] != c_in || t->ne[3] < 1 || t->ne[3] > 4096) {
      return InvalidArgumentError(p + ": tensor '" + n + ".weight' must be (3, 3, " +
                                  std::to_string(c_in) + ", C)");
    }
    a.conv_ch[i] = static_cast<int>(t->ne[3]);
    ASSIGN_OR_RETURN(a.conv_w[i], r.Vec(n + ".weight", t->n_elements()));
    ASSIGN_OR_RETURN(a.conv_b[i], r.VecOpt(n + ".bias", a.conv_ch[i]));
    ASSIGN_OR_RETURN(a.conv_norm[i], r.VecOpt(n + ".norm.weight", a.conv_ch[i]));
    c_in = a.conv_ch[i];
    freq = (freq - 1) / 2 + 1;
  }
  ASSIGN_OR_RETURN(a.sscp_proj, ClippableLinear(r, "a.input_projection", c_in * freq, d));
  for (int il = 0; il < a.n_layer; ++il) {
    const std::string b = "a.blk." + std::to_string(il) + ".";
    const int64_t hd = d / a.n_head;
    ConformerLayer L;
    ASSIGN_OR_RETURN(L.ffn_norm, r.Vec(b + "ffn_norm.weight", d));
    ASSIGN_OR_RETURN(L.ffn_up, ClippableLinear(r, b + "ffn_up", d, a.n_ff));
    ASSIGN_OR_RETURN(L.ffn_down, ClippableLinear(r, b + "ffn_down", a.n_ff, d));
    ASSIGN_OR_RETURN(L.ffn_post_norm, r.VecOpt(b + "ffn_post_norm.weight", d));
    ASSIGN_OR_RETURN(L.attn_norm, r.VecOpt(b + "attn_pre_norm.weight", d));
    if (L.attn_norm.empty()) {
      ASSIGN_OR_RETURN(L.attn_norm, r.VecOpt(b + "ln1.weight", d));
    }
    ASSIGN_OR_RETURN(L.q, ClippableLinear(r, b + "attn_q", d, d));
    ASSIGN_OR_RETURN(L.k, ClippableLinear(r, b + "attn_k", d, d));
    ASSIGN_OR_RETURN(L.v, ClippableLinear(r, b + "attn_v", d, d));
    ASSIGN_OR_RETURN(L.o, ClippableLinear(r, b + "attn_out", d, d));
    ASSIGN_OR_RETURN(L.per_dim_scale, r.VecOpt(b + "per_dim_scale.weight", hd));
    ASSIGN_OR_RETURN(L.per_dim_k_scale, r.VecOpt(b + "per_dim_k_scale.weight", hd));
    if (r.Has(b + "attn_k_rel.weight")) {
      ASSIGN_OR_RETURN(L.k_rel, r.Mat(b + "attn_k_rel.weight", d, d));
    }
    ASSIGN_OR_RETURN(L.attn_post_norm, r.VecOpt(b + "attn_post_norm.weight", d));
    // The tensor mapping swaps the names: conv_norm is the module's pre-norm.
    ASSIGN_OR_RETURN(L.conv_pre_norm, r.Vec(b + "conv_norm.weight", d));
    ASSIGN_OR_RETURN(L.pw1, ClippableLinear(r, b + "conv_pw1", d, 2 * d));
    const gguf::TensorInfo* dw = r.Find(b + "conv_dw.weight");
    if (!dw) return NotFoundError(p + ": tensor '" + b + "conv_dw.weight' is missing");
    if (dw->n_elements() % d != 0 || dw->ne[0] < 1 || dw->ne[0] > 64 || dw->ne[0] * d != dw->n_elements()) {
      return InvalidArgumentError(p + ": tensor '" + b + "conv_dw.weight' must be (K, " +
                                  std::to_string(d) + ")");
    }
    L.dw_k = static_cast<int>(dw->ne[0]);
    ASSIGN_OR_RETURN(L.dw, r.Vec(b + "conv_dw.weight", dw->n_elements()));
    ASSIGN_OR_RETURN(L.dw_b, r.VecOpt(b + "conv_dw.bias", d));
    ASSIGN_OR_RETURN(L.conv_post_norm, r.VecOpt(b + "norm_conv.weight", d));
    ASSIGN_OR_RETURN(L.pw2, ClippableLinear(r, b + "conv_pw2", d, d));
    ASSIGN_OR_RETURN(L.ffn_norm_1, r.Vec(b + "ffn_norm_1.weight", d));
    ASSIGN_OR_RETURN(L.ffn_up_1, ClippableLinear(r, b + "ffn_up_1", d, a.n_ff));
    ASSIGN_OR_RETURN(L.ffn_down_1, ClippableLinear(r, b + "ffn_down_1", a.n_ff, d));
    ASSIGN_OR_RETURN(L.ffn_post_norm_1, r.VecOpt(b + "ffn_post_norm_1.weight", d));
    ASSIGN_OR_RETURN(L.ln2, r.VecOpt(b + "ln2.weight", d));
    a.layers.push_back(std::move(L));
  }
  int64_t width = d;
  if (r.Has("a.pre_encode.out.weight")) {
    const gguf::TensorInfo* t = r.Find("a.pre_encode.out.weight");
    ASSIGN_OR_RETURN(a.out_proj, ClippableLinear(r, "a.pre_encode.out", d, t->ne[1]));
    width = t->ne[1];
  }
  ASSIGN_OR_RETURN(a.soft_emb_norm, r.VecOpt("mm.a.soft_emb_norm.weight", width));
  ASSIGN_OR_RETURN(a.proj, ClippableLinear(r, "mm.a.input_projection", width, n_embd_text));
  a.frame = static_cast<int>(width);  // the width entering the projection
  return Status::Ok();
}

namespace {

// One 3×3 stride-2 pad-1 convolution over [F × T × C_in] (f fastest, then t, then channel) into
// [F' × T' × C_out], then + bias, channel LayerNorm (weight only), ReLU.
std::vector<float> ConvBlock(const std::vector<float>& in, int64_t F, int64_t T, int64_t cin,
                             const std::vector<float>& w, const std::vector<float>& b,
                             const std::vector<float>& norm, int64_t cout, int64_t* F2,
                             int64_t* T2, ThreadPool& pool) {
  const int64_t fo = (F - 1) / 2 + 1, to = (T - 1) / 2 + 1;
  std::vector<float> out(static_cast<size_t>(fo * to * cout));
  pool.ParallelFor(cout, [&](int64_t c0, int64_t c1, int) {
    for (int64_t oc = c0; oc < c1; ++oc) {
      for (int64_t t = 0; t < to; ++t) {
        for (int64_t f = 0; f < fo; ++f) {
          float acc = 0;
          for (int64_t ic = 0; ic < cin; ++ic) {
            for (int kt = 0; kt < 3; ++kt) {
              const int64_t ti = 2 * t + kt - 1;
              if (ti < 0 || ti >= T) continue;
              for (int kf = 0; kf < 3; ++kf) {
                const int64_t fi = 2 * f + kf - 1;
                if (fi < 0 || fi >= F) continue;
                acc += w[((oc * cin + ic) * 3 + kt) * 3 + kf] * in[(ic * T + ti) * F + fi];
              }
            }
          }
          out[(oc * to + t) * fo + f] = acc + (b.empty() ? 0.0f : b[oc]);
        }
      }
    }
  });
  std::vector<float> v(static_cast<size_t>(cout));
  for (int64_t t = 0; t < to; ++t) {
    for (int64_t f = 0; f < fo; ++f) {
      for (int64_t c = 0; c < cout; ++c) v[c] = out[(c * to + t) * fo + f];
      if (!norm.empty()) LayerNorm(v.data(), norm.data(), nullptr, cout, kEps, v.data());
      for (int64_t c = 0; c < cout; ++c) out[(c * to + t) * fo + f] = std::max(0.0f, v[c]);
    }
  }
  *F2 = fo;
  *T2 = to;
  return out;
}

Embeddings EncodeChunk(const AudioParams& a, int64_t n_embd_text, std::span<const float> samples,
                       ThreadPool& pool) {
  int n_frames = 0;
  const std::vector<float> mel = Gemma4aLogMel(samples, a.n_mel, &n_frames);  // [T × n_mel]
  if (n_frames == 0) return Embeddings{};
  kernels::Workspace ws;
  // Conv input [F × T × 1]: frequency fastest (the mel rows as they are).
  int64_t F = a.n_mel, T = n_frames;
  std::vector<float> x = mel;
  int64_t cin = 1;
  for (int i = 0; i < 2; ++i) {
    int64_t F2 = 0, T2 = 0;
    x = ConvBlock(x, F, T, cin, a.conv_w[i], a.conv_b[i], a.conv_norm[i], a.conv_ch[i], &F2, &T2, pool);
    F = F2;
    T = T2;
    cin = a.conv_ch[i];
  }
  // Flatten to one vector per time step, channel fastest: index = f·C + c.
  const int64_t n = T, d = a.n_embd, C = cin;
  std::vector<float> flat(static_cast<size_t>(n * F * C));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t f = 0; f < F; ++f)
      for (int64_t c = 0; c < C; ++c) flat[(t * F + f) * C + c] = x[(c * T + t) * F + f];
  std::vector<float> cur(static_cast<size_t>(n * d));
  Apply(a.sscp_proj, flat.data(), n, cur.data(), pool, ws);

  const int H = a.n_head;
  const int64_t hd = d / H;
  // The relative-position table: row r is distance 12 − r, sin in the first half, cos in the
  // second, inv_timescale_i = exp(−i·ln(10000)/(d/2 − 1)).
  std::vector<float> pos_emb(static_cast<size_t>(kRel * d));
  const int64_t half = d / 2;
  const double log_inc = std::log(10000.0) / std::max<double>(static_cast<double>(half) - 1, 1.0);
  for (int r = 0; r < kRel; ++r) {
    const double dist = kPast - r;
    for (int64_t i = 0; i < half; ++i) {
      const double ang = dist * std::exp(-static_cast<double>(i) * log_inc);
      pos_emb[r * d + i] = static_cast<float>(std::sin(ang));
      pos_emb[r * d + half + i] = static_cast<float>(std::cos(ang));
    }
  }
  const float q_scale = (1.0f / std::sqrt(static_cast<float>(hd))) / std::log(2.0f);
  const float k_scale = std::log(1.0f + std::exp(1.0f)) / std::log(2.0f);
  constexpr float kSoftcap = 50.0f;

  std::vector<float> h(cur.size()), q(cur.size()), k(cur.size()), v(cur.size()), att(cur.size());
  std::vector<float> ff(static_cast<size_t>(n * a.n_ff)), two(static_cast<size_t>(n * 2 * d));
  std::vector<float> rel(static_cast<size_t>(kRel * d));
  auto half_ffn = [&](const std::vector<float>& pre, const Linear& up, const Linear& down,
                      const std::vector<float>& post) {
    model::RmsNormRows(cur.data(), pre.data(), n, d, kEps, h.data());
    Apply(up, h.data(), n, ff.data(), pool, ws);
    for (float& z : ff) z = Silu(z);
    Apply(down, ff.data(), n, h.data(), pool, ws);
    if (!post.empty()) model::RmsNormRows(h.data(), post.data(), n, d, kEps, h.data());
    for (size_t i = 0; i < cur.size(); ++i) cur[i] += 0.5f * h[i];
  };
  for (const ConformerLayer& L : a.layers) {
    half_ffn(L.ffn_norm, L.ffn_up, L.ffn_down, L.ffn_post_norm);
    // Chunked local self-attention.
    if (!L.attn_norm.empty()) {
      model::RmsNormRows(cur.data(), L.attn_norm.data(), n, d, kEps, h.data());
    } else {
      h = cur;
    }
    Apply(L.q, h.data(), n, q.data(), pool, ws);
    Apply(L.k, h.data(), n, k.data(), pool, ws);
    Apply(L.v, h.data(), n, v.data(), pool, ws);
    for (int64_t t = 0; t < n; ++t) {
      for (int hh = 0; hh < H; ++hh) {
        for (int64_t c = 0; c < hd; ++c) {
          float& qv = q[t * d + hh * hd + c];
          qv *= q_scale;
          if (!L.per_dim_scale.empty()) qv *= L.per_dim_scale[c];
          float& kv = k[t * d + hh * hd + c];
          kv *= k_scale;
          if (!L.per_dim_k_scale.empty()) kv *= L.per_dim_k_scale[c];
        }
      }
    }
    const bool has_rel = L.k_rel.rows > 0;
    if (has_rel) kernels::MatMul(L.k_rel, pos_emb.data(), kRel, rel.data(), pool, ws);
    pool.ParallelFor(static_cast<int64_t>(H) * n, [&](int64_t b0, int64_t b1, int) {
      float s[kCtx];
      for (int64_t idx = b0; idx < b1; ++idx) {
        const int64_t hh = idx / n, i = idx % n;
        const float* qi = &q[i * d + hh * hd];
        float mx = -INFINITY;
        int64_t j_lo = std::max<int64_t>(0, i - (kPast - 1));
        for (int64_t j = j_lo; j <= i; ++j) {  // visible: j <= i, i − j < 12
          const float* kj = &k[j * d + hh * hd];
          float dot = 0;
          for (int64_t c = 0; c < hd; ++c) dot += qi[c] * kj[c];
          if (has_rel) {
            const float* pr = &rel[(kPast - (i - j)) * d + hh * hd];
            float bd = 0;
            for (int64_t c = 0; c < hd; ++c) bd += qi[c] * pr[c];
            dot += bd;
          }
          dot = kSoftcap * std::tanh(dot / kSoftcap);
          s[j - j_lo] = dot;
          mx = std::max(mx, dot);
        }
        double sum = 0;
        for (int64_t j = j_lo; j <= i; ++j) {
          s[j - j_lo] = std::exp(s[j - j_lo] - mx);
          sum += s[j - j_lo];
        }
        const float inv = static_cast<float>(1.0 / sum);
        float* out = &att[i * d + hh * hd];
        std::fill(out, out + hd, 0.0f);
        for (int64_t j = j_lo; j <= i; ++j) {
          const float w = s[j - j_lo] * inv;
          const float* vj = &v[j * d + hh * hd];
          for (int64_t c = 0; c < hd; ++c) out[c] += w * vj[c];
        }
      }
    });
    Apply(L.o, att.data(), n, h.data(), pool, ws);
    if (!L.attn_post_norm.empty()) model::RmsNormRows(h.data(), L.attn_post_norm.data(), n, d, kEps, h.data());
    for (size_t i = 0; i < cur.size(); ++i) cur[i] += h[i];
    // Convolution module.
    model::RmsNormRows(cur.data(), L.conv_pre_norm.data(), n, d, kEps, h.data());
    Apply(L.pw1, h.data(), n, two.data(), pool, ws);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t c = 0; c < d; ++c) att[t * d + c] = two[t * 2 * d + c] * Sigmoid(two[t * 2 * d + d + c]);
    const int K = L.dw_k;
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t c = 0; c < d; ++c) {
        float acc = 0;
        for (int kk = 0; kk < K; ++kk) {
          const int64_t ti = t + kk - (K - 1);  // K − 1 zeros of left padding: causal
          if (ti >= 0) acc += att[ti * d + c] * L.dw[c * K + kk];
        }
        h[t * d + c] = acc + (L.dw_b.empty() ? 0.0f : L.dw_b[c]);
      }
    }
    if (!L.conv_post_norm.empty()) model::RmsNormRows(h.data(), L.conv_post_norm.data(), n, d, kEps, h.data());
    for (float& z : h) z = Silu(z);
    Apply(L.pw2, h.data(), n, att.data(), pool, ws);
    for (size_t i = 0; i < cur.size(); ++i) cur[i] += att[i];
    half_ffn(L.ffn_norm_1, L.ffn_up_1, L.ffn_down_1, L.ffn_post_norm_1);
    if (!L.ln2.empty()) model::RmsNormRows(cur.data(), L.ln2.data(), n, d, kEps, cur.data());
  }
  std::vector<float> y;
  int64_t width = d;
  if (a.out_proj.w.rows > 0) {
    width = a.out_proj.w.rows;
    y.resize(static_cast<size_t>(n * width));
    Apply(a.out_proj, cur.data(), n, y.data(), pool, ws);
  } else {
    y = std::move(cur);
  }
  model::RmsNormRows(y.data(), a.soft_emb_norm.empty() ? nullptr : a.soft_emb_norm.data(), n, width,
                     kEps, y.data());
  Embeddings e;
  e.n_tok = n;
  e.n_embd = n_embd_text;
  e.data.resize(static_cast<size_t>(n * n_embd_text));
  Apply(a.proj, y.data(), n, e.data.data(), pool, ws);
  e.causal = true;
  e.kind = Embeddings::Kind::kAudio;
  return e;
}

}  // namespace

Result<std::vector<Embeddings>> EncodeGemma4a(const AudioParams& a, int64_t n_embd_text,
                                              std::span<const float> samples, ThreadPool& pool) {
  std::vector<Embeddings> out;
  for (size_t off = 0; off < samples.size(); off += kGemma4aChunkSamples) {
    const size_t len = std::min<size_t>(kGemma4aChunkSamples, samples.size() - off);
    Embeddings e = EncodeChunk(a, n_embd_text, samples.subspan(off, len), pool);
    if (e.n_tok > 0) out.push_back(std::move(e));
  }
  if (out.empty()) return InvalidArgumentError("the audio is too short for the encoder (" +
                                               std::to_string(samples.size()) + " samples)");
  return out;
}

}  // namespace hearth::mm
