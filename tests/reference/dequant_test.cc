// Hand-built blocks with values worked out by hand from gemma-gguf-spec.md §10, for the types no
// golden file covers. They pin the byte offsets, nibble order, high-bit and scale unpacking.
#include "reference/dequant.h"

#include <cmath>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

namespace hearth::reference {
namespace {

constexpr uint16_t kHalfOne = 0x3C00, kHalfHalf = 0x3800, kHalfTwo = 0x4000;

void PutHalf(std::vector<uint8_t>& b, size_t at, uint16_t h) {
  b[at] = h & 0xFF;
  b[at + 1] = h >> 8;
}

std::vector<float> Dequant(uint32_t type, const std::vector<uint8_t>& block) {
  const TypeLayout layout = LayoutOf(type).value();
  EXPECT_EQ(static_cast<int64_t>(block.size()), layout.block_bytes) << layout.name;
  std::vector<float> y(layout.block_elems);
  DequantizeRow(type, block.data(), layout.block_elems, y.data());
  return y;
}

TEST(ReferenceDequant, Q4_0AndQ8_0) {
  std::vector<uint8_t> b(18);
  PutHalf(b, 0, kHalfTwo);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = Dequant(kTypeQ4_0, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 2.0f * (j - 8));
    EXPECT_EQ(y[j + 16], 2.0f * (7 - j));
  }
  std::vector<uint8_t> c(34);
  PutHalf(c, 0, kHalfHalf);
  for (int j = 0; j < 32; ++j) c[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(j * 8 - 128));
  const std::vector<float> z = Dequant(kTypeQ8_0, c);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(z[j], 0.5f * (j * 8 - 128));
}

TEST(ReferenceDequant, Q5HighBitsAndMinimums) {
  std::vector<uint8_t> b(22, 0);  // Q5_0: d = 1, qh bits 0 and 31 set, all nibbles 0
  PutHalf(b, 0, kHalfOne);
  b[2] = 0x01;
  b[5] = 0x80;
  const std::vector<float> y = Dequant(kTypeQ5_0, b);
  EXPECT_EQ(y[0], 0.0f);    // 16 - 16
  EXPECT_EQ(y[1], -16.0f);
  EXPECT_EQ(y[16], -16.0f);
  EXPECT_EQ(y[31], 0.0f);   // element 15 + 16 takes bit 31

  std::vector<uint8_t> c(24, 0xFF);  // Q5_1: d = 1, m = 0.5, every bit set -> 31 + 0.5
  PutHalf(c, 0, kHalfOne);
  PutHalf(c, 2, kHalfHalf);
  for (float v : Dequant(kTypeQ5_1, c)) EXPECT_EQ(v, 31.5f);

  std::vector<uint8_t> d(20, 0x3A);  // Q4_1: d = 2, m = 1, low nibble 10, high nibble 3
  PutHalf(d, 0, kHalfTwo);
  PutHalf(d, 2, kHalfOne);
  const std::vector<float> w = Dequant(kTypeQ4_1, d);
  EXPECT_EQ(w[0], 21.0f);
  EXPECT_EQ(w[16], 7.0f);
}

TEST(ReferenceDequant, NonLinearAndFp4Levels) {
  constexpr int kLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                               1,    13,   25,  38,  53,  69,  89,  113};
  std::vector<uint8_t> b(18);
  PutHalf(b, 0, kHalfOne);
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = Dequant(kTypeIQ4_NL, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], kLevels[j]);
    EXPECT_EQ(y[j + 16], kLevels[15 - j]);
  }
  // MXFP4: E8M0 "half" scale 2^(e-128), including the subnormal and top exponents.
  for (int e : {0, 1, 2, 128, 200, 255}) {
    std::vector<uint8_t> m(17, 0);
    m[0] = static_cast<uint8_t>(e);
    m[1] = 0x9F;  // element 0: level 15 (-12), element 16: level 9 (-1)
    const std::vector<float> v = Dequant(kTypeMXFP4, m);
    EXPECT_EQ(v[0], -12.0f * std::ldexp(1.0f, e - 128)) << e;
    EXPECT_EQ(v[16], -std::ldexp(1.0f, e - 128)) << e;
    EXPECT_EQ(v[1], 0.0f);
  }
}

