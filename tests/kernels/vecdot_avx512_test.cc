// The AVX-512 VNNI dot products (Q4_0, Q5_0 and Q8_0 weights against Q8_0 activations; Q4_K and
// Q6_K against Q8_K; F16 and BF16 rows): against the scalar reference over sizes (even and odd
// block counts: the 32-element kernels take blocks in pairs; float rows around the 16-element
// steps) and misalignments, exactly on integer-valued data, four-token and the many-token packed
// kernel against single-token bit for bit, and the dispatch choice. Skipped where the CPU lacks
// AVX-512 F/BW/VL/VNNI.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "kernels/blocks.h"
#include "kernels/impl.h"
#include "kernels/quant.h"
#include "test_util.h"

namespace hearth::kernels {
namespace {

using T = TensorType;
using testing::AbsDotScale;
using testing::Activations;
using testing::Dequantize;
using testing::Gaussian;
using testing::Name;
using testing::Quantize;

// As in vecdot_test.cc: the same integer block products summed in another order in F32 lanes.
constexpr double kSimdVsRefTol = 5e-7;  // relative to Σ|w_i·x_i|
// The float rows: every product rounded, then summed in another order (up to ~40 additions per
// lane here).
constexpr double kFloatSimdVsRefTol = 4e-6;

const T kTypes[] = {T::kQ4_0, T::kQ5_0, T::kQ8_0, T::kQ4_K, T::kQ6_K, T::kF16, T::kBF16};
const T kBlockTypes[] = {T::kQ4_0, T::kQ5_0, T::kQ8_0, T::kQ4_K, T::kQ6_K};  // with VecDot4
const T kBlock32Types[] = {T::kQ4_0, T::kQ5_0, T::kQ8_0};

bool FloatType(T type) { return type == T::kF16 || type == T::kBF16; }

// Row lengths to test: `blocks` whole blocks of the block types; for the float rows, lengths
// around the kernels' 16- and 32-element steps (the masked last step) and a long row.
std::vector<int64_t> Sizes(T type, std::initializer_list<int64_t> blocks) {
  if (FloatType(type)) return {1, 7, 15, 16, 17, 31, 32, 33, 47, 100, 1157};
  std::vector<int64_t> n;
  for (int64_t b : blocks) n.push_back(BlockElems(type) * b);
  return n;
}

bool Available() { return avx512::Usable(); }

TEST(VecDotAvx512Test, CoversItsTypesOnly) {
  if (!Available()) GTEST_SKIP() << "no AVX-512 F/BW/VL/VNNI on this CPU";
  for (T type : kTypes) EXPECT_NE(avx512::VecDot(type), nullptr) << Name(type);
  for (T type : kBlockTypes) EXPECT_NE(avx512::VecDot4(type), nullptr) << Name(type);
  EXPECT_EQ(avx512::VecDot4(T::kF16), nullptr);  // MatMul takes the packed tile instead
  EXPECT_EQ(avx512::VecDot(T::kF32), nullptr);
  EXPECT_EQ(avx512::VecDot(T::kQ4_1), nullptr);
  EXPECT_EQ(avx512::VecDot4(T::kQ5_K), nullptr);
  EXPECT_EQ(avx512::VecDot(T::kQ2_K), nullptr);
}

TEST(VecDotAvx512Test, MatchesReferenceOverSizesAndMisalignment) {
  if (!Available()) GTEST_SKIP() << "no AVX-512 F/BW/VL/VNNI on this CPU";
  for (T type : kTypes) {
    const VecDotFn simd = avx512::VecDot(type);
    const VecDotFn reference = ref::VecDot(type);
    for (int64_t n : Sizes(type, {1, 2, 3, 4, 7, 8, 33, 64})) {
      const auto w = Gaussian(n, static_cast<uint32_t>(n));
      const auto x = Gaussian(n, static_cast<uint32_t>(n) + 1);
      const auto wq = Quantize(type, w);
      const auto act = Activations(type, x);
      const double scale = AbsDotScale(Dequantize(type, wq.data(), n),
                                       Dequantize(VecDotType(type), act.data(), n));
      const float want = reference(wq.data(), act.data(), n);
      for (int mw = 0; mw < 8; ++mw) {
        for (int mx : {0, 3, 5}) {
          testing::OffsetBuffer wb(wq, mw), xb(act, mx);
          const float got = simd(wb.data(), xb.data(), n);
          ASSERT_NEAR(got, want, (FloatType(type) ? kFloatSimdVsRefTol : kSimdVsRefTol) * scale)
              << Name(type) << " n=" << n << " misalign " << mw << "/" << mx;
        }
      }
    }
  }
}

TEST(VecDotAvx512Test, ZeroLengthIsZero) {
  if (!Available()) GTEST_SKIP() << "no AVX-512 F/BW/VL/VNNI on this CPU";
  const uint8_t none[1] = {0};
  for (T type : kTypes) EXPECT_EQ(avx512::VecDot(type)(none, none, 0), 0.f) << Name(type);
}

// Raw blocks with both scales 1.0 and every level byte random (Q8_0 weights include −128, which
// the weight quantizer never writes but the kernel must still take): all block sums and partial
// sums are integers below 2^24, so F32 is exact in any order and the result must equal the
// integer dot exactly.
TEST(VecDotAvx512Test, ExactOnIntegerData) {
  if (!Available()) GTEST_SKIP() << "no AVX-512 F/BW/VL/VNNI on this CPU";
  constexpr uint16_t kOne = 0x3C00;  // F16 1.0
  std::mt19937 rng(7);
  for (T type : kBlock32Types) {
    for (int64_t blocks : {1, 2, 5, 16}) {  // 16·32·128·127 < 2^24
      const int64_t n = 32 * blocks;
      std::vector<uint8_t> wq(RowBytes(type, n)), act(RowBytes(T::kQ8_0, n));
      for (auto& b : wq) b = static_cast<uint8_t>(rng());
      for (auto& b : act) b = static_cast<uint8_t>(static_cast<int>(rng() % 255) - 127);
      int64_t want = 0;
      for (int64_t i = 0; i < blocks; ++i) {
        uint8_t* wb = wq.data() + i * BlockBytes(type);
        uint8_t* xb = act.data() + i * BlockBytes(T::kQ8_0);
        std::memcpy(wb, &kOne, 2);
        std::memcpy(xb, &kOne, 2);
        for (int j = 0; j < 32; ++j) {
          const int xv = static_cast<int8_t>(xb[2 + j]);
          int wv;
          if (type == T::kQ8_0) {
            wv = static_cast<int8_t>(wb[2 + j]);
          } else if (type == T::kQ4_0) {
            wv = ((wb[2 + j % 16] >> (j < 16 ? 0 : 4)) & 15) - 8;
          } else {  // Q5_0: d, qh (bit j: element j's fifth bit), then the nibbles
            const int high = (wb[2 + j / 8] >> (j % 8)) & 1;
            wv = (((wb[6 + j % 16] >> (j < 16 ? 0 : 4)) & 15) | high << 4) - 16;
          }
          want += int64_t{wv} * xv;
        }
      }
      EXPECT_EQ(ref::VecDot(type)(wq.data(), act.data(), n), static_cast<float>(want))
          << Name(type) << " blocks=" << blocks;
      EXPECT_EQ(avx512::VecDot(type)(wq.data(), act.data(), n), static_cast<float>(want))
          << Name(type) << " blocks=" << blocks;
      float out[4];
      avx512::VecDot4(type)(wq.data(), act.data(), 0, n, out);  // stride 0: same token 4 times
      for (float v : out) EXPECT_EQ(v, static_cast<float>(want)) << Name(type);
    }
  }
}

// The K types on raw blocks with F16 scales 1.0 (and Q4_K's dmin 1.0), every level, scale and
// min byte random, and activation bytes in −7..7 with matching bsums: every weight is an integer
// (Dequantize gives it exactly), each product and partial sum is an integer below 2^24, so the
// result must equal the integer dot exactly. Catches any misplaced level, scale or min.
TEST(VecDotAvx512Test, KTypesExactOnIntegerData) {
  if (!Available()) GTEST_SKIP() << "no AVX-512 F/BW/VL/VNNI on this CPU";
  constexpr uint16_t kOne = 0x3C00;  // F16 1.0
  std::mt19937 rng(11);
  for (T type : {T::kQ4_K, T::kQ6_K}) {
    for (int64_t supers : {1, 2}) {  // |w| ≤ 63·15 + 63 (Q4_K) or 127·32 (Q6_K); 512·4064·7 < 2^24
      const int64_t n = 256 * supers;
      std::vector<uint8_t> wq(RowBytes(type, n));
      for (auto& b : wq) b = static_cast<uint8_t>(rng());
      for (int64_t i = 0; i < supers; ++i) {
        uint8_t* wb = wq.data() + i * BlockBytes(type);
        if (type == T::kQ4_K) {
          std::memcpy(wb, &kOne, 2);
          std::memcpy(wb + 2, &kOne, 2);
        } else {
          std::memcpy(wb + 208, &kOne, 2);
        }
      }
      const std::vector<float> w = Dequantize(type, wq.data(), n);
      std::vector<BlockQ8_K> act(supers);
      int64_t want = 0;
      for (int64_t i = 0; i < supers; ++i) {
        act[i].d = 1.f;
        for (int j = 0; j < 256; ++j) {
          act[i].qs[j] = static_cast<int8_t>(static_cast<int>(rng() % 15) - 7);
          want += static_cast<int64_t>(w[i * 256 + j]) * act[i].qs[j];
        }
        for (int s = 0; s < 16; ++s) {
          int sum = 0;
          for (int j = 0; j < 16; ++j) sum += act[i].qs[16 * s + j];
          act[i].bsums[s] = static_cast<int16_t>(sum);
        }
      }
      for (float v : w) ASSERT_EQ(v, static_cast<float>(static_cast<int64_t>(v))) << Name(type);
      EXPECT_EQ(avx512::VecDot(type)(wq.data(), act.data(), n), static_cast<float>(want))
          << Name(type) << " supers=" << supers;
      float out[4];
      avx512::VecDot4(type)(wq.data(), act.data(), 0, n, out);
      for (float v : out) EXPECT_EQ(v, static_cast<float>(want)) << Name(type);
    }
  }
}

TEST(VecDotAvx512Test, FourTokenIsBitIdenticalToSingleToken) {
  if (!Available()) GTEST_SKIP() << "no AVX-512 F/BW/VL/VNNI on this CPU";
  for (T type : kBlockTypes) {
    const VecDot4Fn four = avx512::VecDot4(type);
    const VecDotFn one = avx512::VecDot(type);
    for (int64_t blocks : {1, 3, 4, 17}) {
      const int64_t n = BlockElems(type) * blocks;
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
              << Name(type) << " n=" << n << " token " << k;
        }
      }
    }
  }
}

