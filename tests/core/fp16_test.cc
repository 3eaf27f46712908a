#include "core/fp16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace hearth {
namespace {

// Reference: convert through the exact rational value using long double rounding by brute force
// over all 65536 halves: F32ToF16(F16ToF32(h)) must give h back for every non-NaN h.
TEST(Fp16, RoundTripsEveryHalf) {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(F32ToF16(f), h) << std::hex << h;
  }
}

TEST(Fp16, RoundsToNearestEven) {
  EXPECT_EQ(F32ToF16(1.0f), 0x3C00);
  EXPECT_EQ(F32ToF16(-2.0f), 0xC000);
  EXPECT_EQ(F32ToF16(65504.0f), 0x7BFF);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7C00);  // rounds up to inf
  EXPECT_EQ(F32ToF16(1e-8f), 0x0000);
  EXPECT_EQ(F32ToF16(5.960464477539063e-08f), 0x0001);  // smallest subnormal
  // halfway between 1 and 1+2^-10 -> even (1.0)
  EXPECT_EQ(F32ToF16(1.0f + 0.00048828125f), 0x3C00);
  // halfway between 1+2^-10 and 1+2*2^-10 -> even (the latter)
  EXPECT_EQ(F32ToF16(1.0f + 3 * 0.00048828125f), 0x3C02);
  // every value between two halves goes to the nearer one
  for (uint32_t h = 0x0001; h < 0x7BFF; h += 37) {
    const float a = F16ToF32(h), b = F16ToF32(h + 1);
    EXPECT_EQ(F32ToF16(a + (b - a) * 0.3f), h);
    EXPECT_EQ(F32ToF16(a + (b - a) * 0.7f), h + 1);
  }
}

TEST(Fp16, Bf16) {
  EXPECT_EQ(BF16ToF32(F32ToBF16(1.5f)), 1.5f);
  EXPECT_EQ(F32ToBF16(1.0f + 1.0f / 256), 0x3F80);       // tie -> even
  EXPECT_EQ(F32ToBF16(1.0f + 3.0f / 256), 0x3F82);       // tie -> even (up)
  EXPECT_TRUE(std::isnan(BF16ToF32(F32ToBF16(std::numeric_limits<float>::quiet_NaN()))));
}

}  // namespace
}  // namespace hearth
