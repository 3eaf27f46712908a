// The golden GGUF files under tests/data/golden were written by an independent tool (llama.cpp's
// converter and quantiser): every one must open, and every tensor's byte range must lie inside the
// file, start at an aligned position and have the size its type and shape imply.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "gguf/dump.h"
#include "gguf/file.h"
#include "gtest/gtest.h"

namespace hearth::gguf {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenDir = fs::path(HEARTH_SOURCE_DIR) / "tests/data/golden";

std::vector<fs::path> GoldenFiles() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(kGoldenDir)) {
    if (e.path().extension() == ".gguf") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint8_t> ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

TEST(GoldenTest, AllSevenFilesArePresent) { EXPECT_EQ(GoldenFiles().size(), 7u); }

TEST(GoldenTest, EveryGoldenFileOpensAndTensorsLieInsideIt) {
  for (const fs::path& path : GoldenFiles()) {
    SCOPED_TRACE(path.filename().string());
    const std::vector<uint8_t> bytes = ReadAll(path);
    ASSERT_EQ(bytes.size(), fs::file_size(path));
    auto mem = File::FromMemory(bytes.data(), bytes.size(), path.filename().string());
    ASSERT_TRUE(mem.ok()) << mem.status().ToString();
    const File& f = **mem;
    EXPECT_EQ(f.version(), 3u);
    ASSERT_FALSE(f.tensors().empty());

    const uint8_t* begin = bytes.data();
    const uint8_t* end = begin + bytes.size();
    const uint8_t* data_start = f.tensors()[0].data;
    EXPECT_EQ((data_start - begin) % f.alignment(), 0);
    const uint8_t* prev_end = data_start;
    for (const TensorInfo& t : f.tensors()) {
      SCOPED_TRACE(t.name);
      std::optional<TypeTraits> tr = GetTypeTraits(static_cast<uint32_t>(t.type));
      ASSERT_TRUE(tr.has_value());
      EXPECT_TRUE(tr->supported) << tr->name;
      EXPECT_GE(t.data, begin);
      EXPECT_LE(t.data + t.nbytes, end);
      EXPECT_EQ(t.data, data_start + t.offset);
      EXPECT_EQ((t.data - begin) % f.alignment(), 0);
      EXPECT_GE(t.data, prev_end) << "tensors do not overlap";
      prev_end = t.data + t.nbytes;
      EXPECT_EQ(t.nbytes, static_cast<uint64_t>(RowBytes(*tr, t.ne[0]) * t.rows()));
      EXPECT_GE(t.n_dims, 1u);
      EXPECT_LE(t.n_dims, 4u);
    }
    // What follows the last tensor is at most its padding.
    EXPECT_LT(static_cast<uint64_t>(end - prev_end), f.alignment());

    // The mmap path agrees with the in-memory path.
    auto mapped = File::Open(path.string());
    ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
    ASSERT_EQ((*mapped)->tensors().size(), f.tensors().size());
    EXPECT_EQ((*mapped)->metadata().size(), f.metadata().size());
    EXPECT_EQ((*mapped)->total_bytes(), bytes.size());
    for (size_t i = 0; i < f.tensors().size(); ++i) {
      const TensorInfo& a = f.tensors()[i];
      const TensorInfo& b = (*mapped)->tensors()[i];
      EXPECT_EQ(a.name, b.name);
      EXPECT_EQ(a.offset, b.offset);
      EXPECT_EQ(b.data - (*mapped)->tensors()[0].data, a.data - data_start);
      EXPECT_EQ(0, std::memcmp(a.data, b.data, std::min<uint64_t>(a.nbytes, 64)));
    }
    EXPECT_FALSE(DescribeFile(f, true).empty());
  }
}

TEST(GoldenTest, KnownMetadataOfTheGoldenFiles) {
  auto g3 = File::Open((kGoldenDir / "g3-tiny-f32.gguf").string());
  ASSERT_TRUE(g3.ok()) << g3.status().ToString();
  EXPECT_EQ(*(*g3)->GetString("general.architecture"), "gemma3");
  EXPECT_EQ(*(*g3)->GetU32("gemma3.block_count"), 6u);  // README: 6 layers
  EXPECT_EQ(*(*g3)->GetString("tokenizer.ggml.model"), "llama");
  EXPECT_EQ((*g3)->GetStringArray("tokenizer.ggml.tokens")->size(), 1024u);  // README: vocab of 1024
  const TensorInfo* embd = (*g3)->FindTensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->type, TensorType::kF32);
  EXPECT_EQ(embd->ne[1], 1024);
  EXPECT_EQ(embd->ne[0], *(*g3)->GetI64("gemma3.embedding_length"));

  auto u12 = File::Open((kGoldenDir / "g4-u12b-tiny-q8_0.gguf").string());
  ASSERT_TRUE(u12.ok()) << u12.status().ToString();
  EXPECT_EQ(*(*u12)->GetString("general.architecture"), "gemma4");
  EXPECT_EQ((*u12)->GetStringArray("tokenizer.ggml.tokens")->size(), 4096u);  // README: vocab 4096
  auto swa = (*u12)->GetBoolArray("gemma4.attention.sliding_window_pattern");
  ASSERT_TRUE(swa.ok()) << swa.status().ToString();
  EXPECT_EQ(swa->size(), *(*u12)->GetU32("gemma4.block_count"));

  auto mm = File::Open((kGoldenDir / "mmproj-g4-u12b-tiny-f16.gguf").string());
  ASSERT_TRUE(mm.ok()) << mm.status().ToString();
  EXPECT_EQ(*(*mm)->GetString("general.architecture"), "clip");
}

}  // namespace
}  // namespace hearth::gguf
