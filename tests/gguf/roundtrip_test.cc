// Writer -> reader round trips: every value type, arrays (empty ones too), strings (empty,
// unicode), tensors of several types and shapes, alignment 32 and 64, WriteFile + Open (mmap),
// insertion order and key replacement, DescribeFile.
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>

#include "gguf/dump.h"
#include "gguf/file.h"
#include "gguf/writer.h"
#include "gguf_bytes.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace hearth::gguf {
namespace {

using testing::ExpectError;
using testing::TempDir;

std::vector<uint8_t> Pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed + i * 31);
  return v;
}

template <typename T>
T LoadElem(const Value& v, size_t j) {
  T x;
  std::memcpy(&x, v.elems + j * sizeof(T), sizeof(T));
  return x;
}

void FillAllValueTypes(Writer& w) {
  w.SetString("general.architecture", "gemma4");
  w.SetU8("t.u8", 250);
  w.SetI8("t.i8", -120);
  w.SetU16("t.u16", 65000);
  w.SetI16("t.i16", -32000);
  w.SetU32("t.u32", 4000000000u);
  w.SetI32("t.i32", -2000000000);
  w.SetU64("t.u64", 0xfedcba9876543210ull);
  w.SetI64("t.i64", std::numeric_limits<int64_t>::min());
  w.SetF32("t.f32", 1e-6f);
  w.SetF64("t.f64", -2.5e300);
  w.SetBool("t.bool", true);
  w.SetBool("t.bool_false", false);
  w.SetString("t.str_empty", "");
  w.SetString("t.str_unicode", "h\u00e9llo \u4e16\u754c \U0001F600 \xe2\x96\x81");
  w.SetString("t.str_nul", std::string("a\0b", 3));
  w.SetU8Array("t.arr_u8", {0, 1, 255});
  w.SetI8Array("t.arr_i8", {-128, 127});
  w.SetU16Array("t.arr_u16", {1, 65535});
  w.SetI16Array("t.arr_i16", {-32768, 5});
  w.SetU32Array("t.arr_u32", {7, 4294967295u});
  w.SetI32Array("t.arr_i32", {-1, 2, -3});
  w.SetU64Array("t.arr_u64", {1ull << 63});
  w.SetI64Array("t.arr_i64", {-5, 1ll << 50});
  w.SetF32Array("t.arr_f32", {0.5f, -1.25f, 3e38f});
  w.SetF64Array("t.arr_f64", {1.0 / 3.0});
  w.SetBoolArray("t.arr_bool", {true, false, true, true});
  w.SetStringArray("t.arr_str", {"<pad>", "", "\u2581the", "\xf0\x9f\x98\x80"});
  w.SetU32Array("t.arr_empty_u32", {});
  w.SetStringArray("t.arr_empty_str", {});
}

