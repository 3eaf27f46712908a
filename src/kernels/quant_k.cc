// Reference quantizers of the K-quants (super-blocks of 256), following the method of ggml's
// quantize_row_q{2..6}_K_ref: fit a scale (and min) per sub-block, quantize those scales against
// one F16 super-block scale, then re-quantize every element with its final rounded scale.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/blocks.h"
#include "kernels/impl.h"
#include "kernels/quant_k_fit.h"

namespace hearth::kernels::ref {
namespace {

// Packs 6-bit scale/min pair j of Q4_K/Q5_K (inverse of UnpackScaleMinK4).
void PackScaleMinK4(int j, int ls, int lm, uint8_t* s) {
  if (j < 4) {
    s[j] = static_cast<uint8_t>(ls);
    s[j + 4] = static_cast<uint8_t>(lm);
  } else {
    s[j + 4] = static_cast<uint8_t>((ls & 15) | ((lm & 15) << 4));
    s[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
    s[j] |= static_cast<uint8_t>((lm >> 4) << 6);
  }
}

// Shared by Q4_K (nmax 15) and Q5_K (nmax 31): 8 sub-blocks of 32 with 6-bit scales and mins.
// Writes the F16 d and dmin, the packed scales and the 256 levels L.
struct ScaleMinK {
  uint16_t d, dmin;
};
ScaleMinK QuantizeScaleMinK(const float* x, int nmax, float rmin, int nstep, uint8_t* packed,
                            uint8_t* L) {
  float scales[8], mins[8], weights[32];
  float max_scale = 0.f, max_min = 0.f;
  for (int j = 0; j < 8; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0.f;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = FitScaleMin(32, nmax, xs, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }
  const float inv_scale = max_scale > 0.f ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0.f ? 63.f / max_min : 0.f;
  std::memset(packed, 0, kQK_KScaleBytes);
  for (int j = 0; j < 8; ++j) {
    const int ls = std::min(63, NearestInt(inv_scale * scales[j]));
    const int lm = std::min(63, NearestInt(inv_min * mins[j]));
    PackScaleMinK4(j, ls, lm, packed);
  }
  const ScaleMinK out{F32ToF16(max_scale / 63.f), F32ToF16(max_min / 63.f)};
  const float d = F16ToF32(out.d), dmin = F16ToF32(out.dmin);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, mn;
    UnpackScaleMinK4(j, packed, &sc, &mn);
    const float dl = d * sc;
    if (dl == 0.f) continue;
    const float dm = dmin * mn;
    for (int l = 0; l < 32; ++l) {
      L[32 * j + l] = static_cast<uint8_t>(
          std::clamp(NearestInt((x[32 * j + l] + dm) / dl), 0, nmax));
    }
  }
  return out;
}

}  // namespace

void QuantizeQ4_K(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_K*>(dst);
  uint8_t L[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    const ScaleMinK s = QuantizeScaleMinK(x, 15, -1.f, 20, b[i].scales, L);
    b[i].d = s.d;
    b[i].dmin = s.dmin;
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        b[i].qs[32 * c + l] = static_cast<uint8_t>(L[64 * c + l] | (L[64 * c + 32 + l] << 4));
      }
    }
  }
}

void QuantizeQ5_K(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_K*>(dst);
  uint8_t L[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    const ScaleMinK s = QuantizeScaleMinK(x, 31, -0.5f, 15, b[i].scales, L);
    b[i].d = s.d;
    b[i].dmin = s.dmin;
    std::memset(b[i].qh, 0, sizeof(b[i].qh));
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = L[64 * c + l], hi = L[64 * c + 32 + l];
        b[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
        if (lo > 15) b[i].qh[l] |= static_cast<uint8_t>(1 << (2 * c));
        if (hi > 15) b[i].qh[l] |= static_cast<uint8_t>(2 << (2 * c));
      }
    }
  }
}

