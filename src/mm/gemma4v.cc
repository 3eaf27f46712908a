// The Gemma 4 vision tower (projector type `gemma4v`, E2B/E4B/26B/31B): a ViT with RMSNorms,
// per-head Q/K norms, 2D RoPE (columns in the first half of each head, rows in the second),
// gated FFN, 3×3 average pooling and a projection, with "clippable" linears
// (gemma-gguf-spec.md §6.1).
#include <algorithm>
#include <cmath>

#include "kernels/quant.h"
#include "mm/internal.h"
#include "mm/preprocess.h"
#include "mm/projector.h"
#include "model/layers.h"

namespace hearth::mm {

Result<Linear> ClippableLinear(const TensorReader& r, const std::string& stem, int64_t cols,
                               int64_t rows) {
  Linear l;
  ASSIGN_OR_RETURN(l.w, r.Mat(stem + ".weight", cols, rows));
  ASSIGN_OR_RETURN(l.b, r.VecOpt(stem + ".bias", rows));
  float* bounds[4] = {&l.in_min, &l.in_max, &l.out_min, &l.out_max};
  const char* names[4] = {".input_min", ".input_max", ".output_min", ".output_max"};
  for (int i = 0; i < 4; ++i) {
    ASSIGN_OR_RETURN(std::vector<float> v, r.VecOpt(stem + names[i], 1));
    if (!v.empty()) {
      *bounds[i] = v[0];
      l.clamp = true;
    }
  }
  return l;
}

namespace {

float GeluQuick(float z) { return z / (1.0f + std::exp(-1.702f * z)); }
float Silu(float z) { return z / (1.0f + std::exp(-z)); }

// NEOX rotation of `n` values at x (pairs (i, i + n/2)) by position p, θ_i = p·base^(−2i/n) built
// by repeated F32 multiplication as ggml does.
void Rope(float* x, int n, float p, float base) {
  const float theta_scale = std::pow(base, -2.0f / static_cast<float>(n));
  float theta = p;
  for (int i = 0; i < n / 2; ++i) {
    const float c = std::cos(theta), s = std::sin(theta);
    const float a = x[i], b = x[i + n / 2];
    x[i] = a * c - b * s;
    x[i + n / 2] = a * s + b * c;
    theta *= theta_scale;
  }
}

}  // namespace

Status LoadGemma4v(const gguf::File& f, const TensorReader& r, int64_t n_embd_text,
                   VisionParams& v) {
  const std::string& p = f.path();
  ASSIGN_OR_RETURN(v.n_embd, ReadCount(f, "clip.vision.embedding_length"));
  ASSIGN_OR_RETURN(v.patch, ReadCount(f, "clip.vision.patch_size"));
  ASSIGN_OR_RETURN(v.n_layer, ReadCount(f, "clip.vision.block_count"));
  ASSIGN_OR_RETURN(v.n_head, ReadCount(f, "clip.vision.attention.head_count"));
  ASSIGN_OR_RETURN(v.n_ff, ReadCount(f, "clip.vision.feed_forward_length"));
  ASSIGN_OR_RETURN(uint32_t merge, f.GetU32Or("clip.vision.projector.scale_factor", 3));
  if (merge == 0 || merge > 64 || v.patch > 1024) {
    return InvalidArgumentError(p + ": patch size / scale_factor out of range");
  }
  v.n_merge = static_cast<int>(merge);
  v.min_tokens = 40;
  v.max_tokens = 280;
  ASSIGN_OR_RETURN(bool gelu, f.GetBoolOr("clip.use_gelu", false));
  ASSIGN_OR_RETURN(bool silu, f.GetBoolOr("clip.use_silu", false));
  v.act = gelu ? VisionParams::Act::kGelu : silu ? VisionParams::Act::kSilu : VisionParams::Act::kGeluQuick;
  if (v.n_embd % v.n_head != 0 || (v.n_embd / v.n_head) % 4 != 0) {
    return InvalidArgumentError(p + ": head width " + std::to_string(v.n_embd) + "/" +
                                std::to_string(v.n_head) + " must be a multiple of 4 (2D RoPE)");
  }
  const int64_t E = v.n_embd, hd = E / v.n_head, dim = 3LL * v.patch * v.patch;
  const gguf::TensorInfo* pe = r.Find("v.patch_embd.weight");
  if (!pe) return NotFoundError(p + ": tensor 'v.patch_embd.weight' is missing");
  if (pe->ne[0] != v.patch || pe->ne[1] != v.patch || pe->ne[2] != 3 || pe->ne[3] != E) {
    return InvalidArgumentError(p + ": tensor 'v.patch_embd.weight' has the wrong shape");
  }
  if (pe->type != gguf::TensorType::kF32 && pe->type != gguf::TensorType::kF16) {
    return InvalidArgumentError(p + ": tensor 'v.patch_embd.weight' must be F32 or F16");
  }
  v.patch_embd.w = Matrix{pe->type, pe->data, dim, E, kernels::RowBytes(pe->type, dim)};
  const gguf::TensorInfo* pos = r.Find("v.position_embd.weight");
  if (!pos) return NotFoundError(p + ": tensor 'v.position_embd.weight' is missing");
  if (pos->ne[0] != E || pos->ne[2] != 2 || pos->ne[3] != 1) {
    return InvalidArgumentError(p + ": tensor 'v.position_embd.weight' must be (" +
                                std::to_string(E) + ", N, 2)");
  }
  v.pos_size = static_cast<int>(pos->ne[1]);
  ASSIGN_OR_RETURN(v.pos, r.Vec("v.position_embd.weight", pos->n_elements()));
  for (int il = 0; il < v.n_layer; ++il) {
    const std::string b = "v.blk." + std::to_string(il) + ".";
    Gemma4vLayer L;
    ASSIGN_OR_RETURN(L.ln1, r.Vec(b + "ln1.weight", E));
    ASSIGN_OR_RETURN(L.ln2, r.Vec(b + "ln2.weight", E));
    ASSIGN_OR_RETURN(L.q, ClippableLinear(r, b + "attn_q", E, E));
    ASSIGN_OR_RETURN(L.k, ClippableLinear(r, b + "attn_k", E, E));
    ASSIGN_OR_RETURN(L.v, ClippableLinear(r, b + "attn_v", E, E));
    ASSIGN_OR_RETURN(L.o, ClippableLinear(r, b + "attn_out", E, E));
    ASSIGN_OR_RETURN(L.q_norm, r.VecOpt(b + "attn_q_norm.weight", hd));
    ASSIGN_OR_RETURN(L.k_norm, r.VecOpt(b + "attn_k_norm.weight", hd));
    ASSIGN_OR_RETURN(L.attn_post_norm, r.VecOpt(b + "attn_post_norm.weight", E));
    ASSIGN_OR_RETURN(L.ffn_post_norm, r.VecOpt(b + "ffn_post_norm.weight", E));
    ASSIGN_OR_RETURN(L.ls1, r.VecOpt(b + "ls1.weight", E));
    ASSIGN_OR_RETURN(L.ls2, r.VecOpt(b + "ls2.weight", E));
    const gguf::TensorInfo* os = r.Find(b + "out_scale.weight");
    if (os) {
      ASSIGN_OR_RETURN(L.out_scale, r.Vec(b + "out_scale.weight", os->n_elements() == 1 ? 1 : E));
    }
    ASSIGN_OR_RETURN(L.gate, ClippableLinear(r, b + "ffn_gate", E, v.n_ff));
    ASSIGN_OR_RETURN(L.up, ClippableLinear(r, b + "ffn_up", E, v.n_ff));
    ASSIGN_OR_RETURN(L.down, ClippableLinear(r, b + "ffn_down", v.n_ff, E));
    v.g4_layers.push_back(std::move(L));
  }
  if (r.Has("v.std_bias") && r.Has("v.std_scale")) {
    ASSIGN_OR_RETURN(v.std_bias, r.Vec("v.std_bias", E));
    ASSIGN_OR_RETURN(v.std_scale, r.Vec("v.std_scale", E));
  }
  ASSIGN_OR_RETURN(v.proj, ClippableLinear(r, "mm.input_projection", E, n_embd_text));
  return Status::Ok();
}

Result<Embeddings> EncodeGemma4v(const VisionParams& v, int64_t n_embd_text, int width, int height,
                                 const uint8_t* rgb, const ImageOptions& o, ThreadPool& pool) {
  const int min_t = o.min_tokens > 0 ? o.min_tokens : v.min_tokens;
  const int max_t = o.max_tokens > 0 ? o.max_tokens : v.max_tokens;
  if (min_t > max_t) {
    return InvalidArgumentError("image token limits: minimum " + std::to_string(min_t) +
                                " exceeds maximum " + std::to_string(max_t));
  }
  const int align = v.patch * v.n_merge;
  const Size target = DynSizeTarget(width, height, align, min_t, max_t);
  const int n_cols = target.width / v.patch, n_rows = target.height / v.patch;
  if (n_cols > v.pos_size || n_rows > v.pos_size) {
    return InvalidArgumentError("the image (" + std::to_string(width) + "x" + std::to_string(height) +
                                ") becomes " + std::to_string(n_cols) + "x" + std::to_string(n_rows) +
                                " patches, more per side than the position table holds (" +
                                std::to_string(v.pos_size) + ")");
  }
  RgbImage src;
  src.width = width;
  src.height = height;
  src.rgb.assign(rgb, rgb + static_cast<size_t>(width) * height * 3);
  std::vector<float> px = Normalize(ResizeLetterbox(src, target.width, target.height), v.mean, v.std);
  for (float& x : px) x = 2.0f * x - 1.0f;  // the graph maps [0, 1] to [−1, 1]
  const std::vector<float> patches = PatchVectors(px.data(), target.width, target.height, v.patch);
  const int64_t n = static_cast<int64_t>(n_cols) * n_rows, E = v.n_embd;
  const int n_head = v.n_head, hd = static_cast<int>(E / n_head);
  kernels::Workspace ws;
  std::vector<float> x(static_cast<size_t>(n * E));
  Apply(v.patch_embd, patches.data(), n, x.data(), pool, ws);
  for (int64_t t = 0; t < n; ++t) {
    const int col = static_cast<int>(t % n_cols), row = static_cast<int>(t / n_cols);
    const float* px_ = &v.pos[static_cast<size_t>(col) * E];
    const float* py = &v.pos[static_cast<size_t>(v.pos_size + row) * E];
    float* xr = &x[static_cast<size_t>(t) * E];
    for (int64_t i = 0; i < E; ++i) xr[i] = (xr[i] + px_[i]) + py[i];
  }
  std::vector<float> h(x.size()), q(x.size()), k(x.size()), val(x.size()), att(x.size());
  std::vector<float> g(static_cast<size_t>(n * v.n_ff)), u(g.size());
  const float eps = v.eps;
  for (const Gemma4vLayer& L : v.g4_layers) {
    model::RmsNormRows(x.data(), L.ln1.data(), n, E, eps, h.data());
    Apply(L.q, h.data(), n, q.data(), pool, ws);
    Apply(L.k, h.data(), n, k.data(), pool, ws);
    Apply(L.v, h.data(), n, val.data(), pool, ws);
    pool.ParallelFor(n, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) {
        const float col = static_cast<float>(t % n_cols), row = static_cast<float>(t / n_cols);
        for (int hh = 0; hh < n_head; ++hh) {
          float* qh = &q[t * E + hh * hd];
          float* kh = &k[t * E + hh * hd];
          float* vh = &val[t * E + hh * hd];
          model::RmsNorm(qh, L.q_norm.empty() ? nullptr : L.q_norm.data(), hd, eps, qh);
          model::RmsNorm(kh, L.k_norm.empty() ? nullptr : L.k_norm.data(), hd, eps, kh);
          model::RmsNorm(vh, nullptr, hd, eps, vh);
          Rope(qh, hd / 2, col, v.rope_theta);
          Rope(qh + hd / 2, hd / 2, row, v.rope_theta);
          Rope(kh, hd / 2, col, v.rope_theta);
          Rope(kh + hd / 2, hd / 2, row, v.rope_theta);
        }
      }
    });
    BidirectionalAttention(q.data(), k.data(), val.data(), n, n_head, hd, E, /*kq_scale=*/1.0f,
                           att.data(), pool);
    Apply(L.o, att.data(), n, h.data(), pool, ws);
    if (!L.ls1.empty()) {
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < E; ++i) h[t * E + i] *= L.ls1[i];
    }
    if (!L.attn_post_norm.empty()) model::RmsNormRows(h.data(), L.attn_post_norm.data(), n, E, eps, h.data());
    for (size_t i = 0; i < x.size(); ++i) x[i] += h[i];
    model::RmsNormRows(x.data(), L.ln2.data(), n, E, eps, h.data());
    Apply(L.gate, h.data(), n, g.data(), pool, ws);
    Apply(L.up, h.data(), n, u.data(), pool, ws);
    for (size_t i = 0; i < g.size(); ++i) {
      const float z = g[i];
      const float a = v.act == VisionParams::Act::kGelu   ? model::Gelu(z)
                      : v.act == VisionParams::Act::kSilu ? Silu(z)
                                                          : GeluQuick(z);
      g[i] = a * u[i];
    }
    Apply(L.down, g.data(), n, h.data(), pool, ws);
    if (!L.ffn_post_norm.empty()) model::RmsNormRows(h.data(), L.ffn_post_norm.data(), n, E, eps, h.data());
    if (!L.ls2.empty()) {
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < E; ++i) h[t * E + i] *= L.ls2[i];
    }
    for (size_t i = 0; i < x.size(); ++i) x[i] += h[i];
    if (!L.out_scale.empty()) {
      for (int64_t t = 0; t < n; ++t)
        for (int64_t i = 0; i < E; ++i) x[t * E + i] *= L.out_scale.size() == 1 ? L.out_scale[0] : L.out_scale[i];
    }
  }
  // 3×3 average pooling over the patch grid, row-major, then × sqrt(n_embd).
  const int m = v.n_merge, oc = n_cols / m, orr = n_rows / m;
  const int64_t n_out = static_cast<int64_t>(oc) * orr;
  const float scale = std::sqrt(static_cast<float>(E));
  std::vector<float> pooled(static_cast<size_t>(n_out * E));
  for (int oy = 0; oy < orr; ++oy) {
    for (int ox = 0; ox < oc; ++ox) {
      float* out = &pooled[(static_cast<size_t>(oy) * oc + ox) * E];
      for (int64_t c = 0; c < E; ++c) {
        float sum = 0;
        for (int dy = 0; dy < m; ++dy)
          for (int dx = 0; dx < m; ++dx) sum += x[((static_cast<int64_t>(oy) * m + dy) * n_cols + ox * m + dx) * E + c];
        out[c] = sum / static_cast<float>(m * m) * scale;
      }
    }
  }
  if (!v.std_bias.empty()) {
    for (int64_t t = 0; t < n_out; ++t)
      for (int64_t c = 0; c < E; ++c) pooled[t * E + c] = (pooled[t * E + c] - v.std_bias[c]) * v.std_scale[c];
  }
  model::RmsNormRows(pooled.data(), nullptr, n_out, E, eps, pooled.data());
  Embeddings out;
  out.n_tok = n_out;
  out.n_embd = n_embd_text;
  out.data.resize(static_cast<size_t>(n_out * n_embd_text));
  Apply(v.proj, pooled.data(), n_out, out.data.data(), pool, ws);
  out.causal = false;
  out.kind = Embeddings::Kind::kImage;
  return out;
}

}  // namespace hearth::mm