void CheckAllValueTypes(const File& f) {
  EXPECT_EQ(*f.GetString("general.architecture"), "gemma4");
  const auto val = [&](const char* key) -> const Value& {
    const Value* v = f.Find(key);
    EXPECT_NE(v, nullptr) << key;
    static const Value kNone;
    return v != nullptr ? *v : kNone;
  };
  EXPECT_EQ(val("t.u8").type, ValueType::kU8);
  EXPECT_EQ(val("t.u8").u, 250u);
  EXPECT_EQ(val("t.i8").type, ValueType::kI8);
  EXPECT_EQ(val("t.i8").i, -120);
  EXPECT_EQ(val("t.u16").u, 65000u);
  EXPECT_EQ(val("t.i16").i, -32000);
  EXPECT_EQ(val("t.u32").u, 4000000000u);
  EXPECT_EQ(val("t.i32").i, -2000000000);
  EXPECT_EQ(val("t.u64").u, 0xfedcba9876543210ull);
  EXPECT_EQ(val("t.i64").i, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(val("t.f32").type, ValueType::kF32);
  EXPECT_EQ(val("t.f32").f, static_cast<double>(1e-6f));  // exact: the f32 widened
  EXPECT_EQ(val("t.f64").f, -2.5e300);
  EXPECT_TRUE(val("t.bool").b);
  EXPECT_FALSE(val("t.bool_false").b);
  EXPECT_EQ(val("t.str_empty").str, "");
  EXPECT_EQ(val("t.str_unicode").str, "h\u00e9llo \u4e16\u754c \U0001F600 \xe2\x96\x81");
  EXPECT_EQ(val("t.str_nul").str, std::string_view("a\0b", 3));

  const Value& u8 = val("t.arr_u8");
  EXPECT_EQ(u8.type, ValueType::kArray);
  EXPECT_EQ(u8.elem_type, ValueType::kU8);
  ASSERT_EQ(u8.count, 3u);
  EXPECT_EQ(LoadElem<uint8_t>(u8, 2), 255);
  EXPECT_EQ(LoadElem<int8_t>(val("t.arr_i8"), 0), -128);
  EXPECT_EQ(LoadElem<uint16_t>(val("t.arr_u16"), 1), 65535);
  EXPECT_EQ(LoadElem<int16_t>(val("t.arr_i16"), 0), -32768);
  EXPECT_EQ(LoadElem<uint32_t>(val("t.arr_u32"), 1), 4294967295u);
  EXPECT_EQ(LoadElem<int32_t>(val("t.arr_i32"), 2), -3);
  EXPECT_EQ(LoadElem<uint64_t>(val("t.arr_u64"), 0), 1ull << 63);
  EXPECT_EQ(LoadElem<int64_t>(val("t.arr_i64"), 1), 1ll << 50);
  EXPECT_EQ(LoadElem<double>(val("t.arr_f64"), 0), 1.0 / 3.0);
  EXPECT_EQ(*f.GetF32Array("t.arr_f32"), (std::vector<float>{0.5f, -1.25f, 3e38f}));
  EXPECT_EQ(*f.GetBoolArray("t.arr_bool"), (std::vector<bool>{true, false, true, true}));
  EXPECT_EQ(*f.GetStringArray("t.arr_str"),
            (std::vector<std::string_view>{"<pad>", "", "\u2581the", "\xf0\x9f\x98\x80"}));
  EXPECT_EQ(val("t.arr_empty_u32").count, 0u);
  EXPECT_EQ(val("t.arr_empty_u32").elem_type, ValueType::kU32);
  EXPECT_TRUE(f.GetIntArray("t.arr_empty_u32")->empty());
  EXPECT_EQ(val("t.arr_empty_str").elem_type, ValueType::kString);
  EXPECT_TRUE(f.GetStringArray("t.arr_empty_str")->empty());
}

struct TensorCase {
  std::string name;
  TensorType type;
  std::vector<int64_t> ne;
  size_t nbytes;  // computed by hand from the block table
};

const std::vector<TensorCase>& TensorCases() {
  static const std::vector<TensorCase> kCases = {
      {"f32.vec", TensorType::kF32, {5}, 20},
      {"f16.mat", TensorType::kF16, {8, 3}, 48},
      {"q4k.mat", TensorType::kQ4_K, {512, 3}, 2 * 144 * 3},
      {"q8_0.3d", TensorType::kQ8_0, {64, 1, 2}, 2 * 34 * 2},
      {"bf16.4d", TensorType::kBF16, {2, 3, 1, 2}, 24},
      {"mxfp4.row", TensorType::kMXFP4, {32}, 17},
      {"i32.ids", TensorType::kI32, {3}, 12},
      {"q6k.one", TensorType::kQ6_K, {256}, 210},
      {"empty.rows", TensorType::kF32, {4, 0}, 0},
      {"iq2xxs.unsupported", TensorType::kIQ2_XXS, {256}, 66},
  };
  return kCases;
}

class RoundTripTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RoundTripTest, ValuesAndTensorsSurviveSerialize) {
  const uint32_t align = GetParam();
  Writer w;
  FillAllValueTypes(w);
  if (align != 32) w.SetAlignment(align);
  for (size_t i = 0; i < TensorCases().size(); ++i) {
    const TensorCase& c = TensorCases()[i];
    ASSERT_TRUE(w.AddTensor(c.name, c.type, c.ne, Pattern(c.nbytes, i)).ok()) << c.name;
  }
  const std::vector<uint8_t> bytes = w.Serialize();
  auto file = File::FromMemory(bytes.data(), bytes.size(), "rt.gguf");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  const File& f = **file;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.alignment(), align);
  EXPECT_EQ(f.metadata().size(), w.key_count());
  CheckAllValueTypes(f);

  ASSERT_EQ(f.tensors().size(), TensorCases().size());
  uint64_t expected_offset = 0;
  for (size_t i = 0; i < TensorCases().size(); ++i) {
    const TensorCase& c = TensorCases()[i];
    const TensorInfo* t = f.FindTensor(c.name);
    ASSERT_NE(t, nullptr) << c.name;
    EXPECT_EQ(t, &f.tensors()[i]) << "tensors keep file order";
    EXPECT_EQ(t->type, c.type);
    EXPECT_EQ(t->n_dims, c.ne.size());
    for (size_t d = 0; d < 4; ++d) EXPECT_EQ(t->ne[d], d < c.ne.size() ? c.ne[d] : 1);
    EXPECT_EQ(t->nbytes, c.nbytes);
    EXPECT_EQ(t->offset, expected_offset);
    expected_offset += (c.nbytes + align - 1) / align * align;
    EXPECT_EQ((t->data - bytes.data()) % align, 0) << c.name << " data is aligned in the file";
    const std::vector<uint8_t> want = Pattern(c.nbytes, i);
    EXPECT_EQ(std::vector<uint8_t>(t->data, t->data + t->nbytes), want) << c.name;
  }
  // Padding bytes are zeros and the file ends with the last tensor's padded data.
  EXPECT_EQ(bytes.size() % align, 0u);
  const TensorInfo& last = f.tensors().back();
  for (const uint8_t* p = last.data + last.nbytes; p < bytes.data() + bytes.size(); ++p) {
    EXPECT_EQ(*p, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Alignments, RoundTripTest, ::testing::Values(32u, 64u));

TEST(WriterTest, KeysInInsertionOrderAndReplaceKeepsPosition) {
  Writer w;
  w.SetU32("b.first", 1);
  w.SetString("a.second", "x");
  w.SetU32("b.first", 99);  // replaced in place, still first
  w.SetF32("a.second", 2.0f);  // type may change on replace
  const std::vector<uint8_t> bytes = w.Serialize();
  // Header is 4 + 4 + 8 + 8 bytes, then the first key.
  uint64_t len = 0;
  std::memcpy(&len, bytes.data() + 24, 8);
  ASSERT_EQ(len, 7u);
  EXPECT_EQ(std::string(bytes.begin() + 32, bytes.begin() + 39), "b.first");
  auto f = File::FromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)->metadata().size(), 2u);
  EXPECT_EQ(*(*f)->GetU32("b.first"), 99u);
  EXPECT_EQ(*(*f)->GetF32("a.second"), 2.0f);
}

