// AVX-512 VNNI products of Q4_0, Q5_0 and Q8_0 weights in the 16-row interleaved layouts
// (matmul.h, Layout::kQ4_0x16, kQ5_0x16, kQ8_0x16; interleave.cc writes them at load) with Q8_0
// activations, one token or many.
//
// Each int32 lane of a 512-bit register belongs to one of the 16 rows of a group, so a block
// column (32 elements × 16 rows) takes eight vpdpbusd, each against four activation bytes
// broadcast to every lane, and ends with the 16 rows' exact block products side by side: one
// convert and one multiply-add then scale all 16, and no horizontal sum is needed at the end of a
// row. The row-major kernels (avx512.cc) spend a convert, a multiply and an add on every block of
// every row, and unpack each row's levels separately.
//
// Signs: vpdpbusd multiplies unsigned by signed bytes. The weights are the unsigned operand:
// Q4_0's nibbles q = level + 8, Q5_0's nibble + 16·fifth bit = level + 16, and Q8_0's levels
// + 128 (interleave.cc adds it). The activation bytes x stay signed, so Σ level·x = Σ q·x −
// bias·Σx, and −bias·Σx (per token and block; bias 8, 16 or 128) is packed with the activations
// as the start value of the integer sum.
//
// Packed activation row: per 32-element block 32 bytes x, int32 −bias·Σx, float d; 40 bytes.
//
// Results differ from VecDot only in the order the float block terms are added (each block's
// integer product is exact and scaled by the same float product d_w · d_x).

#include <cstring>

#include "kernels/impl.h"

#if defined(__x86_64__) || defined(__i386__)

#include "kernels/blocks.h"
#include "kernels/matmul.h"
#include "kernels/x86/avx2-inl.h"
#include "kernels/x86/avx512-inl.h"

namespace hearth::kernels::avx512 {
namespace {

constexpr int64_t kGroup = kInterleaveRows;  // rows per group
constexpr int64_t kActBlockBytes = 40;  // packed activation bytes per block
// How far ahead of the block column being read to prefetch when decoding (streaming weights).
constexpr int64_t kPrefetchAhead = 1024;

// The 256 nibble bytes at p (four registers of 16 rows × 4 bytes) as eight registers of unsigned
// bytes: register j the low nibbles (elements 4j..4j+3), register 4 + j the high ones
// (elements 16+4j..16+4j+3).
HEARTH_AVX512 inline void Nibbles(const uint8_t* p, __m512i (&q)[8]) {
  const __m512i low4 = _mm512_set1_epi8(0x0F);
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const __m512i v = _mm512_loadu_si512(p + 64 * j);
    q[j] = _mm512_and_si512(v, low4);
    q[4 + j] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
  }
}

// The weight bytes of one block column of a group: eight registers, register e holding elements
// 4e..4e+3 of every row as unsigned bytes.
struct Q4Cols {
  static constexpr int64_t kColBytes = kGroup * sizeof(BlockQ4_0);  // 16 scales + 256 nibble bytes
  static constexpr int kBias = 8;
  HEARTH_AVX512 static inline void Load(const uint8_t* col, __m512i (&q)[8]) {
    Nibbles(col + 32, q);
  }
};
// Q5_0: the nibbles as Q4_0's, plus 16 where the fifth bit is set (a byte mask per register).
struct Q5Cols {
  static constexpr int64_t kColBytes = kGroup * sizeof(BlockQ5_0);  // + 64 bytes of masks
  static constexpr int kBias = 16;
  HEARTH_AVX512 static inline void Load(const uint8_t* col, __m512i (&q)[8]) {
    Nibbles(col + 96, q);
    const __m512i sixteen = _mm512_set1_epi8(16);
#pragma GCC unroll 8
    for (int e = 0; e < 8; ++e) {
      uint64_t fifth;
      std::memcpy(&fifth, col + 32 + 8 * e, 8);
      q[e] = _mm512_mask_add_epi8(q[e], _cvtu64_mask64(fifth), q[e], sixteen);
    }
  }
};
struct Q8Cols {
  static constexpr int64_t kColBytes = kGroup * sizeof(BlockQ8_0);  // 16 scales + 512 level bytes
  static constexpr int kBias = 128;
  HEARTH_AVX512 static inline void Load(const uint8_t* col, __m512i (&q)[8]) {
#pragma GCC unroll 8
    for (int e = 0; e < 8; ++e) q[e] = _mm512_loadu_si512(col + 32 + 64 * e);
  }
};

template <int kBias>
HEARTH_AVX512 void PackAct(const void* act, int64_t n, void* packed) {
  const auto* x = static_cast<const BlockQ8_0*>(act);
  auto* out = static_cast<uint8_t*>(packed);
  const __m256i ones = _mm256_set1_epi8(1);
  for (int64_t i = 0; i < n / kQK; ++i, out += kActBlockBytes) {
    const __m256i q = avx2::Load32(x[i].qs);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), q);
    // Σx: unsigned 1 times signed x, in eight int32 lanes, then across them.
    const __m256i s8 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), ones, q);
    const __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s8), _mm256_extracti128_si256(s8, 1));
    const __m128i s2 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
    const __m128i s1 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, 0xB1));
    const int32_t start = -kBias * _mm_cvtsi128_si32(s1);
    const float d = avx2::F16(x[i].d);
    std::memcpy(out + 32, &start, 4);
    std::memcpy(out + 36, &d, 4);
  }
}

