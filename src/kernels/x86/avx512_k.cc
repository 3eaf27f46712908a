// AVX-512 (BW/VL + VNNI) dot products of Q4_K and Q6_K weights against Q8_K activations, and the
// packed many-token tiles over them (avx512.cc's PackedDot hands these out). Per super-block of
// 256 elements and per 64-element chunk: the unsigned weight levels (Q4_K nibbles 0..15, Q6_K
// 0..63) times the signed activation bytes in int16 pairs (vpmaddubsw, no saturation: 63·127·2 <
// 2^15), then times the sub-block scales into int32 lanes (vpdpwssd). The offsets go through the
// activation's 16-element sums (bsums): Q4_K's mins are −mn_j·(bsum pair j) lanes beside the
// folded products, scaled by dmin; Q6_K's −32 is −32·sc·bsum added to its products. All integer
// sums are exact; per super-block the 16 int32 lanes are converted and added into 16 float lanes
// with one multiply-add by (d_w·d_x, or dmin_w·d_x for the min lanes), and the lanes are summed at
// the end. Only the float summation order differs from vecdot_ref_k.cc.
//
// The tile reads the activations packed per super-block into 320 bytes (qs 256, bsums 32, d 4,
// zeros 28), so every 64-byte load is aligned; VecDot and VecDot4 read the Q8_K blocks in place.
// Both run the same super-block step in the same order, so the tile is bit-identical to VecDot.

#include <cstddef>
#include <cstring>

#include "kernels/impl.h"

#if defined(__x86_64__) || defined(__i386__)

#include "kernels/blocks.h"
#include "kernels/x86/avx2-inl.h"
#include "kernels/x86/avx512-inl.h"

