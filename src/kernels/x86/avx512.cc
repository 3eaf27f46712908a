// AVX-512 (BW/VL + VNNI) dot products of Q4_0, Q5_0 and Q8_0 weights against Q8_0 activations
// (Q4_K and Q6_K: avx512_k.cc; F16 and BF16: avx512_float.cc). Two 32-element blocks per 512-bit
// vector; the block products are exact int32 sums (vpdpbusd), each scaled by its two block scales
// and accumulated in float lanes, so only the float summation order differs from vecdot_ref.cc.
// dispatch.cc prefers these over the AVX2 ones when Usable(). MatMul uses the packed many-token
// tiles further down (bit-identical to these dot products).

#include <cstring>
#include <type_traits>

#include "kernels/impl.h"

#if defined(__x86_64__) || defined(__i386__)

#include "kernels/blocks.h"
#include "kernels/x86/avx2-inl.h"
#include "kernels/x86/avx512-inl.h"

namespace hearth::kernels::avx512 {
namespace {

using T = gguf::TensorType;
using avx2::F16;

// vpdpbusd multiplies unsigned by signed bytes. With x the signed activation bytes and w the signed
// weight levels: Σ w·x = Σ (x ^ 0x80)·w − 128·Σ w, where x ^ 0x80 = x + 128 read as unsigned. The
// second term depends on the weights only, so it is computed once per block pair (as the negated
// start value of the per-token accumulation) and shared by the K tokens.

// Weight levels of two blocks: bytes 0..31 block i, 32..63 block i + 1. Without a second block
// (`two` false, odd block count) the upper half is arbitrary: the activation's upper half is then
// zero, so its exact integer product is zero whatever the levels, and its scale is 0 as well.
struct Q8_0Levels512 {
  using Block = BlockQ8_0;
  HEARTH_AVX512 static __m512i Levels(const Block* b, bool two) {
    const __m512i lo = _mm512_zextsi256_si512(avx2::Load32(b[0].qs));
    return two ? _mm512_inserti64x4(lo, avx2::Load32(b[1].qs), 1) : lo;
  }
};
// The nibbles 0..15 of two 32-element blocks (16 bytes each at q0 and q1; q1 nullptr: zeros) as
// unsigned bytes in element order: block one's low then high nibbles, then block two's.
HEARTH_AVX512 inline __m512i NibblePair(const uint8_t* q0, const uint8_t* q1) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q0));
  const __m128i b =
      q1 != nullptr ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(q1)) : _mm_setzero_si128();
  const __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(a), b, 1);  // [a b]
  const __m512i both = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
  // [a b a>>4 b>>4] → [a a>>4 b b>>4]: low then high nibbles per block, as in the format.
  const __m512i order = _mm512_permutexvar_epi64(_mm512_setr_epi64(0, 1, 4, 5, 2, 3, 6, 7), both);
  return _mm512_and_si512(order, _mm512_set1_epi8(0x0F));
}

struct Q4_0Levels512 {
  using Block = BlockQ4_0;
  // The nibbles 0..15 as unsigned bytes (the one-token packed kernel uses them directly).
  HEARTH_AVX512 static __m512i Nibbles(const Block* b, bool two) {
    return NibblePair(b[0].qs, two ? b[1].qs : nullptr);
  }
  HEARTH_AVX512 static __m512i Levels(const Block* b, bool two) {
    return _mm512_sub_epi8(Nibbles(b, two), _mm512_set1_epi8(8));
  }
};
struct Q5_0Levels512 {
  using Block = BlockQ5_0;
  // nibble | fifth bit << 4, minus 16: −16..15. Bit j of qh is element j's fifth bit, so the two
  // blocks' qh words side by side are a byte mask in element order; where a bit is set,
  // nibble + 16 − 16 is the nibble, elsewhere the nibble − 16.
  HEARTH_AVX512 static __m512i Levels(const Block* b, bool two) {
    uint32_t h0, h1 = 0;
    std::memcpy(&h0, b[0].qh, 4);
    if (two) std::memcpy(&h1, b[1].qh, 4);
    const __m512i nibbles = NibblePair(b[0].qs, two ? b[1].qs : nullptr);
    const __mmask64 low = ~(uint64_t{h0} | uint64_t{h1} << 32);
    return _mm512_mask_sub_epi8(nibbles, low, nibbles, _mm512_set1_epi8(16));
  }
};

