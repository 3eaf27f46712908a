#include "model/layers.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <vector>

#include "core/fp16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace hearth::model {

void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* y) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float s = 1.0f / std::sqrt(mean + eps);
  if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * s) * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * s;
  }
}

void RmsNormRows(const float* x, const float* w, int64_t rows, int64_t n, float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r) RmsNorm(x + r * n, w, n, eps, y + r * n);
}

namespace {

// ggml_gelu table: gelu_tanh of every F16 value, computed in F32 and rounded to F16. Two entries
// of padding: the AVX2 path gathers 32 bits at entry h (entries h and h + 1) and keeps the low 16.
struct GeluTable {
  uint16_t v[65536 + 2] = {};
  GeluTable() {
    constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    constexpr float kCoefA = 0.044715f;
    for (uint32_t h = 0; h < 65536; ++h) {
      const float x = F16ToF32(static_cast<uint16_t>(h));
      v[h] = F32ToF16(0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoefA * x * x))));
    }
  }
};

const GeluTable& Table() {
  static const GeluTable* t = new GeluTable();
  return *t;
}

}  // namespace

float Gelu(float z) {
  if (z <= -10.0f) return 0.0f;
  if (z >= 10.0f) return z;
  return F16ToF32(Table().v[F32ToF16(z)]);
}

namespace {

void GeGluRef(const uint16_t* table, const float* gate, const float* up, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) {
    const float z = gate[i];
    const float g = z <= -10.0f ? 0.0f : z >= 10.0f ? z : F16ToF32(table[F32ToF16(z)]);
    out[i] = g * up[i];
  }
}

#if defined(__x86_64__)
// The same, 8 at a time: the F16 conversion rounds to nearest even as F32ToF16 does (the cut-offs
// at ±10 keep it far from overflow; a NaN gives a NaN either way), the table entry is gathered,
// and the cut-offs and the product are the same IEEE operations, so the results are bit-identical.
__attribute__((target("avx2,f16c"))) void GeGluAvx(const uint16_t* table, const float* gate,
                                                   const float* up, int64_t n, float* out) {
  const __m256 lo = _mm256_set1_ps(-10.0f), hi = _mm256_set1_ps(10.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 z = _mm256_loadu_ps(gate + i);
    const __m256i h = _mm256_cvtepu16_epi32(_mm256_cvtps_ph(z, _MM_FROUND_TO_NEAREST_INT));
    const __m256i e = _mm256_and_si256(
        _mm256_i32gather_epi32(reinterpret_cast<const int*>(table), h, 2), _mm256_set1_epi32(0xFFFF));
    // Eight 32-bit lanes holding 16-bit values → eight 16-bit values in order.
    const __m256i packed = _mm256_permute4x64_epi64(_mm256_packus_epi32(e, e), 0x08);
    __m256 g = _mm256_cvtph_ps(_mm256_castsi256_si128(packed));
    g = _mm256_blendv_ps(g, _mm256_setzero_ps(), _mm256_cmp_ps(z, lo, _CMP_LE_OQ));
    g = _mm256_blendv_ps(g, z, _mm256_cmp_ps(z, hi, _CMP_GE_OQ));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(g, _mm256_loadu_ps(up + i)));
  }
  GeGluRef(table, gate + i, up + i, n - i, out + i);
}
#endif

// The AVX2 + F16C paths (GeGLU, attention) run where the CPU has them, unless HEARTH_NO_SIMD is set.
bool SimdOn() {
  static const bool on = [] {
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char* no_simd = std::getenv("HEARTH_NO_SIMD");
    return !(no_simd && *no_simd && *no_simd != '0') && __builtin_cpu_supports("avx2") &&
           __builtin_cpu_supports("f16c");
#else
    return false;
#endif
  }();
  return on;
}

}  // namespace

