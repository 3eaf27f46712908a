// Type table: block geometry of every ggml type id and the engine's supported set (spec §1, §10).
#include <set>

#include "gguf/types.h"
#include "gtest/gtest.h"

namespace hearth::gguf {
namespace {

struct Expected {
  uint32_t id;
  std::string_view name;
  int64_t elems;
  int64_t bytes;
  bool supported;
};

// Spec §10 table, §10.1 engine set, and ggml-common.h sizeof(block_*) for the rest.
constexpr Expected kExpected[] = {
    {0, "F32", 1, 4, true},        {1, "F16", 1, 2, true},        {2, "Q4_0", 32, 18, true},
    {3, "Q4_1", 32, 20, true},     {6, "Q5_0", 32, 22, true},     {7, "Q5_1", 32, 24, true},
    {8, "Q8_0", 32, 34, true},     {9, "Q8_1", 32, 36, false},    {10, "Q2_K", 256, 84, true},
    {11, "Q3_K", 256, 110, true},  {12, "Q4_K", 256, 144, true},  {13, "Q5_K", 256, 176, true},
    {14, "Q6_K", 256, 210, true},  {15, "Q8_K", 256, 292, false}, {16, "IQ2_XXS", 256, 66, false},
    {17, "IQ2_XS", 256, 74, false}, {18, "IQ3_XXS", 256, 98, false}, {19, "IQ1_S", 256, 50, false},
    {20, "IQ4_NL", 32, 18, true},  {21, "IQ3_S", 256, 110, false}, {22, "IQ2_S", 256, 82, false},
    {23, "IQ4_XS", 256, 136, true}, {24, "I8", 1, 1, false},      {25, "I16", 1, 2, false},
    {26, "I32", 1, 4, false},      {27, "I64", 1, 8, false},      {28, "F64", 1, 8, false},
    {29, "IQ1_M", 256, 56, false}, {30, "BF16", 1, 2, true},      {34, "TQ1_0", 256, 54, false},
    {35, "TQ2_0", 256, 66, false}, {39, "MXFP4", 32, 17, true},   {40, "NVFP4", 64, 36, false},
    {41, "Q1_0", 128, 18, false},  {42, "Q2_0", 64, 18, false},
};

TEST(TypesTest, EveryKnownIdHasItsBlockGeometry) {
  for (const Expected& e : kExpected) {
    SCOPED_TRACE(e.name);
    std::optional<TypeTraits> tr = GetTypeTraits(e.id);
    ASSERT_TRUE(tr.has_value());
    EXPECT_EQ(tr->name, e.name);
    EXPECT_EQ(tr->block_elems, e.elems);
    EXPECT_EQ(tr->block_bytes, e.bytes);
    EXPECT_EQ(tr->supported, e.supported);
    EXPECT_EQ(TypeName(static_cast<TensorType>(e.id)), e.name);
  }
}

TEST(TypesTest, RetiredAndOutOfRangeIdsAreUnknown) {
  std::set<uint32_t> known;
  for (const Expected& e : kExpected) known.insert(e.id);
  for (uint32_t id = 0; id < 100; ++id) {
    EXPECT_EQ(GetTypeTraits(id).has_value(), known.count(id) == 1) << "id " << id;
  }
  for (uint32_t id : {31u, 32u, 33u, 36u, 37u, 38u, 43u, 0xffffffffu}) {
    EXPECT_FALSE(GetTypeTraits(id).has_value()) << id;
  }
}

TEST(TypesTest, SupportedSetIsTheEngineSetOfSpec10_1) {
  std::set<std::string_view> supported;
  for (uint32_t id = 0; id < kTensorTypeCount; ++id) {
    if (auto tr = GetTypeTraits(id); tr && tr->supported) supported.insert(tr->name);
  }
  EXPECT_EQ(supported, (std::set<std::string_view>{"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1",
                                                   "Q5_0", "Q5_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
                                                   "Q6_K", "IQ4_NL", "IQ4_XS", "MXFP4"}));
}

TEST(TypesTest, RowBytes) {
  EXPECT_EQ(RowBytes(*GetTypeTraits(8), 64), 68);     // 2 Q8_0 blocks
  EXPECT_EQ(RowBytes(*GetTypeTraits(12), 512), 288);  // 2 Q4_K blocks
  EXPECT_EQ(RowBytes(*GetTypeTraits(0), 3), 12);
}

}  // namespace
}  // namespace hearth::gguf