// −128·Σw per int32 lane of the levels: the start value of every token's accumulation.
HEARTH_AVX512 inline __m512i Start(__m512i levels) {
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  return _mm512_sub_epi32(_mm512_setzero_si512(),
                          _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, levels));
}

template <typename L, int K>
HEARTH_AVX512 void DotQ8_0ActN(const void* row, const void* act, int64_t stride, int64_t n,
                               float* out) {
  const auto* w = static_cast<const typename L::Block*>(row);
  const auto* x0 = static_cast<const uint8_t*>(act);
  const int64_t nb = n / kQK;
  const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512 acc[K];
  for (int k = 0; k < K; ++k) acc[k] = _mm512_setzero_ps();
  for (int64_t i = 0; i < nb; i += 2) {
    const bool two = i + 1 < nb;
    const __m512i levels = L::Levels(w + i, two);
    const __m512i start = Start(levels);
    const float dw0 = F16(w[i].d);
    const float dw1 = two ? F16(w[i + 1].d) : 0.f;
    for (int k = 0; k < K; ++k) {
      const auto* xb = reinterpret_cast<const BlockQ8_0*>(x0 + k * stride) + i;
      const __m512i x_lo = _mm512_zextsi256_si512(avx2::Load32(xb[0].qs));
      const __m512i x = two ? _mm512_inserti64x4(x_lo, avx2::Load32(xb[1].qs), 1) : x_lo;
      const __m512i p = _mm512_dpbusd_epi32(start, _mm512_xor_si512(x, bias), levels);
      const float d0 = dw0 * F16(xb[0].d);
      const float d1 = two ? dw1 * F16(xb[1].d) : 0.f;
      const __m512 d = _mm512_mask_blend_ps(0xFF00, _mm512_set1_ps(d0), _mm512_set1_ps(d1));
      acc[k] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc[k]);
    }
  }
  for (int k = 0; k < K; ++k) out[k] = _mm512_reduce_add_ps(acc[k]);
}

template <typename L>
HEARTH_AVX512 float DotQ8_0Act(const void* row, const void* act, int64_t n) {
  float out;
  DotQ8_0ActN<L, 1>(row, act, 0, n, &out);
  return out;
}

template <typename L>
HEARTH_AVX512 void DotQ8_0Act4(const void* row, const void* act, int64_t stride, int64_t n,
                               float* out) {
  DotQ8_0ActN<L, 4>(row, act, stride, n, out);
}

// ---- Many-token kernels over packed activations (matmul.cc's prefill and decode path) ----
//
// A Q8_0 activation row is packed per pair of blocks (i, i+1) into the layout its weight type's
// kernel wants, so that a (row, token, block pair) costs four vector operations: vpdpbusd,
// convert, scale, add. Past an odd block count the activation bytes are x = 0 and the scales 0,
// which is what DotQ8_0ActN computes with there.
//   Q8_0 weights (signed levels, so x must be the unsigned operand): 64 bytes x ^ 0x80 (block i's
//     32, then block i+1's), 16 floats of scales (block i's 8 times, then block i+1's); 128 bytes.
//     The −128·Σw correction comes from the weights (`start`, once per row and pair).
//   Q4_0 weights against several tokens: the same, with the levels −8..7.
//   Q4_0 weights against one token (decode, `one_token`): the nibbles 0..15 are the unsigned
//     operand and x stays signed; the −8·Σx correction depends on the token only and is packed
//     with it: 64 bytes x, 16 int32 of −8·(sum of the lane's 4 bytes), 16 floats of scales; 192
//     bytes. This saves the weights' −8 and the start computation in every row: one-token MatMul
//     of 8192 × 2048 from cache 33 → 44 GB/s. Against 64 tokens the same layout measured slower
//     than the biased one (16 rows × 1152 columns: 18–25 against 14 µs), hence two layouts.
// Every block product is the same exact integer as in DotQ8_0ActN, scaled by the same float
// product and added in the same order, so the results are bit-identical to VecDot / VecDot4. The
// tile keeps R weight rows' levels and scales in registers across K tokens and each token's
// packed pair across the R rows.