void GeGlu(const float* gate, const float* up, int64_t n, float* out) {
#if defined(__x86_64__)
  if (SimdOn()) return GeGluAvx(Table().v, gate, up, n, out);
#endif
  GeGluRef(Table().v, gate, up, n, out);
}

void GeGluReference(const float* gate, const float* up, int64_t n, float* out) {
  GeGluRef(Table().v, gate, up, n, out);
}

void RopeTable(const RopeParams& p, const int32_t* pos, int64_t n_tok, float* cs) {
  const int half = p.n_rot / 2;
  const float theta_scale = std::pow(p.base, -2.0f / static_cast<float>(p.n_rot));
  for (int64_t t = 0; t < n_tok; ++t) {
    float theta = static_cast<float>(pos[t]);
    float* row = cs + 2 * half * t;
    for (int i = 0; i < half; ++i) {
      float angle = theta;
      if (p.freq_factors) angle = angle / p.freq_factors[i];
      angle *= p.scale;
      row[2 * i] = std::cos(angle);
      row[2 * i + 1] = std::sin(angle);
      theta *= theta_scale;
    }
  }
}

void RopeApply(float* x, int n_head, int head_dim, int n_rot, const float* cs) {
  const int half = n_rot / 2;
  for (int h = 0; h < n_head; ++h) {
    float* v = x + int64_t{h} * head_dim;
    for (int i = 0; i < half; ++i) {
      const float c = cs[2 * i], s = cs[2 * i + 1];
      const float a = v[i], b = v[i + half];
      v[i] = a * c - b * s;
      v[i + half] = a * s + b * c;
    }
  }
}

void SoftCap(float* x, int64_t n, float c) {
  const float inv = 1.0f / c;
  for (int64_t i = 0; i < n; ++i) x[i] = std::tanh(x[i] * inv) * c;
}