HEARTH_AVX512 inline __m512i Broadcast32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// y[k·y_stride + 0..15] for one group of 16 rows against K packed tokens (pstride apart).
template <typename C, int K>
HEARTH_AVX512 void GroupTile(const uint8_t* group, int64_t nb, const uint8_t* packed,
                             int64_t pstride, float* y, int64_t y_stride) {
  __m512 acc[K];
#pragma GCC unroll 8
  for (int k = 0; k < K; ++k) acc[k] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * C::kColBytes;
    if constexpr (K <= 2) {
      // Decode: ask for the weights early, one cache line per 64 bytes of the column.
#pragma GCC unroll 9
      for (int64_t l = 0; l < C::kColBytes; l += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(col + kPrefetchAhead + l), _MM_HINT_T0);
      }
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col)));
    __m512i q[8];
    C::Load(col, q);
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) {
      const uint8_t* x = packed + k * pstride + b * kActBlockBytes;
      // Two integer chains (elements 0..15 and 16..31) halve the dependent vpdpbusd latency.
      __m512i s0 = Broadcast32(x + 32);
      __m512i s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        s0 = _mm512_dpbusd_epi32(s0, q[j], Broadcast32(x + 4 * j));
        s1 = _mm512_dpbusd_epi32(s1, q[4 + j], Broadcast32(x + 16 + 4 * j));
      }
      float dx;
      std::memcpy(&dx, x + 36, 4);
      const __m512 p = _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1));
      acc[k] = _mm512_fmadd_ps(p, _mm512_mul_ps(dw, _mm512_set1_ps(dx)), acc[k]);
    }
  }
#pragma GCC unroll 8
  for (int k = 0; k < K; ++k) _mm512_storeu_ps(y + k * y_stride, acc[k]);
}

// n_rows (a multiple of 16) rows in groups at rows + g·16·row_bytes, against n_tok tokens:
// 8 at a time, then 4, 2, 1.
template <typename C>
HEARTH_AVX512 void Dot(const void* rows, int64_t row_bytes, int64_t n_rows, const void* packed,
                       int64_t pstride, int64_t n_tok, int64_t n, float* y, int64_t y_stride) {
  const auto* w = static_cast<const uint8_t*>(rows);
  const auto* a = static_cast<const uint8_t*>(packed);
  const int64_t nb = n / kQK;
  for (int64_t r = 0; r < n_rows; r += kGroup) {
    const uint8_t* group = w + r * row_bytes;
    int64_t t = 0;
    for (; t + 8 <= n_tok; t += 8) {
      GroupTile<C, 8>(group, nb, a + t * pstride, pstride, y + t * y_stride + r, y_stride);
    }
    if (t + 4 <= n_tok) {
      GroupTile<C, 4>(group, nb, a + t * pstride, pstride, y + t * y_stride + r, y_stride);
      t += 4;
    }
    if (t + 2 <= n_tok) {
      GroupTile<C, 2>(group, nb, a + t * pstride, pstride, y + t * y_stride + r, y_stride);
      t += 2;
    }
    if (t < n_tok) {
      GroupTile<C, 1>(group, nb, a + t * pstride, pstride, y + t * y_stride + r, y_stride);
    }
  }
}

int64_t Bytes(gguf::TensorType, bool, int64_t n) { return n / kQK * kActBlockBytes; }

}  // namespace

PackedPath InterleavedPath(gguf::TensorType t) {
  if (!Usable()) return PackedPath{};
  switch (t) {
    case gguf::TensorType::kQ4_0:
      return PackedPath{Dot<Q4Cols>, PackAct<Q4Cols::kBias>, Bytes, false};
    case gguf::TensorType::kQ5_0:
      return PackedPath{Dot<Q5Cols>, PackAct<Q5Cols::kBias>, Bytes, false};
    case gguf::TensorType::kQ8_0:
      return PackedPath{Dot<Q8Cols>, PackAct<Q8Cols::kBias>, Bytes, false};
    default: return PackedPath{};
  }
}

}  // namespace hearth::kernels::avx512

#else

namespace hearth::kernels::avx512 {
PackedPath InterleavedPath(gguf::TensorType) { return PackedPath{}; }
}  // namespace hearth::kernels::avx512

#endif
