// Internal to kernels/x86/: AVX2 helpers shared by the AVX2 dot products. Every function carries
// the target attribute, so the files including this are compiled for the baseline ISA and only
// these functions use AVX2/FMA/F16C; dispatch.cc calls them only where avx2::Usable().
#pragma once

#if defined(__x86_64__) || defined(__i386__)

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#define HEARTH_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace hearth::kernels::avx2 {

HEARTH_AVX2 inline float Hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

HEARTH_AVX2 inline float F16(uint16_t h) { return _cvtsh_ss(h); }

HEARTH_AVX2 inline __m256i Load32(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}

// 8 int32 lanes, each the sum of 4 products of the signed bytes a and b (|a| ≤ 127 or b ≥ −127).
HEARTH_AVX2 inline __m256i DotI8(__m256i a, __m256i b) {
  const __m256i abs_a = _mm256_sign_epi8(a, a);
  const __m256i b_signed = _mm256_sign_epi8(b, a);
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_a, b_signed), _mm256_set1_epi16(1));
}

// DotI8(a, b) with |a| already computed (abs_a = _mm256_sign_epi8(a, a)), for reuse across b's.
HEARTH_AVX2 inline __m256i DotI8Abs(__m256i abs_a, __m256i a, __m256i b) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(b, a)),
                           _mm256_set1_epi16(1));
}

// Same for unsigned bytes u (≤ 127 in pairs) and signed bytes b.
HEARTH_AVX2 inline __m256i DotU8I8(__m256i u, __m256i b) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, b), _mm256_set1_epi16(1));
}

// 16 packed nibbles → 32 bytes: lanes 0..15 the low nibbles, lanes 16..31 the high nibbles (the
// element order of the 32-element types).
HEARTH_AVX2 inline __m256i UnpackNibbles(const uint8_t* qs) {
  const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m256i both = _mm256_inserti128_si256(_mm256_castsi128_si256(q), _mm_srli_epi16(q, 4), 1);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// Byte j = 0xFF where bit j of the 32-bit little-endian word at p is set, else 0.
HEARTH_AVX2 inline __m256i BitsToBytes(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  const __m256i shuffle = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                           2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), shuffle);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ull));
  return _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
}

// A 16-entry signed byte table in both 128-bit lanes, for _mm256_shuffle_epi8 lookups.
HEARTH_AVX2 inline __m256i LoadTable16(const int8_t* table) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(table)));
}

}  // namespace hearth::kernels::avx2

#endif
