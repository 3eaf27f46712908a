// Building blocks of the Gemma decoders with llama.cpp's CPU numerics (gemma-gguf-spec.md §2, §12a):
// RMSNorm (sum of squares in double), GELU through the F16 lookup table, NEOX RoPE with iterated F32
// angles, soft-capping, and attention over the KV cache with online softmax.
#pragma once

#include <cstdint>

#include "core/thread_pool.h"
#include "model/kv_cache.h"

namespace hearth::model {

// y[n] = x[n] / sqrt(mean(x²) + eps) · w (w == nullptr: weightless). y may alias x.
void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* y);
// The same on `rows` consecutive rows of length n.
void RmsNormRows(const float* x, const float* w, int64_t rows, int64_t n, float eps, float* y);

// ggml's tanh-GELU on CPU: F16 table lookup (exact for |z| >= 10 cut-offs).
float Gelu(float z);
// out[i] = Gelu(gate[i]) · up[i] (out may alias gate or up); AVX2 where the CPU has it,
// bit-identical to GeGluReference, the scalar loop.
void GeGlu(const float* gate, const float* up, int64_t n, float* out);
void GeGluReference(const float* gate, const float* up, int64_t n, float* out);

// Rotation tables for one layer type and a run of positions.
struct RopeParams {
  int n_rot = 0;                 // rotary dims; pairs (i, i + n_rot/2)
  float base = 10000.0f;
  float scale = 1.0f;            // frequency scale
  const float* freq_factors = nullptr;  // [n_rot/2] or null
};
// cs[2·(n_rot/2)·t + 2i + {0,1}] = cos/sin of pair i at position pos[t].
void RopeTable(const RopeParams& p, const int32_t* pos, int64_t n_tok, float* cs);
// Rotates n_head heads of width head_dim in place at one position (cs from RopeTable).
void RopeApply(float* x, int n_head, int head_dim, int n_rot, const float* cs);

// c · tanh(x / c) in place.
void SoftCap(float* x, int64_t n, float c);

// Attention of n_tok queries over the cache of one layer.
//   q    [n_tok, n_head·head_dim]  (normed, rotated and scaled; rounded to F16 inside)
//   out  [n_tok, n_head·head_dim]
// Query t at position pos[t] sees key position k iff k <= limit[t] (causal: limit = pos; inside a
// non-causal block: the block's last position) and, when window > 0, pos[t] − k < window.
struct AttentionArgs {
  const float* q = nullptr;
  float* out = nullptr;
  int64_t n_tok = 0;
  const int32_t* pos = nullptr;
  const int32_t* limit = nullptr;
  int n_head = 0, n_head_kv = 0, head_dim = 0;
  int window = 0;
  float kq_scale = 1.0f;
};
void Attention(const AttentionArgs& a, const KvLayer& kv, ThreadPool& pool);

// The same with the scalar reference primitives only (tests compare the two).
void AttentionReference(const AttentionArgs& a, const KvLayer& kv, ThreadPool& pool);

}  // namespace hearth::model