// How far ahead in each weight row to prefetch (into L1). Measured on the real-shaped Gemma 3 1B
// Q4_0 decode, 2 threads: none 19–20 tokens/s, 512 B 22–23, 768 B 20–26, 1024 B 29–35, 1280 B
// 22–28, 1536 B 24–26, 2048 B 24–28, 3072 B 28–29; into L2 at 1, 2, 4 KB: 28–34, 25–28, 26–31.
// With one row per tile in decode (DotPacked), 1 KiB against none, same run: Q4_0 decode 39–41
// against 36–37 tokens/s and 16-token prefill 160 against 126–137; Q8_0 decode unchanged (30).
constexpr int kPrefetchBytes = 1024;

template <bool kNibbles>
constexpr int64_t PairBytes() {
  return kNibbles ? 192 : 128;
}

template <bool kNibbles>
HEARTH_AVX512 void PackAct(const void* act, int64_t n, void* packed) {
  const auto* x = static_cast<const BlockQ8_0*>(act);
  auto* out = static_cast<uint8_t*>(packed);
  const int64_t nb = n / kQK;
  const __m256i bias = _mm256_set1_epi8(static_cast<char>(kNibbles ? 0 : 0x80));
  for (int64_t i = 0; i < nb; i += 2, out += PairBytes<kNibbles>()) {
    const bool two = i + 1 < nb;
    const __m256i x0 = avx2::Load32(x[i].qs);
    const __m256i x1 = two ? avx2::Load32(x[i + 1].qs) : _mm256_setzero_si256();
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm256_xor_si256(x0, bias));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32), _mm256_xor_si256(x1, bias));
    uint8_t* scales = out + 64;
    if constexpr (kNibbles) {
      const __m512i xs = _mm512_inserti64x4(_mm512_castsi256_si512(x0), x1, 1);
      const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), xs);
      _mm512_storeu_si512(out + 64, _mm512_mullo_epi32(sums, _mm512_set1_epi32(-8)));
      scales = out + 128;
    }
    _mm256_storeu_ps(reinterpret_cast<float*>(scales), _mm256_set1_ps(F16(x[i].d)));
    _mm256_storeu_ps(reinterpret_cast<float*>(scales + 32),
                     _mm256_set1_ps(two ? F16(x[i + 1].d) : 0.f));
  }
}

// [d_i ×8, d_i+1 ×8] from two F16 block scales (0 for a missing second block).
template <bool kTwo, typename Block>
HEARTH_AVX512 inline __m512 ScalePair(const Block* b) {
  uint32_t bits = b[0].d;
  if constexpr (kTwo) bits |= static_cast<uint32_t>(b[1].d) << 16;
  const __m128 f = _mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(bits)));
  return _mm512_permutexvar_ps(_mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1),
                               _mm512_castps128_ps512(f));
}

// One block pair of the tile: acc[r][k] += scales · block products. kNibbles: the Q4_0 one-token
// layout (unsigned nibbles against signed x plus the packed −8·Σx); otherwise x ^ 0x80 against the
// signed levels plus the per-row start.
template <typename L, int R, int K, bool kTwo, bool kNibbles>
HEARTH_AVX512 inline __attribute__((always_inline)) void TileStep(
    const typename L::Block* const* w, int64_t i, const uint8_t* packed, int64_t pstride,
    __m512 (&acc)[R][K]) {
  __m512i levels[R], start[R];
  __m512 dw[R];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    // Decode streams the weights from memory at a few bytes per cycle: ask for them early.
    _mm_prefetch(reinterpret_cast<const char*>(w[r] + i) + kPrefetchBytes, _MM_HINT_T0);
    dw[r] = ScalePair<kTwo>(w[r] + i);
    if constexpr (kNibbles) {
      levels[r] = L::Nibbles(w[r] + i, kTwo);
    } else {
      levels[r] = L::Levels(w[r] + i, kTwo);
      start[r] = Start(levels[r]);
    }
  }
