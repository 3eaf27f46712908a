// Typed getters: integers convert when the value fits, f32/f64 convert to each other, bool only
// from bool, strings only from strings; NotFound for absent keys; *Or defaults.
#include <limits>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace hearth::gguf {
namespace {

using testing::ExpectError;

class GettersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Writer w;
    w.SetU8("u8", 200);
    w.SetI8("i8_neg", -5);
    w.SetI16("i16_pos", 300);
    w.SetU64("u64_big", 1ull << 40);
    w.SetU64("u64_huge", (1ull << 63) + 1);
    w.SetI64("i64_neg", -1);
    w.SetI32("i32_max", std::numeric_limits<int32_t>::max());
    w.SetU32("u32_max", std::numeric_limits<uint32_t>::max());
    w.SetF32("f32", 0.25f);
    w.SetF64("f64", 0.5);
    w.SetF64("f64_huge", 1e300);
    w.SetBool("bool", true);
    w.SetString("str", "hi");
    w.SetI8Array("arr_i8", {-1, 2});
    w.SetU64Array("arr_u64_huge", {1, (1ull << 63)});
    w.SetU32Array("arr_u32", {1, 4294967295u});
    w.SetF64Array("arr_f64", {0.5, -2.0});
    w.SetF64Array("arr_f64_huge", {1e300});
    w.SetF32Array("arr_f32", {1.5f});
    w.SetI32Array("arr_i32", {1});
    w.SetBoolArray("arr_bool", {false, true});
    w.SetStringArray("arr_str", {"a", "b"});
    bytes_ = w.Serialize();
    auto f = File::FromMemory(bytes_.data(), bytes_.size(), "g.gguf");
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    file_ = std::move(*f);
  }
  std::vector<uint8_t> bytes_;
  std::unique_ptr<File> file_;
};

TEST_F(GettersTest, IntegersConvertWhenTheValueFits) {
  EXPECT_EQ(*file_->GetU32("u8"), 200u);
  EXPECT_EQ(*file_->GetI64("u8"), 200);
  EXPECT_EQ(*file_->GetU64("u8"), 200u);
  EXPECT_EQ(*file_->GetU32("i16_pos"), 300u);
  EXPECT_EQ(*file_->GetI64("i8_neg"), -5);
  EXPECT_EQ(*file_->GetI64("u64_big"), 1ll << 40);
  EXPECT_EQ(*file_->GetU64("u64_huge"), (1ull << 63) + 1);
  EXPECT_EQ(*file_->GetU32("i32_max"), 2147483647u);
  EXPECT_EQ(*file_->GetU32("u32_max"), 4294967295u);
  EXPECT_EQ(*file_->GetI64("i64_neg"), -1);
}

TEST_F(GettersTest, IntegersThatDoNotFitAreErrors) {
  ExpectError(file_->GetU32("i8_neg").status(), StatusCode::kInvalidArgument,
              {"g.gguf", "'i8_neg'", "-5", "i8", "does not fit in u32"});
  ExpectError(file_->GetU32("u64_big").status(), StatusCode::kInvalidArgument,
              {"'u64_big'", "1099511627776", "u32"});
  ExpectError(file_->GetI64("u64_huge").status(), StatusCode::kInvalidArgument,
              {"'u64_huge'", "i64"});
  ExpectError(file_->GetU64("i64_neg").status(), StatusCode::kInvalidArgument, {"'i64_neg'", "u64"});
}

TEST_F(GettersTest, FloatsConvertToEachOtherOnly) {
  EXPECT_EQ(*file_->GetF32("f32"), 0.25f);
  EXPECT_EQ(*file_->GetF32("f64"), 0.5f);
  ExpectError(file_->GetF32("f64_huge").status(), StatusCode::kInvalidArgument, {"'f64_huge'", "range"});
  ExpectError(file_->GetF32("u8").status(), StatusCode::kInvalidArgument,
              {"'u8'", "has type u8, expected f32"});
  ExpectError(file_->GetU32("f32").status(), StatusCode::kInvalidArgument,
              {"'f32'", "has type f32, expected u32"});
  ExpectError(file_->GetI64("f64").status(), StatusCode::kInvalidArgument, {"has type f64"});
}

