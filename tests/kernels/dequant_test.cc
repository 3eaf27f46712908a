// Handcrafted blocks of every type, dequantized and compared with values worked out by hand from
// the formulas of gemma-gguf-spec.md §10. These pin the layouts: every block uses non-trivial
// scales, mins and high bits, and every expected value is exact in F32, so comparisons are exact.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "kernels/blocks.h"
#include "kernels/quant.h"
#include "test_util.h"

namespace hearth::kernels {
namespace {

using testing::Dequantize;
using T = TensorType;

constexpr uint16_t kF16Half = 0x3800;     // 0.5
constexpr uint16_t kF16Quarter = 0x3400;  // 0.25
constexpr uint16_t kF16MinusOne = 0xBC00;

TEST(DequantTest, FloatTypes) {
  const uint32_t f32_bits[2] = {0x40490FDBu, 0xC0000000u};
  auto f32 = Dequantize(T::kF32, f32_bits, 2);
  EXPECT_EQ(f32[0], 3.14159274f);
  EXPECT_EQ(f32[1], -2.f);

  const uint16_t f16[4] = {0x3C00, 0xC000, 0x0001, 0x7BFF};
  auto h = Dequantize(T::kF16, f16, 4);
  EXPECT_EQ(h[0], 1.f);
  EXPECT_EQ(h[1], -2.f);
  EXPECT_EQ(h[2], std::ldexp(1.f, -24));  // smallest subnormal
  EXPECT_EQ(h[3], 65504.f);

  const uint16_t bf16[3] = {0x3F80, 0xC040, 0x4049};
  auto b = Dequantize(T::kBF16, bf16, 3);
  EXPECT_EQ(b[0], 1.f);
  EXPECT_EQ(b[1], -3.f);
  EXPECT_EQ(b[2], 3.140625f);
}

TEST(DequantTest, Q8_0) {
  BlockQ8_0 blk{};
  blk.d = kF16Half;
  blk.qs[0] = 3;
  blk.qs[5] = 100;
  blk.qs[31] = -127;
  auto y = Dequantize(T::kQ8_0, &blk, 32);
  EXPECT_EQ(y[0], 1.5f);
  EXPECT_EQ(y[5], 50.f);
  EXPECT_EQ(y[31], -63.5f);
  EXPECT_EQ(y[1], 0.f);
}

TEST(DequantTest, Q4_0) {
  BlockQ4_0 blk{};
  blk.d = kF16Half;
  std::memset(blk.qs, 0x88, sizeof(blk.qs));  // level 8 → 0
  blk.qs[0] = 0x3A;
  blk.qs[15] = 0xF0;
  auto y = Dequantize(T::kQ4_0, &blk, 32);
  EXPECT_EQ(y[0], 1.f);     // 0.5·(10−8)
  EXPECT_EQ(y[16], -2.5f);  // 0.5·(3−8)
  EXPECT_EQ(y[15], -4.f);   // 0.5·(0−8)
  EXPECT_EQ(y[31], 3.5f);   // 0.5·(15−8)
  EXPECT_EQ(y[7], 0.f);
}

TEST(DequantTest, Q4_1) {
  BlockQ4_1 blk{};
  blk.d = kF16Half;
  blk.m = kF16MinusOne;
  blk.qs[0] = 0x3A;
  blk.qs[15] = 0xF0;
  auto y = Dequantize(T::kQ4_1, &blk, 32);
  EXPECT_EQ(y[0], 4.f);    // 0.5·10 − 1
  EXPECT_EQ(y[16], 0.5f);  // 0.5·3 − 1
  EXPECT_EQ(y[15], -1.f);
  EXPECT_EQ(y[31], 6.5f);
}

TEST(DequantTest, Q5_0) {
  BlockQ5_0 blk{};
  blk.d = kF16Half;
  const uint8_t qh[4] = {0x01, 0x00, 0x00, 0x80};  // fifth bits of elements 0 and 31
  std::memcpy(blk.qh, qh, 4);
  blk.qs[0] = 0x3A;
  blk.qs[15] = 0xF0;
  auto y = Dequantize(T::kQ5_0, &blk, 32);
  EXPECT_EQ(y[0], 5.f);     // 0.5·((10|16)−16)
  EXPECT_EQ(y[16], -6.5f);  // 0.5·(3−16)
  EXPECT_EQ(y[15], -8.f);   // 0.5·(0−16)
  EXPECT_EQ(y[31], 7.5f);   // 0.5·((15|16)−16)
}

TEST(DequantTest, Q5_1) {
  BlockQ5_1 blk{};
  blk.d = kF16Half;
  blk.m = kF16MinusOne;
  const uint8_t qh[4] = {0x01, 0x00, 0x00, 0x80};
  std::memcpy(blk.qh, qh, 4);
  blk.qs[0] = 0x3A;
  blk.qs[15] = 0xF0;
  auto y = Dequantize(T::kQ5_1, &blk, 32);
  EXPECT_EQ(y[0], 12.f);   // 0.5·26 − 1
  EXPECT_EQ(y[16], 0.5f);  // 0.5·3 − 1
  EXPECT_EQ(y[15], -1.f);
  EXPECT_EQ(y[31], 14.5f);  // 0.5·31 − 1
}

TEST(DequantTest, IQ4_NL) {
  BlockIQ4_NL blk{};
  blk.d = kF16Half;
  blk.qs[0] = 0x3A;
  blk.qs[15] = 0xF0;
  auto y = Dequantize(T::kIQ4_NL, &blk, 32);
  EXPECT_EQ(y[0], 12.5f);    // 0.5·K[10] = 0.5·25
  EXPECT_EQ(y[16], -32.5f);  // 0.5·K[3] = 0.5·(−65)
  EXPECT_EQ(y[15], -63.5f);  // 0.5·K[0]
  EXPECT_EQ(y[31], 56.5f);   // 0.5·K[15]
}

TEST(DequantTest, MXFP4) {
  BlockMXFP4 blk[3] = {};
  blk[0].e = 130;  // 2^(130−128) = 4
  blk[0].qs[0] = 0x3A;
  blk[0].qs[15] = 0xF7;
  blk[1].e = 0;  // 2^−128 (subnormal)
  blk[1].qs[0] = 0x01;
  blk[2].e = 1;  // 2^−127 (subnormal)
  blk[2].qs[0] = 0x02;
  auto y = Dequantize(T::kMXFP4, blk, 96);
  EXPECT_EQ(y[0], -8.f);   // F[10]·4 = −2·4
  EXPECT_EQ(y[16], 12.f);  // F[3]·4
  EXPECT_EQ(y[15], 48.f);  // F[7]·4 = 12·4
  EXPECT_EQ(y[31], -48.f);
  EXPECT_EQ(y[32], std::ldexp(1.f, -128));
  EXPECT_EQ(y[64], std::ldexp(1.f, -126));  // F[2]·2^−127
}

TEST(DequantTest, Q2_K) {
  BlockQ2_K blk{};
  blk.d = kF16Half;
  blk.dmin = kF16Quarter;
  blk.scales[0] = 0x21;   // scale 1, min 2
  blk.scales[1] = 0x13;   // scale 3, min 1
  blk.scales[2] = 0x32;   // scale 2, min 3
  blk.scales[5] = 0x45;   // scale 5, min 4
  blk.scales[15] = 0xF7;  // scale 7, min 15
  blk.qs[0] = 0xE4;       // levels 0,1,2,3 at shifts 0,2,4,6
  blk.qs[17] = 0x03;
  blk.qs[20] = 0x20;
  blk.qs[63] = 0xC0;
  auto y = Dequantize(T::kQ2_K, &blk, 256);
  EXPECT_EQ(y[0], -0.5f);    // 0.5·1·0 − 0.25·2
  EXPECT_EQ(y[32], 0.25f);   // sub-block 2: 0.5·2·1 − 0.25·3
  EXPECT_EQ(y[64], 0.f);     // sub-block 4: scale and min 0
  EXPECT_EQ(y[17], 4.25f);   // sub-block 1: 0.5·3·3 − 0.25·1
  EXPECT_EQ(y[20], -0.25f);  // sub-block 1: 0.5·3·0 − 0.25
  EXPECT_EQ(y[84], 4.f);     // sub-block 5 (qs[20] >> 4): 0.5·5·2 − 0.25·4
  EXPECT_EQ(y[255], 6.75f);  // sub-block 15 (qs[63] >> 6): 0.5·7·3 − 0.25·15
}

TEST(DequantTest, Q3_K) {
  // Six-bit scales (stored +32): s[0] = 37 (5), s[1] = 30 (−2), s[8] = 63 (31), s[13] = 0 (−32),
  // all others 32 (0); packed by hand as in the spec.
  BlockQ3_K blk{};
  blk.d = kF16Half;
  const uint8_t scales[12] = {0xF5, 0x0E, 0, 0, 0, 0, 0, 0, 0xBA, 0x29, 0xAA, 0xAA};
  std::memcpy(blk.scales, scales, 12);
  blk.qs[0] = 0x03;
  blk.hmask[0] = 0x11;  // bit 0: element 0 has no −4; bit 4: element 128 has no −4
  blk.qs[1] = 0x01;
  blk.qs[16] = 0x02;
  blk.qs[32] = 0x02;
  blk.qs[48] = 0x10;
  auto y = Dequantize(T::kQ3_K, &blk, 256);
  EXPECT_EQ(y[0], 7.5f);     // 0.5·5·3
  EXPECT_EQ(y[1], -7.5f);    // 0.5·5·(1−4)
  EXPECT_EQ(y[16], 2.f);     // 0.5·(−2)·(2−4)
  EXPECT_EQ(y[128], 31.f);   // 0.5·31·2
  EXPECT_EQ(y[208], 48.f);   // 0.5·(−32)·(1−4): qs[48] >> 4, hmask[16] bit 6 clear
  EXPECT_EQ(y[2], -10.f);    // 0.5·5·(0−4)
  EXPECT_EQ(y[32], 0.f);     // scale 0
}

// Scales shared by the Q4_K and Q5_K blocks: (sc, mn) = (10, 3) for sub-block 0, (1, 2) for 1,
// (39, 53) for 5 (high bits in the top of bytes 1 and 5), zero elsewhere.
void FillScalesK4(uint8_t* s) {
  std::memset(s, 0, 12);
  s[0] = 10;
  s[4] = 3;
  s[1] = 0x81;
  s[5] = 0xC2;
  s[9] = 0x57;
}

TEST(DequantTest, Q4_K) {
  BlockQ4_K blk{};
  blk.d = kF16Half;
  blk.dmin = kF16Quarter;
  FillScalesK4(blk.scales);
  blk.qs[0] = 0x4C;
  blk.qs[71] = 0x90;
  auto y = Dequantize(T::kQ4_K, &blk, 256);
  EXPECT_EQ(y[0], 59.25f);    // 0.5·10·12 − 0.25·3
  EXPECT_EQ(y[32], 1.5f);     // 0.5·1·4 − 0.25·2
  EXPECT_EQ(y[167], 162.25f);  // 0.5·39·9 − 0.25·53
  EXPECT_EQ(y[135], 0.f);     // sub-block 4: zero scale and min
  EXPECT_EQ(y[1], -0.75f);    // 0.5·10·0 − 0.25·3
}

TEST(DequantTest, Q5_K) {
  BlockQ5_K blk{};
  blk.d = kF16Half;
  blk.dmin = kF16Quarter;
  FillScalesK4(blk.scales);
  blk.qs[0] = 0x4C;
  blk.qs[71] = 0x90;
  blk.qh[0] = 0x01;  // fifth bit of element 0 (chunk 0, low nibble)
  blk.qh[7] = 0x20;  // fifth bit of element 167 (chunk 2, high nibble)
  auto y = Dequantize(T::kQ5_K, &blk, 256);
  EXPECT_EQ(y[0], 139.25f);   // 0.5·10·28 − 0.75
  EXPECT_EQ(y[32], 1.5f);     // bit 0x02 of qh[0] clear
  EXPECT_EQ(y[167], 474.25f);  // 0.5·39·25 − 13.25
}

TEST(DequantTest, Q6_K) {
  BlockQ6_K blk{};
  blk.d = kF16Half;
  blk.scales[0] = 3;
  blk.scales[2] = -2;
  blk.scales[12] = 5;
  blk.scales[15] = -7;
  blk.ql[0] = 0x05;
  blk.qh[0] = 0x02;
  blk.ql[67] = 0xA0;
  blk.qh[35] = 0x30;
  blk.ql[127] = 0x10;
  blk.qh[63] = 0x40;
  auto y = Dequantize(T::kQ6_K, &blk, 256);
  EXPECT_EQ(y[0], 7.5f);     // 0.5·3·((5|32)−32)
  EXPECT_EQ(y[32], 32.f);    // 0.5·(−2)·(0−32)
  EXPECT_EQ(y[195], 65.f);   // 0.5·5·((10|48)−32)
  EXPECT_EQ(y[255], 52.5f);  // 0.5·(−7)·((1|16)−32)
}

TEST(DequantTest, IQ4_XS) {
  BlockIQ4_XS blk{};
  blk.d = kF16Half;
  // ls = 37 (5) for sub-block 0, 10 (−22) for 3, 63 (31) for 7, 32 (0) elsewhere.
  const uint8_t scales_l[4] = {0x05, 0xA0, 0x00, 0xF0};
  std::memcpy(blk.scales_l, scales_l, 4);
  blk.scales_h = 0xEA2A;
  blk.qs[0] = 0x3A;
  blk.qs[48] = 0x0F;
  blk.qs[127] = 0x80;
  auto y = Dequantize(T::kIQ4_XS, &blk, 256);
  EXPECT_EQ(y[0], 62.5f);      // 0.5·5·K[10]
  EXPECT_EQ(y[16], -162.5f);   // 0.5·5·K[3]
  EXPECT_EQ(y[96], -1243.f);   // 0.5·(−22)·K[15]
  EXPECT_EQ(y[112], 1397.f);   // 0.5·(−22)·K[0]
  EXPECT_EQ(y[239], -1968.5f);  // 0.5·31·K[0]
  EXPECT_EQ(y[255], 15.5f);    // 0.5·31·K[8]
  EXPECT_EQ(y[32], 0.f);       // sub-block 1: scale 0
}

TEST(DequantTest, ActivationTypes) {
  BlockQ8_1 b1{};
  b1.d = kF16Half;
  b1.qs[3] = -7;
  EXPECT_EQ(Dequantize(T::kQ8_1, &b1, 32)[3], -3.5f);
  BlockQ8_K bk{};
  bk.d = 0.25f;
  bk.qs[200] = -100;
  EXPECT_EQ(Dequantize(T::kQ8_K, &bk, 256)[200], -25.f);
}

}  // namespace
}  // namespace hearth::kernels
