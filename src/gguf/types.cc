// Block geometry of every ggml type id (gemma-gguf-spec.md §1 and §10). Sizes of the types the
// spec does not lay out (IQ1/2/3, TQ, NVFP4, Q1_0, Q2_0) are the `sizeof(block_*)` of llama.cpp's
// ggml-common.h; the reader needs them to size tensors even though the engine cannot compute
// with those types.
#include "gguf/types.h"

#include <array>

namespace hearth::gguf {
namespace {

constexpr int64_t kQK = 256;  // QK_K: super-block size of the K and 256-block IQ types

struct Entry {
  bool known;
  TypeTraits traits;
};

constexpr std::array<Entry, kTensorTypeCount> MakeTable() {
  std::array<Entry, kTensorTypeCount> t{};
  auto set = [&t](TensorType id, std::string_view name, int64_t elems, int64_t bytes,
                  bool supported) {
    t[static_cast<uint32_t>(id)] = Entry{true, TypeTraits{name, elems, bytes, supported}};
  };
  // The engine set of §10.1.
  set(TensorType::kF32, "F32", 1, 4, true);
  set(TensorType::kF16, "F16", 1, 2, true);
  set(TensorType::kBF16, "BF16", 1, 2, true);
  set(TensorType::kQ4_0, "Q4_0", 32, 18, true);
  set(TensorType::kQ4_1, "Q4_1", 32, 20, true);
  set(TensorType::kQ5_0, "Q5_0", 32, 22, true);
  set(TensorType::kQ5_1, "Q5_1", 32, 24, true);
  set(TensorType::kQ8_0, "Q8_0", 32, 34, true);
  set(TensorType::kQ2_K, "Q2_K", kQK, 84, true);
  set(TensorType::kQ3_K, "Q3_K", kQK, 110, true);
  set(TensorType::kQ4_K, "Q4_K", kQK, 144, true);
  set(TensorType::kQ5_K, "Q5_K", kQK, 176, true);
  set(TensorType::kQ6_K, "Q6_K", kQK, 210, true);
  set(TensorType::kIQ4_NL, "IQ4_NL", 32, 18, true);
  set(TensorType::kIQ4_XS, "IQ4_XS", kQK, 136, true);
  set(TensorType::kMXFP4, "MXFP4", 32, 17, true);
  // Known but not computed by the engine.
  set(TensorType::kQ8_1, "Q8_1", 32, 36, false);      // d, s: f16; qs[32]
  set(TensorType::kQ8_K, "Q8_K", kQK, 292, false);    // activation-side only
  set(TensorType::kIQ2_XXS, "IQ2_XXS", kQK, 66, false);  // d + u16 qs[32]
  set(TensorType::kIQ2_XS, "IQ2_XS", kQK, 74, false);    // d + u16 qs[32] + scales[8]
  set(TensorType::kIQ3_XXS, "IQ3_XXS", kQK, 98, false);  // d + qs[96]
  set(TensorType::kIQ1_S, "IQ1_S", kQK, 50, false);      // d + qs[32] + u16 qh[8]
  set(TensorType::kIQ3_S, "IQ3_S", kQK, 110, false);     // d + qs[64] + qh[8] + signs[32] + scales[4]
  set(TensorType::kIQ2_S, "IQ2_S", kQK, 82, false);      // d + qs[64] + qh[8] + scales[8]
  set(TensorType::kIQ1_M, "IQ1_M", kQK, 56, false);      // qs[32] + qh[16] + scales[8], no d
  set(TensorType::kTQ1_0, "TQ1_0", kQK, 54, false);      // qs[48] + qh[4] + d
  set(TensorType::kTQ2_0, "TQ2_0", kQK, 66, false);      // qs[64] + d
  set(TensorType::kNVFP4, "NVFP4", 64, 36, false);       // 4 UE4M3 scales + qs[32]
  set(TensorType::kQ1_0, "Q1_0", 128, 18, false);        // d + qs[16]
  set(TensorType::kQ2_0, "Q2_0", 64, 18, false);         // d + qs[16]
  set(TensorType::kI8, "I8", 1, 1, false);
  set(TensorType::kI16, "I16", 1, 2, false);
  set(TensorType::kI32, "I32", 1, 4, false);
  set(TensorType::kI64, "I64", 1, 8, false);
  set(TensorType::kF64, "F64", 1, 8, false);
  return t;
}

constexpr std::array<Entry, kTensorTypeCount> kTable = MakeTable();

}  // namespace

std::optional<TypeTraits> GetTypeTraits(uint32_t type_id) {
  if (type_id >= kTensorTypeCount || !kTable[type_id].known) return std::nullopt;
  return kTable[type_id].traits;
}

std::string_view TypeName(TensorType t) {
  std::optional<TypeTraits> tr = GetTypeTraits(static_cast<uint32_t>(t));
  return tr ? tr->name : std::string_view("?");
}

}  // namespace hearth::gguf