TEST(VecDotAvx512Test, PackedKernelIsBitIdenticalToSingleToken) {
  if (!Available()) GTEST_SKIP() << "no AVX-512 F/BW/VL/VNNI on this CPU";
  EXPECT_EQ(avx512::PackedDot(T::kQ5_K, false), nullptr);
  EXPECT_EQ(avx512::PackActivations(T::kQ4_1, true), nullptr);
  for (T type : kTypes) {
    // Both variants (the one-token layout is meant for one token but computes any number).
    for (bool one_token : {false, true}) {
      const PackedDotFn packed_dot = avx512::PackedDot(type, one_token);
      const PackActivationsFn pack = avx512::PackActivations(type, one_token);
      ASSERT_NE(packed_dot, nullptr) << Name(type);
      ASSERT_NE(pack, nullptr) << Name(type);
      const VecDotFn one = avx512::VecDot(type);
      for (int64_t n : Sizes(type, {1, 2, 3, 17})) {
        const int64_t blocks = n / BlockElems(type);
        const int64_t packed_bytes = avx512::PackedActBytes(type, one_token, n);
        int64_t want_bytes = (blocks + 1) / 2 * (type == T::kQ4_0 && one_token ? 192 : 128);
        if (BlockElems(type) == 256) want_bytes = blocks * 320;
        if (FloatType(type)) want_bytes = (n + 15) / 16 * 64;
        EXPECT_EQ(packed_bytes, want_bytes) << Name(type) << " n=" << n;
        const int64_t max_rows = 5, max_tok = 21;
        // Rows with a padded stride at an odd address; packed rows likewise.
        const int64_t row_bytes = RowBytes(type, n) + 3;
        std::vector<uint8_t> rows(max_rows * row_bytes + 1);
        for (int64_t r = 0; r < max_rows; ++r) {
          const auto q = Quantize(type, Gaussian(n, 100 + static_cast<uint32_t>(r)));
          std::memcpy(rows.data() + 1 + r * row_bytes, q.data(), q.size());
        }
        const int64_t pstride = packed_bytes + 64;
        std::vector<std::vector<uint8_t>> acts;
        std::vector<uint8_t> packed(max_tok * pstride + 5);
        for (int64_t t = 0; t < max_tok; ++t) {
          acts.push_back(Activations(type, Gaussian(n, 200 + static_cast<uint32_t>(t))));
          pack(acts.back().data(), n, packed.data() + 5 + t * pstride);
        }
        for (int64_t n_rows = 1; n_rows <= max_rows; ++n_rows) {
          for (int64_t n_tok : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 21}) {
            const int64_t y_stride = n_rows + 2;
            std::vector<float> y(n_tok * y_stride, -7.f);
            packed_dot(rows.data() + 1, row_bytes, n_rows, packed.data() + 5, pstride, n_tok, n,
                       y.data(), y_stride);
            for (int64_t t = 0; t < n_tok; ++t) {
              for (int64_t r = 0; r < y_stride; ++r) {
                const float want = r < n_rows ? one(rows.data() + 1 + r * row_bytes,
                                                    acts[t].data(), n)
                                               : -7.f;  // outside the rows: untouched
                ASSERT_EQ(y[t * y_stride + r], want) << Name(type) << " one_token=" << one_token
                                                     << " n=" << n
                                                     << " rows=" << n_rows << " n_tok=" << n_tok
                                                     << " row " << r << " token " << t;
              }
            }
          }
        }
      }
    }
  }
}