#pragma GCC unroll 8
  for (int k = 0; k < K; ++k) {
    const uint8_t* pk = packed + k * pstride;
    const __m512i x = _mm512_loadu_si512(pk);  // kNibbles: signed x; else x ^ 0x80
    const __m512 dx = _mm512_loadu_ps(pk + (kNibbles ? 128 : 64));
    if constexpr (kNibbles) {
      const __m512i init = _mm512_loadu_si512(pk + 64);
      const __m512i p = _mm512_dpbusd_epi32(init, levels[0], x);
      acc[0][k] = _mm512_fmadd_ps(_mm512_mul_ps(dw[0], dx), _mm512_cvtepi32_ps(p), acc[0][k]);
#pragma GCC unroll 8
      for (int r = 1; r < R; ++r) {
        const __m512i pr = _mm512_dpbusd_epi32(init, levels[r], x);
        acc[r][k] = _mm512_fmadd_ps(_mm512_mul_ps(dw[r], dx), _mm512_cvtepi32_ps(pr), acc[r][k]);
      }
    } else {
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) {
        const __m512i p = _mm512_dpbusd_epi32(start[r], x, levels[r]);
        acc[r][k] = _mm512_fmadd_ps(_mm512_mul_ps(dw[r], dx), _mm512_cvtepi32_ps(p), acc[r][k]);
      }
    }
  }
}

// y[k·y_stride + r] for R rows (row_bytes apart) and K packed tokens (pstride apart).
template <typename L, int R, int K, bool kNibbles>
HEARTH_AVX512 void PackedTile(const uint8_t* rows, int64_t row_bytes, const uint8_t* packed,
                              int64_t pstride, int64_t nb, float* y, int64_t y_stride) {
  using Block = typename L::Block;
  constexpr int64_t kPair = PairBytes<kNibbles>();
  const Block* w[R];
  for (int r = 0; r < R; ++r) w[r] = reinterpret_cast<const Block*>(rows + r * row_bytes);
  __m512 acc[R][K];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) acc[r][k] = _mm512_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2, packed += kPair) TileStep<L, R, K, true, kNibbles>(w, i, packed, pstride, acc);
  if (i < nb) TileStep<L, R, K, false, kNibbles>(w, i, packed, pstride, acc);
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) y[k * y_stride + r] = _mm512_reduce_add_ps(acc[r][k]);
  }
}

// R rows against n_tok tokens: 8 at a time, then 4, 2, 1.
template <typename L, int R, bool kNibbles>
HEARTH_AVX512 void PackedRows(const uint8_t* rows, int64_t row_bytes, const uint8_t* packed,
                              int64_t pstride, int64_t n_tok, int64_t nb, float* y,
                              int64_t y_stride) {
  int64_t t = 0;
  for (; t + 8 <= n_tok; t += 8) {
    PackedTile<L, R, 8, kNibbles>(rows, row_bytes, packed + t * pstride, pstride, nb,
                                  y + t * y_stride, y_stride);
  }
  if (t + 4 <= n_tok) {
    PackedTile<L, R, 4, kNibbles>(rows, row_bytes, packed + t * pstride, pstride, nb,
                                  y + t * y_stride, y_stride);
    t += 4;
  }
  if (t + 2 <= n_tok) {
    PackedTile<L, R, 2, kNibbles>(rows, row_bytes, packed + t * pstride, pstride, nb,
                                  y + t * y_stride, y_stride);
    t += 2;
  }
  if (t < n_tok) {
    PackedTile<L, R, 1, kNibbles>(rows, row_bytes, packed + t * pstride, pstride, nb,
                                  y + t * y_stride, y_stride);
  }
}

