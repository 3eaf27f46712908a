// Matrix products over weights in any supported type, used in place (in the file mapping, or in the
// copy the loader made, where Q4_0, Q5_0 and Q8_0 rows may have been interleaved: Layout below).
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

// Rows per group of the interleaved layouts below.
inline constexpr int64_t kInterleaveRows = 16;

// How a Matrix's rows lie in its rows × row_bytes bytes.
enum class Layout : uint8_t {
  kRows,  // GGUF's: row r at data + r·row_bytes
  // Rows interleaved in groups of 16, each group in the bytes its rows had (group g at
  // data + 16g·row_bytes), so that one 512-bit load holds four elements of every row, which the
  // AVX-512 VNNI kernel (x86/avx512_x16.cc) multiplies for all 16 rows at once. Per 32-element
  // block column, in order, the 16 rows' F16 scales (32 bytes), then:
  kQ4_0x16,  // Q4_0: for j = 0..3 the 16 rows' nibble bytes qs[4j..4j+3] (64 bytes each)
  // Q5_0: eight 64-bit masks, bit 4r + i of mask e = row r's fifth bit of element 4e + i (that
  // is, nibble r of mask e = bits 4e..4e+3 of row r's qh), then the nibbles as in Q4_0
  kQ5_0x16,
  kQ8_0x16,  // Q8_0: for e = 0..7 the 16 rows' levels qs[4e..4e+3] + 128, unsigned (64 bytes each)
};

// A 2-D weight matrix view (one expert slice of a 3-D tensor is also a Matrix).
struct Matrix {
  gguf::TensorType type = gguf::TensorType::kF32;
  const uint8_t* data = nullptr;  // rows × row_bytes, in the mapping
  int64_t cols = 0;               // ne[0], elements per row
  int64_t rows = 0;               // ne[1]
  int64_t row_bytes = 0;          // RowBytes(type, cols)
  Layout layout = Layout::kRows;
};

// Whether Interleave applies to w and pays on this CPU: Q4_0, Q5_0 or Q8_0 rows in GGUF's layout, a
// multiple of 16 of them, and the AVX-512 VNNI kernel for the interleaved layout usable
// (HEARTH_NO_SIMD unset).
bool CanInterleave(const Matrix& w);

// Rewrites w's bytes in place (`data` is w.data, writable) into its interleaved layout and sets
// w.layout: Q4_0, Q5_0 or Q8_0 rows in GGUF's layout, a multiple of 16 of them (a bug otherwise).
// Same size. GetRow reads every layout anywhere; MatMul reads these only where CanInterleave held.
// Prefill and decode of these types run on them (docs/PERFORMANCE.md).
void Interleave(Matrix& w, uint8_t* data);

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
// (row_end - row_begin) columns per token. In an interleaved layout both ends are multiples of
// kInterleaveRows.
void MatMulRows(const Matrix& w, int64_t row_begin, int64_t row_end, const float* x,
                int64_t n_tok, float* y, ThreadPool& pool, Workspace& ws);

// Row `r` of W dequantized into dst[w.cols] (embedding lookups).
void GetRow(const Matrix& w, int64_t r, float* dst);

}  // namespace hearth::kernels
