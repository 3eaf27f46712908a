// Tensor element types and their dequantisation, written from gemma-gguf-spec.md §10.
//
// Plain scalar code, one function per block layout; no tables shared with src/kernels/.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace hearth::reference {

// ggml_type ids (§1) of the types the reference can read.
enum GgmlType : uint32_t {
  kTypeF32 = 0, kTypeF16 = 1, kTypeQ4_0 = 2, kTypeQ4_1 = 3, kTypeQ5_0 = 6, kTypeQ5_1 = 7,
  kTypeQ8_0 = 8, kTypeQ8_1 = 9, kTypeQ2_K = 10, kTypeQ3_K = 11, kTypeQ4_K = 12, kTypeQ5_K = 13,
  kTypeQ6_K = 14, kTypeQ8_K = 15, kTypeIQ4_NL = 20, kTypeIQ4_XS = 23, kTypeBF16 = 30,
  kTypeMXFP4 = 39,
};

struct TypeLayout {
  const char* name;
  int64_t block_elems;
  int64_t block_bytes;
};

// Layout of a weight type this reference can dequantise (the list of §10.1's "Rule for the
// engine"); Unimplemented for anything else.
Result<TypeLayout> LayoutOf(uint32_t type);

// IEEE half / bfloat16 helpers (round to nearest even on the way down).
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);
float BF16ToFloat(uint16_t b);
float RoundToHalf(float f);   // f -> F16 -> f
float RoundToBF16(float f);   // f -> BF16 -> f

// Dequantises `n` elements (a multiple of the block size) starting at a block boundary.
// `type` must have passed LayoutOf.
void DequantizeRow(uint32_t type, const uint8_t* src, int64_t n, float* dst);

// For Q4_1 / Q5_1 only: the per-block additive minimum m (one per 32 elements), needed to
// emulate llama.cpp's Q8_1 dot product (numerics.h).
void BlockMinimums(uint32_t type, const uint8_t* src, int64_t n, float* mins);

}  // namespace hearth::reference
