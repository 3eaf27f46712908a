// AVX2 dot products of the float types and the 32-element block types. Same arithmetic as
// vecdot_ref.cc (integer block sums times the two block scales), only summed in a different order.
#include "kernels/impl.h"

#if defined(__x86_64__) || defined(__i386__)

#include "core/fp16.h"
#include "kernels/blocks.h"
#include "kernels/x86/avx2-inl.h"

namespace hearth::kernels::avx2 {
namespace {

using T = gguf::TensorType;

// Element types of the float rows: 8 values to F32 lanes, and one value to F32.
struct F32Elems {
  using Elem = float;
  HEARTH_AVX2 static __m256 Load8(const float* p) { return _mm256_loadu_ps(p); }
  HEARTH_AVX2 static float Load1(const float* p) { return *p; }
};
struct F16Elems {
  using Elem = uint16_t;
  HEARTH_AVX2 static __m256 Load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  HEARTH_AVX2 static float Load1(const uint16_t* p) { return F16(*p); }
};
struct BF16Elems {
  using Elem = uint16_t;
  HEARTH_AVX2 static __m256 Load8(const uint16_t* p) {
    const __m256i wide =
        _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
  HEARTH_AVX2 static float Load1(const uint16_t* p) { return BitsToF32(uint32_t{*p} << 16); }
};

// Float row against K activation rows (act + k·stride bytes), two F32 accumulators per token,
// then an 8-wide step and a scalar tail; per token the operations are those of K = 1. Only K = 1
// is used: a four-token version measured slower than four single dots (the float rows are
// load-bound, and four activation rows of a wide matrix crowd L1).
template <typename E, int K>
HEARTH_AVX2 void DotFloatN(const void* row, const void* act, int64_t stride, int64_t n,
                           float* out) {
  using Elem = typename E::Elem;
  const auto* w = static_cast<const Elem*>(row);
  const Elem* x[K];
  for (int k = 0; k < K; ++k) {
    x[k] = reinterpret_cast<const Elem*>(static_cast<const uint8_t*>(act) + k * stride);
  }
  __m256 acc0[K], acc1[K];
  for (int k = 0; k < K; ++k) acc0[k] = acc1[k] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 w0 = E::Load8(w + i), w1 = E::Load8(w + i + 8);
    for (int k = 0; k < K; ++k) {
      acc0[k] = _mm256_fmadd_ps(w0, E::Load8(x[k] + i), acc0[k]);
      acc1[k] = _mm256_fmadd_ps(w1, E::Load8(x[k] + i + 8), acc1[k]);
    }
  }
  for (; i + 8 <= n; i += 8) {
    const __m256 w0 = E::Load8(w + i);
    for (int k = 0; k < K; ++k) acc0[k] = _mm256_fmadd_ps(w0, E::Load8(x[k] + i), acc0[k]);
  }
  for (int k = 0; k < K; ++k) {
    float sum = Hsum(_mm256_add_ps(acc0[k], acc1[k]));
    for (int64_t j = i; j < n; ++j) sum += E::Load1(w + j) * E::Load1(x[k] + j);
    out[k] = sum;
  }
}

template <typename E>
HEARTH_AVX2 float DotFloat(const void* row, const void* act, int64_t n) {
  float out;
  DotFloatN<E, 1>(row, act, 0, n, &out);
  return out;
}

// Per weight type of the Q8_0 family: the block's signed levels as 32 bytes in element order
// (lut: the 16-entry table of the non-linear types) and its scale.
struct Q8_0Levels {
  using Block = BlockQ8_0;
  static constexpr const int8_t* kTable = nullptr;
  HEARTH_AVX2 static __m256i Levels(const Block& b, __m256i) { return Load32(b.qs); }
  HEARTH_AVX2 static float Scale(const Block& b) { return F16(b.d); }
};
struct Q4_0Levels {
  using Block = BlockQ4_0;
  static constexpr const int8_t* kTable = nullptr;
  HEARTH_AVX2 static __m256i Levels(const Block& b, __m256i) {
    return _mm256_sub_epi8(UnpackNibbles(b.qs), _mm256_set1_epi8(8));
  }
  HEARTH_AVX2 static float Scale(const Block& b) { return F16(b.d); }
};
struct Q5_0Levels {
  using Block = BlockQ5_0;
  static constexpr const int8_t* kTable = nullptr;
  HEARTH_AVX2 static __m256i Levels(const Block& b, __m256i) {
    const __m256i hi = _mm256_and_si256(BitsToBytes(b.qh), _mm256_set1_epi8(0x10));
    return _mm256_sub_epi8(_mm256_or_si256(UnpackNibbles(b.qs), hi), _mm256_set1_epi8(16));
  }
  HEARTH_AVX2 static float Scale(const Block& b) { return F16(b.d); }
};
struct IQ4_NLLevels {
  using Block = BlockIQ4_NL;
  static constexpr const int8_t* kTable = kIQ4NLValues;
  HEARTH_AVX2 static __m256i Levels(const Block& b, __m256i lut) {
    return _mm256_shuffle_epi8(lut, UnpackNibbles(b.qs));
  }
  HEARTH_AVX2 static float Scale(const Block& b) { return F16(b.d); }
};
struct MXFP4Levels {
  using Block = BlockMXFP4;
  static constexpr const int8_t* kTable = kMXFP4Values;
  HEARTH_AVX2 static __m256i Levels(const Block& b, __m256i lut) {
    return _mm256_shuffle_epi8(lut, UnpackNibbles(b.qs));
  }
  HEARTH_AVX2 static float Scale(const Block& b) { return E8M0ToF32Half(b.e); }
};

// One weight row against K activation rows (act + k·stride): each block is unpacked once and
// reused for the K tokens. Per token the operations are exactly those of K = 1, so the results
// are bit-identical to the single-token dot.
template <typename L, int K>
HEARTH_AVX2 void DotQ8_0ActN(const void* row, const void* act, int64_t stride, int64_t n,
                             float* out) {
  const auto* w = static_cast<const typename L::Block*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const __m256i lut = L::kTable != nullptr ? LoadTable16(L::kTable) : _mm256_setzero_si256();
  __m256 acc[K];
  for (int k = 0; k < K; ++k) acc[k] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i levels = L::Levels(w[i], lut);
    const __m256i abs_levels = _mm256_sign_epi8(levels, levels);  // DotI8, split: once per block
    const float dw = L::Scale(w[i]);
    for (int k = 0; k < K; ++k) {
      const BlockQ8_0& xb = reinterpret_cast<const BlockQ8_0*>(x0 + k * stride)[i];
      const __m256 d = _mm256_set1_ps(dw * F16(xb.d));
      const __m256i p = DotI8Abs(abs_levels, levels, Load32(xb.qs));
      acc[k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[k]);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = Hsum(acc[k]);
}

template <typename L>
HEARTH_AVX2 float DotQ8_0Act(const void* row, const void* act, int64_t n) {
  float out;
  DotQ8_0ActN<L, 1>(row, act, 0, n, &out);
  return out;
}

template <typename L>
HEARTH_AVX2 void DotQ8_0Act4(const void* row, const void* act, int64_t stride, int64_t n,
                             float* out) {
  DotQ8_0ActN<L, 4>(row, act, stride, n, out);
}

// Q4_1 / Q5_1 against Q8_1: unsigned levels, plus min × (d·Σq) of the activation block.
HEARTH_AVX2 inline __m256i LevelsQ4_1(const BlockQ4_1& b) { return UnpackNibbles(b.qs); }
HEARTH_AVX2 inline __m256i LevelsQ5_1(const BlockQ5_1& b) {
  return _mm256_or_si256(UnpackNibbles(b.qs),
                         _mm256_and_si256(BitsToBytes(b.qh), _mm256_set1_epi8(0x10)));
}

template <typename Block, __m256i (*Levels)(const Block&), int K>
HEARTH_AVX2 void DotQ8_1ActN(const void* row, const void* act, int64_t stride, int64_t n,
                             float* out) {
  const auto* w = static_cast<const Block*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  __m256 acc[K];
  float mins[K];
  for (int k = 0; k < K; ++k) {
    acc[k] = _mm256_setzero_ps();
    mins[k] = 0.f;
  }
  for (int64_t i = 0; i < n / kQK; ++i) {
    const __m256i levels = Levels(w[i]);
    const float dw = F16(w[i].d), mw = F16(w[i].m);
    for (int k = 0; k < K; ++k) {
      const BlockQ8_1& xb = reinterpret_cast<const BlockQ8_1*>(x0 + k * stride)[i];
      const __m256 d = _mm256_set1_ps(dw * F16(xb.d));
      const __m256i p = DotU8I8(levels, Load32(xb.qs));
      acc[k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[k]);
      mins[k] += mw * F16(xb.s);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = Hsum(acc[k]) + mins[k];
}

template <typename Block, __m256i (*Levels)(const Block&)>
HEARTH_AVX2 float DotQ8_1Act(const void* row, const void* act, int64_t n) {
  float out;
  DotQ8_1ActN<Block, Levels, 1>(row, act, 0, n, &out);
  return out;
}

template <typename Block, __m256i (*Levels)(const Block&)>
HEARTH_AVX2 void DotQ8_1Act4(const void* row, const void* act, int64_t stride, int64_t n,
                             float* out) {
  DotQ8_1ActN<Block, Levels, 4>(row, act, stride, n, out);
}

}  // namespace

// K-quant dots (avx2_k.cc).
VecDotFn VecDotK(gguf::TensorType t);
VecDot4Fn VecDot4K(gguf::TensorType t);

VecDot4Fn VecDot4(gguf::TensorType t) {
  switch (t) {
    case T::kQ8_0: return DotQ8_0Act4<Q8_0Levels>;
    case T::kQ4_0: return DotQ8_0Act4<Q4_0Levels>;
    case T::kQ5_0: return DotQ8_0Act4<Q5_0Levels>;
    case T::kIQ4_NL: return DotQ8_0Act4<IQ4_NLLevels>;
    case T::kMXFP4: return DotQ8_0Act4<MXFP4Levels>;
    case T::kQ4_1: return DotQ8_1Act4<BlockQ4_1, LevelsQ4_1>;
    case T::kQ5_1: return DotQ8_1Act4<BlockQ5_1, LevelsQ5_1>;
    default: return VecDot4K(t);
  }
}

bool Usable() {
  static const bool usable = [] {
    __builtin_cpu_init();  // in case this runs before the CPU model is initialised (static init)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
  }();
  return usable;
}

VecDotFn VecDot(gguf::TensorType t) {
  switch (t) {
    case T::kF32: return DotFloat<F32Elems>;
    case T::kF16: return DotFloat<F16Elems>;
    case T::kBF16: return DotFloat<BF16Elems>;
    case T::kQ8_0: return DotQ8_0Act<Q8_0Levels>;
    case T::kQ4_0: return DotQ8_0Act<Q4_0Levels>;
    case T::kQ5_0: return DotQ8_0Act<Q5_0Levels>;
    case T::kIQ4_NL: return DotQ8_0Act<IQ4_NLLevels>;
    case T::kMXFP4: return DotQ8_0Act<MXFP4Levels>;
    case T::kQ4_1: return DotQ8_1Act<BlockQ4_1, LevelsQ4_1>;
    case T::kQ5_1: return DotQ8_1Act<BlockQ5_1, LevelsQ5_1>;
    default: return VecDotK(t);
  }
}

}  // namespace hearth::kernels::avx2

#else  // not x86: no AVX2 kernels

namespace hearth::kernels::avx2 {
bool Usable() { return false; }
VecDotFn VecDot(gguf::TensorType) { return nullptr; }
VecDot4Fn VecDot4(gguf::TensorType) { return nullptr; }
}  // namespace hearth::kernels::avx2

#endif
