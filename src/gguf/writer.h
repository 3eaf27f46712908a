// gguf::Writer: builds a GGUF v3 file (used by the test-model tool, import-vocab and tests).
// Keys and tensors are written in insertion order; tensor data is padded to the alignment with
// zeros, offsets are the running padded sum, exactly as the reader requires.
//
//   gguf::Writer w;
//   w.SetString("general.architecture", "gemma4");
//   w.SetU32("gemma4.block_count", 4);
//   w.AddTensor("token_embd.weight", gguf::TensorType::kQ8_0, {64, 512}, bytes);
//   TRY(w.WriteFile("model.gguf"));
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "gguf/file.h"

namespace hearth::gguf {

class Writer {
 public:
  void SetU8(const std::string& key, uint8_t v);
  void SetU16(const std::string& key, uint16_t v);
  void SetU32(const std::string& key, uint32_t v);
  void SetI32(const std::string& key, int32_t v);
  void SetU64(const std::string& key, uint64_t v);
  void SetF32(const std::string& key, float v);
  void SetBool(const std::string& key, bool v);
  void SetString(const std::string& key, const std::string& v);
  void SetI32Array(const std::string& key, const std::vector<int32_t>& v);
  void SetU32Array(const std::string& key, const std::vector<uint32_t>& v);
  void SetF32Array(const std::string& key, const std::vector<float>& v);
  void SetBoolArray(const std::string& key, const std::vector<bool>& v);
  void SetStringArray(const std::string& key, const std::vector<std::string>& v);
  // The remaining GGUF value types.
  void SetI8(const std::string& key, int8_t v);
  void SetI16(const std::string& key, int16_t v);
  void SetI64(const std::string& key, int64_t v);
  void SetF64(const std::string& key, double v);
  void SetU8Array(const std::string& key, const std::vector<uint8_t>& v);
  void SetI8Array(const std::string& key, const std::vector<int8_t>& v);
  void SetU16Array(const std::string& key, const std::vector<uint16_t>& v);
  void SetI16Array(const std::string& key, const std::vector<int16_t>& v);
  void SetU64Array(const std::string& key, const std::vector<uint64_t>& v);
  void SetI64Array(const std::string& key, const std::vector<int64_t>& v);
  void SetF64Array(const std::string& key, const std::vector<double>& v);
  // Copies a value read by gguf::File (any type, arrays included), e.g. to rewrite a model's
  // metadata. Setting general.alignment this way also changes the alignment (it must be a u32
  // power of two).
  void SetValue(const std::string& key, const Value& v);
  // Every setter replaces an existing key of the same name (keeps its position).
  bool HasKey(const std::string& key) const;
  size_t key_count() const { return kvs_.size(); }

  // `data` must hold exactly RowBytes(type, ne[0]) * ne[1] * ne[2] * ne[3] bytes. InvalidArgument
  // (naming the tensor) for an unknown type, 0 or more than 4 dims, a negative ne, ne[0] not a
  // multiple of the block size, a wrong data size, a too long (> 63 bytes) or duplicate name.
  Status AddTensor(const std::string& name, TensorType type, std::vector<int64_t> ne,
                   std::vector<uint8_t> data);

  void SetAlignment(uint32_t a);  // also writes general.alignment; CHECKs a is a power of two
  uint32_t alignment() const { return alignment_; }

  std::vector<uint8_t> Serialize() const;
  // Writes `path + ".tmp"`, then renames it to `path`: a failed write never leaves a partial file
  // under `path`. I/O errors are returned naming the file and the OS reason.
  Status WriteFile(const std::string& path) const;

 private:
  struct Kv {
    std::string key;
    std::vector<uint8_t> encoded;  // type + value, already little-endian
  };
  struct Tensor {
    std::string name;
    TensorType type;
    std::vector<int64_t> ne;
    std::vector<uint8_t> data;
  };
  void Put(const std::string& key, std::vector<uint8_t> encoded);
  std::vector<Kv> kvs_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace hearth::gguf
