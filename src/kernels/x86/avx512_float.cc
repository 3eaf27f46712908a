// AVX-512 dot products of F16 and BF16 weight rows against activations rounded to the same type,
// and their packed many-token tiles (avx512.cc's PackedDot hands these out). Products in F32
// lanes: 16 elements per step into two accumulators by turns (even steps, odd steps), the last
// partial step masked into the accumulator whose turn it is; at the end acc0 + acc1 and a lane
// sum. Only the float summation order differs from vecdot_ref.cc.
//
// The tile reads the activations packed as F32 (the same values, widened once per call rather
// than once per weight row); VecDot reads them in place. Both run the same steps in the same
// order, so the tile is bit-identical to VecDot. Prefill on these rows is bound by the
// multiply-adds, which the tile keeps 2 rows × 4 tokens × 2 accumulators deep.

#include <cstring>

#include "kernels/impl.h"

#if defined(__x86_64__) || defined(__i386__)

#include "kernels/x86/avx512-inl.h"

namespace hearth::kernels::avx512 {
namespace {

using T = gguf::TensorType;

// 16 (or `count` < 16, the rest zero) 16-bit values to F32 lanes.
struct F16Wide {
  HEARTH_AVX512 static __m512 Load(const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  HEARTH_AVX512 static __m512 LoadPart(const uint16_t* p, int count) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << count) - 1), p));
  }
};
struct BF16Wide {
  HEARTH_AVX512 static __m512 Widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  HEARTH_AVX512 static __m512 Load(const uint16_t* p) {
    return Widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  HEARTH_AVX512 static __m512 LoadPart(const uint16_t* p, int count) {
    return Widen(_mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << count) - 1), p));
  }
};
// Packed activations: F32, zero past n.
struct F32Packed {
  HEARTH_AVX512 static __m512 Load(const float* p) { return _mm512_loadu_ps(p); }
  HEARTH_AVX512 static __m512 LoadPart(const float* p, int) { return _mm512_loadu_ps(p); }
};

// acc[r][k] += elements [i, i + count) of R weight rows and K activation rows (count ≤ 16; the
// rest of the lanes zero in both).
template <typename W, typename X, typename XE, int R, int K>
HEARTH_AVX512 inline __attribute__((always_inline)) void Step(const uint16_t* const* w,
                                                              const XE* const* x, int64_t i,
                                                              int count, __m512 (&acc)[R][K]) {
  __m512 wv[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) wv[r] = count == 16 ? W::Load(w[r] + i) : W::LoadPart(w[r] + i, count);
#pragma GCC unroll 4
  for (int k = 0; k < K; ++k) {
    const __m512 xv = count == 16 ? X::Load(x[k] + i) : X::LoadPart(x[k] + i, count);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r][k] = _mm512_fmadd_ps(wv[r], xv, acc[r][k]);
  }
}

// y[k·y_stride + r] for R weight rows (row_bytes apart) and K activation rows (act_stride bytes
// apart) of n elements; W widens the weights, X the activations (of element type XE).
template <typename W, typename X, typename XE, int R, int K>
HEARTH_AVX512 void Tile(const uint8_t* rows, int64_t row_bytes, const uint8_t* act,
                        int64_t act_stride, int64_t n, float* y, int64_t y_stride) {
  const uint16_t* w[R];
  const XE* x[K];
  for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const uint16_t*>(rows + r * row_bytes);
  for (int k = 0; k < K; ++k) x[k] = reinterpret_cast<const XE*>(act + k * act_stride);
  __m512 acc0[R][K], acc1[R][K];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) acc0[r][k] = acc1[r][k] = _mm512_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    Step<W, X, XE, R, K>(w, x, i, 16, acc0);
    Step<W, X, XE, R, K>(w, x, i + 16, 16, acc1);
  }
  if (i + 16 <= n) {
    Step<W, X, XE, R, K>(w, x, i, 16, acc0);
    i += 16;
    if (i < n) Step<W, X, XE, R, K>(w, x, i, static_cast<int>(n - i), acc1);
  } else if (i < n) {
    Step<W, X, XE, R, K>(w, x, i, static_cast<int>(n - i), acc0);
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int k = 0; k < K; ++k) {
      y[k * y_stride + r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[r][k], acc1[r][k]));
    }
  }
}