namespace hearth::kernels::avx512 {
namespace {

using T = gguf::TensorType;

constexpr int64_t kPackedSuper = 320;  // bytes of one packed Q8_K super-block
// No software prefetch here (unlike avx512.cc's tiles): on the real-shaped Gemma 3 4B Q4_K_M,
// 2 threads, one run alternating, decode measured 10.1 / 7.6 tokens/s without and 7.4 / 6.9 with
// rows prefetched 1 KiB ahead; a one-token MatMul of 40960 × 2560 from memory did not change.

// One activation super-block, wherever it lives.
struct Act {
  const int8_t* qs;
  const int16_t* bsums;
  float d;
};

HEARTH_AVX512 inline Act RawAct(const uint8_t* row, int64_t i) {
  // Field offsets rather than member addresses (the block struct is packed).
  const uint8_t* p = row + i * static_cast<int64_t>(sizeof(BlockQ8_K));
  float d;
  std::memcpy(&d, p + offsetof(BlockQ8_K, d), 4);
  return {reinterpret_cast<const int8_t*>(p + offsetof(BlockQ8_K, qs)),
          reinterpret_cast<const int16_t*>(p + offsetof(BlockQ8_K, bsums)), d};
}

HEARTH_AVX512 inline Act PackedAct(const uint8_t* row, int64_t i) {
  const uint8_t* p = row + i * kPackedSuper;
  float d;
  std::memcpy(&d, p + 288, 4);
  return {reinterpret_cast<const int8_t*>(p), reinterpret_cast<const int16_t*>(p + 256), d};
}

// Word j of `words` (16 int16 in the low half) to every word of the chunk's sub-blocks: chunk c
// of Q4_K covers sub-blocks 2c and 2c + 1 (16 words each), of Q6_K 4c .. 4c + 3 (8 words each).
template <int kSubBlocks>
HEARTH_AVX512 inline __m512i ChunkScales(__m512i words, int c) {
  alignas(64) int16_t idx[32];
  for (int m = 0; m < 32; ++m) idx[m] = static_cast<int16_t>(kSubBlocks * c + m / (32 / kSubBlocks));
  return _mm512_permutexvar_epi16(_mm512_load_si512(idx), words);
}

struct Q4K {
  using Block = BlockQ4_K;
  struct Row {
    const uint8_t* qs;
    __m512i words;  // words 0..7 the sub-block scales, 8..15 the mins
    __m256i neg_mins;  // −mn_j in words 2j and 2j + 1 (against the bsum pair of sub-block j)
    __m512 d;          // [d ×8, dmin ×8]
  };
  HEARTH_AVX512 static Row Load(const Block* b) {
    uint32_t u0, u1, u2;
    std::memcpy(&u0, b->scales, 4);
    std::memcpy(&u1, b->scales + 4, 4);
    std::memcpy(&u2, b->scales + 8, 4);
    // The 6-bit pairs (UnpackScaleMinK4), four at a time in 32-bit words.
    const uint32_t sc_lo = u0 & 0x3F3F3F3Fu, mn_lo = u1 & 0x3F3F3F3Fu;
    const uint32_t sc_hi = (u2 & 0x0F0F0F0Fu) | ((u0 >> 2) & 0x30303030u);
    const uint32_t mn_hi = ((u2 >> 4) & 0x0F0F0F0Fu) | ((u1 >> 2) & 0x30303030u);
    const __m128i bytes = _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi),
                                         static_cast<int>(mn_lo), static_cast<int>(mn_hi));
    Row row;
    row.qs = b->qs;
    row.words = _mm512_zextsi256_si512(_mm256_cvtepu8_epi16(bytes));
    const __m256i dup = _mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    row.neg_mins = _mm256_sub_epi16(
        _mm256_setzero_si256(),
        _mm256_permutexvar_epi16(dup, _mm512_castsi512_si256(row.words)));
    const uint32_t dd = b->d | static_cast<uint32_t>(b->dmin) << 16;
    const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(dd)));
    row.d = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                                  _mm512_castps128_ps512(f));
    return row;
  }
  // Elements 64c .. 64c + 63: the low nibbles of qs[32c ..] then their high nibbles.
  HEARTH_AVX512 static __m512i Levels(const Row& w, int c) {
    const __m256i q = avx2::Load32(w.qs + 32 * c);
    const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
    return _mm512_and_si512(both, _mm512_set1_epi8(0x0F));
  }
  HEARTH_AVX512 static __m512i Scales(const Row& w, int c) { return ChunkScales<2>(w.words, c); }
  // The products' lanes folded to 8 (lanes j and j + 8 of a chunk are the same sub-block pair's
  // elements), then the 8 min lanes.
  HEARTH_AVX512 static __m512i Finish(const Row& w, __m512i sumi, const int16_t* bsums) {
    const __m256i fold = _mm256_add_epi32(_mm512_castsi512_si256(sumi),
                                          _mm512_extracti64x4_epi64(sumi, 1));
    const __m256i mins = _mm256_madd_epi16(avx2::Load32(bsums), w.neg_mins);
    return _mm512_inserti64x4(_mm512_castsi256_si512(fold), mins, 1);
  }
};

