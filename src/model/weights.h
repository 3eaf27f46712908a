// model::Weights: typed, shaped views of a Gemma decoder's tensors in the mapped GGUF, bound by
// name and shape-checked against the Config. Nothing is copied except small norm vectors stored in
// a type other than F32 (dequantized once at load).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "kernels/matmul.h"
#include "model/config.h"

namespace hearth::gguf {
class File;
struct TensorInfo;
}

namespace hearth::model {

using kernels::Matrix;

// A 1-D F32 vector (norm weights, scales).
struct Vec {
  const float* data = nullptr;
  int64_t n = 0;
  explicit operator bool() const { return data != nullptr; }
};

// A 3-D expert tensor (ne = (cols, rows, n_expert)): Expert(e) is one expert's matrix.
struct ExpertMatrix {
  Matrix first;  // expert 0
  int64_t n_expert = 0;
  Matrix Expert(int64_t e) const {
    Matrix m = first;
    m.data = first.data + e * first.rows * first.row_bytes;
    return m;
  }
  explicit operator bool() const { return first.data != nullptr; }
};

struct LayerWeights {
  Vec attn_norm;            // [n_embd]
  Matrix attn_q;            // [n_head·head_dim, n_embd]
  Matrix attn_k;            // [n_head_kv·head_dim, n_embd]   (absent on KV-shared layers)
  Matrix attn_v;            // [n_head_kv·head_dim, n_embd]   (absent: V = raw K projection)
  Vec attn_q_norm;          // [head_dim]
  Vec attn_k_norm;          // [head_dim]
  Matrix attn_output;       // [n_embd, n_head·head_dim]
  Vec post_attention_norm;  // [n_embd]
  Vec ffn_norm;             // [n_embd]
  Matrix ffn_gate, ffn_up;  // [n_ff, n_embd]
  Matrix ffn_down;          // [n_embd, n_ff]
  Vec post_ffw_norm;        // [n_embd]
  float output_scale = 1;   // layer_output_scale (Gemma 4), 1 if absent
  // Mixture of experts (Gemma 4 26B-A4B)
  Matrix ffn_gate_inp;      // [n_expert, n_embd]
  Vec ffn_gate_inp_scale;   // [n_embd]
  Vec pre_ffw_norm_2, post_ffw_norm_1, post_ffw_norm_2;  // [n_embd]
  ExpertMatrix ffn_gate_up_exps;  // [2·n_ff_exp, n_embd] per expert (gate rows first), or:
  ExpertMatrix ffn_gate_exps, ffn_up_exps;  // [n_ff_exp, n_embd] per expert
  ExpertMatrix ffn_down_exps;     // [n_embd, n_ff_exp] per expert
  Vec ffn_down_exps_scale;        // [n_expert]
  // Per-layer embeddings (Gemma 4 E2B/E4B)
  Matrix inp_gate;          // [n_pl, n_embd]
  Matrix proj;              // [n_embd, n_pl]
  Vec post_norm;            // [n_embd]
};

struct Weights {
  Matrix token_embd;        // [n_vocab, n_embd]; also the LM head when `output` is absent
  Matrix output;            // [n_vocab, n_embd]
  Vec output_norm;          // [n_embd]
  Vec rope_freqs;           // [max head_dim / 2] frequency factors (Gemma 4 full layers)
  Matrix per_layer_token_embd;  // [n_vocab, n_pl·n_layer]
  Matrix per_layer_model_proj;  // [n_pl·n_layer, n_embd]
  Vec per_layer_proj_norm;      // [n_pl]
  std::vector<LayerWeights> layers;
  const Matrix& lm_head() const { return output.data ? output : token_embd; }

  std::vector<std::unique_ptr<std::vector<float>>> owned;  // dequantized small vectors
};

// Rewrites each matrix that kernels::CanInterleave takes (Q4_0 on CPUs with the AVX-512 VNNI
// kernel) into Layout::kQ4_0x16, where the loader copied its bytes into memory
// (gguf::File::RewriteCopied); with the weights mapped from the file (--mmap) nothing changes.
// Returns the bytes rewritten.
uint64_t InterleaveWeights(gguf::File& f, Weights& w);

// Binds tensors by name with shape and type checks. Errors name the tensor.
class Binder {
 public:
  Binder(const gguf::File& f, Weights& w) : f_(f), w_(w) {}
  // Required / optional matrix with ne = (cols, rows).
  Status Mat(const std::string& name, int64_t cols, int64_t rows, Matrix* out, bool required = true);
  Status Experts(const std::string& name, int64_t cols, int64_t rows, int64_t n_expert,
                 ExpertMatrix* out, bool required = true);
  Status Vector(const std::string& name, int64_t n, Vec* out, bool required = true);
  Status Scalar(const std::string& name, float* out);  // optional 1-element tensor
  bool Has(const std::string& name) const;

  // The tensors every Gemma decoder has: token_embd, optional output, output_norm (and sizes
  // w.layers to n_layer).
  Status Globals(const Config& c);
  // The per-layer tensors both generations share under prefix "blk.N.": attn_norm, attn_q,
  // attn_q_norm, attn_output, post_attention_norm, ffn_norm, ffn_gate/up/down, post_ffw_norm.
  Status BlockCommon(const std::string& prefix, const Config& c, const LayerConfig& l,
                     LayerWeights* lw);

 private:
  Result<const gguf::TensorInfo*> Find(const std::string& name, bool required);
  const gguf::File& f_;
  Weights& w_;
};

// Binds every tensor of the config's architecture (gemma3.cc / gemma4.cc).
Result<Weights> BindWeights(const gguf::File& f, const Config& c);
Result<Weights> BindGemma3Weights(const gguf::File& f, const Config& c);
Result<Weights> BindGemma4Weights(const gguf::File& f, const Config& c);

}  // namespace hearth::model
