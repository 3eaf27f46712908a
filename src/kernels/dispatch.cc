// The one place that picks an implementation at run time: the AVX-512 VNNI dot products (Q4_0,
// Q5_0, Q8_0) where the CPU runs them, else the AVX2 dot products and activation converters where
// the build has them and the CPU runs them, else the scalar references. On AArch64 the same with the
// NEON kernels: SDOT dot products where the CPU has the dot-product extension, else plain NEON.
// The SIMD activation converters are byte-identical to the references (llama.cpp's reference
// rounding, §12a); weight quantization and dequantization always use the references.
#include <array>
#include <cstdlib>
#include <string_view>

#include "core/check.h"
#include "kernels/impl.h"
#include "kernels/quant.h"

namespace hearth::kernels {
namespace {

struct VecDotTable {
  std::array<VecDotFn, gguf::kTensorTypeCount> one{};
  std::array<VecDot4Fn, gguf::kTensorTypeCount> four{};  // only beside the matching `one`
  std::array<QuantizeFn, gguf::kTensorTypeCount> act{};  // by weight type
  std::array<PackedPath, gguf::kTensorTypeCount> packed{};  // only beside the matching `one`
  std::array<PackedPath, gguf::kTensorTypeCount> packed1{};  // the one-token variant
  std::array<PackedPath, gguf::kTensorTypeCount> interleaved{};  // Layout::kQ4_0x16 etc.
};

VecDotTable BuildTable() {
  VecDotTable table;
  // HEARTH_NO_SIMD=1 forces the scalar references (to tell kernel bugs from model bugs).
  const char* no_simd = std::getenv("HEARTH_NO_SIMD");
  const bool simd = no_simd == nullptr || std::string_view(no_simd) == "0";
#if defined(__aarch64__)
  // ARM: the SDOT kernels where the CPU has the dot-product extension, else plain NEON (the float
  // rows always take plain NEON: neondot has none).
  const bool neon_on = neon::Usable() && simd;
  const bool neondot_on = neondot::Usable() && simd;
  for (uint32_t id = 0; id < gguf::kTensorTypeCount; ++id) {
    const auto t = static_cast<TensorType>(id);
    const VecDotFn fn_dot = neondot_on ? neondot::VecDot(t) : nullptr;
    const VecDotFn fn = fn_dot != nullptr ? fn_dot : neon_on ? neon::VecDot(t) : nullptr;
    table.one[id] = fn != nullptr ? fn : ref::VecDot(t);
    table.four[id] = fn_dot != nullptr ? neondot::VecDot4(t)
                     : fn != nullptr   ? neon::VecDot4(t)
                                       : nullptr;
    if (IsSupported(t)) {
      const TensorType act_type = VecDotType(t);
      const QuantizeFn q = neon_on ? neon::ActivationQuantizer(act_type) : nullptr;
      table.act[id] = q != nullptr ? q : ref::ActivationQuantizer(act_type);
    }
  }
#else
  const bool avx2 = avx2::Usable() && simd;
  const bool avx512 = avx512::Usable() && simd;
  for (uint32_t id = 0; id < gguf::kTensorTypeCount; ++id) {
    const auto t = static_cast<TensorType>(id);
    const VecDotFn fn512 = avx512 ? avx512::VecDot(t) : nullptr;
    const VecDotFn fn = fn512 != nullptr ? fn512 : avx2 ? avx2::VecDot(t) : nullptr;
    table.one[id] = fn != nullptr ? fn : ref::VecDot(t);
    table.four[id] = fn512 != nullptr ? avx512::VecDot4(t) : fn != nullptr ? avx2::VecDot4(t) : nullptr;
    if (fn512 != nullptr && avx512::PackedDot(t, false) != nullptr) {
      table.packed[id] = {avx512::PackedDot(t, false), avx512::PackActivations(t, false),
                          avx512::PackedActBytes, false};
      table.packed1[id] = {avx512::PackedDot(t, true), avx512::PackActivations(t, true),
                           avx512::PackedActBytes, true};
    }
    if (IsSupported(t)) {
      const TensorType act_type = VecDotType(t);
      const QuantizeFn q = avx2 ? avx2::ActivationQuantizer(act_type) : nullptr;
      table.act[id] = q != nullptr ? q : ref::ActivationQuantizer(act_type);
    }
  }
  if (avx512) {
    for (const TensorType t : {TensorType::kQ4_0, TensorType::kQ5_0, TensorType::kQ8_0}) {
      table.interleaved[static_cast<uint32_t>(t)] = avx512::InterleavedPath(t);
    }
  }
#endif
  return table;
}

const VecDotTable& Table() {
  static const VecDotTable table = BuildTable();
  return table;
}

void CheckRow(TensorType t, int64_t n, const char* what) {
  CHECK(n >= 0 && n % BlockElems(t) == 0)
      << what << ": " << n << " elements is not a whole number of blocks of type "
      << static_cast<uint32_t>(t);
}

}  // namespace

VecDotFn BestVecDot(TensorType t) {
  const auto id = static_cast<uint32_t>(t);
  CHECK(id < gguf::kTensorTypeCount && Table().one[id] != nullptr)
      << "no dot product for tensor type " << id;
  return Table().one[id];
}

VecDot4Fn BestVecDot4(TensorType t) {
  const auto id = static_cast<uint32_t>(t);
  return id < gguf::kTensorTypeCount ? Table().four[id] : nullptr;
}

PackedPath BestPackedPath(TensorType t, int64_t n_tok) {
  const auto id = static_cast<uint32_t>(t);
  if (id >= gguf::kTensorTypeCount) return PackedPath{};
  return n_tok == 1 ? Table().packed1[id] : Table().packed[id];
}

PackedPath InterleavedPath(TensorType t) {
  const auto id = static_cast<uint32_t>(t);
  return id < gguf::kTensorTypeCount ? Table().interleaved[id] : PackedPath{};
}

QuantizeFn BestActivationQuantizer(TensorType t) {
  const auto id = static_cast<uint32_t>(t);
  CHECK(id < gguf::kTensorTypeCount && Table().act[id] != nullptr)
      << "no activation conversion for tensor type " << id;
  return Table().act[id];
}

void DequantizeRow(TensorType t, const void* src, float* dst, int64_t n) {
  const DequantizeFn fn = ref::Dequantizer(t);
  CHECK(fn != nullptr) << "cannot dequantize tensor type " << static_cast<uint32_t>(t);
  CheckRow(t, n, "DequantizeRow");
  fn(src, dst, n);
}

void QuantizeRow(TensorType t, const float* src, void* dst, int64_t n) {
  CHECK(CanQuantize(t)) << "cannot quantize to tensor type " << static_cast<uint32_t>(t);
  CheckRow(t, n, "QuantizeRow");
  ref::Quantizer(t)(src, dst, n);
}

void QuantizeActivations(TensorType t, const float* x, void* dst, int64_t n) {
  CheckRow(VecDotType(t), n, "QuantizeActivations");
  BestActivationQuantizer(t)(x, dst, n);
}

float VecDot(TensorType t, const void* row, const void* act, int64_t n) {
  CheckRow(t, n, "VecDot");
  return BestVecDot(t)(row, act, n);
}

}  // namespace hearth::kernels
