// Dot products: the reference against a float64 dot of the dequantized operands, against the
// plain float dot, and every SIMD version against the reference over sizes and misalignments
// (in the spirit of gemma.cpp's ForeachCountAndMisalign).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <map>
#include <vector>

#include "core/fp16.h"
#include "kernels/impl.h"
#include "kernels/quant.h"
#include "test_util.h"

namespace hearth::kernels {
namespace {

using T = TensorType;
using testing::AbsDotScale;
using testing::Activations;
using testing::AllWeightTypes;
using testing::Dequantize;
using testing::Dot64;
using testing::Gaussian;
using testing::Name;
using testing::Quantize;

// The reference sums per-block products d_w·d_x·isum in F32; against the exact dot of the same
// dequantized values it may differ only by F32 rounding of those block terms and of their sum.
constexpr double kRefVsExactTol = 1e-5;  // relative to Σ|w_i·x_i|
// SIMD sums the same integer block products in other orders and in F32 lanes (measured ≤ 4e-8).
constexpr double kSimdVsRefTol = 5e-7;  // relative to Σ|w_i·x_i|

int64_t BlockElemsFor(T t) { return BlockElems(t) == 1 ? 32 : BlockElems(t); }

// Q4_1/Q5_1 dots take Σ_j m·x_j from the activation block's stored s = F16(d·Σq) (spec §12a), not
// from the dequantized activations: the exact oracle uses the same s. Returns
// Σ_blocks m_b·(s_b − Σ_j xd_j). Both weight blocks hold m at byte 2, Q8_1 holds s at byte 2.
double Q8_1SumCorrection(T type, const std::vector<uint8_t>& wq, const std::vector<uint8_t>& act,
                         const std::vector<float>& xd) {
  double corr = 0.0;
  const int64_t nb = static_cast<int64_t>(xd.size()) / 32;
  for (int64_t b = 0; b < nb; ++b) {
    uint16_t m, s;
    std::memcpy(&m, wq.data() + b * BlockBytes(type) + 2, 2);
    std::memcpy(&s, act.data() + b * BlockBytes(T::kQ8_1) + 2, 2);
    double sum_x = 0.0;
    for (int j = 0; j < 32; ++j) sum_x += xd[32 * b + j];
    corr += static_cast<double>(F16ToF32(m)) * (F16ToF32(s) - sum_x);
  }
  return corr;
}

TEST(VecDotTest, ReferenceEqualsDotOfDequantizedOperands) {
  for (T type : AllWeightTypes()) {
    const int64_t n = 8 * 256;
    const auto w = Gaussian(n, 7);
    const auto x = Gaussian(n, 8);
    const auto wq = Quantize(type, w);
    const auto act = Activations(type, x);
    const auto wd = Dequantize(type, wq.data(), n);
    const auto xd = Dequantize(VecDotType(type), act.data(), n);
    double exact = Dot64(wd, xd);
    if (VecDotType(type) == T::kQ8_1) exact += Q8_1SumCorrection(type, wq, act, xd);
    const double got = ref::VecDot(type)(wq.data(), act.data(), n);
    EXPECT_NEAR(got, exact, kRefVsExactTol * AbsDotScale(wd, xd)) << Name(type);
    // The dispatched VecDot (SIMD where available) agrees too.
    EXPECT_NEAR(VecDot(type, wq.data(), act.data(), n), exact, kRefVsExactTol * AbsDotScale(wd, xd))
        << Name(type);
  }
}

// |quantized dot − float dot| / (‖w‖·‖x‖) bounds. Weight and activation rounding errors are
// independent, so the relative error is about √2·(round-trip RMSE)/√n (n = 2048); the bounds are
// 2–4× the largest value measured over the four seeds. A wrong scale or a misplaced element gives
// errors of order 1e-1 and more.
const std::map<T, double>& FloatDotBounds() {
  static const std::map<T, double> bounds = {
      {T::kF32, 1e-7},    {T::kF16, 2e-5},    {T::kBF16, 2.5e-4}, {T::kQ8_0, 4e-4},
      {T::kQ4_0, 6e-3},   {T::kQ4_1, 6e-3},   {T::kQ5_0, 3e-3},   {T::kQ5_1, 6e-3},
      {T::kQ2_K, 8e-3},   {T::kQ3_K, 1.2e-2}, {T::kQ4_K, 8e-3},   {T::kQ5_K, 3e-3},
      {T::kQ6_K, 3e-3},   {T::kIQ4_NL, 8e-3}, {T::kIQ4_XS, 9e-3}, {T::kMXFP4, 9e-3},
  };
  return bounds;
}

TEST(VecDotTest, CloseToFloatDot) {
  const int64_t n = 8 * 256;
  for (uint32_t seed = 0; seed < 4; ++seed) {
    const auto w = Gaussian(n, 100 + seed);
    const auto x = Gaussian(n, 200 + seed);
    const double norm = std::sqrt(Dot64(w, w) * Dot64(x, x));
    const double exact = Dot64(w, x);
    for (T type : AllWeightTypes()) {
      const auto wq = Quantize(type, w);
      const auto act = Activations(type, x);
      const double got = VecDot(type, wq.data(), act.data(), n);
      EXPECT_LE(std::fabs(got - exact) / norm, FloatDotBounds().at(type))
          << Name(type) << " seed " << seed;
    }
  }
}

TEST(VecDotTest, SimdMatchesReferenceOverSizesAndMisalignment) {
  if (!avx2::Usable()) GTEST_SKIP() << "no AVX2 on this CPU";
  for (T type : AllWeightTypes()) {
    const VecDotFn simd = avx2::VecDot(type);
    const VecDotFn reference = ref::VecDot(type);
    if (simd == nullptr) continue;
    const int64_t be = BlockElemsFor(type);
    std::vector<int64_t> sizes = {be, 2 * be, 3 * be, 7 * be, 33 * be};
    if (BlockElems(type) == 1) sizes.insert(sizes.end(), {1, 7, 8, 9, 15, 17, 1003});
    for (int64_t n : sizes) {
      const auto w = Gaussian(n, static_cast<uint32_t>(n));
      const auto x = Gaussian(n, static_cast<uint32_t>(n) + 1);
      const auto wq = Quantize(type, w);
      const auto act = Activations(type, x);
      const double scale = AbsDotScale(Dequantize(type, wq.data(), n),
                                       Dequantize(VecDotType(type), act.data(), n));
      const float want = reference(wq.data(), act.data(), n);
      // Block rows may start at any byte (packed structs); float rows at any element.
      const int unit = BlockElems(type) == 1 ? static_cast<int>(BlockBytes(type)) : 1;
      for (int mw = 0; mw < 8; ++mw) {
        for (int mx : {0, 3, 5}) {
          testing::OffsetBuffer wb(wq, mw * unit), xb(act, mx * unit);
          const float got = simd(wb.data(), xb.data(), n);
          ASSERT_NEAR(got, want, kSimdVsRefTol * scale)
              << Name(type) << " n=" << n << " misalign " << mw << "/" << mx;
        }
      }
    }
  }
}

TEST(VecDotTest, SimdMatchesReferenceOnExtremeLevels) {
  // Every weight and activation at ±full scale: checks for int16 saturation in the SIMD sums.
  if (!avx2::Usable()) GTEST_SKIP() << "no AVX2 on this CPU";
  const int64_t n = 4 * 256;
  std::vector<float> w(n), x(n);
  for (int64_t i = 0; i < n; ++i) {
    w[i] = (i % 3 == 0) ? -1.f : 1.f;
    x[i] = (i % 5 == 0) ? -1.f : 1.f;
  }
  for (T type : AllWeightTypes()) {
    const VecDotFn simd = avx2::VecDot(type);
    if (simd == nullptr) continue;
    const auto wq = Quantize(type, w);
    const auto act = Activations(type, x);
    const double scale = AbsDotScale(Dequantize(type, wq.data(), n),
                                     Dequantize(VecDotType(type), act.data(), n));
    EXPECT_NEAR(simd(wq.data(), act.data(), n), ref::VecDot(type)(wq.data(), act.data(), n),
                kSimdVsRefTol * scale)
        << Name(type);
  }
}

TEST(VecDotTest, FourTokenKernelsAreBitIdenticalToSingleToken) {
  if (!avx2::Usable()) GTEST_SKIP() << "no AVX2 on this CPU";
  int covered = 0;
  for (T type : AllWeightTypes()) {
    const VecDot4Fn four = avx2::VecDot4(type);
    if (four == nullptr) continue;
    ++covered;
    const VecDotFn one = avx2::VecDot(type);
    std::vector<int64_t> sizes = {BlockElemsFor(type), 3 * BlockElemsFor(type),
                                  17 * BlockElemsFor(type)};
    if (BlockElems(type) == 1) sizes.insert(sizes.end(), {1, 9, 23, 1003});  // scalar tails
    for (int64_t n : sizes) {
      const auto wq = Quantize(type, Gaussian(n, 3));
      const int64_t act_bytes = RowBytes(VecDotType(type), n);
      // Packed and padded rows; block rows may also start at any byte, float rows at any element.
      const int64_t pad = BlockElems(type) == 1 ? 3 * BlockBytes(type) : 5;
      const int64_t offset = BlockElems(type) == 1 ? BlockBytes(type) : 1;
      for (int64_t stride : {act_bytes, act_bytes + pad}) {
        std::vector<uint8_t> acts(4 * stride + 8);
        for (int k = 0; k < 4; ++k) {
          const auto a = Activations(type, Gaussian(n, 10 + k));
          std::memcpy(acts.data() + offset + k * stride, a.data(), a.size());
        }
        float out[4];
        four(wq.data(), acts.data() + offset, stride, n, out);
        for (int k = 0; k < 4; ++k) {
          ASSERT_EQ(out[k], one(wq.data(), acts.data() + offset + k * stride, n))
              << Name(type) << " n=" << n << " token " << k;
        }
      }
    }
  }
  EXPECT_EQ(covered, 13);  // every block type; the float types keep single-token dots
}

TEST(VecDotTest, DispatchPicksSimdWhereAvailable) {
#if defined(__aarch64__)
  GTEST_SKIP() << "the AArch64 dispatch is checked in vecdot_neon_test.cc";
#endif
  const char* no_simd = std::getenv("HEARTH_NO_SIMD");
  const bool simd_on = avx2::Usable() && (no_simd == nullptr || std::string(no_simd) == "0");
  const bool avx512_on = simd_on && avx512::Usable();
  for (T type : AllWeightTypes()) {
    const VecDotFn simd512 = avx512_on ? avx512::VecDot(type) : nullptr;
    if (simd512 != nullptr) {  // the AVX-512 kernels win where they exist (vecdot_avx512_test.cc)
      EXPECT_EQ(BestVecDot(type), simd512) << Name(type);
      EXPECT_EQ(BestVecDot4(type), avx512::VecDot4(type)) << Name(type);
      continue;
    }
    const VecDotFn simd = simd_on ? avx2::VecDot(type) : nullptr;
    EXPECT_EQ(BestVecDot(type), simd != nullptr ? simd : ref::VecDot(type)) << Name(type);
    EXPECT_EQ(BestVecDot4(type), simd != nullptr ? avx2::VecDot4(type) : nullptr) << Name(type);
  }
}

}  // namespace
}  // namespace hearth::kernels
