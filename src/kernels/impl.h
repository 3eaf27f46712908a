// Internal to kernels/: per-type function tables of the scalar reference and the SIMD versions,
// so dispatch.cc can pick one and the tests can compare them. Not for use outside kernels/ and
// tests/kernels/.
#pragma once

#include <cstdint>

#include "gguf/types.h"

namespace hearth::kernels {

using DequantizeFn = void (*)(const void* src, float* dst, int64_t n);
using QuantizeFn = void (*)(const float* src, void* dst, int64_t n);
// Dot of one weight row with activations already in the vec-dot type; n elements.
using VecDotFn = float (*)(const void* row, const void* act, int64_t n);
// The same row against 4 activation rows at act + k·act_stride bytes (k < 4): out[k]. Results are
// bit-identical to 4 calls of the matching VecDotFn; only the weight unpacking is shared.
using VecDot4Fn = void (*)(const void* row, const void* act, int64_t act_stride, int64_t n,
                           float* out);

// The many-token path (matmul.cc), where a SIMD set has one for the weight type. PackActivationsFn
// rewrites one activation row already in the vec-dot type (n elements) into the kernel's own layout
// (PackedPath::bytes); PackedDotFn computes y[t·y_stride + r] for n_rows weight rows
// (row_bytes apart) against n_tok packed rows (pstride bytes apart), bit-identical to
// VecDot(row r, token t) of the same SIMD set.
using PackActivationsFn = void (*)(const void* act, int64_t n, void* packed);
using PackedDotFn = void (*)(const void* rows, int64_t row_bytes, int64_t n_rows,
                             const void* packed, int64_t pstride, int64_t n_tok, int64_t n,
                             float* y, int64_t y_stride);

namespace ref {
// Scalar references; nullptr for types without one.
DequantizeFn Dequantizer(gguf::TensorType t);
QuantizeFn Quantizer(gguf::TensorType t);  // weight-style quantizers (and the activation types)
// Activation converters as llama.cpp's x86 SIMD from_float runs them (spec §12a): for Q8_0 / Q8_1
// the levels are nearest-even(x · 127/amax), not roundf(x / d) as in the weight quantizer; the
// other activation types use Quantizer(t).
QuantizeFn ActivationQuantizer(gguf::TensorType act_type);
VecDotFn VecDot(gguf::TensorType t);

// Per-type quantizers that live in separate files (quant_simple.cc, quant_k.cc).
void QuantizeQ8_0(const float* x, void* dst, int64_t n);
void QuantizeQ8_1(const float* x, void* dst, int64_t n);
void QuantizeQ8_0Act(const float* x, void* dst, int64_t n);
void QuantizeQ8_1Act(const float* x, void* dst, int64_t n);
void QuantizeQ8_K(const float* x, void* dst, int64_t n);
void QuantizeQ4_0(const float* x, void* dst, int64_t n);
void QuantizeQ4_1(const float* x, void* dst, int64_t n);
void QuantizeQ5_0(const float* x, void* dst, int64_t n);
void QuantizeQ5_1(const float* x, void* dst, int64_t n);
void QuantizeIQ4_NL(const float* x, void* dst, int64_t n);
void QuantizeMXFP4(const float* x, void* dst, int64_t n);
void QuantizeF16(const float* x, void* dst, int64_t n);
void QuantizeBF16(const float* x, void* dst, int64_t n);
void QuantizeF32(const float* x, void* dst, int64_t n);
void QuantizeQ2_K(const float* x, void* dst, int64_t n);
void QuantizeQ3_K(const float* x, void* dst, int64_t n);
void QuantizeQ4_K(const float* x, void* dst, int64_t n);
void QuantizeQ5_K(const float* x, void* dst, int64_t n);
void QuantizeQ6_K(const float* x, void* dst, int64_t n);
void QuantizeIQ4_XS(const float* x, void* dst, int64_t n);

// Dot products against Q8_K that live in vecdot_ref_k.cc.
float DotQ2_K(const void* row, const void* act, int64_t n);
float DotQ3_K(const void* row, const void* act, int64_t n);
float DotQ4_K(const void* row, const void* act, int64_t n);
float DotQ5_K(const void* row, const void* act, int64_t n);
float DotQ6_K(const void* row, const void* act, int64_t n);
float DotIQ4_XS(const void* row, const void* act, int64_t n);
}  // namespace ref

namespace avx2 {
// True when this build has the AVX2 kernels and the running CPU has AVX2, FMA and F16C.
bool Usable();
// AVX2 dot product for t, or nullptr where there is none (the caller falls back to ref).
VecDotFn VecDot(gguf::TensorType t);
// AVX2 four-token dot product matching VecDot(t) bit for bit, or nullptr where there is none.
VecDot4Fn VecDot4(gguf::TensorType t);
// AVX2 conversion of activations to act_type (Q8_0, Q8_1, Q8_K, F16), byte-identical to the
// reference quantizer; nullptr for other types.
QuantizeFn ActivationQuantizer(gguf::TensorType act_type);
}  // namespace avx2

namespace avx512 {
// True when this build has the AVX-512 kernels and the running CPU has AVX2 (avx2::Usable()) and
// AVX-512 F, BW, VL and VNNI.
bool Usable();
// AVX-512 + VNNI dot product for t (Q4_0, Q5_0, Q8_0, Q4_K, Q6_K weights), or nullptr (use the
// AVX2 one).
VecDotFn VecDot(gguf::TensorType t);
// Four-token version matching avx512::VecDot(t) bit for bit, or nullptr where there is none.
VecDot4Fn VecDot4(gguf::TensorType t);
// The many-token kernel for t (the same types) over activations packed by PackActivations(t, …),
// or nullptr. `one_token`: the variant for one activation row (decode), where it differs (Q4_0).
// Bytes of one packed row of n elements: PackedActBytes(t, one_token, n) (per pair of 32-element
// blocks: 128, or 192 for Q4_0's one-token layout; per 256-element super-block of the K types:
// 320; 0 for other types).
PackedDotFn PackedDot(gguf::TensorType t, bool one_token);
PackActivationsFn PackActivations(gguf::TensorType t, bool one_token);
int64_t PackedActBytes(gguf::TensorType t, bool one_token, int64_t n);
}  // namespace avx512

namespace neon {
// True when this build has the NEON kernels (aarch64) and the running CPU has Advanced SIMD.
bool Usable();
// Plain NEON dot product for t (every supported type; integer products by widening multiplies),
// or nullptr where there is none.
VecDotFn VecDot(gguf::TensorType t);
// Four-token version matching neon::VecDot(t) bit for bit (the block types), or nullptr.
VecDot4Fn VecDot4(gguf::TensorType t);
// NEON conversion of activations to act_type (Q8_0, Q8_1, Q8_K, F16), byte-identical to the
// reference converter; nullptr for other types.
QuantizeFn ActivationQuantizer(gguf::TensorType act_type);
}  // namespace neon

namespace neondot {
// True when neon::Usable() and the running CPU has the dot-product extension (HWCAP_ASIMDDP).
bool Usable();
// NEON dot product using SDOT (vdotq_s32) for the block types, or nullptr (use neon::VecDot).
VecDotFn VecDot(gguf::TensorType t);
// Four-token version matching neondot::VecDot(t) bit for bit, or nullptr.
VecDot4Fn VecDot4(gguf::TensorType t);
}  // namespace neondot

// The implementation dispatch.cc chose for this CPU (never nullptr for supported types).
VecDotFn BestVecDot(gguf::TensorType t);
// The four-token kernel matching BestVecDot(t), or nullptr (then call BestVecDot per token).
VecDot4Fn BestVecDot4(gguf::TensorType t);
// The many-token kernel dispatch.cc chose for t and its packing (bit-identical to BestVecDot(t)),
// or nullptrs where this CPU has none (then MatMul uses BestVecDot4 / BestVecDot).
struct PackedPath {
  PackedDotFn dot = nullptr;
  PackActivationsFn pack = nullptr;
  int64_t (*bytes)(gguf::TensorType t, bool one_token, int64_t n) = nullptr;  // of one row
  bool one_token = false;  // the argument `bytes` takes
};
// For a product with n_tok activation rows (the one-token variant where n_tok == 1).
PackedPath BestPackedPath(gguf::TensorType t, int64_t n_tok);
// The kernel for Q4_0 / Q5_0 / Q8_0 weights in their 16-row interleaved layout (Layout::kQ4_0x16,
// kQ5_0x16, kQ8_0x16; any number of tokens; n_rows a multiple of 16, rows group by group), or nullptrs
// where this CPU has none, SIMD is turned off, or t is another type.
PackedPath InterleavedPath(gguf::TensorType t);
struct Matrix;
// Row r of an interleaved matrix as GGUF blocks (RowBytes(w.type, w.cols) bytes) at `blocks`.
void ReadInterleavedRow(const Matrix& w, int64_t r, void* blocks);
namespace avx512 {
PackedPath InterleavedPath(gguf::TensorType t);  // x86/avx512_x16.cc: nullptrs unless Usable()
}  // namespace avx512
// The activation converter for weights of type t (to VecDotType(t)), never nullptr for supported t.
QuantizeFn BestActivationQuantizer(gguf::TensorType t);

// 6-bit (scale, min) pair j < 8 of the 12-byte Q4_K/Q5_K scale field.
inline void UnpackScaleMinK4(int j, const uint8_t* s, uint8_t* sc, uint8_t* mn) {
  if (j < 4) {
    *sc = s[j] & 63;
    *mn = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// The 16 signed scales of a Q3_K block (already −32).
inline void UnpackScalesQ3K(const uint8_t* s, int8_t* out) {
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? (s[j] & 15) : (s[j - 8] >> 4);
    const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = static_cast<int8_t>((low | (high << 4)) - 32);
  }
}

}  // namespace hearth::kernels