namespace {

// The arithmetic of one attention step, in a scalar reference and an AVX2+F16C version that gives
// bit-identical results: F16 rounding is round-to-nearest-even in both, and products and sums are
// the same IEEE operations in the same order (no fused multiply-add where the scalar code rounds).
struct AttnOps {
  void (*f16_to_f32)(const uint16_t* src, float* dst, int n);
  void (*round_f16)(const float* src, float* dst, int n);         // dst = f16(src)
  // The query heads of one KV group (qh: group rows of n) laid out for `scores`, in
  // PreparedSize(group, n) doubles.
  void (*prepare_q)(const float* qh, int group, int n, double* prepared);
  // out[kk·RoundUp4(group) + j] = Σ_i q_j[i]·k[kk·n + i] in double, i in order, for the nk key rows
  // k[kk·n…] and j < group. A product of two floats is exact in double, so only the sum rounds.
  void (*scores)(const double* prepared, int group, int n, const float* k, int nk, double* out);
  void (*scale_round)(float* acc, float s, int n);                // acc = f16(acc · s)
  void (*axpy_round)(float* acc, const float* v, float w, int n);  // acc = f16(acc + v · w)
};

void F16ToF32Ref(const uint16_t* src, float* dst, int n) {
  for (int i = 0; i < n; ++i) dst[i] = F16ToF32(src[i]);
}
void RoundF16Ref(const float* src, float* dst, int n) {
  for (int i = 0; i < n; ++i) dst[i] = RoundToF16(src[i]);
}
int RoundUp4(int group) { return (group + 3) / 4 * 4; }
constexpr int kKeysPerStep = 8;  // keys whose scores are computed together
size_t PreparedSize(int group, int n) { return size_t(RoundUp4(group)) * n; }
void PrepareQRef(const float* qh, int group, int n, double* prepared) {
  for (int64_t i = 0; i < int64_t{group} * n; ++i) prepared[i] = qh[i];
}
void ScoresRef(const double* prepared, int group, int n, const float* k, int nk, double* out) {
  for (int kk = 0; kk < nk; ++kk) {
    for (int j = 0; j < group; ++j) {
      const double* q = prepared + int64_t{j} * n;
      const float* kr = k + int64_t{kk} * n;
      double d = 0;
      for (int i = 0; i < n; ++i) d += q[i] * double(kr[i]);
      out[kk * RoundUp4(group) + j] = d;
    }
  }
}
void ScaleRoundRef(float* acc, float s, int n) {
  for (int i = 0; i < n; ++i) acc[i] = RoundToF16(acc[i] * s);
}
void AxpyRoundRef(float* acc, const float* v, float w, int n) {
  for (int i = 0; i < n; ++i) acc[i] = RoundToF16(acc[i] + v[i] * w);
}
constexpr AttnOps kRefOps = {F16ToF32Ref, RoundF16Ref, PrepareQRef, ScoresRef, ScaleRoundRef,
                             AxpyRoundRef};

#if defined(__x86_64__)
#define HEARTH_F16C __attribute__((target("avx2,f16c")))
HEARTH_F16C inline __m256 Round8(__m256 x) {
  return _mm256_cvtph_ps(_mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT));
}
HEARTH_F16C void F16ToF32Avx(const uint16_t* src, float* dst, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
  F16ToF32Ref(src + i, dst + i, n - i);
}
HEARTH_F16C void RoundF16Avx(const float* src, float* dst, int n) {
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, Round8(_mm256_loadu_ps(src + i)));
  RoundF16Ref(src + i, dst + i, n - i);
}
HEARTH_F16C void ScaleRoundAvx(float* acc, float s, int n) {
  const __m256 vs = _mm256_set1_ps(s);
  int i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(acc + i, Round8(_mm256_mul_ps(_mm256_loadu_ps(acc + i), vs)));
  ScaleRoundRef(acc + i, s, n - i);
}
HEARTH_F16C void AxpyRoundAvx(float* acc, const float* v, float w, int n) {
  const __m256 vw = _mm256_set1_ps(w);
  int i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 prod = _mm256_mul_ps(_mm256_loadu_ps(v + i), vw);  // rounded, then added
    _mm256_storeu_ps(acc + i, Round8(_mm256_add_ps(_mm256_loadu_ps(acc + i), prod)));
  }
  AxpyRoundRef(acc + i, v + i, w, n - i);
}
// The scores keep each head's sequential double sum (a sum in another order changes a score's last
// bit on rare rows, and these random test models, and llama.cpp agreement, are that sensitive),
// but run the heads of a group side by side: lane j of a 4-double vector is head j's sum, element
// after element, so each lane adds in the reference's order, and 4–16 heads advance together
// instead of one chain of dependent additions per head. The prepared query is [n][RoundUp4(group)]
// (zero rows past the group); the fused multiply-add equals the reference's multiply then add
// because the product is exact.
void PrepareQAvx(const float* qh, int group, int n, double* prepared) {
  const int g4 = RoundUp4(group);
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < g4; ++j) {
      prepared[int64_t{i} * g4 + j] = j < group ? qh[int64_t{j} * n + i] : 0.0;
    }
  }
}
// KEYS key rows against CH·4 heads (q: [n][g4], from the first of those heads): KEYS·CH
// independent chains of additions, each in the reference's order.
template <int KEYS, int CH>
__attribute__((target("avx2,fma"))) void ScoresBlock(const double* q, int g4, int n,
                                                     const float* k, double* out) {
  __m256d acc[KEYS][CH];
  for (int kk = 0; kk < KEYS; ++kk)
    for (int c = 0; c < CH; ++c) acc[kk][c] = _mm256_setzero_pd();
  for (int i = 0; i < n; ++i, q += g4) {
    __m256d qv[CH];
    for (int c = 0; c < CH; ++c) qv[c] = _mm256_loadu_pd(q + 4 * c);
    for (int kk = 0; kk < KEYS; ++kk) {
      const __m256d kv = _mm256_set1_pd(double(k[int64_t{kk} * n + i]));
      for (int c = 0; c < CH; ++c) acc[kk][c] = _mm256_fmadd_pd(qv[c], kv, acc[kk][c]);
    }
  }
  for (int kk = 0; kk < KEYS; ++kk)
    for (int c = 0; c < CH; ++c) _mm256_storeu_pd(out + kk * g4 + 4 * c, acc[kk][c]);
}