struct Q6K {
  using Block = BlockQ6_K;
  struct Row {
    const uint8_t* ql;
    const uint8_t* qh;
    __m512i words;     // the 16 signed sub-block scales
    __m256i neg32_sc;  // −32·scale per sub-block, in the word of its bsum
    __m512 d;          // d ×16
  };
  HEARTH_AVX512 static Row Load(const Block* b) {
    Row row;
    row.ql = b->ql;
    row.qh = b->qh;
    const __m256i sc =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales)));
    row.words = _mm512_zextsi256_si512(sc);
    row.neg32_sc = _mm256_mullo_epi16(sc, _mm256_set1_epi16(-32));  // |32·127| < 2^15
    row.d = _mm512_set1_ps(avx2::F16(b->d));
    return row;
  }
  // Chunk c = 2h + s of half h: s = 0: elements 0..63 of the half (ql[64h ..] low nibbles, qh
  // bits 0-1 then 2-3); s = 1: elements 64..127 (the high nibbles, qh bits 4-5 then 6-7).
  HEARTH_AVX512 static __m512i Levels(const Row& w, int c) {
    const int h = c / 2;
    const __m512i l = _mm512_loadu_si512(w.ql + 64 * h);
    const __m512i qh = _mm512_broadcast_i64x4(avx2::Load32(w.qh + 32 * h));
    const __m512i m4 = _mm512_set1_epi8(0x0F), m30 = _mm512_set1_epi8(0x30);
    __m512i lo, hi;
    if (c % 2 == 0) {
      lo = _mm512_and_si512(l, m4);
      hi = _mm512_sllv_epi16(qh, _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1));
    } else {
      lo = _mm512_and_si512(_mm512_srli_epi16(l, 4), m4);
      hi = _mm512_srlv_epi16(qh, _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1));
    }
    return _mm512_or_si512(lo, _mm512_and_si512(hi, m30));
  }
  HEARTH_AVX512 static __m512i Scales(const Row& w, int c) { return ChunkScales<4>(w.words, c); }
  // The products plus −32·Σ scale·bsum in the low 8 lanes.
  HEARTH_AVX512 static __m512i Finish(const Row& w, __m512i sumi, const int16_t* bsums) {
    const __m256i offset = _mm256_madd_epi16(avx2::Load32(bsums), w.neg32_sc);
    return _mm512_add_epi32(sumi, _mm512_zextsi256_si512(offset));
  }
};

// acc[r][k] += one super-block of R rows (w[r] + i) against K activation super-blocks.
template <typename S, int R, int K>
HEARTH_AVX512 inline __attribute__((always_inline)) void SuperStep(
    const typename S::Block* const* w, int64_t i, const Act (&x)[K], __m512 (&acc)[R][K]) {
  typename S::Row row[R];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) row[r] = S::Load(w[r] + i);
  __m512i sumi[R][K];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) sumi[r][k] = _mm512_setzero_si512();
  }
#pragma GCC unroll 4
  for (int c = 0; c < 4; ++c) {
    __m512i levels[R], scales[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      levels[r] = S::Levels(row[r], c);
      scales[r] = S::Scales(row[r], c);
    }
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) {
      const __m512i xc = _mm512_loadu_si512(x[k].qs + 64 * c);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        sumi[r][k] = _mm512_dpwssd_epi32(sumi[r][k], _mm512_maddubs_epi16(levels[r], xc), scales[r]);
      }
    }
  }
#pragma GCC unroll 8
  for (int k = 0; k < K; ++k) {
    const __m512 dx = _mm512_set1_ps(x[k].d);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i total = S::Finish(row[r], sumi[r][k], x[k].bsums);
      acc[r][k] = _mm512_fmadd_ps(_mm512_mul_ps(row[r].d, dx), _mm512_cvtepi32_ps(total), acc[r][k]);
    }
  }
}

// y[k·y_stride + r] for R rows (row_bytes apart) and K activation rows (act_stride apart), read
// through View (RawAct or PackedAct).
template <typename S, int R, int K, Act (*View)(const uint8_t*, int64_t)>
HEARTH_AVX512 void Tile(const uint8_t* rows, int64_t row_bytes, const uint8_t* act,
                        int64_t act_stride, int64_t n_super, float* y, int64_t y_stride) {
  using Block = typename S::Block;
  const Block* w[R];
  for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(rows + r * row_bytes);
  __m512 acc[R][K];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) acc[r][k] = _mm512_setzero_ps();
  }
  for (int64_t i = 0; i < n_super; ++i) {
    Act x[K];
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) x[k] = View(act + k * act_stride, i);
    SuperStep<S, R, K>(w, i, x, acc);
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) y[k * y_stride + r] = _mm512_reduce_add_ps(acc[r][k]);
  }
}

template <typename S>
HEARTH_AVX512 float Dot(const void* row, const void* act, int64_t n) {
  float out;
  Tile<S, 1, 1, RawAct>(static_cast<const uint8_t*>(row), 0, static_cast<const uint8_t*>(act), 0,
                        n / kQK_K, &out, 1);
  return out;
}

