// Quantization: round-trip error on Gaussian data per type, the exact activation formats of spec
// §12a (Q8_0, Q8_1, Q8_K, F16, BF16) on hand-checked inputs, and the type tables.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <vector>

#include "core/fp16.h"
#include "kernels/blocks.h"
#include "kernels/impl.h"
#include "kernels/quant.h"
#include "test_util.h"

namespace hearth::kernels {
namespace {

using T = TensorType;
using testing::Dequantize;
using testing::Gaussian;
using testing::Name;
using testing::Quantize;

// Upper bounds on RMSE / σ of quantize→dequantize on N(0, 1) data (4096 values), each about 15%
// above what these quantizers measure (in brackets); bits per weight in parentheses. Q8_0's figure
// is the uniform-rounding floor: step amax/127 with amax ≈ 2.5σ over 32 values, step/√12 ≈ 5.7e-3.
const std::map<T, double>& RoundTripBounds() {
  static const std::map<T, double> bounds = {
      {T::kF32, 0.0},        // exact
      {T::kF16, 2.4e-4},     // 11-bit significand [2.05e-4]
      {T::kBF16, 1.9e-3},    // 8-bit significand [1.65e-3]
      {T::kQ8_0, 6.3e-3},    // (8.5) [5.45e-3]
      {T::kQ6_K, 2.1e-2},    // (6.56) [1.78e-2]
      {T::kQ5_1, 4.4e-2},    // (6) [3.79e-2]
      {T::kQ5_0, 5.0e-2},    // (5.5) [4.31e-2]
      {T::kQ5_K, 4.2e-2},    // (5.5) [3.62e-2]
      {T::kQ4_1, 9.1e-2},    // (5) [7.88e-2]
      {T::kQ4_0, 1.0e-1},    // (4.5) [8.77e-2]
      {T::kQ4_K, 8.4e-2},    // (4.5) [7.30e-2]
      {T::kIQ4_NL, 8.9e-2},  // (4.5) [7.74e-2]
      {T::kIQ4_XS, 9.0e-2},  // (4.25) [7.79e-2]
      {T::kMXFP4, 1.35e-1},  // (4.25) E2M1 grid, power-of-two scale [1.17e-1]
      {T::kQ3_K, 1.75e-1},   // (3.44) [1.53e-1]
      {T::kQ2_K, 3.45e-1},   // (2.63) [2.99e-1]
  };
  return bounds;
}

double RelativeRmse(const std::vector<float>& a, const std::vector<float>& b) {
  double err = 0.0, ref = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    err += (static_cast<double>(a[i]) - b[i]) * (static_cast<double>(a[i]) - b[i]);
    ref += static_cast<double>(a[i]) * a[i];
  }
  return std::sqrt(err / ref);
}

TEST(QuantTest, RoundTripRmseWithinBound) {
  const auto x = Gaussian(4096, 1234);
  for (const auto& [type, bound] : RoundTripBounds()) {
    const auto q = Quantize(type, x);
    const auto y = Dequantize(type, q.data(), x.size());
    const double rmse = RelativeRmse(x, y);
    EXPECT_LE(rmse, bound) << Name(type);
    // Printed so that drifts below the bound stay visible in the log.
    std::printf("round-trip %-7s rel. RMSE %.3e (bound %.1e)\n", Name(type), rmse, bound);
  }
}

TEST(QuantTest, RoundTripScalesWithData) {
  // Same relative error at very different magnitudes (scales are relative, not absolute).
  for (float sigma : {1e-3f, 30.f}) {
    const auto x = Gaussian(1024, 99, sigma);
    for (T type : {T::kQ4_0, T::kQ8_0, T::kQ4_K, T::kQ6_K, T::kIQ4_XS, T::kQ2_K, T::kQ3_K}) {
      const auto y = Dequantize(type, Quantize(type, x).data(), x.size());
      EXPECT_LE(RelativeRmse(x, y), RoundTripBounds().at(type) * 1.2) << Name(type) << " σ=" << sigma;
    }
  }
}

TEST(QuantTest, ZeroBlocksStayZero) {
  const std::vector<float> x(512, 0.f);
  for (T type : testing::AllWeightTypes()) {
    const auto y = Dequantize(type, Quantize(type, x).data(), x.size());
    for (float v : y) ASSERT_EQ(v, 0.f) << Name(type);
  }
}

TEST(QuantTest, Q8_0WeightsMatchReferenceRounding) {
  std::vector<float> x(32, 0.f);
  x[0] = 63.5f;   // amax → d = 0.5, 1/d = 2
  x[1] = -1.25f;  // −2.5 → roundf → −3 (away from zero, not to even)
  x[2] = 0.75f;   // 1.5 → 2
  x[3] = 0.2f;    // 0.4 → 0
  BlockQ8_0 b;
  QuantizeRow(T::kQ8_0, x.data(), &b, 32);
  EXPECT_EQ(b.d, 0x3800);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], -3);
  EXPECT_EQ(b.qs[2], 2);
  EXPECT_EQ(b.qs[3], 0);
}

