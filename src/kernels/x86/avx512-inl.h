// Internal to kernels/x86/: what the AVX-512 kernel files share. Every function carries the
// target attribute, so these files are compiled for the baseline ISA and only these functions use
// AVX-512; dispatch.cc calls them only where avx512::Usable().
//
// GCC 12 reports the deliberately undefined pass-through operands of its own AVX-512 intrinsics
// (_mm512_undefined_*) as uninitialized once they are inlined (GCC bug 105593); nothing in these
// files reads an uninitialized value.
#pragma once

#if defined(__x86_64__) || defined(__i386__)

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include <cstdint>

#include "kernels/impl.h"

#define HEARTH_AVX512 \
  __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))

namespace hearth::kernels::avx512 {

// The halves of avx512.cc's tables that live in the other files (nullptr / 0 for other types).
// Q4_K and Q6_K against Q8_K (avx512_k.cc).
VecDotFn VecDotK(gguf::TensorType t);
VecDot4Fn VecDot4K(gguf::TensorType t);
PackedDotFn PackedDotK(gguf::TensorType t);
PackActivationsFn PackActivationsK(gguf::TensorType t);
int64_t PackedActBytesK(gguf::TensorType t, int64_t n);
// F16 and BF16 rows (avx512_float.cc).
VecDotFn VecDotFloat(gguf::TensorType t);
PackedDotFn PackedDotFloat(gguf::TensorType t);
PackActivationsFn PackActivationsFloat(gguf::TensorType t);
int64_t PackedActBytesFloat(gguf::TensorType t, int64_t n);

}  // namespace hearth::kernels::avx512

#endif