template <typename S>
HEARTH_AVX512 void Dot4(const void* row, const void* act, int64_t stride, int64_t n, float* out) {
  Tile<S, 1, 4, RawAct>(static_cast<const uint8_t*>(row), 0, static_cast<const uint8_t*>(act),
                        stride, n / kQK_K, out, 1);
}

// R rows against n_tok packed tokens: 4 at a time, then 2, 1.
template <typename S, int R>
HEARTH_AVX512 void PackedRowsK(const uint8_t* rows, int64_t row_bytes, const uint8_t* packed,
                               int64_t pstride, int64_t n_tok, int64_t n_super, float* y,
                               int64_t y_stride) {
  int64_t t = 0;
  for (; t + 4 <= n_tok; t += 4) {
    Tile<S, R, 4, PackedAct>(rows, row_bytes, packed + t * pstride, pstride, n_super,
                             y + t * y_stride, y_stride);
  }
  if (t + 2 <= n_tok) {
    Tile<S, R, 2, PackedAct>(rows, row_bytes, packed + t * pstride, pstride, n_super,
                             y + t * y_stride, y_stride);
    t += 2;
  }
  if (t < n_tok) {
    Tile<S, R, 1, PackedAct>(rows, row_bytes, packed + t * pstride, pstride, n_super,
                             y + t * y_stride, y_stride);
  }
}

template <typename S>
HEARTH_AVX512 void DotPackedK(const void* rows, int64_t row_bytes, int64_t n_rows,
                              const void* packed, int64_t pstride, int64_t n_tok, int64_t n,
                              float* y, int64_t y_stride) {
  const auto* w = static_cast<const uint8_t*>(rows);
  const auto* a = static_cast<const uint8_t*>(packed);
  int64_t r = 0;
  // Two rows per tile against several tokens; against one (decode), one row per tile (see
  // avx512.cc's DotPacked).
  for (; n_tok > 1 && r + 2 <= n_rows; r += 2) {
    PackedRowsK<S, 2>(w + r * row_bytes, row_bytes, a, pstride, n_tok, n / kQK_K, y + r, y_stride);
  }
  for (; r < n_rows; ++r) {
    PackedRowsK<S, 1>(w + r * row_bytes, row_bytes, a, pstride, n_tok, n / kQK_K, y + r, y_stride);
  }
}

HEARTH_AVX512 void PackQ8_K(const void* act, int64_t n, void* packed) {
  const auto* x = static_cast<const BlockQ8_K*>(act);
  auto* out = static_cast<uint8_t*>(packed);
  for (int64_t i = 0; i < n / kQK_K; ++i, out += kPackedSuper) {
    std::memcpy(out, x[i].qs, kQK_K);
    std::memcpy(out + 256, x[i].bsums, sizeof(x[i].bsums));
    std::memcpy(out + 288, &x[i].d, 4);
    std::memset(out + 292, 0, kPackedSuper - 292);
  }
}

}  // namespace

VecDotFn VecDotK(gguf::TensorType t) {
  switch (t) {
    case T::kQ4_K: return Dot<Q4K>;
    case T::kQ6_K: return Dot<Q6K>;
    default: return nullptr;
  }
}

VecDot4Fn VecDot4K(gguf::TensorType t) {
  switch (t) {
    case T::kQ4_K: return Dot4<Q4K>;
    case T::kQ6_K: return Dot4<Q6K>;
    default: return nullptr;
  }
}

PackedDotFn PackedDotK(gguf::TensorType t) {
  switch (t) {
    case T::kQ4_K: return DotPackedK<Q4K>;
    case T::kQ6_K: return DotPackedK<Q6K>;
    default: return nullptr;
  }
}

PackActivationsFn PackActivationsK(gguf::TensorType t) {
  return t == T::kQ4_K || t == T::kQ6_K ? PackQ8_K : nullptr;
}

int64_t PackedActBytesK(gguf::TensorType t, int64_t n) {
  return t == T::kQ4_K || t == T::kQ6_K ? n / kQK_K * kPackedSuper : 0;
}

}  // namespace hearth::kernels::avx512

#endif