TEST(QuantTest, Q8_0ActivationsRoundLikeLlamaCppSimd) {
  // Activations (not weights) follow llama.cpp's x86 from_float: q = nearest-even(x·127/amax).
  std::vector<float> x(32, 0.f);
  x[0] = 63.5f;   // amax → 127/amax = 2, d = 0.5
  x[1] = -1.25f;  // −2.5 → −2 (to even; roundf would give −3)
  x[2] = 0.75f;   // 1.5 → 2
  x[3] = 1.75f;   // 3.5 → 4
  BlockQ8_0 b;
  QuantizeActivations(T::kQ4_0, x.data(), &b, 32);
  EXPECT_EQ(b.d, 0x3800);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], -2);
  EXPECT_EQ(b.qs[2], 2);
  EXPECT_EQ(b.qs[3], 4);
  BlockQ8_1 b1;
  QuantizeActivations(T::kQ4_1, x.data(), &b1, 32);
  EXPECT_EQ(b1.qs[1], -2);
  EXPECT_EQ(b1.s, F32ToF16(0.5f * (127 - 2 + 2 + 4)));
}

TEST(QuantTest, Q8_1StoresScaledSum) {
  std::vector<float> x(32, 0.f);
  x[0] = 63.5f;
  x[1] = -1.25f;
  x[2] = 0.75f;
  BlockQ8_1 b;
  QuantizeRow(T::kQ8_1, x.data(), &b, 32);
  EXPECT_EQ(b.d, 0x3800);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], -3);
  EXPECT_EQ(b.s, F32ToF16(0.5f * (127 - 3 + 2)));
}

TEST(QuantTest, Q8_KActivations) {
  std::vector<float> x(256, 0.f);
  x[0] = 1.25f;    // ·2 = 2.5 → nearest even → 2
  x[1] = 0.75f;    // 1.5 → 2
  x[7] = -63.5f;   // the largest magnitude, negative: iscale = −127/−63.5 = 2
  x[20] = 10.f;    // 20
  x[255] = -3.f;   // −6
  BlockQ8_K b;
  QuantizeRow(T::kQ8_K, x.data(), &b, 256);
  EXPECT_EQ(b.d, 0.5f);
  EXPECT_EQ(b.qs[0], 2);
  EXPECT_EQ(b.qs[1], 2);
  EXPECT_EQ(b.qs[7], -127);
  EXPECT_EQ(b.qs[20], 20);
  EXPECT_EQ(b.bsums[0], 2 + 2 - 127);
  EXPECT_EQ(b.bsums[1], 20);
  EXPECT_EQ(b.bsums[15], -6);

  // Largest magnitude positive: iscale and d are negative; the products are unchanged.
  x[7] = 63.5f;
  QuantizeRow(T::kQ8_K, x.data(), &b, 256);
  EXPECT_EQ(b.d, -0.5f);
  EXPECT_EQ(b.qs[7], -127);
  EXPECT_EQ(b.qs[20], -20);
  EXPECT_EQ(b.qs[0], -2);  // −2.5 → nearest even → −2
}

