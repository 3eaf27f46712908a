// Reference quantizers of the 32-element block types and the float types, following the method of
// ggml's quantize_row_*_ref (written independently): a per-block absmax (or min/max) scale, then
// rounding. Q8_0 and Q8_1 weights use ggml's reference rounding, q = roundf(x·(1/d)); as
// activations (QuantizeQ8_0Act / QuantizeQ8_1Act) they round like llama.cpp's x86 SIMD
// from_float, q = nearest-even(x·127/amax), which is what the golden llama.cpp outputs were made
// with. Q8_K activations: nearest-even, clamped to 127 (spec §12a).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "kernels/blocks.h"
#include "kernels/impl.h"

namespace hearth::kernels::ref {
namespace {

// The element of largest magnitude (its sign kept) and that magnitude.
void SignedAbsMax(const float* x, int n, float* max, float* amax) {
  *max = 0.f;
  *amax = 0.f;
  for (int j = 0; j < n; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > *amax) {
      *amax = ax;
      *max = x[j];
    }
  }
}

void MinMax(const float* x, int n, float* mn, float* mx) {
  *mn = x[0];
  *mx = x[0];
  for (int j = 1; j < n; ++j) {
    *mn = std::min(*mn, x[j]);
    *mx = std::max(*mx, x[j]);
  }
}

void StoreU32(uint8_t* p, uint32_t v) {
  for (int k = 0; k < 4; ++k) p[k] = static_cast<uint8_t>(v >> (8 * k));
}

}  // namespace

void QuantizeF32(const float* x, void* dst, int64_t n) { std::memcpy(dst, x, n * sizeof(float)); }

void QuantizeF16(const float* x, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = F32ToF16(x[i]);
}

void QuantizeBF16(const float* x, void* dst, int64_t n) {
  auto* h = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) h[i] = F32ToBF16(x[i]);
}

void QuantizeQ8_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0.f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    b[i].d = F32ToF16(d);
    for (int j = 0; j < kQK; ++j) b[i].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
  }
}

void QuantizeQ8_1(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0.f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      b[i].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
      sum += b[i].qs[j];
    }
    b[i].d = F32ToF16(d);
    b[i].s = F32ToF16(static_cast<float>(sum) * d);
  }
}

// Activation blocks the way llama.cpp's AVX2/AVX-512 quantize_row_q8_0/q8_1 make them: the levels
// are nearest-even(x · 127/amax) (the SIMD code multiplies by 127/amax and rounds with the default
// rounding mode), d = amax/127 stored as F16. The golden llama.cpp outputs match this exactly.
static int QuantizeBlockAct(const float* x, float* d_out, int8_t* qs) {
  float amax = 0.f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float id = amax != 0.f ? 127.f / amax : 0.f;
  int sum = 0;
  for (int j = 0; j < kQK; ++j) {
    qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
    sum += qs[j];
  }
  *d_out = amax / 127.f;
  return sum;
}

void QuantizeQ8_0Act(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float d;
    QuantizeBlockAct(x, &d, b[i].qs);
    b[i].d = F32ToF16(d);
  }
}

void QuantizeQ8_1Act(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float d;
    const int sum = QuantizeBlockAct(x, &d, b[i].qs);
    b[i].d = F32ToF16(d);
    b[i].s = F32ToF16(static_cast<float>(sum) * d);
  }
}

void QuantizeQ8_K(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ8_K*>(dst);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float max, amax;
    SignedAbsMax(x, kQK_K, &max, &amax);
    if (amax == 0.f) {
      std::memset(&b[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j) {
      b[i].qs[j] = static_cast<int8_t>(std::min(127, NearestInt(iscale * x[j])));
    }
    for (int g = 0; g < kQK_K / 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += b[i].qs[16 * g + j];
      b[i].bsums[g] = static_cast<int16_t>(sum);
    }
    b[i].d = 1.f / iscale;
  }
}

void QuantizeQ4_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float max, amax;
    SignedAbsMax(x, kQK, &max, &amax);
    const float d = max / -8.f;  // the extreme element maps to −8, the others fit in [−8, 7]
    const float id = d != 0.f ? 1.f / d : 0.f;
    b[i].d = F32ToF16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(15, static_cast<int>(x[j] * id + 8.5f));
      const int hi = std::min(15, static_cast<int>(x[j + 16] * id + 8.5f));
      b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void QuantizeQ4_1(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ4_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float mn, mx;
    MinMax(x, kQK, &mn, &mx);
    const float d = (mx - mn) / 15.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    b[i].d = F32ToF16(d);
    b[i].m = F32ToF16(mn);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(15, static_cast<int>((x[j] - mn) * id + 0.5f));
      const int hi = std::min(15, static_cast<int>((x[j + 16] - mn) * id + 0.5f));
      b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void QuantizeQ5_0(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_0*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float max, amax;
    SignedAbsMax(x, kQK, &max, &amax);
    const float d = max / -16.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    b[i].d = F32ToF16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(31, static_cast<int>(x[j] * id + 16.5f));
      const int hi = std::min(31, static_cast<int>(x[j + 16] * id + 16.5f));
      b[i].qs[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + 16);
    }
    StoreU32(b[i].qh, qh);
  }
}

void QuantizeQ5_1(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockQ5_1*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float mn, mx;
    MinMax(x, kQK, &mn, &mx);
    const float d = (mx - mn) / 31.f;
    const float id = d != 0.f ? 1.f / d : 0.f;
    b[i].d = F32ToF16(d);
    b[i].m = F32ToF16(mn);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(31, static_cast<int>((x[j] - mn) * id + 0.5f));
      const int hi = std::min(31, static_cast<int>((x[j + 16] - mn) * id + 0.5f));
      b[i].qs[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + 16);
    }
    StoreU32(b[i].qh, qh);
  }
}

void QuantizeMXFP4(const float* x, void* dst, int64_t n) {
  auto* b = static_cast<BlockMXFP4*>(dst);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0.f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    // Shared exponent so that amax lands in [8, 16) units of the doubled table (ggml's choice;
    // values above 12 units clamp to ±12).
    int e = amax > 0.f ? static_cast<int>(std::floor(std::log2(amax))) - 2 + 127 : 0;
    e = std::clamp(e, 0, 255);
    b[i].e = static_cast<uint8_t>(e);
    const float d = E8M0ToF32Half(b[i].e);
    const float id = d > 0.f ? 1.f / d : 0.f;
    auto nearest = [&](float v) {
      const float u = v * id;
      int best = 0;
      float best_err = std::fabs(u - kMXFP4Values[0]);
      for (int k = 1; k < 16; ++k) {
        const float err = std::fabs(u - kMXFP4Values[k]);
        if (err < best_err) {
          best_err = err;
          best = k;
        }
      }
      return best;
    };
    for (int j = 0; j < kQK / 2; ++j) {
      b[i].qs[j] = static_cast<uint8_t>(nearest(x[j]) | (nearest(x[j + 16]) << 4));
    }
  }
}

}  // namespace hearth::kernels::ref
