// The NEON kernels (src/kernels/arm/), both paths: plain NEON (neon::, widening multiplies) and
// the dot-product extension (neondot::, SDOT). Each against the scalar reference over sizes and
// misalignments, exactly on integer-valued data, on extreme levels, four-token against
// single-token bit for bit; the NEON activation converters byte for byte; and the dispatch choice.
// On x86 only the stub test runs; on AArch64 (natively or under qemu-user, see
// tests/kernels/arm/) the neondot tests skip where the CPU lacks the extension, and
// HEARTH_EXPECT_DOTPROD=0/1 makes the run fail if the CPU is not the one the caller meant.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "kernels/blocks.h"
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
using testing::Gaussian;
using testing::Name;
using testing::Quantize;

// As in vecdot_test.cc: the same integer block products summed in another order in F32 lanes.
constexpr double kSimdVsRefTol = 5e-7;  // relative to Σ|w_i·x_i|

[[maybe_unused]] bool SimdEnabled() {
  const char* no_simd = std::getenv("HEARTH_NO_SIMD");
  return no_simd == nullptr || std::string(no_simd) == "0";
}

struct Path {
  const char* name;
  bool (*usable)();
  VecDotFn (*one)(T);
  VecDot4Fn (*four)(T);
};

void PrintTo(const Path& p, std::ostream* os) { *os << p.name; }

const Path kPlain = {"neon", neon::Usable, neon::VecDot, neon::VecDot4};
const Path kDotProd = {"neondot", neondot::Usable, neondot::VecDot, neondot::VecDot4};

bool IsFloat(T t) { return BlockElems(t) == 1; }

class NeonVecDotTest : public ::testing::TestWithParam<Path> {
 protected:
  void SetUp() override {
    if (!GetParam().usable()) {
      GTEST_SKIP() << GetParam().name << " kernels not usable on this CPU / build";
    }
  }
};

TEST_P(NeonVecDotTest, CoversEveryType) {
  const Path& p = GetParam();
  const bool plain = std::string(p.name) == kPlain.name;
  int one = 0, four = 0;
  for (T type : AllWeightTypes()) {
    // The plain path has every type; SDOT only the integer (block) types.
    const bool want_one = plain || !IsFloat(type);
    EXPECT_EQ(p.one(type) != nullptr, want_one) << p.name << " " << Name(type);
    EXPECT_EQ(p.four(type) != nullptr, !IsFloat(type)) << p.name << " " << Name(type);
    one += p.one(type) != nullptr;
    four += p.four(type) != nullptr;
  }
  EXPECT_EQ(one, plain ? 16 : 13);
  EXPECT_EQ(four, 13);
  EXPECT_EQ(p.one(T::kQ8_K), nullptr);  // activation-only type
}

TEST_P(NeonVecDotTest, MatchesReferenceOverSizesAndMisalignment) {
  const Path& p = GetParam();
  for (T type : AllWeightTypes()) {
    const VecDotFn simd = p.one(type);
    if (simd == nullptr) continue;
    const VecDotFn reference = ref::VecDot(type);
    const int64_t be = IsFloat(type) ? 32 : BlockElems(type);
    std::vector<int64_t> sizes = {be, 2 * be, 3 * be, 7 * be, 33 * be};
    if (IsFloat(type)) sizes.insert(sizes.end(), {1, 3, 4, 5, 15, 16, 17, 31, 1003});  // tails
    for (int64_t n : sizes) {
      const auto w = Gaussian(n, static_cast<uint32_t>(n));
      const auto x = Gaussian(n, static_cast<uint32_t>(n) + 1);
      const auto wq = Quantize(type, w);
      const auto act = Activations(type, x);
      const double scale = AbsDotScale(Dequantize(type, wq.data(), n),
                                       Dequantize(VecDotType(type), act.data(), n));
      const float want = reference(wq.data(), act.data(), n);
      // Block rows may start at any byte (packed structs); float rows at any element.
      const int unit = IsFloat(type) ? static_cast<int>(BlockBytes(type)) : 1;
      for (int mw = 0; mw < 8; ++mw) {
        for (int mx : {0, 3, 5}) {
          testing::OffsetBuffer wb(wq, mw * unit), xb(act, mx * unit);
          ASSERT_NEAR(simd(wb.data(), xb.data(), n), want, kSimdVsRefTol * scale)
              << p.name << " " << Name(type) << " n=" << n << " misalign " << mw << "/" << mx;
        }
      }
    }
  }
}

