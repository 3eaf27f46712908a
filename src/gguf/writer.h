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
  // Replaces an existing key of the same name (keeps its position).

  // `data` must hold exactly RowBytes(type, ne[0]) * ne[1] * ne[2] * ne[3] bytes.
  Status AddTensor(const std::string& name, TensorType type, std::vector<int64_t> ne,
                   std::vector<uint8_t> data);

  void SetAlignment(uint32_t a);  // also writes general.alignment

  std::vector<uint8_t> Serialize() const;
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