// Groups of up to 4 heads take eight keys at a time (8 chains), up to 8 heads four keys (8 chains);
// larger groups one key at a time, 16 heads (4 chains) per pass.
__attribute__((target("avx2,fma"))) void ScoresAvx(const double* prepared, int group, int n,
                                                   const float* k, int nk, double* out) {
  const int g4 = RoundUp4(group);
  int kk = 0;
  if (g4 == 4) {
    for (; kk + 8 <= nk; kk += 8) ScoresBlock<8, 1>(prepared, g4, n, k + int64_t{kk} * n, out + kk * g4);
    for (; kk + 4 <= nk; kk += 4) ScoresBlock<4, 1>(prepared, g4, n, k + int64_t{kk} * n, out + kk * g4);
    for (; kk < nk; ++kk) ScoresBlock<1, 1>(prepared, g4, n, k + int64_t{kk} * n, out + kk * g4);
    return;
  }
  if (g4 == 8) {
    for (; kk + 4 <= nk; kk += 4) ScoresBlock<4, 2>(prepared, g4, n, k + int64_t{kk} * n, out + kk * g4);
    for (; kk < nk; ++kk) ScoresBlock<1, 2>(prepared, g4, n, k + int64_t{kk} * n, out + kk * g4);
    return;
  }
  for (; kk < nk; ++kk) {
    const float* kr = k + int64_t{kk} * n;
    for (int j0 = 0; j0 < g4; j0 += 16) {
      double* o = out + kk * g4 + j0;
      switch (std::min(4, (g4 - j0) / 4)) {
        case 4: ScoresBlock<1, 4>(prepared + j0, g4, n, kr, o); break;
        case 3: ScoresBlock<1, 3>(prepared + j0, g4, n, kr, o); break;
        case 2: ScoresBlock<1, 2>(prepared + j0, g4, n, kr, o); break;
        default: ScoresBlock<1, 1>(prepared + j0, g4, n, kr, o); break;
      }
    }
  }
}
constexpr AttnOps kAvxOps = {F16ToF32Avx, RoundF16Avx, PrepareQAvx, ScoresAvx, ScaleRoundAvx,
                             AxpyRoundAvx};
#endif

const AttnOps& BestOps() {
#if defined(__x86_64__)
  if (SimdOn()) return kAvxOps;
#endif
  return kRefOps;
}

