// Block geometry and vec-dot pairing of the types the kernels know (spec §10, §12a). Our own table:
// kernels does not link hearth_gguf.
#include "core/check.h"
#include "kernels/blocks.h"
#include "kernels/quant.h"

namespace hearth::kernels {
namespace {

using T = TensorType;

struct Geometry {
  int64_t elems;
  int64_t bytes;
};

// {0, 0} for types the kernels have no layout for.
Geometry GeometryOf(TensorType t) {
  switch (t) {
    case T::kF32: return {1, 4};
    case T::kF16: return {1, 2};
    case T::kBF16: return {1, 2};
    case T::kQ8_0: return {kQK, sizeof(BlockQ8_0)};
    case T::kQ8_1: return {kQK, sizeof(BlockQ8_1)};
    case T::kQ4_0: return {kQK, sizeof(BlockQ4_0)};
    case T::kQ4_1: return {kQK, sizeof(BlockQ4_1)};
    case T::kQ5_0: return {kQK, sizeof(BlockQ5_0)};
    case T::kQ5_1: return {kQK, sizeof(BlockQ5_1)};
    case T::kIQ4_NL: return {kQK, sizeof(BlockIQ4_NL)};
    case T::kMXFP4: return {kQK, sizeof(BlockMXFP4)};
    case T::kQ2_K: return {kQK_K, sizeof(BlockQ2_K)};
    case T::kQ3_K: return {kQK_K, sizeof(BlockQ3_K)};
    case T::kQ4_K: return {kQK_K, sizeof(BlockQ4_K)};
    case T::kQ5_K: return {kQK_K, sizeof(BlockQ5_K)};
    case T::kQ6_K: return {kQK_K, sizeof(BlockQ6_K)};
    case T::kQ8_K: return {kQK_K, sizeof(BlockQ8_K)};
    case T::kIQ4_XS: return {kQK_K, sizeof(BlockIQ4_XS)};
    default: return {0, 0};
  }
}

}  // namespace

bool IsSupported(TensorType t) {
  switch (t) {
    case T::kF32: case T::kF16: case T::kBF16: case T::kQ8_0: case T::kQ4_0: case T::kQ4_1:
    case T::kQ5_0: case T::kQ5_1: case T::kQ2_K: case T::kQ3_K: case T::kQ4_K: case T::kQ5_K:
    case T::kQ6_K: case T::kIQ4_NL: case T::kIQ4_XS: case T::kMXFP4:
      return true;
    default:
      return false;
  }
}

bool CanQuantize(TensorType t) {
  return IsSupported(t) || t == T::kQ8_1 || t == T::kQ8_K;
}

int64_t BlockElems(TensorType t) {
  const Geometry g = GeometryOf(t);
  CHECK(g.elems > 0) << "no block layout for tensor type " << static_cast<uint32_t>(t);
  return g.elems;
}

int64_t BlockBytes(TensorType t) {
  const Geometry g = GeometryOf(t);
  CHECK(g.bytes > 0) << "no block layout for tensor type " << static_cast<uint32_t>(t);
  return g.bytes;
}

TensorType VecDotType(TensorType t) {
  switch (t) {
    case T::kF32: return T::kF32;
    case T::kF16: return T::kF16;
    case T::kBF16: return T::kBF16;
    case T::kQ8_0: case T::kQ4_0: case T::kQ5_0: case T::kIQ4_NL: case T::kMXFP4:
      return T::kQ8_0;
    case T::kQ4_1: case T::kQ5_1:
      return T::kQ8_1;
    case T::kQ2_K: case T::kQ3_K: case T::kQ4_K: case T::kQ5_K: case T::kQ6_K: case T::kIQ4_XS:
      return T::kQ8_K;
    default:
      CHECK(false) << "no vec-dot type for tensor type " << static_cast<uint32_t>(t);
      return T::kF32;
  }
}

}  // namespace hearth::kernels