TEST(QuantTest, FloatActivations) {
  const std::vector<float> x = {1.f / 3.f, -70000.f, 1e-8f, 2.5f};
  std::vector<uint16_t> h(4);
  QuantizeActivations(T::kF16, x.data(), h.data(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h[i], F32ToF16(x[i]));
  QuantizeActivations(T::kBF16, x.data(), h.data(), 4);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(h[i], F32ToBF16(x[i]));
  std::vector<float> f(4);
  QuantizeActivations(T::kF32, x.data(), f.data(), 4);
  EXPECT_EQ(f, x);
}

// Inputs that stress the activation converters' rounding: Gaussian rows at several scales, exact
// halves (amax 127 makes 1/d = 1, so x·(1/d) = x), tied and negative extremes, zero blocks.
std::vector<std::vector<float>> ActivationCases(int64_t n) {
  std::vector<std::vector<float>> cases;
  for (float sigma : {1e-6f, 1.f, 300.f}) cases.push_back(Gaussian(n, 77, sigma));
  std::vector<float> halves(n);
  for (int64_t i = 0; i < n; ++i) halves[i] = (i % 32 == 0) ? 127.f : 0.5f * (i % 200) - 50.f;
  cases.push_back(halves);
  std::vector<float> ties(n, 0.f);
  for (int64_t i = 0; i < n; i += 3) ties[i] = (i % 2) ? -4.f : 4.f;  // ± the same magnitude
  cases.push_back(ties);
  cases.push_back(std::vector<float>(n, 0.f));
  std::vector<float> tiny(n);
  for (int64_t i = 0; i < n; ++i) tiny[i] = std::ldexp(static_cast<float>(i % 7) - 3.f, -20);
  cases.push_back(tiny);  // F16 subnormals
  return cases;
}

TEST(QuantTest, SimdActivationConvertersAreByteIdentical) {
  if (!avx2::Usable()) GTEST_SKIP() << "no AVX2 on this CPU";
  int covered = 0;
  for (T act_type : {T::kQ8_0, T::kQ8_1, T::kQ8_K, T::kF16}) {
    const QuantizeFn simd = avx2::ActivationQuantizer(act_type);
    ASSERT_NE(simd, nullptr) << Name(act_type);
    ++covered;
    for (int64_t n : {256, 768, 2048}) {
      for (const auto& x : ActivationCases(n)) {
        const int64_t bytes = RowBytes(act_type, n);
        // Misaligned destination: any byte for blocks, any element for F16.
        const int offset = act_type == T::kF16 ? 2 : 3;
        std::vector<uint8_t> want(bytes), got(bytes + offset);
        ref::ActivationQuantizer(act_type)(x.data(), want.data(), n);
        simd(x.data(), got.data() + offset, n);
        ASSERT_EQ(0, std::memcmp(want.data(), got.data() + offset, bytes))
            << Name(act_type) << " n=" << n;
      }
    }
  }
  // F16 rows of any length (the SIMD loop has a scalar tail).
  const auto x = Gaussian(13, 5);
  std::vector<uint16_t> want(13), got(13);
  ref::Quantizer(T::kF16)(x.data(), want.data(), 13);
  avx2::ActivationQuantizer(T::kF16)(x.data(), got.data(), 13);
  EXPECT_EQ(want, got);
  EXPECT_EQ(covered, 4);
}

TEST(QuantTest, TypeTables) {
  for (T type : testing::AllWeightTypes()) {
    EXPECT_TRUE(IsSupported(type)) << Name(type);
    EXPECT_TRUE(CanQuantize(type)) << Name(type);
  }
  EXPECT_FALSE(IsSupported(T::kIQ2_XXS));
  EXPECT_FALSE(IsSupported(T::kIQ1_S));
  EXPECT_FALSE(IsSupported(T::kNVFP4));
  EXPECT_FALSE(IsSupported(T::kQ8_K));  // activation-only
  EXPECT_FALSE(CanQuantize(T::kIQ2_XXS));
  EXPECT_TRUE(CanQuantize(T::kQ8_K));
  EXPECT_EQ(BlockBytes(T::kQ4_K), 144);
  EXPECT_EQ(BlockElems(T::kQ4_K), 256);
  EXPECT_EQ(BlockBytes(T::kMXFP4), 17);
  EXPECT_EQ(RowBytes(T::kQ6_K, 512), 420);
  EXPECT_EQ(RowBytes(T::kF16, 7), 14);
  EXPECT_EQ(VecDotType(T::kQ4_0), T::kQ8_0);
  EXPECT_EQ(VecDotType(T::kMXFP4), T::kQ8_0);
  EXPECT_EQ(VecDotType(T::kQ5_1), T::kQ8_1);
  EXPECT_EQ(VecDotType(T::kIQ4_XS), T::kQ8_K);
  EXPECT_EQ(VecDotType(T::kF16), T::kF16);
}

TEST(QuantDeathTest, UnsupportedTypeIsABug) {
  std::vector<float> x(256);
  std::vector<uint8_t> out(1024);
  EXPECT_DEATH(QuantizeRow(T::kIQ2_XXS, x.data(), out.data(), 256), "cannot quantize");
  EXPECT_DEATH(QuantizeRow(T::kQ4_0, x.data(), out.data(), 33), "whole number of blocks");
}

}  // namespace
}  // namespace hearth::kernels
