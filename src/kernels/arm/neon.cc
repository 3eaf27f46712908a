// Plain NEON kernels (every AArch64 CPU): the dot products of neon-inl.h with widening multiplies,
// the float-row dots, and the activation converters to Q8_0, Q8_1, Q8_K and F16, byte-identical to
// the scalar ref::ActivationQuantizer (the same F32 operations per element; FCVTNS rounds to
// nearest even as nearbyint does under the default rounding mode).
#include "kernels/impl.h"

#if defined(__aarch64__) && !defined(__ARM_BIG_ENDIAN)

#include <cmath>
#include <cstring>

#if defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

#define HEARTH_NEON_NS neon
#define HEARTH_NEON_FN
#define HEARTH_NEON_DOTPROD 0
#include "kernels/arm/neon-inl.h"

namespace hearth::kernels::neon {
namespace {

// 32 int32 lanes (eight vectors, element order) → 32 int8 at out (the values fit).
inline void Narrow32(const int32x4_t* q, int8_t* out) {
  for (int h = 0; h < 2; ++h) {
    const int16x8_t a = vcombine_s16(vmovn_s32(q[4 * h]), vmovn_s32(q[4 * h + 1]));
    const int16x8_t b = vcombine_s16(vmovn_s32(q[4 * h + 2]), vmovn_s32(q[4 * h + 3]));
    vst1q_s8(out + 16 * h, vcombine_s8(vmovn_s16(a), vmovn_s16(b)));
  }
}

// max |x_j| over n (a multiple of 4) floats. FMAXNM skips NaNs as std::max(amax, |x|) does.
inline float AbsMax(const float* x, int n) {
  float32x4_t m = vdupq_n_f32(0.f);
  for (int j = 0; j < n; j += 4) m = vmaxnmq_f32(m, vabsq_f32(vld1q_f32(x + j)));
  return vmaxnmvq_f32(m);
}

// One 32-element block as the reference's QuantizeBlockAct: levels nearest-even(x·(127/amax)),
// *d_out = amax/127; returns Σq.
inline int QuantizeBlock32(const float* x, float* d_out, int8_t* qs) {
  const float amax = AbsMax(x, kQK);
  const float id = amax != 0.f ? 127.f / amax : 0.f;
  int32x4_t q[8];
  int32x4_t sum = vdupq_n_s32(0);
  for (int k = 0; k < 8; ++k) {
    q[k] = vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + 4 * k), id));
    sum = vaddq_s32(sum, q[k]);
  }
  Narrow32(q, qs);
  *d_out = amax / 127.f;
  return vaddvq_s32(sum);
}

void QuantizeQ8_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float d;
    QuantizeBlock32(x, &d, b[i].qs);
    b[i].d = F32ToF16(d);
  }
}

void QuantizeQ8_1(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float d;
    const int sum = QuantizeBlock32(x, &d, b[i].qs);
    b[i].d = F32ToF16(d);
    b[i].s = F32ToF16(static_cast<float>(sum) * d);
  }
}

void QuantizeQ8_K(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    const float amax = AbsMax(x, kQK_K);
    if (amax == 0.f) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    // The reference keeps the first element of largest magnitude (with its sign).
    int first = 0;
    while (std::fabs(x[first]) != amax) ++first;
    const float iscale = -127.f / x[first];
    const int32x4_t max127 = vdupq_n_s32(127);
    for (int j = 0; j < kQK_K; j += kQK) {
      int32x4_t q[8];
      for (int k = 0; k < 8; ++k) {
        q[k] = vminq_s32(vcvtnq_s32_f32(vmulq_n_f32(vld1q_f32(x + j + 4 * k), iscale)), max127);
      }
      Narrow32(q, b[i].qs + j);
    }
    for (int g = 0; g < kQK_K / 16; ++g) b[i].bsums[g] = vaddlvq_s8(vld1q_s8(b[i].qs + 16 * g));
    b[i].d = 1.f / iscale;
  }
}

// FCVTN rounds to nearest even (the default FPCR mode) and makes subnormals and infinities as
// F32ToF16 does.
void QuantizeF16(const float* x, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    vst1_u16(h + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  }
  for (; i < n; ++i) h[i] = F32ToF16(x[i]);
}

}  // namespace

bool Usable() {
#if defined(__linux__)
  static const bool usable = (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
  return usable;
#else
  return true;  // Advanced SIMD is part of the AArch64 ABIs (Apple, Windows) without getauxval
#endif
}

QuantizeFn ActivationQuantizer(gguf::TensorType act_type) {
  switch (act_type) {
    case T::kQ8_0: return QuantizeQ8_0;
    case T::kQ8_1: return QuantizeQ8_1;
    case T::kQ8_K: return QuantizeQ8_K;
    case T::kF16: return QuantizeF16;
    default: return nullptr;
  }
}

}  // namespace hearth::kernels::neon

#else  // not little-endian AArch64: no NEON kernels

namespace hearth::kernels::neon {
bool Usable() { return false; }
VecDotFn VecDot(gguf::TensorType) { return nullptr; }
VecDot4Fn VecDot4(gguf::TensorType) { return nullptr; }
QuantizeFn ActivationQuantizer(gguf::TensorType) { return nullptr; }
}  // namespace hearth::kernels::neon

#endif
