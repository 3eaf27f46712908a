// On-disk block layouts of the quantized tensor types (gemma-gguf-spec.md §10), plus the lookup
// tables their values come from. Every struct is byte-exact with ggml's: all fields little-endian,
// F16 fields stored as raw uint16_t bits (convert with core/fp16.h). Each size is static_assert-ed.
// The structs are packed (alignment 1): rows in a mapping or a scratch buffer may start at any
// byte, and member reads then stay well-defined (plain loads on x86).
#pragma once

#include <cstdint>

namespace hearth::kernels {

inline constexpr int kQK = 32;    // elements per block of the 32-element types
inline constexpr int kQK_K = 256;  // elements per super-block of the K-quants and IQ4_XS
inline constexpr int kQK_KScaleBytes = 12;  // packed 6-bit scales of Q3_K/Q4_K/Q5_K

struct [[gnu::packed]] BlockQ8_0 {
  uint16_t d;       // f16 scale
  int8_t qs[kQK];   // y_j = d·q_j
};
static_assert(sizeof(BlockQ8_0) == 34);

struct [[gnu::packed]] BlockQ8_1 {
  uint16_t d;       // f16 scale
  uint16_t s;       // f16 of d·Σq (activation side: lets Q4_1/Q5_1 add their min cheaply)
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_1) == 36);

struct [[gnu::packed]] BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];  // element j in the low nibble of qs[j], j+16 in the high nibble
};
static_assert(sizeof(BlockQ4_0) == 18);

struct [[gnu::packed]] BlockQ4_1 {
  uint16_t d;
  uint16_t m;  // f16 min added to every element
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

struct [[gnu::packed]] BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // bit j = fifth bit of element j (u32, little-endian)
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

struct [[gnu::packed]] BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

struct [[gnu::packed]] BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[kQK / 2];  // 4-bit indices into kIQ4NLValues
};
static_assert(sizeof(BlockIQ4_NL) == 18);

struct [[gnu::packed]] BlockMXFP4 {
  uint8_t e;            // E8M0 shared exponent; scale 2^(e-128) against the doubled table
  uint8_t qs[kQK / 2];  // 4-bit indices into kMXFP4Values
};
static_assert(sizeof(BlockMXFP4) == 17);

struct [[gnu::packed]] BlockQ2_K {
  uint8_t scales[kQK_K / 16];  // per 16 elements: low nibble scale, high nibble min
  uint8_t qs[kQK_K / 4];       // 2-bit quants
  uint16_t d;                  // f16 super-block scale of the scales
  uint16_t dmin;               // f16 super-block scale of the mins
};
static_assert(sizeof(BlockQ2_K) == 84);

struct [[gnu::packed]] BlockQ3_K {
  uint8_t hmask[kQK_K / 8];         // high (third) bit of each quant, inverted sense: set = no −4
  uint8_t qs[kQK_K / 4];            // low 2 bits
  uint8_t scales[kQK_KScaleBytes];  // 16 signed 6-bit scales (stored +32)
  uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 110);

struct [[gnu::packed]] BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kQK_KScaleBytes];  // 8 pairs of 6-bit (scale, min)
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

struct [[gnu::packed]] BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kQK_KScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

struct [[gnu::packed]] BlockQ6_K {
  uint8_t ql[kQK_K / 2];      // low 4 bits
  uint8_t qh[kQK_K / 4];      // high 2 bits
  int8_t scales[kQK_K / 16];  // signed 8-bit scale per 16 elements
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

struct [[gnu::packed]] BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;             // high 2 bits of the 8 six-bit scales
  uint8_t scales_l[kQK_K / 64];  // low 4 bits, two per byte
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136);

struct [[gnu::packed]] BlockQ8_K {
  float d;                      // f32 scale (activation side only, never in files)
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];    // sums of each 16 consecutive qs
};
static_assert(sizeof(BlockQ8_K) == 292);

// Non-linear 4-bit grid of IQ4_NL and IQ4_XS (ggml kvalues_iq4nl).
inline constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};
// E2M1 values doubled (ggml kvalues_mxfp4); index 8 is −0.
inline constexpr int8_t kMXFP4Values[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// 2^(e−128) as ggml's GGML_E8M0_TO_FP32_HALF builds it (exact, subnormals for e < 2).
inline float E8M0ToF32Half(uint8_t e) {
  uint32_t bits = e < 2 ? (0x00200000u << e) : (static_cast<uint32_t>(e) - 1) << 23;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// Round to nearest, ties to even, for |x| < 2^22 (what ggml's nearest_int computes).
inline int NearestInt(float x) {
  float v = x + 12582912.f;  // 1.5·2^23: the sum's low mantissa bits hold the rounded integer
  int32_t i;
  __builtin_memcpy(&i, &v, 4);
  return (i & 0x007fffff) - 0x00400000;
}

}  // namespace hearth::kernels
