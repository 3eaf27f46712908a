// The Gemma 3 vision encoder (projector type `gemma3`): SigLIP ViT with LayerNorms, 4×4 average
// pooling, soft-embedding norm and projection (gemma-gguf-spec.md §4).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/quant.h"
#include "mm/internal.h"
#include "mm/preprocess.h"
#include "mm/projector.h"
#include "model/layers.h"

namespace hearth::mm {

namespace {

std::string Key(const std::string& k) { return "clip.vision." + k; }

Result<Linear> LinearOf(const TensorReader& r, const std::string& stem, int64_t cols, int64_t rows) {
  Linear l;
  ASSIGN_OR_RETURN(l.w, r.Mat(stem + ".weight", cols, rows));
  ASSIGN_OR_RETURN(l.b, r.VecOpt(stem + ".bias", rows));
  return l;
}

float GeluQuick(float z) { return z / (1.0f + std::exp(-1.702f * z)); }

}  // namespace

Status LoadSiglip(const gguf::File& f, const TensorReader& r, int64_t n_embd_text,
                  VisionParams& v) {
  const std::string& p = f.path();
  ASSIGN_OR_RETURN(v.n_embd, ReadCount(f, Key("embedding_length")));
  ASSIGN_OR_RETURN(v.patch, ReadCount(f, Key("patch_size")));
  ASSIGN_OR_RETURN(v.image_size, ReadCount(f, Key("image_size")));
  ASSIGN_OR_RETURN(v.n_layer, ReadCount(f, Key("block_count")));
  ASSIGN_OR_RETURN(v.n_head, ReadCount(f, Key("attention.head_count")));
  ASSIGN_OR_RETURN(v.n_ff, ReadCount(f, Key("feed_forward_length")));
  ASSIGN_OR_RETURN(uint32_t merge, f.GetU32Or(Key("projector.scale_factor"), 4));
  v.n_merge = static_cast<int>(merge);
  ASSIGN_OR_RETURN(v.use_gelu, f.GetBoolOr("clip.use_gelu", false));
  if (v.image_size % v.patch != 0 || merge == 0 || (v.image_size / v.patch) % v.n_merge != 0) {
    return InvalidArgumentError(p + ": image_size " + std::to_string(v.image_size) +
                                " is not a whole number of " + std::to_string(v.patch) +
                                "-pixel patches pooled by " + std::to_string(merge));
  }
  if (v.n_embd % v.n_head != 0) {
    return InvalidArgumentError(p + ": embedding_length " + std::to_string(v.n_embd) +
                                " is not divisible by head_count " + std::to_string(v.n_head));
  }
  const int64_t side = v.image_size / v.patch, n_patches = side * side;
  const int64_t dim = 3LL * v.patch * v.patch;
  // The conv kernel (patch, patch, 3, n_embd) is one row of 3·patch² values per output channel,
  // in im2col order (channel, row, column).
  const gguf::TensorInfo* pe = r.Find("v.patch_embd.weight");
  if (!pe) return NotFoundError(p + ": tensor 'v.patch_embd.weight' is missing");
  if (pe->ne[0] != v.patch || pe->ne[1] != v.patch || pe->ne[2] != 3 || pe->ne[3] != v.n_embd) {
    return InvalidArgumentError(p + ": tensor 'v.patch_embd.weight' has the wrong shape");
  }
  if (pe->type != gguf::TensorType::kF32 && pe->type != gguf::TensorType::kF16) {
    return InvalidArgumentError(p + ": tensor 'v.patch_embd.weight' must be F32 or F16");
  }
  v.patch_embd.w = Matrix{pe->type, pe->data, dim, v.n_embd, kernels::RowBytes(pe->type, dim)};
  ASSIGN_OR_RETURN(v.patch_embd.b, r.VecOpt("v.patch_embd.bias", v.n_embd));
  ASSIGN_OR_RETURN(v.pos_embd, r.Vec("v.position_embd.weight", n_patches * v.n_embd));
  for (int il = 0; il < v.n_layer; ++il) {
    const std::string b = "v.blk." + std::to_string(il) + ".";
    SiglipLayer L;
    ASSIGN_OR_RETURN(L.ln1_w, r.Vec(b + "ln1.weight", v.n_embd));
    ASSIGN_OR_RETURN(L.ln1_b, r.Vec(b + "ln1.bias", v.n_embd));
    ASSIGN_OR_RETURN(L.ln2_w, r.Vec(b + "ln2.weight", v.n_embd));
    ASSIGN_OR_RETURN(L.ln2_b, r.Vec(b + "ln2.bias", v.n_embd));
    ASSIGN_OR_RETURN(L.q, LinearOf(r, b + "attn_q", v.n_embd, v.n_embd));
    ASSIGN_OR_RETURN(L.k, LinearOf(r, b + "attn_k", v.n_embd, v.n_embd));
    ASSIGN_OR_RETURN(L.v, LinearOf(r, b + "attn_v", v.n_embd, v.n_embd));
    ASSIGN_OR_RETURN(L.o, LinearOf(r, b + "attn_out", v.n_embd, v.n_embd));
    // fc1 maps n_embd -> n_ff; old files swapped the up/down names, so pick them by shape.
    const gguf::TensorInfo* up = r.Find(b + "ffn_up.weight");
    const bool swapped = up && up->ne[0] == v.n_ff && up->ne[1] == v.n_embd;
    ASSIGN_OR_RETURN(L.fc1, LinearOf(r, b + (swapped ? "ffn_down" : "ffn_up"), v.n_embd, v.n_ff));
    ASSIGN_OR_RETURN(L.fc2, LinearOf(r, b + (swapped ? "ffn_up" : "ffn_down"), v.n_ff, v.n_embd));
    v.layers.push_back(std::move(L));
  }
  ASSIGN_OR_RETURN(v.post_ln_w, r.Vec("v.post_ln.weight", v.n_embd));
  ASSIGN_OR_RETURN(v.post_ln_b, r.Vec("v.post_ln.bias", v.n_embd));
  ASSIGN_OR_RETURN(v.soft_emb_norm, r.Vec("mm.soft_emb_norm.weight", v.n_embd));
  // mm.input_projection is HF's raw [n_embd_v, n_embd_text] parameter (ne = (n_embd_text,
  // n_embd_v)); llama.cpp uses its transpose, materialised in the stored type.
  ASSIGN_OR_RETURN(Matrix raw, r.Mat("mm.input_projection.weight", n_embd_text, v.n_embd));
  std::vector<float> row(static_cast<size_t>(n_embd_text)), t(static_cast<size_t>(n_embd_text) * v.n_embd);
  for (int64_t i = 0; i < v.n_embd; ++i) {
    kernels::GetRow(raw, i, row.data());
    for (int64_t j = 0; j < n_embd_text; ++j) t[static_cast<size_t>(j) * v.n_embd + i] = row[j];
  }
  const gguf::TensorType ty =
      raw.type == gguf::TensorType::kF16 ? gguf::TensorType::kF16 : gguf::TensorType::kF32;
  const int64_t rb = kernels::RowBytes(ty, v.n_embd);
  v.input_proj_owned.resize(static_cast<size_t>(rb * n_embd_text));
  for (int64_t j = 0; j < n_embd_text; ++j) {
    if (ty == gguf::TensorType::kF16) {
      auto* dst = reinterpret_cast<uint16_t*>(v.input_proj_owned.data() + j * rb);
      for (int64_t i = 0; i < v.n_embd; ++i) dst[i] = F32ToF16(t[static_cast<size_t>(j) * v.n_embd + i]);
    } else {
      std::memcpy(v.input_proj_owned.data() + j * rb, &t[static_cast<size_t>(j) * v.n_embd], rb);
    }
  }
  v.input_proj = Matrix{ty, v.input_proj_owned.data(), v.n_embd, n_embd_text, rb};
  return Status::Ok();
}

Result<Embeddings> EncodeSiglip(const VisionParams& v, int64_t n_embd_text, int width, int height,
                                const uint8_t* rgb, ThreadPool& pool) {
  RgbImage src;
  src.width = width;
  src.height = height;
  src.rgb.assign(rgb, rgb + static_cast<size_t>(width) * height * 3);
  const RgbImage boxed = ResizeLetterbox(src, v.image_size, v.image_size);
  const std::vector<float> norm = Normalize(boxed, v.mean, v.std);
  const std::vector<float> patches = PatchVectors(norm.data(), v.image_size, v.image_size, v.patch);
  const int64_t side = v.image_size / v.patch, n = side * side, d = v.n_embd;
  kernels::Workspace ws;
  std::vector<float> x(static_cast<size_t>(n * d));
  Apply(v.patch_embd, patches.data(), n, x.data(), pool, ws);
  for (int64_t i = 0; i < n * d; ++i) x[i] += v.pos_embd[i];

  const int n_head = v.n_head, hd = static_cast<int>(d / n_head);
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  std::vector<float> h(x.size()), q(x.size()), k(x.size()), val(x.size()), att(x.size());
  std::vector<float> ff(static_cast<size_t>(n * v.n_ff));
  for (const SiglipLayer& L : v.layers) {
    LayerNormRows(x.data(), L.ln1_w.data(), L.ln1_b.data(), n, d, v.eps, h.data(), pool);
    Apply(L.q, h.data(), n, q.data(), pool, ws);
    Apply(L.k, h.data(), n, k.data(), pool, ws);
    Apply(L.v, h.data(), n, val.data(), pool, ws);
    BidirectionalAttention(q.data(), k.data(), val.data(), n, n_head, hd, d, scale, att.data(),
                           pool);
    Apply(L.o, att.data(), n, h.data(), pool, ws);
    for (size_t i = 0; i < x.size(); ++i) x[i] += h[i];
    LayerNormRows(x.data(), L.ln2_w.data(), L.ln2_b.data(), n, d, v.eps, h.data(), pool);
    Apply(L.fc1, h.data(), n, ff.data(), pool, ws);
    for (float& z : ff) z = v.use_gelu ? model::Gelu(z) : GeluQuick(z);
    Apply(L.fc2, ff.data(), n, h.data(), pool, ws);
    for (size_t i = 0; i < x.size(); ++i) x[i] += h[i];
  }
  LayerNormRows(x.data(), v.post_ln_w.data(), v.post_ln_b.data(), n, d, v.eps, x.data(), pool);
  // Average-pool the side×side grid with a k×k kernel, stride k.
  const int64_t kp = v.n_merge, out_side = side / kp, n_out = out_side * out_side;
  std::vector<float> pooled(static_cast<size_t>(n_out * d), 0.0f);
  for (int64_t oy = 0; oy < out_side; ++oy) {
    for (int64_t ox = 0; ox < out_side; ++ox) {
      float* o = &pooled[(oy * out_side + ox) * d];
      for (int64_t c = 0; c < d; ++c) {
        float sum = 0;
        for (int64_t dy = 0; dy < kp; ++dy) {
          for (int64_t dx = 0; dx < kp; ++dx) sum += x[((oy * kp + dy) * side + ox * kp + dx) * d + c];
        }
        o[c] = sum / static_cast<float>(kp * kp);
      }
    }
  }
  model::RmsNormRows(pooled.data(), v.soft_emb_norm.data(), n_out, d, v.eps, pooled.data());
  Embeddings e;
  e.n_tok = n_out;
  e.n_embd = n_embd_text;
  e.data.resize(static_cast<size_t>(n_out * n_embd_text));
  kernels::MatMul(v.input_proj, pooled.data(), n_out, e.data.data(), pool, ws);
  e.causal = false;
  e.kind = Embeddings::Kind::kImage;
  return e;
}

}  // namespace hearth::mm