TEST(WriterTest, EmptyFileIsValid) {
  Writer w;
  const std::vector<uint8_t> bytes = w.Serialize();
  EXPECT_EQ(bytes.size(), 32u);  // 24-byte header padded to 32
  auto f = File::FromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_TRUE((*f)->metadata().empty());
  EXPECT_TRUE((*f)->tensors().empty());
}

TEST(WriterTest, AddTensorRejectsBadShapes) {
  Writer w;
  ExpectError(w.AddTensor("x", TensorType::kQ8_0, {33}, std::vector<uint8_t>(34)),
              StatusCode::kInvalidArgument, {"'x'", "multiple", "32"});
  ExpectError(w.AddTensor("x", TensorType::kF32, {4}, std::vector<uint8_t>(15)),
              StatusCode::kInvalidArgument, {"15", "16"});
  ExpectError(w.AddTensor("x", TensorType::kF32, {}, {}), StatusCode::kInvalidArgument, {"dims"});
  ExpectError(w.AddTensor("x", TensorType::kF32, {1, 1, 1, 1, 1}, std::vector<uint8_t>(4)),
              StatusCode::kInvalidArgument, {"dims"});
  ExpectError(w.AddTensor("x", TensorType::kF32, {-1}, {}), StatusCode::kInvalidArgument, {"negative"});
  ExpectError(w.AddTensor("x", static_cast<TensorType>(31), {4}, std::vector<uint8_t>(16)),
              StatusCode::kInvalidArgument, {"type"});
  ExpectError(w.AddTensor(std::string(64, 'n'), TensorType::kF32, {1}, std::vector<uint8_t>(4)),
              StatusCode::kInvalidArgument, {"longer"});
  ASSERT_TRUE(w.AddTensor("x", TensorType::kF32, {1}, std::vector<uint8_t>(4)).ok());
  ExpectError(w.AddTensor("x", TensorType::kF32, {1}, std::vector<uint8_t>(4)),
              StatusCode::kInvalidArgument, {"duplicate"});
}

