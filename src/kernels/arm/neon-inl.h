// Internal to kernels/arm/: the NEON dot products, written once and compiled twice. neon.cc
// includes this file with HEARTH_NEON_DOTPROD 0 (namespace neon: integer products by widening
// multiplies, runs on every AArch64 CPU); neon_dotprod.cc includes it with HEARTH_NEON_DOTPROD 1
// (namespace neondot: SDOT, every function carrying the armv8.2-a+dotprod target attribute, so
// the translation unit itself is built for the baseline ISA and nothing else in it needs the
// extension). Everything here but the two entry points VecDot / VecDot4 (one pair per namespace)
// has internal linkage, so the two copies never merge at link time.
//
// Same arithmetic as vecdot_ref.cc / vecdot_ref_k.cc: exact integer sums per (sub-)block, times the
// block scales in F32, summed in another order (F32 lanes).
//
// The includer defines HEARTH_NEON_NS (the namespace), HEARTH_NEON_FN (the function attribute) and
// HEARTH_NEON_DOTPROD (0 or 1), and includes this only on little-endian AArch64.

#include <arm_neon.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/fp16.h"
#include "kernels/blocks.h"
#include "kernels/impl.h"

namespace hearth::kernels::HEARTH_NEON_NS {
namespace {

using T = gguf::TensorType;

// Hardware F16 → F32 (exact, subnormals included), for block scales.
HEARTH_NEON_FN inline float F16(uint16_t h) {
  return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

// acc plus lane sums of the products of the signed bytes a and b. SDOT gives each lane 4 adjacent
// products; the widening path adds the products of lanes j and j+8 in int16 and then pairs of
// those, so each lane also holds 4 products, grouped differently. Callers only ever use the sum of
// all lanes (or scale all lanes alike), so the grouping never shows. The int16 step cannot
// overflow when one operand is ≥ −127 (2·128·127 < 2^15): every activation converter writes levels
// in [−127, 127].
HEARTH_NEON_FN inline int32x4_t DotI8(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if HEARTH_NEON_DOTPROD
  return vdotq_s32(acc, a, b);
#else
  const int16x8_t p = vmlal_high_s8(vmull_s8(vget_low_s8(a), vget_low_s8(b)), a, b);
  return vpadalq_s16(acc, p);
#endif
}

// Σ of 32 products: weights (lo = elements 0..15, hi = 16..31) against 32 activation bytes.
HEARTH_NEON_FN inline int32x4_t Dot32(int8x16_t lo, int8x16_t hi, const int8_t* x) {
  return DotI8(DotI8(vdupq_n_s32(0), lo, vld1q_s8(x)), hi, vld1q_s8(x + 16));
}

HEARTH_NEON_FN inline int8x16_t S8(uint8x16_t v) { return vreinterpretq_s8_u8(v); }

// The 32 levels of a 32-element block: elements 0..15 and 16..31.
struct Levels32 {
  int8x16_t lo, hi;
};

// 16 packed nibbles: low nibbles are elements 0..15, high nibbles 16..31.
HEARTH_NEON_FN inline Levels32 Nibbles(const uint8_t* qs) {
  const uint8x16_t q = vld1q_u8(qs);
  return {S8(vandq_u8(q, vdupq_n_u8(0x0F))), S8(vshrq_n_u8(q, 4))};
}

// 0x10 in byte j where bit j of the little-endian 32-bit word at p is set (the fifth bit of
// Q5_0/Q5_1 levels), else 0.
HEARTH_NEON_FN inline Levels32 FifthBits(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  static constexpr uint8_t kByteOf[32] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3};
  static constexpr uint8_t kBit[16] = {1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128};
  const uint8x16_t bytes = vreinterpretq_u8_u32(vdupq_n_u32(bits));
  const uint8x16_t bit = vld1q_u8(kBit), b16 = vdupq_n_u8(0x10);
  const uint8x16_t lo = vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kByteOf)), bit);
  const uint8x16_t hi = vtstq_u8(vqtbl1q_u8(bytes, vld1q_u8(kByteOf + 16)), bit);
  return {S8(vandq_u8(lo, b16)), S8(vandq_u8(hi, b16))};
}