TEST_F(GettersTest, BoolAndStringOnlyFromThemselves) {
  EXPECT_TRUE(*file_->GetBool("bool"));
  EXPECT_EQ(*file_->GetString("str"), "hi");
  ExpectError(file_->GetBool("u8").status(), StatusCode::kInvalidArgument, {"has type u8, expected bool"});
  ExpectError(file_->GetU32("bool").status(), StatusCode::kInvalidArgument, {"has type bool, expected u32"});
  ExpectError(file_->GetString("u8").status(), StatusCode::kInvalidArgument, {"expected string"});
  ExpectError(file_->GetU32("str").status(), StatusCode::kInvalidArgument, {"has type string"});
  ExpectError(file_->GetString("arr_str").status(), StatusCode::kInvalidArgument,
              {"has type array of string, expected string"});
}

TEST_F(GettersTest, MissingKeysAndDefaults) {
  ExpectError(file_->GetU32("nope").status(), StatusCode::kNotFound, {"g.gguf", "'nope'", "not found"});
  ExpectError(file_->GetStringArray("nope").status(), StatusCode::kNotFound, {"'nope'"});
  EXPECT_EQ(*file_->GetU32Or("nope", 7), 7u);
  EXPECT_EQ(*file_->GetU32Or("u8", 7), 200u);
  EXPECT_EQ(*file_->GetF32Or("nope", 1.5f), 1.5f);
  EXPECT_EQ(*file_->GetBoolOr("nope", true), true);
  EXPECT_EQ(*file_->GetI64Or("nope", -3), -3);
  EXPECT_EQ(*file_->GetStringOr("nope", "d"), "d");
  // A present key of the wrong type is still an error.
  ExpectError(file_->GetU32Or("str", 7).status(), StatusCode::kInvalidArgument, {"'str'"});
  ExpectError(file_->GetBoolOr("u8", false).status(), StatusCode::kInvalidArgument, {"'u8'"});
  EXPECT_FALSE(file_->Has("nope"));
  EXPECT_TRUE(file_->Has("u8"));
}

TEST_F(GettersTest, Arrays) {
  EXPECT_EQ(*file_->GetIntArray("arr_i8"), (std::vector<int64_t>{-1, 2}));
  EXPECT_EQ(*file_->GetIntArray("arr_u32"), (std::vector<int64_t>{1, 4294967295ll}));
  ExpectError(file_->GetIntArray("arr_u64_huge").status(), StatusCode::kInvalidArgument,
              {"'arr_u64_huge'", "element 1", "i64"});
  EXPECT_EQ(*file_->GetF32Array("arr_f64"), (std::vector<float>{0.5f, -2.0f}));
  EXPECT_EQ(*file_->GetF32Array("arr_f32"), (std::vector<float>{1.5f}));
  ExpectError(file_->GetF32Array("arr_f64_huge").status(), StatusCode::kInvalidArgument, {"range"});
  ExpectError(file_->GetF32Array("arr_i32").status(), StatusCode::kInvalidArgument,
              {"has type array of i32, expected array of f32"});
  ExpectError(file_->GetIntArray("arr_f32").status(), StatusCode::kInvalidArgument,
              {"expected array of integers"});
  ExpectError(file_->GetIntArray("u8").status(), StatusCode::kInvalidArgument,
              {"has type u8, expected array of integers"});
  EXPECT_EQ(*file_->GetBoolArray("arr_bool"), (std::vector<bool>{false, true}));
  ExpectError(file_->GetBoolArray("arr_i8").status(), StatusCode::kInvalidArgument, {"expected array of bool"});
  EXPECT_EQ(*file_->GetStringArray("arr_str"), (std::vector<std::string_view>{"a", "b"}));
  ExpectError(file_->GetStringArray("arr_i8").status(), StatusCode::kInvalidArgument,
              {"expected array of string"});
}

}  // namespace
}  // namespace hearth::gguf