template <typename L, bool kNibbles>
HEARTH_AVX512 void DotPacked(const void* rows, int64_t row_bytes, int64_t n_rows,
                             const void* packed, int64_t pstride, int64_t n_tok, int64_t n,
                             float* y, int64_t y_stride) {
  const auto* w = static_cast<const uint8_t*>(rows);
  const auto* a = static_cast<const uint8_t*>(packed);
  const int64_t nb = n / kQK;
  int64_t r = 0;
  // Two rows per tile share each token's loads; against one token (decode) there is nothing to
  // share, and one row per tile streams the weights faster: one-token MatMul of 40960 × 2560 from
  // memory, 2 threads, Q4_0 3.5–3.8 → 2.0–2.1 ms, Q8_0 5.0–5.5 → 2.8 ms; Gemma 3 1B Q8_0 decode
  // 19 → 30 tokens/s.
  for (; n_tok > 1 && r + 2 <= n_rows; r += 2) {
    PackedRows<L, 2, kNibbles>(w + r * row_bytes, row_bytes, a, pstride, n_tok, nb, y + r,
                               y_stride);
  }
  for (; r < n_rows; ++r) {
    PackedRows<L, 1, kNibbles>(w + r * row_bytes, row_bytes, a, pstride, n_tok, nb, y + r,
                               y_stride);
  }
}

}  // namespace

// Q5_0 has no one-token layout of its own: it takes the biased one for any number of tokens.
bool HasPacked(gguf::TensorType t) { return t == T::kQ8_0 || t == T::kQ4_0 || t == T::kQ5_0; }

int64_t PackedActBytes(gguf::TensorType t, bool one_token, int64_t n) {
  const int64_t pairs = (n / kQK + 1) / 2;
  if (t == T::kQ4_0 && one_token) return pairs * PairBytes<true>();
  if (HasPacked(t)) return pairs * PairBytes<false>();
  return t == T::kF16 || t == T::kBF16 ? PackedActBytesFloat(t, n) : PackedActBytesK(t, n);
}

PackActivationsFn PackActivations(gguf::TensorType t, bool one_token) {
  if (t == T::kQ4_0 && one_token) return PackAct<true>;
  if (HasPacked(t)) return PackAct<false>;
  return t == T::kF16 || t == T::kBF16 ? PackActivationsFloat(t) : PackActivationsK(t);
}

PackedDotFn PackedDot(gguf::TensorType t, bool one_token) {
  switch (t) {
    case T::kQ8_0: return DotPacked<Q8_0Levels512, false>;
    case T::kQ4_0:
      return one_token ? DotPacked<Q4_0Levels512, true> : DotPacked<Q4_0Levels512, false>;
    case T::kQ5_0: return DotPacked<Q5_0Levels512, false>;
    case T::kF16:
    case T::kBF16: return PackedDotFloat(t);
    default: return PackedDotK(t);
  }
}

bool Usable() {
  static const bool usable = [] {
    __builtin_cpu_init();
    return avx2::Usable() && __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
  }();
  return usable;
}

VecDotFn VecDot(gguf::TensorType t) {
  switch (t) {
    case T::kQ8_0: return DotQ8_0Act<Q8_0Levels512>;
    case T::kQ4_0: return DotQ8_0Act<Q4_0Levels512>;
    case T::kQ5_0: return DotQ8_0Act<Q5_0Levels512>;
    case T::kF16:
    case T::kBF16: return VecDotFloat(t);
    default: return VecDotK(t);
  }
}

VecDot4Fn VecDot4(gguf::TensorType t) {
  switch (t) {
    case T::kQ8_0: return DotQ8_0Act4<Q8_0Levels512>;
    case T::kQ4_0: return DotQ8_0Act4<Q4_0Levels512>;
    case T::kQ5_0: return DotQ8_0Act4<Q5_0Levels512>;
    default: return VecDot4K(t);
  }
}

}  // namespace hearth::kernels::avx512

#else  // not x86: no AVX-512 kernels

namespace hearth::kernels::avx512 {
bool Usable() { return false; }
VecDotFn VecDot(gguf::TensorType) { return nullptr; }
VecDot4Fn VecDot4(gguf::TensorType) { return nullptr; }
int64_t PackedActBytes(gguf::TensorType, bool, int64_t) { return 0; }
PackActivationsFn PackActivations(gguf::TensorType, bool) { return nullptr; }
PackedDotFn PackedDot(gguf::TensorType, bool) { return nullptr; }
}  // namespace hearth::kernels::avx512

#endif