TEST(WriterTest, SetValueCopiesEveryTypeFromAReader) {
  Writer w;
  FillAllValueTypes(w);
  const std::vector<uint8_t> bytes = w.Serialize();
  auto src = File::FromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(src.ok());
  Writer copy;
  for (const auto& [key, value] : (*src)->metadata()) copy.SetValue(key, value);
  const std::vector<uint8_t> bytes2 = copy.Serialize();
  auto f = File::FromMemory(bytes2.data(), bytes2.size());
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  CheckAllValueTypes(**f);
}

TEST(WriterTest, WriteFileThenOpenMapsTheFile) {
  TempDir dir;
  Writer w;
  FillAllValueTypes(w);
  w.SetAlignment(64);
  ASSERT_TRUE(w.AddTensor("w", TensorType::kQ8_0, {64, 2}, Pattern(136, 3)).ok());
  ASSERT_TRUE(w.AddTensor("n", TensorType::kF32, {3}, Pattern(12, 4)).ok());
  const std::string path = dir.File("model.gguf");
  ASSERT_TRUE(w.WriteFile(path).ok());
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  EXPECT_EQ(std::filesystem::file_size(path), w.Serialize().size());

  auto f = File::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  CheckAllValueTypes(**f);
  EXPECT_EQ((*f)->alignment(), 64u);
  EXPECT_EQ((*f)->total_bytes(), std::filesystem::file_size(path));
  EXPECT_EQ((*f)->shard_count(), 1u);
  const TensorInfo* t = (*f)->FindTensor("w");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 64, 0u) << "mmap base is page aligned";
  EXPECT_EQ(std::vector<uint8_t>(t->data, t->data + t->nbytes), Pattern(136, 3));
  EXPECT_EQ((*f)->FindTensor("missing"), nullptr);

  uint64_t last_done = 0, last_total = 0;
  int calls = 0;
  (*f)->Prefetch([&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
    ++calls;
  });
  EXPECT_GE(calls, 1);
  EXPECT_EQ(last_done, last_total);
  EXPECT_GT(last_total, 136u);
}

TEST(WriterTest, WriteFileReportsIoErrorsAndLeavesNothing) {
  TempDir dir;
  Writer w;
  w.SetU32("k", 1);
  ExpectError(w.WriteFile(dir.File("no/such/dir/model.gguf")), StatusCode::kInvalidArgument,
              {"no/such/dir/model.gguf.tmp", "cannot create"});
  // An existing file is replaced atomically.
  const std::string path = dir.File("m.gguf");
  ASSERT_TRUE(w.WriteFile(path).ok());
  w.SetU32("k", 2);
  ASSERT_TRUE(w.WriteFile(path).ok());
  auto f = File::Open(path);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*(*f)->GetU32("k"), 2u);
}

TEST(DumpTest, DescribeFileShowsKeysArraysAndTensors) {
  Writer w;
  w.SetString("general.architecture", "gemma4");
  w.SetString("general.name", "tiny");
  w.SetU32("gemma4.block_count", 5);
  w.SetF32("gemma4.eps", 0.5f);
  w.SetStringArray("tokenizer.ggml.tokens", {"<pad>", "<eos>", "<bos>", "a", "b", "c"});
  w.SetBoolArray("gemma4.swa", {true, false});
  ASSERT_TRUE(w.AddTensor("token_embd.weight", TensorType::kQ8_0, {64, 2}, Pattern(136, 0)).ok());
  const std::vector<uint8_t> bytes = w.Serialize();
  auto f = File::FromMemory(bytes.data(), bytes.size(), "tiny.gguf");
  ASSERT_TRUE(f.ok());
  const std::string text = DescribeFile(**f, /*with_tensors=*/true);
  for (const char* want : {"file: tiny.gguf (1 shard, ", "architecture: gemma4", "name: tiny",
                           "version: 3", "alignment: 32", "keys: 6",
                           "gemma4.block_count = 5 (u32)", "gemma4.eps = 0.5 (f32)",
                           "tokenizer.ggml.tokens = [string \u00d7 6] \"<pad>\", \"<eos>\", \"<bos>\", \"a\", ...",
                           "gemma4.swa = [bool \u00d7 2] true, false",
                           "tensors: 1", "token_embd.weight  Q8_0  [64, 2]  136 bytes"}) {
    EXPECT_NE(text.find(want), std::string::npos) << "missing: " << want << "\n" << text;
  }
  EXPECT_EQ(DescribeFile(**f, false).find("token_embd.weight"), std::string::npos);
}

}  // namespace
}  // namespace hearth::gguf
