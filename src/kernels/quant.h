// Tensor-type kernels: dequantization, quantization and dot products for every type the engine
// supports (gemma-gguf-spec.md §10). Scalar references live in *_ref.cc / quant_*.cc, AVX2
// versions in x86/; dispatch.cc picks one per type at run time (HEARTH_NO_SIMD=1 forces the
// references), and every SIMD version is tested against its reference.
//
// Dot products follow llama.cpp's CPU numerics (spec §12a): the activation vector is first
// converted to the weight type's "vec_dot type" (Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL/MXFP4; Q8_1 for
// Q4_1/Q5_1; Q8_K for the K-quants and IQ4_XS; F16 for F16; BF16 for BF16; F32 for F32), then
// integer (or F16/BF16) dot products are scaled by the block scales. Activation conversion
// rounds as llama.cpp's x86 build does (Q8_0/Q8_1: nearest-even(x·127/amax); Q8_K: the
// reference, nearest-even(−127/max·x) clamped to 127); QuantizeRow for weights uses ggml's
// reference quantizers (Q8_0: roundf(x/d)).
#pragma once

#include <cstddef>
#include <cstdint>

#include "gguf/types.h"

namespace hearth::kernels {

using gguf::TensorType;

// True for the types the engine computes with (spec §10.1 rule).
bool IsSupported(TensorType t);
// True for the types QuantizeRow can produce.
bool CanQuantize(TensorType t);

int64_t BlockElems(TensorType t);
int64_t BlockBytes(TensorType t);
inline int64_t RowBytes(TensorType t, int64_t n) { return n / BlockElems(t) * BlockBytes(t); }

// dst[0..n) = values of the n elements at src. n must be a multiple of BlockElems(t).
void DequantizeRow(TensorType t, const void* src, float* dst, int64_t n);

// Quantizes n floats into RowBytes(t, n) bytes at dst. CHECKs CanQuantize(t).
void QuantizeRow(TensorType t, const float* src, void* dst, int64_t n);

// The type activations are converted to before a dot product with a row of type t.
TensorType VecDotType(TensorType t);

// Converts n activations to VecDotType(t) (RowBytes(VecDotType(t), n) bytes at dst).
void QuantizeActivations(TensorType t, const float* x, void* dst, int64_t n);

// Dot product of one weight row (type t, n elements) with activations already converted by
// QuantizeActivations(t, ...).
float VecDot(TensorType t, const void* row, const void* act, int64_t n);

}  // namespace hearth::kernels
