// Internal to hearth_mm: the hyperparameters and weights of each encoder, the tensor loading
// helpers and the small ops the encoders share.
#pragma once

#include <cfloat>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "gguf/file.h"
#include "kernels/matmul.h"

namespace hearth::mm {

using kernels::Matrix;

// Tensor access that checks presence and shape; errors name the file and the tensor.
class TensorReader {
 public:
  explicit TensorReader(const gguf::File& f) : f_(f) {}
  bool Has(const std::string& name) const { return f_.FindTensor(name) != nullptr; }
  // A 2-D weight [rows × cols] (GGUF ne = (cols, rows)); ne[2..3] must be 1.
  Result<Matrix> Mat(const std::string& name, int64_t cols, int64_t rows) const;
  // Any tensor of exactly n elements, dequantised to F32.
  Result<std::vector<float>> Vec(const std::string& name, int64_t n) const;
  // Same, empty when absent.
  Result<std::vector<float>> VecOpt(const std::string& name, int64_t n) const;
  const gguf::TensorInfo* Find(const std::string& name) const { return f_.FindTensor(name); }
  const std::string& path() const { return f_.path(); }

 private:
  const gguf::File& f_;
};

// A weight with optional bias; y = W·x (+ b).
struct Linear {
  Matrix w;
  std::vector<float> b;  // empty: no bias
  // gemma4v/gemma4a "clippable linear" bounds (±FLT_MAX when absent).
  float in_min = -FLT_MAX, in_max = FLT_MAX, out_min = -FLT_MAX, out_max = FLT_MAX;
  bool clamp = false;
};

struct SiglipLayer {
  std::vector<float> ln1_w, ln1_b, ln2_w, ln2_b;
  Linear q, k, v, o, fc1, fc2;
};

struct Gemma4vLayer {
  std::vector<float> ln1, ln2, q_norm, k_norm, attn_post_norm, ffn_post_norm, ls1, ls2, out_scale;
  Linear q, k, v, o, gate, up, down;
};

struct VisionParams {
  std::string type;  // "gemma4uv", "gemma3"
  int n_embd = 0, patch = 0, image_size = 0, n_layer = 0, n_head = 0, n_ff = 0, n_merge = 1;
  float eps = 1e-6f;
  float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
  int min_tokens = 0, max_tokens = 0;  // dyn-size defaults
  bool use_gelu = true;

  // gemma4uv
  std::vector<float> pn1_w, pn1_b, pn2_w, pn2_b, pn3_w, pn3_b;
  Linear patch_embd;
  std::vector<float> pos;  // [2·pos_size × n_embd]: x table then y table
  int pos_size = 0;
  Matrix input_proj;  // [n_embd_text × n_embd]

  // gemma3 (SigLIP)
  std::vector<float> pos_embd;  // [n_patches × n_embd]
  std::vector<SiglipLayer> layers;
  std::vector<float> post_ln_w, post_ln_b, soft_emb_norm;
  std::vector<uint8_t> input_proj_owned;  // the transposed projection (F16 or F32 rows)

  // gemma4v (ViT with 2D RoPE); also uses patch_embd, pos, pos_size
  enum class Act { kGeluQuick, kGelu, kSilu };
  Act act = Act::kGeluQuick;
  float rope_theta = 100.0f;
  std::vector<Gemma4vLayer> g4_layers;
  std::vector<float> std_bias, std_scale;
  Linear proj;  // mm.input_projection (clippable)
};

struct ConformerLayer {
  std::vector<float> ffn_norm, ffn_post_norm, ffn_norm_1, ffn_post_norm_1;
  Linear ffn_up, ffn_down, ffn_up_1, ffn_down_1;
  std::vector<float> attn_norm, attn_post_norm, per_dim_scale, per_dim_k_scale;
  Linear q, k, v, o;
  Matrix k_rel;  // attn_k_rel (plain, may be absent: rows == 0)
  std::vector<float> conv_pre_norm, conv_post_norm;  // GGUF conv_norm / norm_conv (swapped names)
  Linear pw1, pw2;
  std::vector<float> dw, dw_b;  // depthwise kernel [d × K] (k fastest), bias
  int dw_k = 0;
  std::vector<float> ln2;
};

struct AudioParams {
  std::string type;  // "gemma4ua", "gemma4a"
  int n_embd = 0, frame = 0;
  float eps = 1e-6f;
  Matrix input_proj;  // gemma4ua: [n_embd_text × frame]

  // gemma4a
  int n_mel = 128, n_layer = 0, n_head = 0, n_ff = 0;
  int conv_ch[2] = {0, 0};
  std::vector<float> conv_w[2], conv_b[2], conv_norm[2];  // kernels (3, 3, C_in, C_out)
  Linear sscp_proj, out_proj, proj;
  std::vector<float> soft_emb_norm;
  std::vector<ConformerLayer> layers;
};

// Full bidirectional multi-head attention of n rows (q, k, v, out: [n × width], head h at columns
// h·hd..), scores scaled by kq_scale, as the vision towers use it.
void BidirectionalAttention(const float* q, const float* k, const float* v, int64_t n, int n_head,
                            int hd, int64_t width, float kq_scale, float* out, ThreadPool& pool);

// A count from the mmproj metadata (block count, widths, ...): present, 1..2^20; errors name the
// file and the key.
Result<int> ReadCount(const gguf::File& f, const std::string& key);

// A Linear with the optional "clippable" scalar bounds <stem>.input_min/... read.
Result<Linear> ClippableLinear(const TensorReader& r, const std::string& stem, int64_t cols,
                               int64_t rows);

// ggml_norm + weight + bias: mean and variance in double, scale 1/sqrtf(var + eps) in F32.
void LayerNorm(const float* x, const float* w, const float* b, int64_t n, float eps, float* y);
void LayerNormRows(const float* x, const float* w, const float* b, int64_t rows, int64_t n,
                   float eps, float* y, ThreadPool& pool);
// y[n_tok × rows(w)] = x · Wᵀ (+ bias), with the clamps when set.
void Apply(const Linear& l, const float* x, int64_t n_tok, float* y, ThreadPool& pool,
           kernels::Workspace& ws);

}  // namespace hearth::mm