TEST_P(NeonVecDotTest, ZeroLengthIsZero) {
  const Path& p = GetParam();
  const uint8_t none[1] = {0};
  for (T type : AllWeightTypes()) {
    if (p.one(type) != nullptr) {
      EXPECT_EQ(p.one(type)(none, none, 0), 0.f) << p.name << " " << Name(type);
    }
  }
}

TEST_P(NeonVecDotTest, MatchesReferenceOnExtremeLevels) {
  // Every weight and activation at ±full scale: the largest integer products, where an int16
  // overflow in the widening path would show.
  const Path& p = GetParam();
  const int64_t n = 4 * 256;
  std::vector<float> w(n), x(n);
  for (int64_t i = 0; i < n; ++i) {
    w[i] = (i % 3 == 0) ? -1.f : 1.f;
    x[i] = (i % 5 == 0) ? -1.f : 1.f;
  }
  for (T type : AllWeightTypes()) {
    const VecDotFn simd = p.one(type);
    if (simd == nullptr) continue;
    const auto wq = Quantize(type, w);
    const auto act = Activations(type, x);
    const double scale = AbsDotScale(Dequantize(type, wq.data(), n),
                                     Dequantize(VecDotType(type), act.data(), n));
    EXPECT_NEAR(simd(wq.data(), act.data(), n), ref::VecDot(type)(wq.data(), act.data(), n),
                kSimdVsRefTol * scale)
        << p.name << " " << Name(type);
  }
}

// Byte offsets of the F16 scale fields that ExactOnIntegerData sets to 1.
std::vector<size_t> ScaleFields(T type) {
  switch (type) {
    case T::kQ8_0: case T::kQ4_0: case T::kQ5_0: case T::kIQ4_NL:
      return {0};
    case T::kQ4_1: return {offsetof(BlockQ4_1, d), offsetof(BlockQ4_1, m)};
    case T::kQ5_1: return {offsetof(BlockQ5_1, d), offsetof(BlockQ5_1, m)};
    case T::kQ2_K: return {offsetof(BlockQ2_K, d), offsetof(BlockQ2_K, dmin)};
    case T::kQ3_K: return {offsetof(BlockQ3_K, d)};
    case T::kQ4_K: return {offsetof(BlockQ4_K, d), offsetof(BlockQ4_K, dmin)};
    case T::kQ5_K: return {offsetof(BlockQ5_K, d), offsetof(BlockQ5_K, dmin)};
    case T::kQ6_K: return {offsetof(BlockQ6_K, d)};
    case T::kIQ4_XS: return {offsetof(BlockIQ4_XS, d)};
    default: return {};
  }
}