// llama.cpp's CPU flash attention, one query row at a time: online softmax in F32 with the
// V-weighted sum kept in F16 (rounded after every rescale and every add), scores dotted in double
// like ggml's F16 dot, Q rounded to F16.
void AttentionWith(const AttnOps& ops, const AttentionArgs& a, const KvLayer& kv, ThreadPool& pool) {
  const int hd = a.head_dim;
  const int group = a.n_head / a.n_head_kv;  // query heads per KV head
  const int64_t q_stride = int64_t{a.n_head} * hd;
  const int64_t jobs = a.n_tok * a.n_head_kv;
  const bool f16 = kv.type() == KvType::kF16;
  pool.ParallelFor(jobs, [&](int64_t begin, int64_t end, int) {
    // Per-thread scratch: grows to the largest head group once, then is reused.
    thread_local std::vector<float> qh, acc, kbuf, vbuf, m, s, w;
    thread_local std::vector<double> qprep, sc;
    if (qh.size() < size_t(group) * hd) qh.resize(size_t(group) * hd), acc.resize(size_t(group) * hd);
    if (qprep.size() < PreparedSize(group, hd)) qprep.resize(PreparedSize(group, hd));
    if (sc.size() < size_t(kKeysPerStep) * RoundUp4(group)) sc.resize(size_t(kKeysPerStep) * RoundUp4(group));
    if (kbuf.size() < size_t(kKeysPerStep) * hd) kbuf.resize(size_t(kKeysPerStep) * hd), vbuf.resize(hd);
    if (m.size() < size_t(group)) m.resize(group), s.resize(group), w.resize(group);
    for (int64_t job = begin; job < end; ++job) {
      const int64_t t = job / a.n_head_kv;
      const int g = static_cast<int>(job % a.n_head_kv);
      ops.round_f16(a.q + t * q_stride + int64_t{g} * group * hd, qh.data(), group * hd);
      ops.prepare_q(qh.data(), group, hd, qprep.data());
      std::fill(acc.begin(), acc.begin() + int64_t{group} * hd, 0.0f);
      std::fill(m.begin(), m.begin() + group, -std::numeric_limits<float>::infinity());
      std::fill(s.begin(), s.begin() + group, 0.0f);
      const int64_t p = a.pos[t];
      const int64_t hi = a.limit[t];
      int64_t lo = 0;
      if (a.window > 0) lo = std::max<int64_t>(0, p - a.window + 1);
      for (int64_t k0 = lo; k0 <= hi; k0 += kKeysPerStep) {
        // The scores of a few keys at once (independent sums), then the keys one by one.
        const int nk = static_cast<int>(std::min<int64_t>(kKeysPerStep, hi - k0 + 1));
        for (int kk = 0; kk < nk; ++kk) {
          const int64_t cell = kv.Cell(k0 + kk);
          DCHECK(kv.PosAt(cell) == k0 + kk);
          float* kr = kbuf.data() + int64_t{kk} * hd;
          if (f16) ops.f16_to_f32(kv.KRowF16(cell) + g * hd, kr, hd);
          else kv.LoadK(cell, g * hd, hd, kr);
        }
        ops.scores(qprep.data(), group, hd, kbuf.data(), nk, sc.data());
        for (int kk = 0; kk < nk; ++kk) {
          const int64_t cell = kv.Cell(k0 + kk);
          for (int j = 0; j < group; ++j) {
            const float score = static_cast<float>(sc[kk * RoundUp4(group) + j]) * a.kq_scale;
            float ms = 1.0f;
            w[j] = 1.0f;
            if (score > m[j]) {
              ms = std::isinf(m[j]) ? 0.0f : std::exp(m[j] - score);
              m[j] = score;
              if (ms != 1.0f) ops.scale_round(acc.data() + int64_t{j} * hd, ms, hd);
            } else {
              w[j] = std::exp(score - m[j]);
            }
            s[j] = s[j] * ms + w[j];
          }
          if (f16) ops.f16_to_f32(kv.VRowF16(cell) + g * hd, vbuf.data(), hd);
          else kv.LoadV(cell, g * hd, hd, vbuf.data());
          for (int j = 0; j < group; ++j) ops.axpy_round(acc.data() + int64_t{j} * hd, vbuf.data(), w[j], hd);
        }
      }
      float* o = a.out + t * q_stride + int64_t{g} * group * hd;
      for (int j = 0; j < group; ++j) {
        const float inv = s[j] > 0 ? 1.0f / s[j] : 0.0f;
        for (int i = 0; i < hd; ++i) o[int64_t{j} * hd + i] = acc[int64_t{j} * hd + i] * inv;
      }
    }
  });
}

}  // namespace

void Attention(const AttentionArgs& a, const KvLayer& kv, ThreadPool& pool) {
  AttentionWith(BestOps(), a, kv, pool);
}

void AttentionReference(const AttentionArgs& a, const KvLayer& kv, ThreadPool& pool) {
  AttentionWith(kRefOps, a, kv, pool);
}

}  // namespace hearth::model
