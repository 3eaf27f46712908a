// GeGlu: the SIMD path is bit-identical to the scalar reference over every F16 value's
// neighbourhood, the ±10 cut-offs, infinities and lengths that leave a scalar tail; and the
// reference is the table GELU times up.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "core/fp16.h"
#include "model/layers.h"

namespace hearth::model {
namespace {

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(GeGluTest, SimdIsBitIdenticalToReference) {
  std::vector<float> gate, up;
  // Every finite F16 value and the floats just beside it (rounding ties and near-ties).
  for (uint32_t h = 0; h < 65536; ++h) {
    const float z = F16ToF32(static_cast<uint16_t>(h));
    if (!std::isfinite(z)) continue;
    gate.push_back(z);
    gate.push_back(std::nextafter(z, 1e9f));
    gate.push_back(std::nextafter(z, -1e9f));
  }
  for (float z : {-10.0f, 10.0f, std::nextafter(-10.0f, 0.f), std::nextafter(10.0f, 0.f), -1e30f,
                  1e30f, std::numeric_limits<float>::infinity(),
                  -std::numeric_limits<float>::infinity(), 65504.f, 65520.f, 1e-30f}) {
    gate.push_back(z);
  }
  gate.push_back(0.5f);  // an odd total length: the last ones take the scalar tail
  up.resize(gate.size());
  for (size_t i = 0; i < up.size(); ++i) up[i] = 0.25f + 0.001f * static_cast<float>(i % 997);
  std::vector<float> simd(gate.size()), ref(gate.size());
  for (size_t n : {gate.size(), size_t{7}, size_t{9}, size_t{0}}) {
    GeGlu(gate.data(), up.data(), static_cast<int64_t>(n), simd.data());
    GeGluReference(gate.data(), up.data(), static_cast<int64_t>(n), ref.data());
    for (size_t i = 0; i < n; ++i) {
      ASSERT_EQ(Bits(simd[i]), Bits(ref[i])) << "gate " << gate[i] << " at " << i << " of " << n;
    }
  }
  // In place (gate is the output), as the decoders call it.
  std::vector<float> inplace = gate;
  GeGlu(inplace.data(), up.data(), static_cast<int64_t>(gate.size()), inplace.data());
  GeGluReference(gate.data(), up.data(), static_cast<int64_t>(gate.size()), ref.data());
  for (size_t i = 0; i < gate.size(); ++i) ASSERT_EQ(Bits(inplace[i]), Bits(ref[i])) << i;
}

TEST(GeGluTest, ReferenceIsTableGeluTimesUp) {
  const float gate[] = {-12.f, -10.f, -1.f, 0.f, 0.3f, 2.f, 10.f, 12.f};
  const float up[] = {2.f, 2.f, 2.f, 2.f, 2.f, 2.f, 2.f, 2.f};
  float out[8];
  GeGluReference(gate, up, 8, out);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], Gelu(gate[i]) * 2.f) << gate[i];
  EXPECT_EQ(out[0], 0.f);
  EXPECT_EQ(out[7], 24.f);
  EXPECT_NEAR(out[5], 2.f * 1.9546f, 2e-3f);  // gelu_tanh(2) ≈ 1.9546, F16-rounded
}

}  // namespace
}  // namespace hearth::model
