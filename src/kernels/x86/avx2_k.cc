// AVX2 dot products of the 256-element types against Q8_K activations. Per super-block the
// sub-block sums are formed in int16/int32 lanes and weighted by the 6/8-bit sub-block scales
// (exact integers), then scaled by d_w·d_x in F32, as vecdot_ref_k.cc; mins go through bsums.
#include "kernels/impl.h"

#if defined(__x86_64__) || defined(__i386__)

#include "kernels/blocks.h"
#include "kernels/x86/avx2-inl.h"

namespace hearth::kernels::avx2 {
namespace {

using T = gguf::TensorType;

// int16 lanes: the first 8 (elements 0..15 of a 32-element run) `lo`, the last 8 `hi`.
HEARTH_AVX2 inline __m256i ScalePair(int lo, int hi) {
  return _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_set1_epi16(static_cast<int16_t>(lo))),
                                 _mm_set1_epi16(static_cast<int16_t>(hi)), 1);
}

// Q2_K against K activation rows at act + k·stride (as the other K-token kernels: weights
// unpacked once, per-token operations those of K = 1).
template <int K>
HEARTH_AVX2 void DotQ2_KN(const void* row, const void* act, int64_t stride, int64_t n,
                          float* out) {
  const auto* w = static_cast<const BlockQ2_K*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const __m256i m3 = _mm256_set1_epi8(3);
  __m256 acc[K];
  float mins[K];
  for (int k = 0; k < K; ++k) {
    acc[k] = _mm256_setzero_ps();
    mins[k] = 0.f;
  }
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* sc = w[i].scales;
    __m256i sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i q = Load32(w[i].qs + 32 * half);
      for (int r = 0; r < 4; ++r) {
        const __m256i q2 = _mm256_and_si256(_mm256_srli_epi16(q, 2 * r), m3);
        const int s = 8 * half + 2 * r;
        const __m256i scales = ScalePair(sc[s] & 15, sc[s + 1] & 15);
        for (int k = 0; k < K; ++k) {
          const int8_t* q8 = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i].qs;
          const __m256i p = _mm256_maddubs_epi16(q2, Load32(q8 + 128 * half + 32 * r));
          sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(p, scales));
        }
      }
    }
    const float dw = F16(w[i].d), dminw = F16(w[i].dmin);
    for (int k = 0; k < K; ++k) {
      const BlockQ8_K& xb = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i];
      int summs = 0;
      for (int j = 0; j < 16; ++j) summs += xb.bsums[j] * (sc[j] >> 4);
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(xb.d * dw), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
      mins[k] += xb.d * dminw * static_cast<float>(summs);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = Hsum(acc[k]) - mins[k];
}

template <int K>
HEARTH_AVX2 void DotQ3_KN(const void* row, const void* act, int64_t stride, int64_t n,
                          float* out) {
  const auto* w = static_cast<const BlockQ3_K*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
  __m256 acc[K];
  for (int k = 0; k < K; ++k) acc[k] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int8_t sc[16];
    UnpackScalesQ3K(w[i].scales, sc);
    const __m256i hm = Load32(w[i].hmask);
    __m256i sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i q = Load32(w[i].qs + 32 * half);
      for (int r = 0; r < 4; ++r) {
        const __m256i bit = _mm256_set1_epi8(static_cast<char>(1 << (4 * half + r)));
        const __m256i has_high = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
        const __m256i minus = _mm256_andnot_si256(has_high, four);  // 4 where the bit is clear
        const __m256i q2 = _mm256_and_si256(_mm256_srli_epi16(q, 2 * r), m3);
        const int s = 8 * half + 2 * r;
        const __m256i scales = ScalePair(sc[s], sc[s + 1]);
        for (int k = 0; k < K; ++k) {
          const int8_t* q8p = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i].qs;
          const __m256i q8 = Load32(q8p + 128 * half + 32 * r);
          const __m256i p =
              _mm256_sub_epi16(_mm256_maddubs_epi16(q2, q8), _mm256_maddubs_epi16(minus, q8));
          sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(p, scales));
        }
      }
    }
    const float dw = F16(w[i].d);
    for (int k = 0; k < K; ++k) {
      const float dx = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i].d;
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = Hsum(acc[k]);
}