// ---- Float rows -------------------------------------------------------------------------------

struct F32Elems {
  using Elem = float;
  HEARTH_NEON_FN static float32x4_t Load4(const float* p) { return vld1q_f32(p); }
  HEARTH_NEON_FN static float Load1(const float* p) { return *p; }
};
// F16 rows are widened to F32 (exact) and multiplied in F32: F16 arithmetic (FMLA .8h) would round
// every product and partial sum to 11 bits, far outside the reference's accuracy.
struct F16Elems {
  using Elem = uint16_t;
  HEARTH_NEON_FN static float32x4_t Load4(const uint16_t* p) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
  }
  HEARTH_NEON_FN static float Load1(const uint16_t* p) { return F16(*p); }
};
struct BF16Elems {
  using Elem = uint16_t;
  HEARTH_NEON_FN static float32x4_t Load4(const uint16_t* p) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(p), 16));
  }
  HEARTH_NEON_FN static float Load1(const uint16_t* p) { return BitsToF32(uint32_t{*p} << 16); }
};

// Four F32 accumulators (16 elements a step), then 4-wide steps and a scalar tail.
template <typename E>
HEARTH_NEON_FN float DotFloat(const void* row, const void* act, int64_t n) {
  using Elem = typename E::Elem;
  const auto* w = static_cast<const Elem*>(row);
  const auto* x = static_cast<const Elem*>(act);
  float32x4_t acc0 = vdupq_n_f32(0.f), acc1 = acc0, acc2 = acc0, acc3 = acc0;
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = vfmaq_f32(acc0, E::Load4(w + i), E::Load4(x + i));
    acc1 = vfmaq_f32(acc1, E::Load4(w + i + 4), E::Load4(x + i + 4));
    acc2 = vfmaq_f32(acc2, E::Load4(w + i + 8), E::Load4(x + i + 8));
    acc3 = vfmaq_f32(acc3, E::Load4(w + i + 12), E::Load4(x + i + 12));
  }
  for (; i + 4 <= n; i += 4) acc0 = vfmaq_f32(acc0, E::Load4(w + i), E::Load4(x + i));
  float sum = vaddvq_f32(vaddq_f32(vaddq_f32(acc0, acc1), vaddq_f32(acc2, acc3)));
  for (; i < n; ++i) sum += E::Load1(w + i) * E::Load1(x + i);
  return sum;
}

// ---- 32-element blocks against Q8_0 / Q8_1 ----------------------------------------------------