TEST(ReferenceDequant, Q4_KScaleAndMinUnpacking) {
  std::vector<uint8_t> b(144, 0);
  PutHalf(b, 0, kHalfOne);  // d
  PutHalf(b, 2, kHalfOne);  // dmin
  for (int j = 0; j < 4; ++j) {
    b[4 + j] = static_cast<uint8_t>((1 << 6) | (j + 1));       // sc_j = j+1; high bits of sc_{j+4}
    b[8 + j] = static_cast<uint8_t>((2 << 6) | (10 + j));      // mn_j = 10+j; high bits of mn_{j+4}
    b[12 + j] = 0x21;                                          // sc_{j+4} low 1, mn_{j+4} low 2
  }
  for (int i = 0; i < 128; ++i) b[16 + i] = 0x21;  // low nibble 1, high nibble 2
  const std::vector<float> y = Dequant(kTypeQ4_K, b);
  // chunk c: y[64c] = sc_{2c}·1 - mn_{2c}, y[64c+32] = sc_{2c+1}·2 - mn_{2c+1};
  // sc_{4..7} = 1 | 1<<4 = 17, mn_{4..7} = 2 | 2<<4 = 34.
  const float expected[8] = {1 - 10, 4 - 11, 3 - 12, 8 - 13, 17 - 34, 34 - 34, 17 - 34, 34 - 34};
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      EXPECT_EQ(y[64 * c + l], expected[2 * c]) << c;
      EXPECT_EQ(y[64 * c + 32 + l], expected[2 * c + 1]) << c;
    }
  }
  // Q5_K: the same scales, qh bit (1 << 2c) adds 16 to the low-nibble half of chunk c.
  std::vector<uint8_t> q5(176, 0);
  std::memcpy(q5.data(), b.data(), 16);
  for (int l = 0; l < 32; ++l) q5[16 + l] = 0x01;  // chunk 0, low half only
  for (int i = 0; i < 128; ++i) q5[48 + i] = 0x21;
  const std::vector<float> z = Dequant(kTypeQ5_K, q5);
  EXPECT_EQ(z[0], 1 * 17 - 10);
  EXPECT_EQ(z[32], expected[1]);
  EXPECT_EQ(z[64], expected[2]);
}

TEST(ReferenceDequant, Q6_KHalvesAndScales) {
  std::vector<uint8_t> b(210, 0);  // all ql/qh zero -> q = -32 except where qh[0] is set
  for (int i = 0; i < 16; ++i) b[192 + i] = static_cast<uint8_t>(i + 1);
  b[128] = 0xE4;  // qh[0]: q1 bits 0, q2 bits 1, q3 bits 2, q4 bits 3
  PutHalf(b, 208, kHalfOne);
  const std::vector<float> y = Dequant(kTypeQ6_K, b);
  EXPECT_EQ(y[0], 1 * -32.0f);
  EXPECT_EQ(y[32], 3 * -16.0f);   // scale index 2, q = 16 - 32
  EXPECT_EQ(y[64], 0.0f);         // q = 32 - 32
  EXPECT_EQ(y[96], 7 * 16.0f);    // scale index 6, q = 48 - 32
  EXPECT_EQ(y[17], 2 * -32.0f);   // l >= 16 uses scale index 1
  EXPECT_EQ(y[128], 9 * -32.0f);  // second half uses scales 8..15
  EXPECT_EQ(y[255], 16 * -32.0f);
}