HEARTH_AVX2 float DotQ2_K(const void* row, const void* act, int64_t n) {
  float out;
  DotQ2_KN<1>(row, act, 0, n, &out);
  return out;
}
HEARTH_AVX2 void DotQ2_K4(const void* row, const void* act, int64_t stride, int64_t n,
                          float* out) {
  DotQ2_KN<4>(row, act, stride, n, out);
}
HEARTH_AVX2 float DotQ3_K(const void* row, const void* act, int64_t n) {
  float out;
  DotQ3_KN<1>(row, act, 0, n, &out);
  return out;
}
HEARTH_AVX2 void DotQ3_K4(const void* row, const void* act, int64_t stride, int64_t n,
                          float* out) {
  DotQ3_KN<4>(row, act, stride, n, out);
}

// Q4_K and Q5_K (kHasHigh) against K activation rows at act + k·stride. The weight nibbles and
// scales are unpacked once per super-block; per token the operations are those of K = 1, so the
// K-token results are bit-identical to the single-token dot.
template <typename Block, bool kHasHigh, int K>
HEARTH_AVX2 void DotScaleMinKN(const void* row, const void* act, int64_t stride, int64_t n,
                               float* out) {
  const auto* w = static_cast<const Block*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const __m256i m4 = _mm256_set1_epi8(0x0F), b16 = _mm256_set1_epi8(0x10);
  __m256 acc[K];
  float mins[K];
  for (int k = 0; k < K; ++k) {
    acc[k] = _mm256_setzero_ps();
    mins[k] = 0.f;
  }
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) UnpackScaleMinK4(j, w[i].scales, &sc[j], &mn[j]);
    __m256i hbits = _mm256_setzero_si256();
    if constexpr (kHasHigh) hbits = Load32(w[i].qh);
    __m256i sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i q = Load32(w[i].qs + 32 * c);
      __m256i lo = _mm256_and_si256(q, m4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      if constexpr (kHasHigh) {
        const __m256i bit_lo = _mm256_set1_epi8(static_cast<char>(1 << (2 * c)));
        const __m256i bit_hi = _mm256_set1_epi8(static_cast<char>(2 << (2 * c)));
        lo = _mm256_or_si256(
            lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, bit_lo), bit_lo), b16));
        hi = _mm256_or_si256(
            hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, bit_hi), bit_hi), b16));
      }
      const __m256i sc_lo = _mm256_set1_epi16(sc[2 * c]), sc_hi = _mm256_set1_epi16(sc[2 * c + 1]);
      for (int k = 0; k < K; ++k) {
        const int8_t* q8 = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i].qs + 64 * c;
        const __m256i p_lo = _mm256_maddubs_epi16(lo, Load32(q8));
        const __m256i p_hi = _mm256_maddubs_epi16(hi, Load32(q8 + 32));
        sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(p_lo, sc_lo));
        sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(p_hi, sc_hi));
      }
    }
    const float dw = F16(w[i].d), dminw = F16(w[i].dmin);
    for (int k = 0; k < K; ++k) {
      const BlockQ8_K& xb = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i];
      int summs = 0;
      for (int j = 0; j < 8; ++j) summs += (xb.bsums[2 * j] + xb.bsums[2 * j + 1]) * mn[j];
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * xb.d), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
      mins[k] += dminw * xb.d * static_cast<float>(summs);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = Hsum(acc[k]) - mins[k];
}

template <typename Block, bool kHasHigh>
HEARTH_AVX2 float DotScaleMinK(const void* row, const void* act, int64_t n) {
  float out;
  DotScaleMinKN<Block, kHasHigh, 1>(row, act, 0, n, &out);
  return out;
}

template <typename Block, bool kHasHigh>
HEARTH_AVX2 void DotScaleMinK4(const void* row, const void* act, int64_t stride, int64_t n,
                               float* out) {
  DotScaleMinKN<Block, kHasHigh, 4>(row, act, stride, n, out);
}

