// Handcrafted corrupt GGUF images (built byte by byte with GgufBytes, never with the writer):
// each must fail cleanly with the right code and a message naming the file, the key or tensor
// and the byte position; none may crash or allocate what a hostile count asks for.
#include <chrono>

#include "gguf/file.h"
#include "gguf_bytes.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace hearth::gguf {
namespace {

using testing::ExpectError;
using testing::GgufBytes;
using testing::Parse;

constexpr uint32_t kF32 = 0, kQ8_0 = 8, kF64 = 28, kIQ2_XXS = 16;
constexpr uint32_t kTypeU32 = 4, kTypeString = 8, kTypeArray = 9, kTypeU64 = 10, kTypeI32 = 5;
constexpr uint64_t kHuge = 1ull << 60;

// A small valid file: 3 keys (string, f32 array, alignment), tensors a (F32 [4]) and b (Q8_0
// [32, 2]), data section at the next multiple of 32, no padding after the last tensor.
GgufBytes SmallValid() {
  GgufBytes g;
  g.Header(3, 2, 3)
      .KvString("general.architecture", "gemma3")
      .Str("tokenizer.ggml.scores").U32(kTypeArray).U32(6).U64(2).Put(1.0f).Put(-2.0f)
      .KvU32("general.alignment", 32)
      .Info("a", {4}, kF32, 0)
      .Info("b", {32, 2}, kQ8_0, 32)
      .PadTo(32)
      .Fill(16, 0xaa).Fill(16, 0)
      .Fill(68, 0xbb);
  return g;
}

// Header + one tensor info + data, for tensor-info cases.
GgufBytes OneTensor(const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset = 0,
                    size_t data = 64) {
  GgufBytes g;
  g.Header(3, 1, 0).Info("w", ne, type, offset).PadTo(32).Fill(data, 1);
  return g;
}

TEST(CorruptTest, SmallValidFileParses) {
  auto p = Parse(SmallValid());
  ASSERT_TRUE(p.file.ok()) << p.file.status().ToString();
  const File& f = **p.file;
  EXPECT_EQ(f.tensors().size(), 2u);
  const TensorInfo* b = f.FindTensor("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->nbytes, 68u);
  EXPECT_EQ(b->data[0], 0xbb);
  EXPECT_EQ(b->data + b->nbytes, p.image->data() + p.image->size());
  EXPECT_EQ(*f.GetF32Array("tokenizer.ggml.scores"), (std::vector<float>{1.0f, -2.0f}));
}

TEST(CorruptTest, EveryTruncatedPrefixFailsCleanly) {
  const GgufBytes full = SmallValid();
  for (size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE(n);
    auto p = Parse(full.bytes(), n);
    ASSERT_FALSE(p.file.ok()) << "prefix of " << n << " bytes was accepted";
    EXPECT_EQ(p.file.status().code(), StatusCode::kDataLoss) << p.file.status().ToString();
    EXPECT_EQ(p.file.status().message().rfind("t.gguf: ", 0), 0u) << p.file.status().message();
    EXPECT_NE(p.file.status().message().find("(at byte "), std::string::npos);
  }
}

// A deterministic miniature of fuzz/gguf_fuzz.cc: every single-byte corruption of the small valid
// file either fails with a message or parses into views that stay inside the image (run under
// HEARTH_SANITIZE=ON to have every read checked).
TEST(CorruptTest, EverySingleByteCorruptionFailsCleanlyOrParses) {
  const GgufBytes full = SmallValid();
  int accepted = 0;
  for (size_t pos = 0; pos < full.size(); ++pos) {
    for (uint8_t value : {uint8_t{0x00}, uint8_t{0xff}, uint8_t{0x80}, uint8_t{0x07},
                          static_cast<uint8_t>(full.bytes()[pos] ^ 1)}) {
      std::vector<uint8_t> bytes = full.bytes();
      bytes[pos] = value;
      auto p = Parse(bytes, bytes.size());
      if (!p.file.ok()) {
        EXPECT_EQ(p.file.status().message().rfind("t.gguf: ", 0), 0u) << p.file.status().message();
        continue;
      }
      ++accepted;
      const File& f = **p.file;
      for (const TensorInfo& t : f.tensors()) {
        ASSERT_GE(t.data, p.image->data());
        ASSERT_LE(t.data + t.nbytes, p.image->data() + p.image->size()) << "byte " << pos;
      }
      for (const auto& [key, value] : f.metadata()) {
        if (value.type == ValueType::kArray && value.elem_type != ValueType::kString) {
          ASSERT_LE(value.elems, p.image->data() + p.image->size());
        }
      }
    }
  }
  // Flips inside string bytes, float values and tensor data leave a valid file.
  EXPECT_GT(accepted, 0);
}

TEST(CorruptTest, BadMagic) {
  GgufBytes g;
  g.Raw("GGUG").U32(3).U64(0).U64(0);
  ExpectError(Parse(g).file.status(), StatusCode::kInvalidArgument,
              {"t.gguf: header: not a GGUF file", "\"GGUG\"", "(at byte 0)"});
  GgufBytes bin;
  bin.Raw(std::string("\x00\xff\x01G", 4)).U32(3).U64(0).U64(0);
  ExpectError(Parse(bin).file.status(), StatusCode::kInvalidArgument, {"\\x00\\xff\\x01G"});
}

TEST(CorruptTest, Versions) {
  const auto with_version = [](uint32_t v) {
    GgufBytes g;
    g.Header(v, 0, 0);
    return g;
  };
  ExpectError(Parse(with_version(0)).file.status(), StatusCode::kInvalidArgument, {"endianness", "(at byte 4)"});
  ExpectError(Parse(with_version(1)).file.status(), StatusCode::kInvalidArgument, {"GGUFv1 is no longer supported"});
  ExpectError(Parse(with_version(4)).file.status(), StatusCode::kInvalidArgument, {"version 4", "newer"});
  ExpectError(Parse(with_version(0x03000000)).file.status(), StatusCode::kInvalidArgument, {"endianness"});
  auto v2 = Parse(with_version(2));
  ASSERT_TRUE(v2.file.ok()) << v2.file.status().ToString();
  EXPECT_EQ((*v2.file)->version(), 2u);
  EXPECT_TRUE(Parse(with_version(3)).file.ok());
}

TEST(CorruptTest, HugeCountsFailFastWithoutAllocating) {
  const auto start = std::chrono::steady_clock::now();
  GgufBytes kv;
  kv.Header(3, 0, kHuge).KvU32("a", 1);
  ExpectError(Parse(kv).file.status(), StatusCode::kDataLoss, {"header", "n_kv = 1152921504606846976"});
  GgufBytes tensors;
  tensors.Header(3, kHuge, 0).Fill(100, 0);
  ExpectError(Parse(tensors).file.status(), StatusCode::kDataLoss, {"n_tensors = 1152921504606846976"});
  GgufBytes key_len;
  key_len.Header(3, 0, 1).U64(kHuge).Raw("abc").U32(kTypeU32).U32(1);
  ExpectError(Parse(key_len).file.status(), StatusCode::kDataLoss,
              {"key #0", "key length 1152921504606846976 exceeds", "(at byte 24)"});
  GgufBytes str_len;
  str_len.Header(3, 0, 1).Str("k").U32(kTypeString).U64(kHuge).Raw("xyzw");
  ExpectError(Parse(str_len).file.status(), StatusCode::kDataLoss, {"key 'k'", "string value length"});
  GgufBytes arr;
  arr.Header(3, 0, 1).Str("k").U32(kTypeArray).U32(kTypeU32).U64(kHuge).U32(1);
  ExpectError(Parse(arr).file.status(), StatusCode::kDataLoss,
              {"key 'k'", "array of 1152921504606846976 u32 cannot fit"});
  GgufBytes str_arr;
  str_arr.Header(3, 0, 1).Str("k").U32(kTypeArray).U32(kTypeString).U64(kHuge).Str("a");
  ExpectError(Parse(str_arr).file.status(), StatusCode::kDataLoss, {"array of 1152921504606846976 string"});
  GgufBytes str_arr_elem;
  str_arr_elem.Header(3, 0, 1).Str("k").U32(kTypeArray).U32(kTypeString).U64(2).Str("a").U64(kHuge);
  ExpectError(Parse(str_arr_elem).file.status(), StatusCode::kDataLoss, {"string #1 length"});
  GgufBytes name_len;
  name_len.Header(3, 1, 0).U64(kHuge).Fill(40, 0);
  ExpectError(Parse(name_len).file.status(), StatusCode::kDataLoss, {"tensor #0", "tensor name length"});
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(seconds, 1.0) << "hostile counts must be rejected before any loop or allocation";
}

TEST(CorruptTest, KeyRules) {
  GgufBytes empty;
  empty.Header(3, 0, 1).KvU32("", 1);
  ExpectError(Parse(empty).file.status(), StatusCode::kInvalidArgument, {"key #0", "key is empty", "(at byte 24)"});
  GgufBytes dup;
  dup.Header(3, 0, 2).KvU32("general.x", 1).KvU32("general.x", 2);
  ExpectError(Parse(dup).file.status(), StatusCode::kInvalidArgument,
              {"key 'general.x'", "duplicate key", "(at byte 49)"});
  GgufBytes bad_type;
  bad_type.Header(3, 0, 1).Str("k").U32(13).U32(0);
  ExpectError(Parse(bad_type).file.status(), StatusCode::kInvalidArgument, {"key 'k'", "invalid value type 13"});
  GgufBytes nested;
  nested.Header(3, 0, 1).Str("k").U32(kTypeArray).U32(kTypeArray).U64(1).U32(kTypeU32).U64(0);
  ExpectError(Parse(nested).file.status(), StatusCode::kInvalidArgument, {"key 'k'", "nested arrays"});
  GgufBytes bad_elem;
  bad_elem.Header(3, 0, 1).Str("k").U32(kTypeArray).U32(77).U64(0);
  ExpectError(Parse(bad_elem).file.status(), StatusCode::kInvalidArgument, {"invalid array element type 77"});
  GgufBytes binary_key;
  binary_key.Header(3, 0, 2).KvU32(std::string("k\x01", 2), 1).KvU32(std::string("k\x01", 2), 1);
  ExpectError(Parse(binary_key).file.status(), StatusCode::kInvalidArgument, {"key 'k\\x01'"});
}

TEST(CorruptTest, DuplicateTensorName) {
  GgufBytes g;
  g.Header(3, 2, 0).Info("w", {4}, kF32, 0).Info("w", {4}, kF32, 32).PadTo(32).Fill(64, 0);
  ExpectError(Parse(g).file.status(), StatusCode::kInvalidArgument, {"tensor 'w'", "duplicate tensor name"});
}

TEST(CorruptTest, TensorNameTooLong) {
  GgufBytes g;
  g.Header(3, 1, 0).Info(std::string(64, 'n'), {4}, kF32, 0).PadTo(32).Fill(16, 0);
  ExpectError(Parse(g).file.status(), StatusCode::kInvalidArgument, {"64 bytes", "63"});
  GgufBytes ok;
  ok.Header(3, 1, 0).Info(std::string(63, 'n'), {4}, kF32, 0).PadTo(32).Fill(16, 0);
  EXPECT_TRUE(Parse(ok).file.ok());
}

TEST(CorruptTest, NDims) {
  ExpectError(Parse(OneTensor({}, kF32)).file.status(), StatusCode::kInvalidArgument,
              {"tensor 'w'", "n_dims = 0 is outside 1..4"});
  ExpectError(Parse(OneTensor({1, 1, 1, 1, 1}, kF32)).file.status(), StatusCode::kInvalidArgument,
              {"n_dims = 5"});
  EXPECT_TRUE(Parse(OneTensor({1, 1, 1, 4}, kF32)).file.ok());
}

TEST(CorruptTest, TypeIds) {
  ExpectError(Parse(OneTensor({4}, 31)).file.status(), StatusCode::kInvalidArgument,
              {"tensor 'w'", "type id 31 is a retired ggml type"});
  ExpectError(Parse(OneTensor({4}, 99)).file.status(), StatusCode::kInvalidArgument,
              {"type id 99 is out of range"});
  ExpectError(Parse(OneTensor({4}, 43)).file.status(), StatusCode::kInvalidArgument, {"type id 43"});
  // A known type the engine cannot compute with is the model loader's business, not the reader's.
  auto iq = Parse(OneTensor({256}, kIQ2_XXS, 0, 66));
  ASSERT_TRUE(iq.file.ok()) << iq.file.status().ToString();
  const TensorInfo& t = (*iq.file)->tensors()[0];
  EXPECT_EQ(t.nbytes, 66u);
  EXPECT_FALSE(GetTypeTraits(static_cast<uint32_t>(t.type))->supported);
}

TEST(CorruptTest, NeRules) {
  ExpectError(Parse(OneTensor({33, 1}, kQ8_0)).file.status(), StatusCode::kInvalidArgument,
              {"tensor 'w'", "ne[0] = 33 is not a multiple of the Q8_0 block size 32"});
  ExpectError(Parse(OneTensor({4, 1ull << 63}, kF32)).file.status(), StatusCode::kInvalidArgument,
              {"ne[1]", "negative"});
  ExpectError(Parse(OneTensor({1ull << 32, 1ull << 32}, kF32)).file.status(),
              StatusCode::kInvalidArgument, {"tensor 'w'", "element count overflows"});
  ExpectError(Parse(OneTensor({1ull << 62}, kF64)).file.status(), StatusCode::kInvalidArgument,
              {"byte size overflows"});
  // Zero-sized dimensions are allowed (ne >= 0).
  auto zero = Parse(OneTensor({4, 0}, kF32, 0, 0));
  ASSERT_TRUE(zero.file.ok()) << zero.file.status().ToString();
  EXPECT_EQ((*zero.file)->tensors()[0].nbytes, 0u);
}

TEST(CorruptTest, OffsetsMustBeTheRunningPaddedSum) {
  const auto two = [](uint64_t off_a, uint64_t off_b) {
    GgufBytes g;
    g.Header(3, 2, 0).Info("a", {4}, kF32, off_a).Info("b", {4}, kF32, off_b).PadTo(32).Fill(128, 0);
    return g;
  };
  EXPECT_TRUE(Parse(two(0, 32)).file.ok());
  // Tensor infos: a starts at byte 24, b at 24 + 8+1 + 4 + 8 + 4 + 8 = 57.
  ExpectError(Parse(two(0, 64)).file.status(), StatusCode::kDataLoss,
              {"t.gguf: tensor 'b': offset 64 is not the expected 32", "(at byte 57)"});
  ExpectError(Parse(two(0, 16)).file.status(), StatusCode::kDataLoss,
              {"tensor 'b': offset 16 is not the expected 32"});
  ExpectError(Parse(two(0, 0)).file.status(), StatusCode::kDataLoss, {"tensor 'b': offset 0"});
  ExpectError(Parse(two(32, 0)).file.status(), StatusCode::kDataLoss,
              {"tensor 'a': offset 32 is not the expected 0", "(at byte 24)"});
}

TEST(CorruptTest, TensorDataPastTheEndOfTheFile) {
  ExpectError(Parse(OneTensor({4}, kF32, 0, 15)).file.status(), StatusCode::kDataLoss,
              {"tensor 'w'", "runs past the end of the file (79 bytes)"});
  EXPECT_TRUE(Parse(OneTensor({4}, kF32, 0, 16)).file.ok());
  // A huge offset equal to the running sum cannot happen for the first tensor, but a huge
  // ne with a tiny file must fail on bounds, not overflow.
  ExpectError(Parse(OneTensor({1ull << 40}, kF32, 0, 16)).file.status(), StatusCode::kDataLoss,
              {"past the end"});
}

TEST(CorruptTest, AlignmentKey) {
  const auto with_alignment = [](uint32_t type, uint64_t value) {
    GgufBytes g;
    g.Header(3, 1, 1).Str("general.alignment").U32(type);
    if (type == kTypeU64) g.U64(value);
    else if (type == kTypeString) g.Str("32");
    else g.U32(static_cast<uint32_t>(value));
    g.Info("w", {4}, kF32, 0).PadTo(256).Fill(16, 0);
    return g;
  };
  ExpectError(Parse(with_alignment(kTypeU64, 32)).file.status(), StatusCode::kInvalidArgument,
              {"key 'general.alignment'", "must be u32, found u64", "(at byte 24)"});
  ExpectError(Parse(with_alignment(kTypeI32, 32)).file.status(), StatusCode::kInvalidArgument,
              {"must be u32, found i32"});
  ExpectError(Parse(with_alignment(kTypeString, 0)).file.status(), StatusCode::kInvalidArgument,
              {"found string"});
  ExpectError(Parse(with_alignment(kTypeU32, 0)).file.status(), StatusCode::kInvalidArgument,
              {"alignment 0 is not a non-zero power of two"});
  ExpectError(Parse(with_alignment(kTypeU32, 48)).file.status(), StatusCode::kInvalidArgument,
              {"alignment 48"});
  for (uint32_t a : {1u, 8u, 64u, 256u}) {
    auto p = Parse(with_alignment(kTypeU32, a));
    ASSERT_TRUE(p.file.ok()) << a << ": " << p.file.status().ToString();
    EXPECT_EQ((*p.file)->alignment(), a);
    // The infos end at byte 90 (header 24, key 8+17+4+4, info 8+1+4+8+4+8).
    const size_t data_start = (90 + a - 1) / a * a;
    EXPECT_EQ((*p.file)->tensors()[0].data - p.image->data(), static_cast<ptrdiff_t>(data_start));
  }
}

TEST(CorruptTest, DefaultAlignmentIs32) {
  auto p = Parse(OneTensor({4}, kF32));
  ASSERT_TRUE(p.file.ok());
  EXPECT_EQ((*p.file)->alignment(), 32u);
  EXPECT_EQ((*p.file)->tensors()[0].data - p.image->data(), 64);  // infos end at byte 57
}

TEST(CorruptTest, NullAndEmptyBuffers) {
  auto f = File::FromMemory(nullptr, 0, "null.gguf");
  ExpectError(f.status(), StatusCode::kDataLoss, {"null.gguf", "too short"});
}

}  // namespace
}  // namespace hearth::gguf