template <typename W>
HEARTH_AVX512 float Dot(const void* row, const void* act, int64_t n) {
  float out;
  Tile<W, W, uint16_t, 1, 1>(static_cast<const uint8_t*>(row), 0, static_cast<const uint8_t*>(act),
                             0, n, &out, 1);
  return out;
}

template <typename W, int R>
HEARTH_AVX512 void PackedRowsF(const uint8_t* rows, int64_t row_bytes, const uint8_t* packed,
                               int64_t pstride, int64_t n_tok, int64_t n, float* y,
                               int64_t y_stride) {
  int64_t t = 0;
  for (; t + 4 <= n_tok; t += 4) {
    Tile<W, F32Packed, float, R, 4>(rows, row_bytes, packed + t * pstride, pstride, n,
                                    y + t * y_stride, y_stride);
  }
  if (t + 2 <= n_tok) {
    Tile<W, F32Packed, float, R, 2>(rows, row_bytes, packed + t * pstride, pstride, n,
                                    y + t * y_stride, y_stride);
    t += 2;
  }
  if (t < n_tok) {
    Tile<W, F32Packed, float, R, 1>(rows, row_bytes, packed + t * pstride, pstride, n,
                                    y + t * y_stride, y_stride);
  }
}

// As avx512.cc's DotPacked: two rows per tile against several tokens, one against one token.
template <typename W>
HEARTH_AVX512 void DotPackedF(const void* rows, int64_t row_bytes, int64_t n_rows,
                              const void* packed, int64_t pstride, int64_t n_tok, int64_t n,
                              float* y, int64_t y_stride) {
  const auto* w = static_cast<const uint8_t*>(rows);
  const auto* a = static_cast<const uint8_t*>(packed);
  int64_t r = 0;
  for (; n_tok > 1 && r + 2 <= n_rows; r += 2) {
    PackedRowsF<W, 2>(w + r * row_bytes, row_bytes, a, pstride, n_tok, n, y + r, y_stride);
  }
  for (; r < n_rows; ++r) {
    PackedRowsF<W, 1>(w + r * row_bytes, row_bytes, a, pstride, n_tok, n, y + r, y_stride);
  }
}

int64_t Padded(int64_t n) { return (n + 15) / 16 * 16; }

template <typename W>
HEARTH_AVX512 void PackWide(const void* act, int64_t n, void* packed) {
  const auto* x = static_cast<const uint16_t*>(act);
  auto* out = static_cast<float*>(packed);
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(out + i, W::Load(x + i));
  if (i < n) _mm512_storeu_ps(out + i, W::LoadPart(x + i, static_cast<int>(n - i)));
}

}  // namespace

VecDotFn VecDotFloat(gguf::TensorType t) {
  switch (t) {
    case T::kF16: return Dot<F16Wide>;
    case T::kBF16: return Dot<BF16Wide>;
    default: return nullptr;
  }
}

PackedDotFn PackedDotFloat(gguf::TensorType t) {
  switch (t) {
    case T::kF16: return DotPackedF<F16Wide>;
    case T::kBF16: return DotPackedF<BF16Wide>;
    default: return nullptr;
  }
}

PackActivationsFn PackActivationsFloat(gguf::TensorType t) {
  switch (t) {
    case T::kF16: return PackWide<F16Wide>;
    case T::kBF16: return PackWide<BF16Wide>;
    default: return nullptr;
  }
}

int64_t PackedActBytesFloat(gguf::TensorType t, int64_t n) {
  return t == T::kF16 || t == T::kBF16 ? Padded(n) * 4 : 0;
}

}  // namespace hearth::kernels::avx512

#endif
