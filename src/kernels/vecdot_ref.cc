// Scalar reference dot products of a weight row with activations in its vec-dot type (spec §12a):
// integer dot products per (sub-)block, scaled by the product of the block scales and summed in
// F32, one block after another. The SIMD versions must equal these up to float summation order.
#include <cstring>

#include "core/fp16.h"
#include "kernels/blocks.h"
#include "kernels/impl.h"

namespace hearth::kernels::ref {
namespace {

using T = gguf::TensorType;

float DotF32(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const float*>(row);
  const auto* x = static_cast<const float*>(act);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(w[i]) * x[i];
  return static_cast<float>(sum);
}

float DotF16(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const uint16_t*>(row);
  const auto* x = static_cast<const uint16_t*>(act);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(F16ToF32(w[i])) * F16ToF32(x[i]);
  return static_cast<float>(sum);
}

float DotBF16(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const uint16_t*>(row);
  const auto* x = static_cast<const uint16_t*>(act);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(BF16ToF32(w[i])) * BF16ToF32(x[i]);
  return static_cast<float>(sum);
}

inline uint32_t LoadU32(const uint8_t* p) {
  return p[0] | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

// The 32 signed levels of one 32-element weight block, for the Q8_0/Q8_1 dots.
template <typename Block>
void Levels(const Block& b, int* q);

template <>
void Levels(const BlockQ8_0& b, int* q) {
  for (int j = 0; j < kQK; ++j) q[j] = b.qs[j];
}
template <>
void Levels(const BlockQ4_0& b, int* q) {
  for (int j = 0; j < 16; ++j) {
    q[j] = (b.qs[j] & 15) - 8;
    q[j + 16] = (b.qs[j] >> 4) - 8;
  }
}
template <>
void Levels(const BlockQ5_0& b, int* q) {
  const uint32_t qh = LoadU32(b.qh);
  for (int j = 0; j < 16; ++j) {
    q[j] = ((b.qs[j] & 15) | (((qh >> j) & 1) << 4)) - 16;
    q[j + 16] = ((b.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
  }
}
template <>
void Levels(const BlockIQ4_NL& b, int* q) {
  for (int j = 0; j < 16; ++j) {
    q[j] = kIQ4NLValues[b.qs[j] & 15];
    q[j + 16] = kIQ4NLValues[b.qs[j] >> 4];
  }
}
template <>
void Levels(const BlockMXFP4& b, int* q) {
  for (int j = 0; j < 16; ++j) {
    q[j] = kMXFP4Values[b.qs[j] & 15];
    q[j + 16] = kMXFP4Values[b.qs[j] >> 4];
  }
}
template <>
void Levels(const BlockQ4_1& b, int* q) {
  for (int j = 0; j < 16; ++j) {
    q[j] = b.qs[j] & 15;
    q[j + 16] = b.qs[j] >> 4;
  }
}
template <>
void Levels(const BlockQ5_1& b, int* q) {
  const uint32_t qh = LoadU32(b.qh);
  for (int j = 0; j < 16; ++j) {
    q[j] = (b.qs[j] & 15) | (((qh >> j) & 1) << 4);
    q[j + 16] = (b.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
  }
}

float Scale(const BlockQ8_0& b) { return F16ToF32(b.d); }
float Scale(const BlockQ4_0& b) { return F16ToF32(b.d); }
float Scale(const BlockQ5_0& b) { return F16ToF32(b.d); }
float Scale(const BlockIQ4_NL& b) { return F16ToF32(b.d); }
float Scale(const BlockMXFP4& b) { return E8M0ToF32Half(b.e); }

// Σ_blocks d_w·d_x·Σ q_w·q_x for the symmetric 32-element types against Q8_0.
template <typename Block>
float DotQ8_0Act(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const Block*>(row);
  const auto* x = static_cast<const BlockQ8_0*>(act);
  float sum = 0.f;
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    Levels(w[i], q);
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += q[j] * x[i].qs[j];
    sum += (Scale(w[i]) * F16ToF32(x[i].d)) * static_cast<float>(isum);
  }
  return sum;
}

// Σ_blocks d_w·d_x·Σ q_w·q_x + m_w·s_x for Q4_1/Q5_1 against Q8_1.
template <typename Block>
float DotQ8_1Act(const void* row, const void* act, int64_t n) {
  const auto* w = static_cast<const Block*>(row);
  const auto* x = static_cast<const BlockQ8_1*>(act);
  float sum = 0.f;
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    Levels(w[i], q);
    int isum = 0;
    for (int j = 0; j < kQK; ++j) isum += q[j] * x[i].qs[j];
    sum += (F16ToF32(w[i].d) * F16ToF32(x[i].d)) * static_cast<float>(isum) +
           F16ToF32(w[i].m) * F16ToF32(x[i].s);
  }
  return sum;
}

}  // namespace

VecDotFn VecDot(gguf::TensorType t) {
  switch (t) {
    case T::kF32: return DotF32;
    case T::kF16: return DotF16;
    case T::kBF16: return DotBF16;
    case T::kQ8_0: return DotQ8_0Act<BlockQ8_0>;
    case T::kQ4_0: return DotQ8_0Act<BlockQ4_0>;
    case T::kQ5_0: return DotQ8_0Act<BlockQ5_0>;
    case T::kIQ4_NL: return DotQ8_0Act<BlockIQ4_NL>;
    case T::kMXFP4: return DotQ8_0Act<BlockMXFP4>;
    case T::kQ4_1: return DotQ8_1Act<BlockQ4_1>;
    case T::kQ5_1: return DotQ8_1Act<BlockQ5_1>;
    case T::kQ2_K: return DotQ2_K;
    case T::kQ3_K: return DotQ3_K;
    case T::kQ4_K: return DotQ4_K;
    case T::kQ5_K: return DotQ5_K;
    case T::kQ6_K: return DotQ6_K;
    case T::kIQ4_XS: return DotIQ4_XS;
    default: return nullptr;
  }
}

QuantizeFn ActivationQuantizer(gguf::TensorType act_type) {
  switch (act_type) {
    case T::kQ8_0: return QuantizeQ8_0Act;
    case T::kQ8_1: return QuantizeQ8_1Act;
    default: return Quantizer(act_type);
  }
}

QuantizeFn Quantizer(gguf::TensorType t) {
  switch (t) {
    case T::kF32: return QuantizeF32;
    case T::kF16: return QuantizeF16;
    case T::kBF16: return QuantizeBF16;
    case T::kQ8_0: return QuantizeQ8_0;
    case T::kQ8_1: return QuantizeQ8_1;
    case T::kQ8_K: return QuantizeQ8_K;
    case T::kQ4_0: return QuantizeQ4_0;
    case T::kQ4_1: return QuantizeQ4_1;
    case T::kQ5_0: return QuantizeQ5_0;
    case T::kQ5_1: return QuantizeQ5_1;
    case T::kIQ4_NL: return QuantizeIQ4_NL;
    case T::kMXFP4: return QuantizeMXFP4;
    case T::kQ2_K: return QuantizeQ2_K;
    case T::kQ3_K: return QuantizeQ3_K;
    case T::kQ4_K: return QuantizeQ4_K;
    case T::kQ5_K: return QuantizeQ5_K;
    case T::kQ6_K: return QuantizeQ6_K;
    case T::kIQ4_XS: return QuantizeIQ4_XS;
    default: return nullptr;
  }
}

}  // namespace hearth::kernels::ref
