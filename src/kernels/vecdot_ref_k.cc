// Scalar reference dot products of the 256-element types against Q8_K activations: per
// super-block an integer sum of (sub-block scale × Σ q_w·q_x), times d_w·d_x; the mins of Q2_K,
// Q4_K and Q5_K are subtracted through the activation's 16-element sums (bsums).
#include "core/fp16.h"
#include "kernels/blocks.h"
#include "kernels/impl.h"

namespace hearth::kernels::ref {

float DotQ2_K(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const BlockQ2_K*>(row);
  const auto* x = static_cast<const BlockQ8_K*>(act);
  float sum = 0.f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int summs = 0;
    for (int j = 0; j < 16; ++j) summs += x[i].bsums[j] * (w[i].scales[j] >> 4);
    int isum = 0;
    const uint8_t* q = w[i].qs;
    const int8_t* q8 = x[i].qs;
    int is = 0;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int g = 0; g < 2; ++g) {
          int s = 0;
          for (int l = 16 * g; l < 16 * g + 16; ++l) s += ((q[l] >> shift) & 3) * q8[l - 16 * g];
          isum += s * (w[i].scales[is++] & 15);
          q8 += 16;
        }
      }
    }
    const float dall = x[i].d * F16ToF32(w[i].d);
    const float dmin = x[i].d * F16ToF32(w[i].dmin);
    sum += dall * static_cast<float>(isum) - dmin * static_cast<float>(summs);
  }
  return sum;
}

float DotQ3_K(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const BlockQ3_K*>(row);
  const auto* x = static_cast<const BlockQ8_K*>(act);
  float sum = 0.f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int8_t scales[16];
    UnpackScalesQ3K(w[i].scales, scales);
    const uint8_t* q = w[i].qs;
    const int8_t* q8 = x[i].qs;
    int isum = 0, is = 0;
    uint8_t m = 1;
    for (int half = 0; half < 2; ++half, q += 32) {
      for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
        for (int g = 0; g < 2; ++g) {
          int s = 0;
          for (int l = 16 * g; l < 16 * g + 16; ++l) {
            const int v = ((q[l] >> shift) & 3) - ((w[i].hmask[l] & m) ? 0 : 4);
            s += v * q8[l - 16 * g];
          }
          isum += s * scales[is++];
          q8 += 16;
        }
      }
    }
    sum += (F16ToF32(w[i].d) * x[i].d) * static_cast<float>(isum);
  }
  return sum;
}

namespace {

// Shared by Q4_K and Q5_K: qh == nullptr for Q4_K.
float DotScaleMinK(const uint16_t d16, const uint16_t dmin16, const uint8_t* scales,
                   const uint8_t* qs, const uint8_t* qh, const BlockQ8_K& x) {
  int isum = 0, summs = 0;
  const int8_t* q8 = x.qs;
  for (int c = 0; c < 4; ++c, qs += 32) {
    for (int k = 0; k < 2; ++k, q8 += 32) {
      const int sub = 2 * c + k;
      uint8_t sc, mn;
      UnpackScaleMinK4(sub, scales, &sc, &mn);
      int s = 0;
      for (int l = 0; l < 32; ++l) {
        int v = k == 0 ? (qs[l] & 15) : (qs[l] >> 4);
        if (qh != nullptr && (qh[l] & (1 << sub))) v += 16;
        s += v * q8[l];
      }
      isum += s * sc;
      summs += (x.bsums[2 * sub] + x.bsums[2 * sub + 1]) * mn;
    }
  }
  const float d = F16ToF32(d16) * x.d, dmin = F16ToF32(dmin16) * x.d;
  return d * static_cast<float>(isum) - dmin * static_cast<float>(summs);
}

}  // namespace

float DotQ4_K(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const BlockQ4_K*>(row);
  const auto* x = static_cast<const BlockQ8_K*>(act);
  float sum = 0.f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    sum += DotScaleMinK(w[i].d, w[i].dmin, w[i].scales, w[i].qs, nullptr, x[i]);
  }
  return sum;
}

float DotQ5_K(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const BlockQ5_K*>(row);
  const auto* x = static_cast<const BlockQ8_K*>(act);
  float sum = 0.f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    sum += DotScaleMinK(w[i].d, w[i].dmin, w[i].scales, w[i].qs, w[i].qh, x[i]);
  }
  return sum;
}

float DotQ6_K(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const BlockQ6_K*>(row);
  const auto* x = static_cast<const BlockQ8_K*>(act);
  float sum = 0.f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* ql = w[i].ql;
    const uint8_t* qh = w[i].qh;
    const int8_t* sc = w[i].scales;
    const int8_t* q8 = x[i].qs;
    int isum = 0;
    for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, q8 += 128) {
      int s[8] = {};  // per 16-element sub-block of this half
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        s[is] += q1 * q8[l];
        s[is + 2] += q2 * q8[l + 32];
        s[is + 4] += q3 * q8[l + 64];
        s[is + 6] += q4 * q8[l + 96];
      }
      for (int k = 0; k < 8; ++k) isum += s[k] * sc[k];
    }
    sum += (F16ToF32(w[i].d) * x[i].d) * static_cast<float>(isum);
  }
  return sum;
}

float DotIQ4_XS(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const BlockIQ4_XS*>(row);
  const auto* x = static_cast<const BlockQ8_K*>(act);
  float sum = 0.f;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    int isum = 0;
    for (int ib = 0; ib < 8; ++ib) {
      const int ls = ((w[i].scales_l[ib / 2] >> (4 * (ib % 2))) & 15) |
                     (((w[i].scales_h >> (2 * ib)) & 3) << 4);
      const uint8_t* qs = w[i].qs + 16 * ib;
      const int8_t* q8 = x[i].qs + 32 * ib;
      int s = 0;
      for (int j = 0; j < 16; ++j) {
        s += kIQ4NLValues[qs[j] & 15] * q8[j] + kIQ4NLValues[qs[j] >> 4] * q8[j + 16];
      }
      isum += s * (ls - 32);
    }
    sum += (F16ToF32(w[i].d) * x[i].d) * static_cast<float>(isum);
  }
  return sum;
}

}  // namespace hearth::kernels::ref