template <int K>
HEARTH_AVX2 void DotQ6_KN(const void* row, const void* act, int64_t stride, int64_t n,
                          float* out) {
  const auto* w = static_cast<const BlockQ6_K*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30),
                m32 = _mm256_set1_epi8(32);
  __m256 acc[K];
  for (int k = 0; k < K; ++k) acc[k] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = w[i].ql + 64 * half;
      const int8_t* sc = w[i].scales + 8 * half;
      const __m256i l0 = Load32(ql), l1 = Load32(ql + 32), h = Load32(w[i].qh + 32 * half);
      // Unsigned 6-bit levels 0..63 of the four 32-element runs of this half.
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30)),
          _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m30)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                          _mm256_and_si256(_mm256_srli_epi16(h, 2), m30)),
      };
      for (int r = 0; r < 4; ++r) {
        const __m256i scales = ScalePair(sc[2 * r], sc[2 * r + 1]);
        for (int k = 0; k < K; ++k) {
          const int8_t* q8 = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i].qs;
          const __m256i a = Load32(q8 + 128 * half + 32 * r);
          // (q − 32)·a = q·a − 32·a, both in int16 without saturation (63·127·2 < 2^15).
          const __m256i p =
              _mm256_sub_epi16(_mm256_maddubs_epi16(q[r], a), _mm256_maddubs_epi16(m32, a));
          sumi[k] = _mm256_add_epi32(sumi[k], _mm256_madd_epi16(p, scales));
        }
      }
    }
    const float dw = F16(w[i].d);
    for (int k = 0; k < K; ++k) {
      const float dx = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i].d;
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = Hsum(acc[k]);
}

HEARTH_AVX2 float DotQ6_K(const void* row, const void* act, int64_t n) {
  float out;
  DotQ6_KN<1>(row, act, 0, n, &out);
  return out;
}

HEARTH_AVX2 void DotQ6_K4(const void* row, const void* act, int64_t stride, int64_t n,
                          float* out) {
  DotQ6_KN<4>(row, act, stride, n, out);
}

template <int K>
HEARTH_AVX2 void DotIQ4_XSN(const void* row, const void* act, int64_t stride, int64_t n,
                            float* out) {
  const auto* w = static_cast<const BlockIQ4_XS*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const __m256i lut = LoadTable16(kIQ4NLValues);
  __m256 acc[K];
  for (int k = 0; k < K; ++k) acc[k] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    __m256i sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = ((w[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 15) |
                     (((w[i].scales_h >> (2 * ib)) & 3) << 4);
      const __m256i scale = _mm256_set1_epi32(ls - 32);
      const __m256i levels = _mm256_shuffle_epi8(lut, UnpackNibbles(w[i].qs + 16 * ib));
      const __m256i abs_levels = _mm256_sign_epi8(levels, levels);
      for (int k = 0; k < K; ++k) {
        const int8_t* q8 = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i].qs;
        const __m256i p = DotI8Abs(abs_levels, levels, Load32(q8 + 32 * ib));
        sumi[k] = _mm256_add_epi32(sumi[k], _mm256_mullo_epi32(p, scale));
      }
    }
    const float dw = F16(w[i].d);
    for (int k = 0; k < K; ++k) {
      const float dx = reinterpret_cast<const BlockQ8_K*>(x0 + k * stride)[i].d;
      acc[k] = _mm256_fmadd_ps(_mm256_set1_ps(dw * dx), _mm256_cvtepi32_ps(sumi[k]), acc[k]);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = Hsum(acc[k]);
}

HEARTH_AVX2 float DotIQ4_XS(const void* row, const void* act, int64_t n) {
  float out;
  DotIQ4_XSN<1>(row, act, 0, n, &out);
  return out;
}

HEARTH_AVX2 void DotIQ4_XS4(const void* row, const void* act, int64_t stride, int64_t n,
                            float* out) {
  DotIQ4_XSN<4>(row, act, stride, n, out);
}

}  // namespace

VecDot4Fn VecDot4K(gguf::TensorType t) {
  switch (t) {
    case T::kQ2_K: return DotQ2_K4;
    case T::kQ3_K: return DotQ3_K4;
    case T::kQ4_K: return DotScaleMinK4<BlockQ4_K, false>;
    case T::kQ5_K: return DotScaleMinK4<BlockQ5_K, true>;
    case T::kQ6_K: return DotQ6_K4;
    case T::kIQ4_XS: return DotIQ4_XS4;
    default: return nullptr;
  }
}

VecDotFn VecDotK(gguf::TensorType t) {
  switch (t) {
    case T::kQ2_K: return DotQ2_K;
    case T::kQ3_K: return DotQ3_K;
    case T::kQ4_K: return DotScaleMinK<BlockQ4_K, false>;
    case T::kQ5_K: return DotScaleMinK<BlockQ5_K, true>;
    case T::kQ6_K: return DotQ6_K;
    case T::kIQ4_XS: return DotIQ4_XS;
    default: return nullptr;
  }
}

}  // namespace hearth::kernels::avx2

#endif
