// Matrix products over weights in any supported type, used in place from the mapping.
//
//   y[t, r] = Σ_c W[r, c] · x[t, c]     W: [rows, cols] (GGUF ne = (cols, rows)), x: [n_tok, cols]
//
// The activation rows are converted once to the weight's vec-dot type (quant.h), then rows of W are
// split across the pool's threads; each thread reuses every weight row it loads for all n_tok
// activation rows. No allocation happens after the Workspace has grown to its largest size.
#pragma once

#include <cstdint>
#include <vector>

#include "core/thread_pool.h"
#include "gguf/types.h"

namespace hearth::kernels {

// A 2-D weight matrix view (one expert slice of a 3-D tensor is also a Matrix).
struct Matrix {
  gguf::TensorType type = gguf::TensorType::kF32;
  const uint8_t* data = nullptr;  // rows × row_bytes, in the mapping
  int64_t cols = 0;               // ne[0], elements per row
  int64_t rows = 0;               // ne[1]
  int64_t row_bytes = 0;          // RowBytes(type, cols)
};

// Scratch memory reused across calls (one per session).
class Workspace {
 public:
  uint8_t* Bytes(size_t n);  // grows, never shrinks; contents not preserved
 private:
  std::vector<uint8_t> buf_;
};

// y[n_tok × w.rows] = x[n_tok × w.cols] · Wᵀ.
void MatMul(const Matrix& w, const float* x, int64_t n_tok, float* y, ThreadPool& pool,
            Workspace& ws);

// Same for a subset of rows [row_begin, row_end) (MoE expert slices, partial heads); y has
// (row_end - row_begin) columns per token.
void MatMulRows(const Matrix& w, int64_t row_begin, int64_t row_end, const float* x,
                int64_t n_tok, float* y, ThreadPool& pool, Workspace& ws);

// Row `r` of W dequantized into dst[w.cols] (embedding lookups).
void GetRow(const Matrix& w, int64_t r, float* dst);

}  // namespace hearth::kernels
