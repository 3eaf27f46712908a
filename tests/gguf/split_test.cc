// Split files (<prefix>-%05d-of-%05d.gguf): three shards written by the writer with the split
// keys, opened from any shard; missing shard, duplicate tensors, split.count / split.no /
// split.tensors.count mismatches.
#include <cstring>
#include <filesystem>
#include <fstream>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "gtest/gtest.h"
#include "test_util.h"

namespace hearth::gguf {
namespace {

using testing::ExpectError;
using testing::TempDir;

struct ShardSpec {
  std::vector<std::string> tensors;
};

// Writes shards 1..n of `prefix`. split.no is 0-based as gguf-split writes it; metadata only in
// the first shard. Tensor `name` holds 8 F32 values equal to its position in the whole set.
void WriteShards(const std::string& prefix, const std::vector<ShardSpec>& shards,
                 int split_count_key = -1, int total_tensors_key = -1) {
  const int n = static_cast<int>(shards.size());
  int total = 0;
  for (const ShardSpec& s : shards) total += static_cast<int>(s.tensors.size());
  int index = 0;
  for (int i = 0; i < n; ++i) {
    Writer w;
    if (i == 0) {
      w.SetString("general.architecture", "gemma3");
      w.SetU32("gemma3.block_count", 3);
    }
    w.SetU16("split.no", static_cast<uint16_t>(i));
    w.SetU16("split.count", static_cast<uint16_t>(split_count_key >= 0 ? split_count_key : n));
    w.SetI32("split.tensors.count", total_tensors_key >= 0 ? total_tensors_key : total);
    if (i == 2) w.SetAlignment(64);  // each shard has its own alignment rules
    for (const std::string& name : shards[i].tensors) {
      std::vector<float> values(8, static_cast<float>(index++));
      std::vector<uint8_t> bytes(32);
      std::memcpy(bytes.data(), values.data(), 32);
      ASSERT_TRUE(w.AddTensor(name, TensorType::kF32, {8}, bytes).ok());
    }
    char suffix[32];
    std::snprintf(suffix, sizeof(suffix), "-%05d-of-%05d.gguf", i + 1, n);
    ASSERT_TRUE(w.WriteFile(prefix + suffix).ok());
  }
}

const std::vector<ShardSpec> kThree = {{{"token_embd.weight", "blk.0.attn_q.weight"}},
                                       {{"blk.1.attn_q.weight"}},
                                       {{"blk.2.attn_q.weight", "output_norm.weight"}}};

TEST(SplitTest, OpeningAnyShardOpensAll) {
  TempDir dir;
  const std::string prefix = dir.File("model");
  WriteShards(prefix, kThree);
  for (int i = 1; i <= 3; ++i) {
    SCOPED_TRACE(i);
    auto f = File::Open(prefix + "-0000" + std::to_string(i) + "-of-00003.gguf");
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    const File& file = **f;
    EXPECT_EQ(file.shard_count(), 3u);
    ASSERT_EQ(file.tensors().size(), 5u);
    EXPECT_EQ(*file.GetString("general.architecture"), "gemma3") << "metadata from shard 1";
    EXPECT_EQ(*file.GetU32("split.no"), 0u);
    const std::vector<std::pair<std::string, int>> where = {
        {"token_embd.weight", 0}, {"blk.0.attn_q.weight", 0}, {"blk.1.attn_q.weight", 1},
        {"blk.2.attn_q.weight", 2}, {"output_norm.weight", 2}};
    for (size_t k = 0; k < where.size(); ++k) {
      const TensorInfo* t = file.FindTensor(where[k].first);
      ASSERT_NE(t, nullptr) << where[k].first;
      EXPECT_EQ(t->shard, where[k].second) << where[k].first;
      float v = -1;
      std::memcpy(&v, t->data + 28, 4);
      EXPECT_EQ(v, static_cast<float>(k)) << where[k].first << " reads its own shard's bytes";
    }
    uint64_t size_sum = 0;
    for (int s = 1; s <= 3; ++s) {
      size_sum += std::filesystem::file_size(prefix + "-0000" + std::to_string(s) + "-of-00003.gguf");
    }
    EXPECT_EQ(file.total_bytes(), size_sum);
  }
}

// CopyIntoMemory: the same bytes at the same addresses, now independent of the files (they are
// truncated afterwards: through a file mapping, reading them would then raise SIGBUS).
TEST(SplitTest, CopyIntoMemoryKeepsEveryPointerAndNoLongerReadsTheFiles) {
  TempDir dir;
  const std::string prefix = dir.File("model");
  WriteShards(prefix, kThree);
  {
    // A fourth file, alone, larger than one 64 MiB copy chunk: 17M F32 values of a pattern.
    Writer w;
    w.SetString("general.architecture", "gemma3");
    std::vector<uint8_t> bytes((17u << 20) * 4);
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + i / 4093);
    ASSERT_TRUE(w.AddTensor("big", TensorType::kF32, {int64_t{17} << 20}, bytes).ok());
    ASSERT_TRUE(w.WriteFile(dir.File("big.gguf")).ok());
  }
  auto f = File::Open(prefix + "-00001-of-00003.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto big = File::Open(dir.File("big.gguf"));
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  for (File* file : {f->get(), big->get()}) {
    std::vector<const uint8_t*> where;
    std::vector<std::vector<uint8_t>> bytes;
    for (const TensorInfo& t : file->tensors()) {
      where.push_back(t.data);
      bytes.emplace_back(t.data, t.data + t.nbytes);
    }
    std::vector<std::pair<uint64_t, uint64_t>> ticks;
    ASSERT_TRUE(file->CopyIntoMemory([&](uint64_t done, uint64_t total) { ticks.push_back({done, total}); }).ok());
    ASSERT_FALSE(ticks.empty());
    EXPECT_EQ(ticks.back().first, file->total_bytes());
    EXPECT_EQ(ticks.back().second, file->total_bytes());
    if (file == big->get()) {
      EXPECT_EQ(ticks.size(), 2u) << "two 64 MiB chunks";
    }
    const size_t n_ticks = ticks.size();
    EXPECT_TRUE(file->CopyIntoMemory([&](uint64_t d, uint64_t t) { ticks.push_back({d, t}); }).ok());
    EXPECT_EQ(ticks.size(), n_ticks) << "a second call has nothing to copy";
    for (size_t i = 0; i < where.size(); ++i) {
      const TensorInfo& t = file->tensors()[i];
      EXPECT_EQ(t.data, where[i]) << t.name;
      EXPECT_EQ(std::memcmp(t.data, bytes[i].data(), t.nbytes), 0) << t.name;
    }
  }
  {
    // keep_mapped: the whole pages inside "big" stay in the mapping; only the rest is read.
    auto again = File::Open(dir.File("big.gguf"));
    ASSERT_TRUE(again.ok());
    const TensorInfo& t = (*again)->tensors()[0];
    uint64_t total = 0;
    int asked = 0;
    ASSERT_TRUE((*again)->CopyIntoMemory([&](uint64_t, uint64_t tot) { total = tot; },
                                         [&](const TensorInfo& ti) { ++asked; return ti.name == "big"; }).ok());
    EXPECT_EQ(asked, 1);
    EXPECT_GT(total, 0u);
    // Only the partial pages at the tensor's two ends are read with the rest (pages up to 64 KiB).
    EXPECT_LT(total, (*again)->total_bytes() - t.nbytes + 2 * (64u << 10));
    for (size_t i = 0; i < t.nbytes; i += 4093) {
      ASSERT_EQ(t.data[i], static_cast<uint8_t>(i * 7 + i / 4093)) << i;
    }
  }
  for (const std::string& name : {prefix + "-00001-of-00003.gguf", prefix + "-00002-of-00003.gguf",
                                  prefix + "-00003-of-00003.gguf", dir.File("big.gguf")}) {
    std::filesystem::resize_file(name, 0);
  }
  EXPECT_EQ(*(*f)->GetString("general.architecture"), "gemma3") << "metadata still readable";
  for (size_t k = 0; k < (*f)->tensors().size(); ++k) {
    float v = -1;
    std::memcpy(&v, (*f)->tensors()[k].data + 28, 4);
    EXPECT_EQ(v, static_cast<float>(k));
  }
  const TensorInfo& t = (*big)->tensors()[0];
  for (size_t i = 0; i < t.nbytes; i += 4093) {
    ASSERT_EQ(t.data[i], static_cast<uint8_t>(i * 7 + i / 4093)) << i;
  }
}

// RewriteCopied: only tensors whose bytes CopyIntoMemory copied, and only until SealCopies, after
// which they are read-only again (a write faults).
TEST(SplitTest, RewriteCopiedOnlyCopiedTensorsUntilSealed) {
  TempDir dir;
  const std::string prefix = dir.File("model");
  WriteShards(prefix, kThree);
  auto f = File::Open(prefix + "-00001-of-00003.gguf");
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  File& file = **f;
  const TensorInfo& t = file.tensors()[1];
  int calls = 0;
  auto flip = [&](uint8_t* p) {
    ++calls;
    p[0] ^= 0xFF;
  };
  EXPECT_FALSE(file.RewriteCopied(t, flip)) << "still the file mapping";
  const uint8_t first = t.data[0];
  ASSERT_TRUE(file.CopyIntoMemory(nullptr).ok());
  EXPECT_TRUE(file.RewriteCopied(t, flip));
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(t.data[0], static_cast<uint8_t>(first ^ 0xFF));
  file.SealCopies();
  EXPECT_FALSE(file.RewriteCopied(t, flip));
  EXPECT_EQ(calls, 1);
  EXPECT_DEATH(const_cast<uint8_t*>(t.data)[0] = 0, "");

  // A tensor left in the mapping (keep_mapped) is not rewritten.
  Writer w;
  w.SetString("general.architecture", "gemma3");
  std::vector<uint8_t> bytes(4u << 20, 7);
  ASSERT_TRUE(w.AddTensor("big", TensorType::kF32, {int64_t{1} << 20}, bytes).ok());
  ASSERT_TRUE(w.WriteFile(dir.File("big.gguf")).ok());
  auto big = File::Open(dir.File("big.gguf"));
  ASSERT_TRUE(big.ok());
  ASSERT_TRUE((*big)->CopyIntoMemory(nullptr, [](const TensorInfo&) { return true; }).ok());
  EXPECT_FALSE((*big)->RewriteCopied((*big)->tensors()[0], flip));
  EXPECT_EQ(calls, 1);
}

TEST(SplitTest, MissingShardIsNotFoundNamingIt) {
  TempDir dir;
  const std::string prefix = dir.File("model");
  WriteShards(prefix, kThree);
  std::filesystem::remove(prefix + "-00002-of-00003.gguf");
  for (const char* open : {"-00001-of-00003.gguf", "-00003-of-00003.gguf"}) {
    ExpectError(File::Open(prefix + open).status(), StatusCode::kNotFound,
                {"model-00002-of-00003.gguf", "shard 2 of 3 not found"});
  }
}

TEST(SplitTest, DuplicateTensorAcrossShards) {
  TempDir dir;
  const std::string prefix = dir.File("dup");
  WriteShards(prefix, {{{"a", "b"}}, {{"c"}}, {{"b"}}});
  ExpectError(File::Open(prefix + "-00001-of-00003.gguf").status(), StatusCode::kInvalidArgument,
              {"dup-00003-of-00003.gguf", "tensor 'b' is also in shard 1"});
}

TEST(SplitTest, SplitCountMustAgreeWithTheFileName) {
  TempDir dir;
  const std::string prefix = dir.File("m");
  WriteShards(prefix, kThree, /*split_count_key=*/4);
  ExpectError(File::Open(prefix + "-00002-of-00003.gguf").status(), StatusCode::kInvalidArgument,
              {"m-00001-of-00003.gguf", "'split.count' is 4", "3 shards"});
}

TEST(SplitTest, SplitTensorsCountMustMatch) {
  TempDir dir;
  const std::string prefix = dir.File("m");
  WriteShards(prefix, kThree, -1, /*total_tensors_key=*/6);
  ExpectError(File::Open(prefix + "-00001-of-00003.gguf").status(), StatusCode::kInvalidArgument,
              {"'split.tensors.count' is 6", "hold 5 tensors"});
}

TEST(SplitTest, SplitNoMustMatchTheShard) {
  TempDir dir;
  const std::string prefix = dir.File("m");
  WriteShards(prefix, kThree);
  // Swap shards 2 and 3 on disk: shard 2's file now says split.no = 2.
  std::filesystem::rename(prefix + "-00002-of-00003.gguf", dir.File("tmp"));
  std::filesystem::rename(prefix + "-00003-of-00003.gguf", prefix + "-00002-of-00003.gguf");
  std::filesystem::rename(dir.File("tmp"), prefix + "-00003-of-00003.gguf");
  ExpectError(File::Open(prefix + "-00001-of-00003.gguf").status(), StatusCode::kInvalidArgument,
              {"m-00002-of-00003.gguf", "'split.no' is 2", "shard 2"});
}

TEST(SplitTest, SplitKeysInAFileWithoutASplitName) {
  TempDir dir;
  Writer w;
  w.SetU16("split.count", 3);
  ASSERT_TRUE(w.WriteFile(dir.File("lonely.gguf")).ok());
  ExpectError(File::Open(dir.File("lonely.gguf")).status(), StatusCode::kInvalidArgument,
              {"lonely.gguf", "'split.count' is 3"});
}

TEST(SplitTest, SingleShardSetAndPlainNames) {
  TempDir dir;
  WriteShards(dir.File("one"), {{{"x"}}});
  auto f = File::Open(dir.File("one-00001-of-00001.gguf"));
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ((*f)->tensors().size(), 1u);
  // Names that only look similar are opened as single files.
  Writer w;
  ASSERT_TRUE(w.WriteFile(dir.File("model-1-of-3.gguf")).ok());
  EXPECT_TRUE(File::Open(dir.File("model-1-of-3.gguf")).ok());
  ExpectError(File::Open(dir.File("absent.gguf")).status(), StatusCode::kNotFound, {"absent.gguf"});
  ExpectError(File::Open(dir.path()).status(), StatusCode::kInvalidArgument, {"not a regular file"});
  // An empty file is a clean truncation error, not an mmap failure.
  { std::ofstream(dir.File("empty.gguf")); }
  ExpectError(File::Open(dir.File("empty.gguf")).status(), StatusCode::kDataLoss, {"empty.gguf", "0 bytes"});
}

}  // namespace
}  // namespace hearth::gguf
