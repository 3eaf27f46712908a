// A deliberately small, independent GGUF reader for the reference forward pass.
//
// It shares no code with src/gguf/: the reference must not inherit the engine's reading of the
// format (gemma-gguf-spec.md §1). The whole file is read into memory (test models are tiny);
// every count, length and offset is checked against the file size, and a bad file gives a
// Status naming what and where.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace hearth::reference {

// GGUF metadata value types (§1.2).
enum GgufValueType : uint32_t {
  kGgufU8 = 0, kGgufI8 = 1, kGgufU16 = 2, kGgufI16 = 3, kGgufU32 = 4, kGgufI32 = 5,
  kGgufF32 = 6, kGgufBool = 7, kGgufString = 8, kGgufArray = 9, kGgufU64 = 10, kGgufI64 = 11,
  kGgufF64 = 12,
};

// One metadata value. Numbers are kept both as double and as int64 (whichever the type is, the
// other is converted), so callers ask for what they need without a type switch.
struct GgufValue {
  uint32_t type = 0;
  double number = 0;          // numeric and bool types
  int64_t integer = 0;        // numeric and bool types (truncated for floats)
  std::string str;            // kGgufString
  uint32_t array_type = 0;    // kGgufArray: element type
  std::vector<GgufValue> array;

  bool IsNumeric() const { return type != kGgufString && type != kGgufArray; }
};

// One tensor-info record plus a pointer to its bytes inside the loaded file.
struct GgufTensor {
  std::string name;
  uint32_t type = 0;             // ggml_type id (§1)
  std::vector<int64_t> ne;       // ne[0] fastest; always padded to 4 entries with 1
  uint64_t offset = 0;           // relative to the data section
  const uint8_t* data = nullptr;
  uint64_t nbytes = 0;

  int64_t NumElements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
};

class GgufFile {
 public:
  static Result<GgufFile> Open(const std::string& path);
  // Tensors point into bytes_, whose buffer survives a move but not a copy.
  GgufFile(GgufFile&&) = default;
  GgufFile& operator=(GgufFile&&) = default;
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const GgufValue* Find(const std::string& key) const;
  const GgufTensor* FindTensor(const std::string& name) const;
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }

 private:
  GgufFile() = default;
  std::vector<uint8_t> bytes_;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace hearth::reference