// Per weight type: the block's levels (signed for the Q8_0 family, unsigned 0..31 for Q4_1/Q5_1;
// lut is the 16-entry table of the non-linear types) and its scale.
struct Q8_0Levels {
  using Block = BlockQ8_0;
  static constexpr const int8_t* kTable = nullptr;
  HEARTH_NEON_FN static Levels32 Get(const Block& b, int8x16_t) {
    return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16)};
  }
  HEARTH_NEON_FN static float Scale(const Block& b) { return F16(b.d); }
};
struct Q4_0Levels {
  using Block = BlockQ4_0;
  static constexpr const int8_t* kTable = nullptr;
  HEARTH_NEON_FN static Levels32 Get(const Block& b, int8x16_t) {
    const Levels32 u = Nibbles(b.qs);
    const int8x16_t eight = vdupq_n_s8(8);
    return {vsubq_s8(u.lo, eight), vsubq_s8(u.hi, eight)};
  }
  HEARTH_NEON_FN static float Scale(const Block& b) { return F16(b.d); }
};
struct Q5_0Levels {
  using Block = BlockQ5_0;
  static constexpr const int8_t* kTable = nullptr;
  HEARTH_NEON_FN static Levels32 Get(const Block& b, int8x16_t) {
    const Levels32 u = Nibbles(b.qs), h = FifthBits(b.qh);
    const int8x16_t sixteen = vdupq_n_s8(16);
    return {vsubq_s8(vorrq_s8(u.lo, h.lo), sixteen), vsubq_s8(vorrq_s8(u.hi, h.hi), sixteen)};
  }
  HEARTH_NEON_FN static float Scale(const Block& b) { return F16(b.d); }
};
struct IQ4_NLLevels {
  using Block = BlockIQ4_NL;
  static constexpr const int8_t* kTable = kIQ4NLValues;
  HEARTH_NEON_FN static Levels32 Get(const Block& b, int8x16_t lut) {
    const Levels32 u = Nibbles(b.qs);
    return {vqtbl1q_s8(lut, vreinterpretq_u8_s8(u.lo)), vqtbl1q_s8(lut, vreinterpretq_u8_s8(u.hi))};
  }
  HEARTH_NEON_FN static float Scale(const Block& b) { return F16(b.d); }
};
struct MXFP4Levels {
  using Block = BlockMXFP4;
  static constexpr const int8_t* kTable = kMXFP4Values;
  HEARTH_NEON_FN static Levels32 Get(const Block& b, int8x16_t lut) {
    const Levels32 u = Nibbles(b.qs);
    return {vqtbl1q_s8(lut, vreinterpretq_u8_s8(u.lo)), vqtbl1q_s8(lut, vreinterpretq_u8_s8(u.hi))};
  }
  HEARTH_NEON_FN static float Scale(const Block& b) { return E8M0ToF32Half(b.e); }
};
struct Q4_1Levels {
  using Block = BlockQ4_1;
  HEARTH_NEON_FN static Levels32 Get(const Block& b) { return Nibbles(b.qs); }
};
struct Q5_1Levels {
  using Block = BlockQ5_1;
  HEARTH_NEON_FN static Levels32 Get(const Block& b) {
    const Levels32 u = Nibbles(b.qs), h = FifthBits(b.qh);
    return {vorrq_s8(u.lo, h.lo), vorrq_s8(u.hi, h.hi)};
  }
};

template <typename Block>
HEARTH_NEON_FN inline const Block& BlockAt(const uint8_t* x0, int64_t stride, int k, int64_t i) {
  return reinterpret_cast<const Block*>(x0 + k * stride)[i];
}

// Block i of the weight row against block i of K activation rows (act + k·stride bytes).
template <typename L, int K>
HEARTH_NEON_FN inline void StepQ8_0(const typename L::Block& wb, const uint8_t* x0, int64_t stride,
                                    int64_t i, int8x16_t lut, float32x4_t* acc) {
  const Levels32 q = L::Get(wb, lut);
  const float dw = L::Scale(wb);
  for (int k = 0; k < K; ++k) {
    const BlockQ8_0& xb = BlockAt<BlockQ8_0>(x0, stride, k, i);
    acc[k] = vfmaq_n_f32(acc[k], vcvtq_f32_s32(Dot32(q.lo, q.hi, xb.qs)), dw * F16(xb.d));
  }
}

// One weight row against K activation rows: each block is unpacked once and reused for the K
// tokens; even and odd blocks go to separate accumulators (latency). Per token the operations are
// exactly those of K = 1, so the K-token results are bit-identical to the single-token dot.
template <typename L, int K>
HEARTH_NEON_FN void DotQ8_0ActN(const void* row, const void* act, int64_t stride, int64_t n,
                                float* out) {
  const auto* w = static_cast<const typename L::Block*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const int8x16_t lut = L::kTable != nullptr ? vld1q_s8(L::kTable) : vdupq_n_s8(0);
  float32x4_t acc0[K], acc1[K];
  for (int k = 0; k < K; ++k) acc0[k] = acc1[k] = vdupq_n_f32(0.f);
  const int64_t nb = n / kQK;
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    StepQ8_0<L, K>(w[i], x0, stride, i, lut, acc0);
    StepQ8_0<L, K>(w[i + 1], x0, stride, i + 1, lut, acc1);
  }
  if (i < nb) StepQ8_0<L, K>(w[i], x0, stride, i, lut, acc0);
  for (int k = 0; k < K; ++k) out[k] = vaddvq_f32(vaddq_f32(acc0[k], acc1[k]));
}