// Random raw weight blocks (every level, scale and mask byte random) with the block scales 1, and
// activation blocks with scale 1 and small integer levels: every block sum and partial sum is an
// integer below 2^24, so F32 is exact in any order and both the reference and the SIMD kernels
// must equal the exact dot of the dequantized operands. Activation ranges keep the worst case below
// 2^24: ±127 for Q8_0 (16·32·128·127), ±63 for Q8_1 (so its s = Σq is an exact F16), ±7 for Q8_K
// (2 super-blocks of Q6_K: 2·16·128·16·32·7).
TEST_P(NeonVecDotTest, ExactOnIntegerData) {
  const Path& p = GetParam();
  constexpr uint16_t kOne = 0x3C00;  // F16 1.0
  std::mt19937 rng(11);
  for (T type : AllWeightTypes()) {
    if (IsFloat(type) || p.one(type) == nullptr) continue;
    const T act_type = VecDotType(type);
    const bool k_quant = act_type == T::kQ8_K;
    const int amax = act_type == T::kQ8_0 ? 127 : act_type == T::kQ8_1 ? 63 : 7;
    const std::vector<int64_t> block_counts =
        k_quant ? std::vector<int64_t>{1, 2} : std::vector<int64_t>{1, 2, 5, 16};
    for (int64_t blocks : block_counts) {
      const int64_t n = BlockElems(type) * blocks;
      std::vector<uint8_t> wq(RowBytes(type, n)), act(RowBytes(act_type, n));
      for (auto& b : wq) b = static_cast<uint8_t>(rng());
      for (int64_t i = 0; i < blocks; ++i) {
        uint8_t* wb = wq.data() + i * BlockBytes(type);
        if (type == T::kMXFP4) wb[0] = 128;  // E8M0: 2^(128−128) = 1
        for (size_t off : ScaleFields(type)) std::memcpy(wb + off, &kOne, 2);
      }
      auto level = [&] {
        return static_cast<int8_t>(static_cast<int>(rng() % (2 * amax + 1)) - amax);
      };
      if (act_type == T::kQ8_K) {
        auto* xb = reinterpret_cast<BlockQ8_K*>(act.data());
        for (int64_t i = 0; i < blocks; ++i) {
          xb[i].d = 1.f;
          for (int j = 0; j < kQK_K; ++j) xb[i].qs[j] = level();
          for (int g = 0; g < kQK_K / 16; ++g) {
            int sum = 0;
            for (int j = 0; j < 16; ++j) sum += xb[i].qs[16 * g + j];
            xb[i].bsums[g] = static_cast<int16_t>(sum);
          }
        }
      } else {
        const int64_t bytes = BlockBytes(act_type), header = act_type == T::kQ8_1 ? 4 : 2;
        for (int64_t i = 0; i < blocks; ++i) {
          uint8_t* xb = act.data() + i * bytes;
          std::memcpy(xb, &kOne, 2);
          int sum = 0;
          for (int j = 0; j < kQK; ++j) {
            const int8_t q = level();
            xb[header + j] = static_cast<uint8_t>(q);
            sum += q;
          }
          if (act_type == T::kQ8_1) {  // s = d·Σq
            const uint16_t s = F32ToF16(static_cast<float>(sum));
            std::memcpy(xb + 2, &s, 2);
          }
        }
      }
      const auto wd = Dequantize(type, wq.data(), n);
      const auto xd = Dequantize(act_type, act.data(), n);
      const float want = static_cast<float>(testing::Dot64(wd, xd));
      ASSERT_EQ(want, testing::Dot64(wd, xd)) << Name(type) << ": test data not exact in F32";
      EXPECT_EQ(ref::VecDot(type)(wq.data(), act.data(), n), want)
          << Name(type) << " blocks=" << blocks;
      EXPECT_EQ(p.one(type)(wq.data(), act.data(), n), want)
          << p.name << " " << Name(type) << " blocks=" << blocks;
      float out[4];
      p.four(type)(wq.data(), act.data(), 0, n, out);  // stride 0: the same token 4 times
      for (float v : out) EXPECT_EQ(v, want) << p.name << " " << Name(type);
    }
  }
}

