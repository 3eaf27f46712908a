// Test helper: builds GGUF byte images by hand, field by field, independently of gguf::Writer, so
// corrupt files can say exactly which bytes are wrong.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/file.h"

namespace hearth::gguf::testing {

class GgufBytes {
 public:
  template <typename T>
  GgufBytes& Put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    bytes_.insert(bytes_.end(), b, b + sizeof(T));
    return *this;
  }
  GgufBytes& U8(uint8_t v) { return Put(v); }
  GgufBytes& U32(uint32_t v) { return Put(v); }
  GgufBytes& U64(uint64_t v) { return Put(v); }
  GgufBytes& Raw(std::string_view s) {
    bytes_.insert(bytes_.end(), s.begin(), s.end());
    return *this;
  }
  GgufBytes& Str(std::string_view s) { return U64(s.size()).Raw(s); }
  GgufBytes& Header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    return Raw("GGUF").U32(version).U64(n_tensors).U64(n_kv);
  }
  // Key, value type 4 (u32), value.
  GgufBytes& KvU32(std::string_view key, uint32_t v) { return Str(key).U32(4).U32(v); }
  GgufBytes& KvString(std::string_view key, std::string_view v) { return Str(key).U32(8).Str(v); }
  // Tensor-info record.
  GgufBytes& Info(std::string_view name, const std::vector<uint64_t>& ne, uint32_t type,
                  uint64_t offset) {
    Str(name).U32(static_cast<uint32_t>(ne.size()));
    for (uint64_t n : ne) U64(n);
    return U32(type).U64(offset);
  }
  GgufBytes& PadTo(size_t align) {
    bytes_.resize((bytes_.size() + align - 1) / align * align, 0);
    return *this;
  }
  GgufBytes& Fill(size_t n, uint8_t v) {
    bytes_.insert(bytes_.end(), n, v);
    return *this;
  }
  size_t size() const { return bytes_.size(); }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

// Parses an exact-size heap copy (so a sanitizer build sees any read past the end).
struct Parsed {
  std::unique_ptr<std::vector<uint8_t>> image;
  Result<std::unique_ptr<File>> file;
};
inline Parsed Parse(const std::vector<uint8_t>& b, size_t size, const std::string& name = "t.gguf") {
  auto image = std::make_unique<std::vector<uint8_t>>(b.begin(), b.begin() + size);
  auto file = File::FromMemory(image->data(), image->size(), name);
  return Parsed{std::move(image), std::move(file)};
}
inline Parsed Parse(const GgufBytes& g, const std::string& name = "t.gguf") {
  return Parse(g.bytes(), g.size(), name);
}

}  // namespace hearth::gguf::testing