// Q4_1 / Q5_1 against Q8_1: unsigned levels, plus min × (d·Σq) of the activation block.
template <typename L, int K>
HEARTH_NEON_FN void DotQ8_1ActN(const void* row, const void* act, int64_t stride, int64_t n,
                                float* out) {
  const auto* w = static_cast<const typename L::Block*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  float32x4_t acc[K];
  float mins[K];
  for (int k = 0; k < K; ++k) {
    acc[k] = vdupq_n_f32(0.f);
    mins[k] = 0.f;
  }
  for (int64_t i = 0; i < n / kQK; ++i) {
    const Levels32 q = L::Get(w[i]);
    const float dw = F16(w[i].d), mw = F16(w[i].m);
    for (int k = 0; k < K; ++k) {
      const BlockQ8_1& xb = BlockAt<BlockQ8_1>(x0, stride, k, i);
      acc[k] = vfmaq_n_f32(acc[k], vcvtq_f32_s32(Dot32(q.lo, q.hi, xb.qs)), dw * F16(xb.d));
      mins[k] += mw * F16(xb.s);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = vaddvq_f32(acc[k]) + mins[k];
}

// ---- 256-element blocks against Q8_K ----------------------------------------------------------

// The 16 activation sums of 16 elements (BlockQ8_K::bsums), loaded from bytes: the packed struct
// gives the field no alignment.
HEARTH_NEON_FN inline void LoadBsums(const BlockQ8_K& x, int16x8_t* lo, int16x8_t* hi) {
  const auto* p = reinterpret_cast<const uint8_t*>(&x) + offsetof(BlockQ8_K, bsums);
  *lo = vreinterpretq_s16_u8(vld1q_u8(p));
  *hi = vreinterpretq_s16_u8(vld1q_u8(p + 16));
}

// Σ_j a[j]·b[j] over 8 int16 lanes, in int32.
HEARTH_NEON_FN inline int32_t Dot16x8(int16x8_t a, int16x8_t b) {
  return vaddvq_s32(vmlal_high_s16(vmull_s16(vget_low_s16(a), vget_low_s16(b)), a, b));
}

template <int K>
HEARTH_NEON_FN void DotQ2_KN(const void* row, const void* act, int64_t stride, int64_t n,
                             float* out) {
  const auto* w = static_cast<const BlockQ2_K*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const uint8x16_t m3 = vdupq_n_u8(3);
  const int32x4_t zero = vdupq_n_s32(0);
  float32x4_t acc[K];
  float mins[K];
  for (int k = 0; k < K; ++k) {
    acc[k] = vdupq_n_f32(0.f);
    mins[k] = 0.f;
  }
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* sc = w[i].scales;
    int32x4_t sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = zero;
    for (int half = 0; half < 2; ++half) {
      const uint8x16_t q0 = vld1q_u8(w[i].qs + 32 * half), q1 = vld1q_u8(w[i].qs + 32 * half + 16);
      for (int r = 0; r < 4; ++r) {
        const int8x16_t shift = vdupq_n_s8(static_cast<int8_t>(-2 * r));  // right shift by 2r
        const int8x16_t l0 = S8(vandq_u8(vshlq_u8(q0, shift), m3));
        const int8x16_t l1 = S8(vandq_u8(vshlq_u8(q1, shift), m3));
        const int s = 8 * half + 2 * r;
        const int32_t s0 = sc[s] & 15, s1 = sc[s + 1] & 15;
        for (int k = 0; k < K; ++k) {
          const int8_t* q8 = BlockAt<BlockQ8_K>(x0, stride, k, i).qs + 128 * half + 32 * r;
          sumi[k] = vmlaq_n_s32(sumi[k], DotI8(zero, l0, vld1q_s8(q8)), s0);
          sumi[k] = vmlaq_n_s32(sumi[k], DotI8(zero, l1, vld1q_s8(q8 + 16)), s1);
        }
      }
    }
    // The 16 mins (high nibbles of the scales) against the 16 activation sums.
    const uint8x16_t mn = vshrq_n_u8(vld1q_u8(sc), 4);
    const int16x8_t mn_lo = vreinterpretq_s16_u16(vmovl_u8(vget_low_u8(mn)));
    const int16x8_t mn_hi = vreinterpretq_s16_u16(vmovl_high_u8(mn));
    const float dw = F16(w[i].d), dminw = F16(w[i].dmin);
    for (int k = 0; k < K; ++k) {
      const BlockQ8_K& xb = BlockAt<BlockQ8_K>(x0, stride, k, i);
      int16x8_t b_lo, b_hi;
      LoadBsums(xb, &b_lo, &b_hi);
      const int32_t summs = Dot16x8(b_lo, mn_lo) + Dot16x8(b_hi, mn_hi);
      acc[k] = vfmaq_n_f32(acc[k], vcvtq_f32_s32(sumi[k]), xb.d * dw);
      mins[k] += xb.d * dminw * static_cast<float>(summs);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = vaddvq_f32(acc[k]) - mins[k];
}

template <int K>
HEARTH_NEON_FN void DotQ3_KN(const void* row, const void* act, int64_t stride, int64_t n,
                             float* out) {
  const auto* w = static_cast<const BlockQ3_K*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const uint8x16_t m3 = vdupq_n_u8(3), four = vdupq_n_u8(4);
  const int32x4_t zero = vdupq_n_s32(0);
  float32x4_t acc[K];
  for (int k = 0; k < K; ++k) acc[k] = vdupq_n_f32(0.f);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int8_t sc[16];
    UnpackScalesQ3K(w[i].scales, sc);
    const uint8x16_t hm0 = vld1q_u8(w[i].hmask), hm1 = vld1q_u8(w[i].hmask + 16);
    int32x4_t sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = zero;
    for (int half = 0; half < 2; ++half) {
      const uint8x16_t q0 = vld1q_u8(w[i].qs + 32 * half), q1 = vld1q_u8(w[i].qs + 32 * half + 16);
      for (int r = 0; r < 4; ++r) {
        const int8x16_t shift = vdupq_n_s8(static_cast<int8_t>(-2 * r));
        const uint8x16_t bit = vdupq_n_u8(static_cast<uint8_t>(1 << (4 * half + r)));
        // Level = low 2 bits − 4 where the hmask bit is clear.
        const int8x16_t l0 = vsubq_s8(S8(vandq_u8(vshlq_u8(q0, shift), m3)),
                                      S8(vbicq_u8(four, vtstq_u8(hm0, bit))));
        const int8x16_t l1 = vsubq_s8(S8(vandq_u8(vshlq_u8(q1, shift), m3)),
                                      S8(vbicq_u8(four, vtstq_u8(hm1, bit))));
        const int s = 8 * half + 2 * r;
        for (int k = 0; k < K; ++k) {
          const int8_t* q8 = BlockAt<BlockQ8_K>(x0, stride, k, i).qs + 128 * half + 32 * r;
          sumi[k] = vmlaq_n_s32(sumi[k], DotI8(zero, l0, vld1q_s8(q8)), sc[s]);
          sumi[k] = vmlaq_n_s32(sumi[k], DotI8(zero, l1, vld1q_s8(q8 + 16)), sc[s + 1]);
        }
      }
    }
    const float dw = F16(w[i].d);
    for (int k = 0; k < K; ++k) {
      const float dx = BlockAt<BlockQ8_K>(x0, stride, k, i).d;
      acc[k] = vfmaq_n_f32(acc[k], vcvtq_f32_s32(sumi[k]), dw * dx);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = vaddvq_f32(acc[k]);
}

// Q4_K and Q5_K (kHasHigh): per 64 elements one 32-byte run of nibbles, low nibbles one 32-element
// sub-block and high nibbles the next, each with its 6-bit scale; mins through the bsums.
template <typename Block, bool kHasHigh, int K>
HEARTH_NEON_FN void DotScaleMinKN(const void* row, const void* act, int64_t stride, int64_t n,
                                  float* out) {
  const auto* w = static_cast<const Block*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const uint8x16_t m4 = vdupq_n_u8(0x0F), b16 = vdupq_n_u8(0x10);
  float32x4_t acc[K];
  float mins[K];
  for (int k = 0; k < K; ++k) {
    acc[k] = vdupq_n_f32(0.f);
    mins[k] = 0.f;
  }
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    uint8_t sc[8], mn[8];
    for (int j = 0; j < 8; ++j) UnpackScaleMinK4(j, w[i].scales, &sc[j], &mn[j]);
    uint8x16_t h0 = vdupq_n_u8(0), h1 = h0;
    if constexpr (kHasHigh) {
      h0 = vld1q_u8(w[i].qh);
      h1 = vld1q_u8(w[i].qh + 16);
    }
    int32x4_t sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = vdupq_n_s32(0);
    for (int c = 0; c < 4; ++c) {
      const uint8x16_t a = vld1q_u8(w[i].qs + 32 * c), b = vld1q_u8(w[i].qs + 32 * c + 16);
      uint8x16_t lo_a = vandq_u8(a, m4), lo_b = vandq_u8(b, m4);
      uint8x16_t hi_a = vshrq_n_u8(a, 4), hi_b = vshrq_n_u8(b, 4);
      if constexpr (kHasHigh) {
        const uint8x16_t bit_lo = vdupq_n_u8(static_cast<uint8_t>(1 << (2 * c)));
        const uint8x16_t bit_hi = vdupq_n_u8(static_cast<uint8_t>(2 << (2 * c)));
        lo_a = vorrq_u8(lo_a, vandq_u8(vtstq_u8(h0, bit_lo), b16));
        lo_b = vorrq_u8(lo_b, vandq_u8(vtstq_u8(h1, bit_lo), b16));
        hi_a = vorrq_u8(hi_a, vandq_u8(vtstq_u8(h0, bit_hi), b16));
        hi_b = vorrq_u8(hi_b, vandq_u8(vtstq_u8(h1, bit_hi), b16));
      }
      for (int k = 0; k < K; ++k) {
        const int8_t* q8 = BlockAt<BlockQ8_K>(x0, stride, k, i).qs + 64 * c;
        sumi[k] = vmlaq_n_s32(sumi[k], Dot32(S8(lo_a), S8(lo_b), q8), sc[2 * c]);
        sumi[k] = vmlaq_n_s32(sumi[k], Dot32(S8(hi_a), S8(hi_b), q8 + 32), sc[2 * c + 1]);
      }
    }
    const int16x8_t mins16 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mn)));
    const float dw = F16(w[i].d), dminw = F16(w[i].dmin);
    for (int k = 0; k < K; ++k) {
      const BlockQ8_K& xb = BlockAt<BlockQ8_K>(x0, stride, k, i);
      int16x8_t b_lo, b_hi;
      LoadBsums(xb, &b_lo, &b_hi);
      // Sums of 32 activations: pairs of the 16-element sums (|Σ| ≤ 32·127 fits int16).
      const int32_t summs = Dot16x8(vpaddq_s16(b_lo, b_hi), mins16);
      acc[k] = vfmaq_n_f32(acc[k], vcvtq_f32_s32(sumi[k]), dw * xb.d);
      mins[k] += dminw * xb.d * static_cast<float>(summs);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = vaddvq_f32(acc[k]) - mins[k];
}

template <int K>
HEARTH_NEON_FN void DotQ6_KN(const void* row, const void* act, int64_t stride, int64_t n,
                             float* out) {
  const auto* w = static_cast<const BlockQ6_K*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const uint8x16_t m4 = vdupq_n_u8(0x0F), m30 = vdupq_n_u8(0x30);
  const int8x16_t m32 = vdupq_n_s8(32);
  const int32x4_t zero = vdupq_n_s32(0);
  float32x4_t acc[K];
  for (int k = 0; k < K; ++k) acc[k] = vdupq_n_f32(0.f);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int32x4_t sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = zero;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = w[i].ql + 64 * half;
      const uint8_t* qh = w[i].qh + 32 * half;
      const int8_t* sc = w[i].scales + 8 * half;
      uint8x16_t l[4], h[2];
      for (int j = 0; j < 4; ++j) l[j] = vld1q_u8(ql + 16 * j);
      for (int j = 0; j < 2; ++j) h[j] = vld1q_u8(qh + 16 * j);
      // Run r (32 elements, two 16-element sub-blocks g): low 4 bits from ql (low nibbles of bytes
      // 0..31 for r = 0, of 32..63 for r = 1, high nibbles for r = 2, 3), high 2 bits from qh at
      // bit 2r; minus 32.
      for (int r = 0; r < 4; ++r) {
        for (int g = 0; g < 2; ++g) {
          const uint8x16_t lq = l[2 * (r & 1) + g];
          const uint8x16_t low = r < 2 ? vandq_u8(lq, m4) : vshrq_n_u8(lq, 4);
          const uint8x16_t high =
              vandq_u8(vshlq_u8(h[g], vdupq_n_s8(static_cast<int8_t>(4 - 2 * r))), m30);
          const int8x16_t q = vsubq_s8(S8(vorrq_u8(low, high)), m32);
          const int32_t scale = sc[2 * r + g];
          for (int k = 0; k < K; ++k) {
            const int8_t* q8 = BlockAt<BlockQ8_K>(x0, stride, k, i).qs + 128 * half + 32 * r;
            sumi[k] = vmlaq_n_s32(sumi[k], DotI8(zero, q, vld1q_s8(q8 + 16 * g)), scale);
          }
        }
      }
    }
    const float dw = F16(w[i].d);
    for (int k = 0; k < K; ++k) {
      const float dx = BlockAt<BlockQ8_K>(x0, stride, k, i).d;
      acc[k] = vfmaq_n_f32(acc[k], vcvtq_f32_s32(sumi[k]), dw * dx);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = vaddvq_f32(acc[k]);
}

template <int K>
HEARTH_NEON_FN void DotIQ4_XSN(const void* row, const void* act, int64_t stride, int64_t n,
                               float* out) {
  const auto* w = static_cast<const BlockIQ4_XS*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const int8x16_t lut = vld1q_s8(kIQ4NLValues);
  float32x4_t acc[K];
  for (int k = 0; k < K; ++k) acc[k] = vdupq_n_f32(0.f);
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int32x4_t sumi[K];
    for (int k = 0; k < K; ++k) sumi[k] = vdupq_n_s32(0);
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = ((w[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 15) |
                     (((w[i].scales_h >> (2 * ib)) & 3) << 4);
      const Levels32 u = Nibbles(w[i].qs + 16 * ib);
      const int8x16_t lo = vqtbl1q_s8(lut, vreinterpretq_u8_s8(u.lo));
      const int8x16_t hi = vqtbl1q_s8(lut, vreinterpretq_u8_s8(u.hi));
      for (int k = 0; k < K; ++k) {
        const int8_t* q8 = BlockAt<BlockQ8_K>(x0, stride, k, i).qs + 32 * ib;
        sumi[k] = vmlaq_n_s32(sumi[k], Dot32(lo, hi, q8), ls - 32);
      }
    }
    const float dw = F16(w[i].d);
    for (int k = 0; k < K; ++k) {
      const float dx = BlockAt<BlockQ8_K>(x0, stride, k, i).d;
      acc[k] = vfmaq_n_f32(acc[k], vcvtq_f32_s32(sumi[k]), dw * dx);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = vaddvq_f32(acc[k]);
}

// ---- Entry points: K = 1 and K = 4 of each kernel ---------------------------------------------

template <void (*Fn)(const void*, const void*, int64_t, int64_t, float*)>
HEARTH_NEON_FN float One(const void* row, const void* act, int64_t n) {
  float out;
  Fn(row, act, 0, n, &out);
  return out;
}

}  // namespace

VecDotFn VecDot(gguf::TensorType t) {
  switch (t) {
#if !HEARTH_NEON_DOTPROD  // float rows: no integer products for SDOT to speed up
    case T::kF32: return DotFloat<F32Elems>;
    case T::kF16: return DotFloat<F16Elems>;
    case T::kBF16: return DotFloat<BF16Elems>;
#endif
    case T::kQ8_0: return One<DotQ8_0ActN<Q8_0Levels, 1>>;
    case T::kQ4_0: return One<DotQ8_0ActN<Q4_0Levels, 1>>;
    case T::kQ5_0: return One<DotQ8_0ActN<Q5_0Levels, 1>>;
    case T::kIQ4_NL: return One<DotQ8_0ActN<IQ4_NLLevels, 1>>;
    case T::kMXFP4: return One<DotQ8_0ActN<MXFP4Levels, 1>>;
    case T::kQ4_1: return One<DotQ8_1ActN<Q4_1Levels, 1>>;
    case T::kQ5_1: return One<DotQ8_1ActN<Q5_1Levels, 1>>;
    case T::kQ2_K: return One<DotQ2_KN<1>>;
    case T::kQ3_K: return One<DotQ3_KN<1>>;
    case T::kQ4_K: return One<DotScaleMinKN<BlockQ4_K, false, 1>>;
    case T::kQ5_K: return One<DotScaleMinKN<BlockQ5_K, true, 1>>;
    case T::kQ6_K: return One<DotQ6_KN<1>>;
    case T::kIQ4_XS: return One<DotIQ4_XSN<1>>;
    default: return nullptr;
  }
}

VecDot4Fn VecDot4(gguf::TensorType t) {
  switch (t) {
    case T::kQ8_0: return DotQ8_0ActN<Q8_0Levels, 4>;
    case T::kQ4_0: return DotQ8_0ActN<Q4_0Levels, 4>;
    case T::kQ5_0: return DotQ8_0ActN<Q5_0Levels, 4>;
    case T::kIQ4_NL: return DotQ8_0ActN<IQ4_NLLevels, 4>;
    case T::kMXFP4: return DotQ8_0ActN<MXFP4Levels, 4>;
    case T::kQ4_1: return DotQ8_1ActN<Q4_1Levels, 4>;
    case T::kQ5_1: return DotQ8_1ActN<Q5_1Levels, 4>;
    case T::kQ2_K: return DotQ2_KN<4>;
    case T::kQ3_K: return DotQ3_KN<4>;
    case T::kQ4_K: return DotScaleMinKN<BlockQ4_K, false, 4>;
    case T::kQ5_K: return DotScaleMinKN<BlockQ5_K, true, 4>;
    case T::kQ6_K: return DotQ6_KN<4>;
    case T::kIQ4_XS: return DotIQ4_XSN<4>;
    default: return nullptr;
  }
}

}  // namespace hearth::kernels::HEARTH_NEON_NS