TEST_P(NeonVecDotTest, FourTokenIsBitIdenticalToSingleToken) {
  const Path& p = GetParam();
  for (T type : AllWeightTypes()) {
    const VecDot4Fn four = p.four(type);
    if (four == nullptr) continue;
    const VecDotFn one = p.one(type);
    const int64_t be = BlockElems(type);
    for (int64_t n : {be, 3 * be, 17 * be}) {
      const auto wq = Quantize(type, Gaussian(n, 3));
      const int64_t act_bytes = RowBytes(VecDotType(type), n);
      for (int64_t stride : {act_bytes, act_bytes + 5}) {  // packed and padded rows
        std::vector<uint8_t> acts(4 * stride + 8);
        for (int k = 0; k < 4; ++k) {
          const auto a = Activations(type, Gaussian(n, 10 + k));
          std::memcpy(acts.data() + 1 + k * stride, a.data(), a.size());
        }
        float out[4];
        four(wq.data(), acts.data() + 1, stride, n, out);
        for (int k = 0; k < 4; ++k) {
          ASSERT_EQ(out[k], one(wq.data(), acts.data() + 1 + k * stride, n))
              << p.name << " " << Name(type) << " n=" << n << " token " << k;
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, NeonVecDotTest, ::testing::Values(kPlain, kDotProd),
                         [](const ::testing::TestParamInfo<Path>& info) {
                           return std::string(info.param.name);
                         });

// Inputs that stress the converters' rounding: Gaussian rows at several scales, exact halves,
// tied and negative extremes, zero blocks, F16 subnormals and overflow.
std::vector<std::vector<float>> ActivationCases(int64_t n) {
  std::vector<std::vector<float>> cases;
  for (float sigma : {1e-6f, 1.f, 300.f}) cases.push_back(Gaussian(n, 77, sigma));
  std::vector<float> halves(n);
  for (int64_t i = 0; i < n; ++i) halves[i] = (i % 32 == 0) ? 127.f : 0.5f * (i % 200) - 50.f;
  cases.push_back(halves);
  std::vector<float> ties(n, 0.f);
  for (int64_t i = 0; i < n; i += 3) ties[i] = (i % 2) ? -4.f : 4.f;
  cases.push_back(ties);
  cases.push_back(std::vector<float>(n, 0.f));
  std::vector<float> tiny(n), huge(n);
  for (int64_t i = 0; i < n; ++i) {
    tiny[i] = std::ldexp(static_cast<float>(i % 7) - 3.f, -20);
    huge[i] = (i % 2 ? -1.f : 1.f) * (65504.f + 8.f * static_cast<float>(i % 5));  // F16 max, ±inf
  }
  cases.push_back(tiny);
  cases.push_back(huge);
  return cases;
}

TEST(NeonActivationTest, ConvertersAreByteIdentical) {
  if (!neon::Usable()) GTEST_SKIP() << "no NEON kernels on this CPU / build";
  int covered = 0;
  for (T act_type : {T::kQ8_0, T::kQ8_1, T::kQ8_K, T::kF16}) {
    const QuantizeFn simd = neon::ActivationQuantizer(act_type);
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
  for (int64_t n : {1, 3, 5, 13}) {  // F16 rows of any length (the NEON loop has a scalar tail)
    const auto x = Gaussian(n, 5);
    std::vector<uint16_t> want(n), got(n);
    ref::Quantizer(T::kF16)(x.data(), want.data(), n);
    neon::ActivationQuantizer(T::kF16)(x.data(), got.data(), n);
    EXPECT_EQ(want, got) << "n=" << n;
  }
  EXPECT_EQ(covered, 4);
  EXPECT_EQ(neon::ActivationQuantizer(T::kBF16), nullptr);
}

TEST(NeonDispatchTest, PicksDotProdThenPlainNeon) {
#if !defined(__aarch64__)
  // Off AArch64 the NEON entry points are stubs and dispatch never sees them.
  EXPECT_FALSE(neon::Usable());
  EXPECT_FALSE(neondot::Usable());
  for (T type : AllWeightTypes()) {
    EXPECT_EQ(neon::VecDot(type), nullptr) << Name(type);
    EXPECT_EQ(neondot::VecDot(type), nullptr) << Name(type);
    EXPECT_NE(BestVecDot(type), nullptr) << Name(type);
  }
  EXPECT_EQ(neon::ActivationQuantizer(T::kQ8_0), nullptr);
#else
  // The caller (tests/kernels/arm/run_qemu.sh) names the CPU it meant: a run that silently lost
  // the extension, or gained it, would not test what it claims to.
  if (const char* expect = std::getenv("HEARTH_EXPECT_DOTPROD")) {
    EXPECT_EQ(neondot::Usable(), std::string(expect) == "1") << "HEARTH_EXPECT_DOTPROD=" << expect;
  }
  EXPECT_TRUE(neon::Usable());
  const bool simd = SimdEnabled();
  for (T type : AllWeightTypes()) {
    const VecDotFn dot = simd && neondot::Usable() ? neondot::VecDot(type) : nullptr;
    const VecDotFn plain = simd ? neon::VecDot(type) : nullptr;
    const VecDotFn want = dot != nullptr ? dot : plain != nullptr ? plain : ref::VecDot(type);
    EXPECT_EQ(BestVecDot(type), want) << Name(type);
    const VecDot4Fn want4 = dot != nullptr     ? neondot::VecDot4(type)
                            : plain != nullptr ? neon::VecDot4(type)
                                               : nullptr;
    EXPECT_EQ(BestVecDot4(type), want4) << Name(type);
    const T act_type = VecDotType(type);
    const QuantizeFn q = simd ? neon::ActivationQuantizer(act_type) : nullptr;
    EXPECT_EQ(BestActivationQuantizer(type), q != nullptr ? q : ref::ActivationQuantizer(act_type))
        << Name(type);
  }
#endif
}

}  // namespace
}  // namespace hearth::kernels
