// Reference quantizers of the non-linear 4-bit types IQ4_NL (blocks of 32, one F16 scale) and
// IQ4_XS (super-blocks of 256: F16 scale of eight 6-bit sub-block scales). Method as ggml's
// quantize_iq4_nl_impl without an importance matrix: weights x², a first scale that maps the
// extreme element onto the grid's end, then a search over nearby scales keeping the one with the
// best weighted least-squares fit.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/blocks.h"
#include "kernels/impl.h"

namespace hearth::kernels::ref {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // blocks whose absmax is below this quantize to zero
constexpr int kScaleTries = 7;          // scales tried on each side of the first guess

// Index of the grid value nearest to v (the grid is sorted ascending).
int NearestIQ4(float v) {
  if (v <= kIQ4NLValues[0]) return 0;
  if (v >= kIQ4NLValues[15]) return 15;
  int k = 0;
  while (kIQ4NLValues[k + 1] < v) ++k;
  return (v - kIQ4NLValues[k] < kIQ4NLValues[k + 1] - v) ? k : k + 1;
}

// Best scale for the 32 values x (grid indices to L); 0 for an all-zero block.
float FitBlockIQ4(const float* x, uint8_t* L) {
  float max = 0.f, amax = 0.f;
  for (int j = 0; j < kQK; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, kQK);
    return 0.f;
  }
  auto fit = [&](float id, float* sumqx, float* sumq2, uint8_t* out) {
    *sumqx = 0.f;
    *sumq2 = 0.f;
    for (int j = 0; j < kQK; ++j) {
      const int l = NearestIQ4(id * x[j]);
      out[j] = static_cast<uint8_t>(l);
      const float q = kIQ4NLValues[l], w = x[j] * x[j];
      *sumqx += w * q * x[j];
      *sumq2 += w * q * q;
    }
  };
  float sumqx, sumq2;
  fit(kIQ4NLValues[0] / max, &sumqx, &sumq2, L);  // extreme element onto −127
  float d = sumq2 > 0.f ? sumqx / sumq2 : 0.f;
  float best = d * sumqx;
  uint8_t trial[kQK];
  for (int itry = -kScaleTries; itry <= kScaleTries; ++itry) {
    fit((itry + kIQ4NLValues[0]) / max, &sumqx, &sumq2, trial);
    if (sumq2 > 0.f && sumqx * sumqx > best * sumq2) {
      d = sumqx / sumq2;
      best = d * sumqx;
      std::memcpy(L, trial, kQK);
    }
  }
  return d;
}

// Grid indices of x for the (final, rounded) scale d.
void IndicesForScale(const float* x, float d, uint8_t* L) {
  const float id = d != 0.f ? 1.f / d : 0.f;
  for (int j = 0; j < kQK; ++j) L[j] = static_cast<uint8_t>(NearestIQ4(id * x[j]));
}

void PackNibbles(const uint8_t* L, uint8_t* qs) {
  for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>(L[j] | (L[j + 16] << 4));
}

}  // namespace

void QuantizeIQ4_NL(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockIQ4_NL*>(dst);
  uint8_t L[kQK];
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = FitBlockIQ4(x, L);
    b[i].d = F32ToF16(d);
    IndicesForScale(x, F16ToF32(b[i].d), L);
    PackNibbles(L, b[i].qs);
  }
}

void QuantizeIQ4_XS(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockIQ4_XS*>(dst);
  uint8_t L[kQK];
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float scales[8];
    float max_scale = 0.f, amax_scale = 0.f;
    for (int ib = 0; ib < 8; ++ib) {
      scales[ib] = FitBlockIQ4(x + kQK * ib, L);
      if (std::fabs(scales[ib]) > amax_scale) {
        amax_scale = std::fabs(scales[ib]);
        max_scale = scales[ib];
      }
    }
    std::memset(&b[i], 0, sizeof(BlockIQ4_XS));
    const float d = -max_scale / 32.f;  // the largest-magnitude sub-block scale maps to l = −32
    b[i].d = F32ToF16(d);
    const float dd = F16ToF32(b[i].d);
    const float id = dd != 0.f ? 1.f / dd : 0.f;
    for (int ib = 0; ib < 8; ++ib) {
      const int l = std::clamp(NearestInt(id * scales[ib]), -32, 31);
      IndicesForScale(x + kQK * ib, dd * l, L);
      PackNibbles(L, b[i].qs + 16 * ib);
      const int ls = l + 32;
      b[i].scales_l[ib / 2] |= static_cast<uint8_t>((ls & 15) << (4 * (ib % 2)));
      b[i].scales_h |= static_cast<uint16_t>((ls >> 4) << (2 * ib));
    }
  }
}

}  // namespace hearth::kernels::ref
