// ggml tensor type ids and their block geometry, as they appear in GGUF tensor-info records.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace hearth::gguf {

// Numeric values are the on-disk ggml_type ids (gemma-gguf-spec.md §1).
enum class TensorType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15,
  kIQ2_XXS = 16, kIQ2_XS = 17, kIQ3_XXS = 18, kIQ1_S = 19, kIQ4_NL = 20, kIQ3_S = 21,
  kIQ2_S = 22, kIQ4_XS = 23, kI8 = 24, kI16 = 25, kI32 = 26, kI64 = 27, kF64 = 28,
  kIQ1_M = 29, kBF16 = 30, kTQ1_0 = 34, kTQ2_0 = 35, kMXFP4 = 39, kNVFP4 = 40,
  kQ1_0 = 41, kQ2_0 = 42,
};
inline constexpr uint32_t kTensorTypeCount = 43;  // GGML_TYPE_COUNT at the reference commit

struct TypeTraits {
  std::string_view name;  // "Q4_K"
  int64_t block_elems;    // elements per block (1 for F32/F16/BF16)
  int64_t block_bytes;    // bytes per block
  bool supported;         // the engine can compute with it (dequantize + dot)
};

// Traits of a known type id; nullopt for retired/unknown ids (31-33, 36-38, >= 43).
std::optional<TypeTraits> GetTypeTraits(uint32_t type_id);
std::string_view TypeName(TensorType t);

// Bytes of n elements of type t (n must be a multiple of the block size).
inline int64_t RowBytes(const TypeTraits& tr, int64_t n) { return n / tr.block_elems * tr.block_bytes; }

}  // namespace hearth::gguf