TEST(VecDotAvx512Test, DispatchPrefersAvx512WhereAvailable) {
  const char* no_simd = std::getenv("HEARTH_NO_SIMD");
  const bool simd_on = no_simd == nullptr || std::string(no_simd) == "0";
  for (T type : kTypes) {
    if (simd_on && Available()) {
      EXPECT_EQ(BestVecDot(type), avx512::VecDot(type)) << Name(type);
      EXPECT_EQ(BestVecDot4(type), avx512::VecDot4(type)) << Name(type);
      EXPECT_EQ(BestPackedPath(type, 16).dot, avx512::PackedDot(type, false)) << Name(type);
      EXPECT_EQ(BestPackedPath(type, 1).dot, avx512::PackedDot(type, true)) << Name(type);
    } else {
      EXPECT_NE(BestVecDot(type), avx512::VecDot(type)) << Name(type);
      EXPECT_EQ(BestPackedPath(type, 16).dot, nullptr) << Name(type);
      EXPECT_EQ(BestPackedPath(type, 1).dot, nullptr) << Name(type);
    }
  }
  EXPECT_EQ(BestPackedPath(T::kQ5_K, 16).dot, nullptr);  // no packed kernel: MatMul's 4-token path
}

}  // namespace
}  // namespace hearth::kernels