TEST(ReferenceDequant, Q2_KAndQ3_KGroups) {
  std::vector<uint8_t> b(84, 0);
  for (int i = 0; i < 16; ++i) b[i] = static_cast<uint8_t>((i % 16) | ((i % 4) << 4));
  for (int i = 0; i < 64; ++i) b[16 + i] = 0xE4;  // shift 2k gives q = k
  PutHalf(b, 80, kHalfOne);
  PutHalf(b, 82, kHalfOne);
  const std::vector<float> y = Dequant(kTypeQ2_K, b);
  auto q2 = [&](int n, int k, int l) {
    const int is = 8 * n + 2 * k + (l >= 16);
    return static_cast<float>((is % 16) * k - (is % 4));
  };
  for (int e : {0, 16, 32, 50, 127, 128, 200, 255}) {
    EXPECT_EQ(y[e], q2(e / 128, (e % 128) / 32, e % 32)) << e;
  }

  // Q3_K: 16 six-bit scales s_i = 20 + i encoded per §10 (low 4 bits in bytes 0..7, high 2 bits
  // in bytes 8..11), hmask all set (no -4), q = k from the 0xE4 pattern, d = 1.
  std::vector<uint8_t> c(110, 0);
  for (int i = 0; i < 32; ++i) c[i] = 0xFF;
  for (int i = 0; i < 64; ++i) c[32 + i] = 0xE4;
  for (int i = 0; i < 16; ++i) {
    const int s = 20 + i;
    if (i < 8) {
      c[96 + i] |= s & 15;
    } else {
      c[96 + i - 8] |= (s & 15) << 4;
    }
    c[96 + 8 + i % 4] |= ((s >> 4) & 3) << (2 * (i / 4));
  }
  PutHalf(c, 108, kHalfOne);
  const std::vector<float> z = Dequant(kTypeQ3_K, c);
  for (int e : {0, 16, 32, 50, 127, 128, 200, 255}) {
    const int n = e / 128, k = (e % 128) / 32, l = e % 32;
    const int is = 8 * n + 2 * k + (l >= 16);
    EXPECT_EQ(z[e], static_cast<float>((20 + is - 32) * k)) << e;
  }
  c[0] = 0xFE;  // clear mask bit 0 of element 0 (n = 0, k = 0): q = 0 - 4
  EXPECT_EQ(Dequant(kTypeQ3_K, c)[0], (20 - 32) * -4.0f);
}

TEST(ReferenceDequant, IQ4_XSSubBlockScales) {
  std::vector<uint8_t> b(136, 0);
  PutHalf(b, 0, kHalfOne);
  b[2] = 0x06;  // scales_h: sub-block 0 high bits 2, sub-block 1 high bits 1
  b[4] = 0x21;  // scales_l[0]: sub-block 0 low 1, sub-block 1 low 2
  for (int i = 0; i < 128; ++i) b[8 + i] = 0x80;  // low nibble level -127, high nibble level 1
  const std::vector<float> y = Dequant(kTypeIQ4_XS, b);
  EXPECT_EQ(y[0], (33 - 32) * -127.0f);
  EXPECT_EQ(y[16], (33 - 32) * 1.0f);
  EXPECT_EQ(y[32], (18 - 32) * -127.0f);
  EXPECT_EQ(y[255], (0 - 32) * 1.0f);  // sub-block 7: scale bits 0
}

TEST(ReferenceDequant, HalfAndBF16Rounding) {
  EXPECT_EQ(RoundToHalf(1.0f + 1.0f / 2048), 1.0f);               // tie to even (down)
  EXPECT_EQ(RoundToHalf(1.0f + 3.0f / 2048), 1.0f + 1.0f / 512);  // tie to even (up)
  EXPECT_EQ(RoundToBF16(1.0f + 1.0f / 256), 1.0f);
  EXPECT_EQ(RoundToBF16(1.0f + 3.0f / 256), 1.0f + 1.0f / 64);
  EXPECT_FALSE(LayoutOf(16).ok());  // IQ2_XXS is not supported
}

}  // namespace
}  // namespace hearth::reference