void QuantizeQ6_K(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ6_K*>(dst);
  uint8_t L[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float scales[16];
    float max_scale = 0.f, max_abs_scale = 0.f;
    for (int j = 0; j < 16; ++j) {
      scales[j] = FitScaleSymmetric(16, 32, x + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    if (max_abs_scale < 1e-15f) {
      std::memset(&b[i], 0, sizeof(BlockQ6_K));
      continue;
    }
    const float iscale = -128.f / max_scale;
    b[i].d = F32ToF16(1.f / iscale);
    for (int j = 0; j < 16; ++j) {
      b[i].scales[j] = static_cast<int8_t>(std::min(127, NearestInt(iscale * scales[j])));
    }
    const float d = F16ToF32(b[i].d);
    for (int j = 0; j < 16; ++j) {
      const float dl = d * b[i].scales[j];
      if (dl == 0.f) continue;
      for (int l = 0; l < 16; ++l) {
        L[16 * j + l] = static_cast<uint8_t>(
            std::clamp(NearestInt(x[16 * j + l] / dl), -32, 31) + 32);
      }
    }
    for (int half = 0; half < 2; ++half) {
      const uint8_t* Lh = L + 128 * half;
      uint8_t* ql = b[i].ql + 64 * half;
      uint8_t* qh = b[i].qh + 32 * half;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<uint8_t>((Lh[l] & 15) | ((Lh[l + 64] & 15) << 4));
        ql[l + 32] = static_cast<uint8_t>((Lh[l + 32] & 15) | ((Lh[l + 96] & 15) << 4));
        qh[l] = static_cast<uint8_t>((Lh[l] >> 4) | ((Lh[l + 32] >> 4) << 2) |
                                     ((Lh[l + 64] >> 4) << 4) | ((Lh[l + 96] >> 4) << 6));
      }
    }
  }
}

void QuantizeQ3_K(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ3_K*>(dst);
  uint8_t L[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    std::memset(&b[i], 0, sizeof(BlockQ3_K));
    float scales[16];
    float max_scale = 0.f, amax = 0.f;
    for (int j = 0; j < 16; ++j) {
      scales[j] = FitScaleQ3(16, 4, x + 16 * j, L + 16 * j);
      if (std::fabs(scales[j]) > amax) {
        amax = std::fabs(scales[j]);
        max_scale = scales[j];
      }
    }
    if (amax == 0.f) {
      // All scales zero: every level must read as 0 (q = 0 needs the high bit set, −4 otherwise).
      std::memset(b[i].hmask, 0xFF, sizeof(b[i].hmask));
      continue;
    }
    const float iscale = -32.f / max_scale;
    for (int j = 0; j < 16; ++j) {
      const int l = std::clamp(NearestInt(iscale * scales[j]), -32, 31) + 32;
      if (j < 8) {
        b[i].scales[j] = static_cast<uint8_t>(l & 15);
      } else {
        b[i].scales[j - 8] |= static_cast<uint8_t>((l & 15) << 4);
      }
      b[i].scales[8 + j % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (j / 4)));
    }
    b[i].d = F32ToF16(1.f / iscale);
    const float d = F16ToF32(b[i].d);
    int8_t sc[16];
    UnpackScalesQ3K(b[i].scales, sc);
    for (int j = 0; j < 16; ++j) {
      const float dl = d * sc[j];
      if (dl == 0.f) continue;
      for (int l = 0; l < 16; ++l) {
        L[16 * j + l] = static_cast<uint8_t>(
            std::clamp(NearestInt(x[16 * j + l] / dl), -4, 3) + 4);
      }
    }
    for (int j = 0; j < kQK_K; ++j) {
      // Element j: position j % 32 within its 32-group, high bit number j / 32.
      if (L[j] > 3) {
        b[i].hmask[j % 32] |= static_cast<uint8_t>(1 << (j / 32));
        L[j] -= 4;
      }
    }
    for (int half = 0; half < 2; ++half) {
      const uint8_t* Lh = L + 128 * half;
      for (int l = 0; l < 32; ++l) {
        b[i].qs[32 * half + l] = static_cast<uint8_t>(Lh[l] | (Lh[l + 32] << 2) |
                                                      (Lh[l + 64] << 4) | (Lh[l + 96] << 6));
      }
    }
  }
}

void QuantizeQ2_K(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ2_K*>(dst);
  uint8_t L[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float scales[16], mins[16], weights[16];
    float max_scale = 0.f, max_min = 0.f;
    for (int j = 0; j < 16; ++j) {
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * j + l]);
      scales[j] = FitScaleMin(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], -0.5f, 0.1f, 15,
                              true);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    const float inv_scale = max_scale > 0.f ? 15.f / max_scale : 0.f;
    const float inv_min = max_min > 0.f ? 15.f / max_min : 0.f;
    for (int j = 0; j < 16; ++j) {
      const int ls = std::min(15, NearestInt(inv_scale * scales[j]));
      const int lm = std::min(15, NearestInt(inv_min * mins[j]));
      b[i].scales[j] = static_cast<uint8_t>(ls | (lm << 4));
    }
    b[i].d = F32ToF16(max_scale / 15.f);
    b[i].dmin = F32ToF16(max_min / 15.f);
    const float d = F16ToF32(b[i].d), dmin = F16ToF32(b[i].dmin);
    for (int j = 0; j < 16; ++j) {
      const float dl = d * (b[i].scales[j] & 15);
      if (dl == 0.f) continue;
      const float dm = dmin * (b[i].scales[j] >> 4);
      for (int l = 0; l < 16; ++l) {
        L[16 * j + l] = static_cast<uint8_t>(
            std::clamp(NearestInt((x[16 * j + l] + dm) / dl), 0, 3));
      }
    }
    for (int half = 0; half < 2; ++half) {
      const uint8_t* Lh = L + 128 * half;
      for (int l = 0; l < 32; ++l) {
        b[i].qs[32 * half + l] = static_cast<uint8_t>(Lh[l] | (Lh[l + 32] << 2) |
                                                      (Lh[l + 64] << 4) | (Lh[l + 96] << 6));
      }
    }
  }
}

}  // namespace hearth::kernels::ref
