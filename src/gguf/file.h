// gguf::File: a memory-mapped GGUF file (or a set of split shards) with typed metadata lookup and
// named, shaped views of the tensor bytes. The bytes are never copied.
//
// The reader treats the file as hostile (gemma-gguf-spec.md §1): every count, length, type, offset
// and alignment is checked against the file size before use, and every error names the key or
// tensor at fault and the byte offset.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> f, gguf::File::Open("model.gguf"));
//   ASSIGN_OR_RETURN(uint32_t n_layer, f->GetU32("gemma4.block_count"));
//   const gguf::TensorInfo* t = f->FindTensor("token_embd.weight");
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "gguf/types.h"

namespace hearth::gguf {

// On-disk metadata value types.
enum class ValueType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
std::string_view ValueTypeName(ValueType t);

// One metadata value. Arrays of scalars keep their element type and a view of the raw little-endian
// elements in the mapping; arrays of strings are decoded into `strings` (views into the mapping).
struct Value {
  ValueType type = ValueType::kU8;
  // Scalars (integers are widened; the original type is in `type`): `u` holds unsigned values,
  // `i` signed ones (each also holds the other's bits reinterpreted); `f` holds f32 and f64 (an
  // f32 widened exactly); `b` holds bool (any non-zero byte is true).
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  bool b = false;
  std::string_view str;  // kString
  // kArray:
  ValueType elem_type = ValueType::kU8;
  uint64_t count = 0;
  const uint8_t* elems = nullptr;       // raw elements for scalar arrays
  std::vector<std::string_view> strings;  // for string arrays
};

struct TensorInfo {
  std::string name;
  uint32_t n_dims = 0;
  int64_t ne[4] = {1, 1, 1, 1};  // ne[0] is contiguous (row length); unused dims are 1
  TensorType type = TensorType::kF32;
  uint64_t offset = 0;           // relative to the shard's data section
  const uint8_t* data = nullptr; // points into the mapping
  uint64_t nbytes = 0;
  int shard = 0;                 // index of the split file holding it

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t rows() const { return ne[1] * ne[2] * ne[3]; }
};

class File {
 public:
  // Opens and validates a GGUF file. A name matching `<prefix>-0000N-of-0000M.gguf` (any N) opens
  // all M shards and merges their tensors (metadata from shard 1). Errors name the file.
  // Each shard is validated on its own; a tensor name in two shards, a missing shard (NotFound),
  // `split.count` differing from M or `split.no` (0-based) differing from N-1 are errors.
  static Result<std::unique_ptr<File>> Open(const std::string& path);
  // Parses an in-memory image with the same validation (tests, fuzzing, embedded files); `bytes`
  // must outlive the File. `name` prefixes error messages.
  static Result<std::unique_ptr<File>> FromMemory(const uint8_t* bytes, size_t size,
                                                  std::string name = "<memory>");
  ~File();
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  const std::string& path() const { return path_; }
  uint64_t total_bytes() const;  // sum of shard file sizes

  // ---- metadata ----
  const Value* Find(std::string_view key) const;  // nullptr if absent
  bool Has(std::string_view key) const { return Find(key) != nullptr; }
  const std::map<std::string, Value, std::less<>>& metadata() const { return kv_; }

  // Typed getters: NotFound if absent, InvalidArgument naming the key and both types if the stored
  // type does not convert losslessly (any unsigned/signed integer type converts to another integer
  // type when the value fits; f32/f64 convert to each other, f64 -> f32 only inside the f32 range;
  // bool only from bool, string only from string).
  Result<uint32_t> GetU32(std::string_view key) const;
  Result<uint64_t> GetU64(std::string_view key) const;
  Result<int64_t> GetI64(std::string_view key) const;
  Result<float> GetF32(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  Result<std::string> GetString(std::string_view key) const;
  // Arrays (element type converted as above):
  Result<std::vector<int64_t>> GetIntArray(std::string_view key) const;
  Result<std::vector<float>> GetF32Array(std::string_view key) const;
  Result<std::vector<bool>> GetBoolArray(std::string_view key) const;
  Result<std::vector<std::string_view>> GetStringArray(std::string_view key) const;

  // With default when absent (still an error when present with a wrong type).
  Result<uint32_t> GetU32Or(std::string_view key, uint32_t def) const;
  Result<float> GetF32Or(std::string_view key, float def) const;
  Result<bool> GetBoolOr(std::string_view key, bool def) const;
  Result<int64_t> GetI64Or(std::string_view key, int64_t def) const;
  Result<std::string> GetStringOr(std::string_view key, std::string def) const;

  // ---- tensors ----
  const TensorInfo* FindTensor(std::string_view name) const;  // nullptr if absent
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  size_t shard_count() const { return shards_.size(); }

  // Reads all tensor data into the page cache now (madvise + one touch per page), calling
  // progress(done, total) in bytes after each 64 MiB: the load progress bar. Optional: without
  // it pages are read on first use.
  void Prefetch(const std::function<void(uint64_t, uint64_t)>& progress) const;

  // Replaces each mapped shard's file pages by a private copy in anonymous memory at the same
  // addresses (so every pointer into the file stays valid), 64 MiB at a time: it reads the whole
  // file now, calling progress(done, total) after each chunk. Afterwards the weights no longer
  // depend on the page cache, and peak memory is the file size plus one chunk, as for a mapping
  // read in full. Decoding reads every weight once per token; on the 2-vCPU machines here the 12B
  // decoded 3-4x faster from anonymous memory than from the file mapping (docs/PERFORMANCE.md).
  // Shards made by FromMemory are left as they are. On failure (no memory for a chunk, a read
  // error) the shard keeps its file mapping, whole and valid, and the error says so.
  // Tensors for which keep_mapped(t) is true stay in the mapping (the whole pages inside them):
  // tables read a row at a time, such as Gemma 4's per-layer token embeddings, whose pages are
  // then read only as rows are used. The copies stay writable, for RewriteCopied, until
  // SealCopies.
  Status CopyIntoMemory(const std::function<void(uint64_t, uint64_t)>& progress,
                        const std::function<bool(const TensorInfo&)>& keep_mapped = nullptr);

  // Calls rewrite(p), p = t.data as writable memory, where CopyIntoMemory copied all of t's bytes
  // into anonymous memory (so changing them changes no file and no page cache) and SealCopies has
  // not run yet, and returns true; returns false and calls nothing otherwise (t still mapped from
  // the file, or made by FromMemory). The loader rewrites weights into a faster layout this way
  // (kernels::Interleave).
  bool RewriteCopied(const TensorInfo& t, const std::function<void(uint8_t*)>& rewrite);
  // Makes the copies read-only, as the mapping was (CopyIntoMemory leaves them writable for
  // RewriteCopied). Model::Load calls it once the weights are bound.
  void SealCopies();

 private:
  File() = default;
  struct Shard;
  Result<const Value*> Lookup(std::string_view key) const;
  Status TypeError(std::string_view key, const Value& v, std::string_view wanted) const;
  template <typename T>
  Result<T> GetInt(std::string_view key, std::string_view wanted) const;

  std::string path_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::map<std::string, Value, std::less<>> kv_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensor_index_;
  mutable uint8_t touched_ = 0;  // keeps Prefetch's page reads from being optimised away
  friend class Parser;
};

}  // namespace hearth::gguf
