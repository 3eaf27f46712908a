// AVX2 activation conversion to Q8_0, Q8_1, Q8_K and F16, byte-identical to the scalar
// ref::ActivationQuantizer of quant_simple.cc: the same F32 operations in the same order per
// element (IEEE multiplies and divides round identically in SIMD); nearest-even rounding by the
// default MXCSR mode of cvtps2dq, as llama.cpp's x86 from_float.
#include "kernels/impl.h"

#if defined(__x86_64__) || defined(__i386__)

#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/blocks.h"
#include "kernels/x86/avx2-inl.h"

namespace hearth::kernels::avx2 {
namespace {

using T = gguf::TensorType;

HEARTH_AVX2 inline __m256 Abs(__m256 v) {
  return _mm256_andnot_ps(_mm256_set1_ps(-0.f), v);
}

HEARTH_AVX2 inline float HMax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 32 int32 (four vectors of 8, in element order) → 32 int8 at out (values fit in int8).
HEARTH_AVX2 inline void Pack32(__m256i a, __m256i b, __m256i c, __m256i d, int8_t* out) {
  const __m256i ab = _mm256_packs_epi32(a, b);  // lanes interleave: a0 b0 | a1 b1
  const __m256i cd = _mm256_packs_epi32(c, d);
  const __m256i abcd = _mm256_packs_epi16(ab, cd);  // a0 b0 c0 d0 | a1 b1 c1 d1 (4 bytes each)
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_permutevar8x32_epi32(abcd, order));
}

// One 32-element block: scale d (F32, before F16 rounding) and the levels; returns Σq.
HEARTH_AVX2 inline int QuantizeBlock32(const float* x, float* d_out, int8_t* qs) {
  __m256 v[4];
  __m256 amax = _mm256_setzero_ps();
  for (int k = 0; k < 4; ++k) {
    v[k] = _mm256_loadu_ps(x + 8 * k);
    amax = _mm256_max_ps(amax, Abs(v[k]));
  }
  const float max_abs = HMax(amax);
  const float d = max_abs / 127.f;
  const float id = max_abs != 0.f ? 127.f / max_abs : 0.f;  // as llama.cpp's SIMD from_float
  const __m256 mul = _mm256_set1_ps(id);
  __m256i q[4];
  for (int k = 0; k < 4; ++k) q[k] = _mm256_cvtps_epi32(_mm256_mul_ps(v[k], mul));  // nearest even
  Pack32(q[0], q[1], q[2], q[3], qs);
  __m256i sum = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
  s = _mm_hadd_epi32(s, s);
  s = _mm_hadd_epi32(s, s);
  *d_out = d;
  return _mm_cvtsi128_si32(s);
}

HEARTH_AVX2 void QuantizeQ8_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float d;
    QuantizeBlock32(x, &d, b[i].qs);
    b[i].d = F32ToF16(d);
  }
}

HEARTH_AVX2 void QuantizeQ8_1(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float d;
    const int sum = QuantizeBlock32(x, &d, b[i].qs);
    b[i].d = F32ToF16(d);
    b[i].s = F32ToF16(static_cast<float>(sum) * d);
  }
}

HEARTH_AVX2 void QuantizeQ8_K(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    __m256 amax_v = _mm256_setzero_ps();
    for (int k = 0; k < kQK_K; k += 8) amax_v = _mm256_max_ps(amax_v, Abs(_mm256_loadu_ps(x + k)));
    const float amax = HMax(amax_v);
    if (amax == 0.f) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    // The reference keeps the first element of largest magnitude (with its sign).
    int first = 0;
    while (std::fabs(x[first]) != amax) ++first;
    const float iscale = -127.f / x[first];
    const __m256 mul = _mm256_set1_ps(iscale);
    const __m256i max127 = _mm256_set1_epi32(127);
    for (int k = 0; k < kQK_K; k += 32) {
      __m256i q[4];
      for (int j = 0; j < 4; ++j) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + k + 8 * j), mul);
        q[j] = _mm256_min_epi32(_mm256_cvtps_epi32(v), max127);  // nearest even (MXCSR default)
      }
      Pack32(q[0], q[1], q[2], q[3], b[i].qs + k);
    }
    for (int g = 0; g < kQK_K / 16; ++g) {
      const __m256i w = _mm256_cvtepi8_epi16(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[i].qs + 16 * g)));
      __m256i s = _mm256_madd_epi16(w, _mm256_set1_epi16(1));
      __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
      h = _mm_hadd_epi32(h, h);
      h = _mm_hadd_epi32(h, h);
      b[i].bsums[g] = static_cast<int16_t>(_mm_cvtsi128_si32(h));
    }
    b[i].d = 1.f / iscale;
  }
}

HEARTH_AVX2 void QuantizeF16(const float* x, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i v = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(h + i), v);
  }
  for (; i < n; ++i) h[i] = F32ToF16(x[i]);
}

}  // namespace

QuantizeFn ActivationQuantizer(gguf::TensorType act_type) {
  switch (act_type) {
    case T::kQ8_0: return QuantizeQ8_0;
    case T::kQ8_1: return QuantizeQ8_1;
    case T::kQ8_K: return QuantizeQ8_K;
    case T::kF16: return QuantizeF16;
    default: return nullptr;
  }
}

}  // namespace hearth::kernels::avx2

#else

namespace hearth::kernels::avx2 {
QuantizeFn ActivationQuantizer(gguf::TensorType) { return nullptr; }
}  // namespace hearth::kernels::avx2

#endif
