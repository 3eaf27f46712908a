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

// ggml_gelu table: gelu_tanh of every F16 value, computed in F32 and rounded to F16.
struct GeluTable {
  uint16_t v[65536];
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

void GeGlu(const float* gate, const float* up, int64_t n, float* out) {
  const GeluTable& t = Table();
  for (int64_t i = 0; i < n; ++i) {
    const float z = gate[i];
    const float g = z <= -10.0f ? 0.0f : z >= 10.0f ? z : F16ToF32(t.v[F32ToF16(z)]);
    out[i] = g * up[i];
  }
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
  double (*dot)(const float* a, const float* b, int n);           // Σ a·b in double
  void (*scale_round)(float* acc, float s, int n);                // acc = f16(acc · s)
  void (*axpy_round)(float* acc, const float* v, float w, int n);  // acc = f16(acc + v · w)
};

void F16ToF32Ref(const uint16_t* src, float* dst, int n) {
  for (int i = 0; i < n; ++i) dst[i] = F16ToF32(src[i]);
}
void RoundF16Ref(const float* src, float* dst, int n) {
  for (int i = 0; i < n; ++i) dst[i] = RoundToF16(src[i]);
}
double DotRef(const float* a, const float* b, int n) {
  double d = 0;
  for (int i = 0; i < n; ++i) d += double(a[i]) * b[i];
  return d;
}
void ScaleRoundRef(float* acc, float s, int n) {
  for (int i = 0; i < n; ++i) acc[i] = RoundToF16(acc[i] * s);
}
void AxpyRoundRef(float* acc, const float* v, float w, int n) {
  for (int i = 0; i < n; ++i) acc[i] = RoundToF16(acc[i] + v[i] * w);
}
constexpr AttnOps kRefOps = {F16ToF32Ref, RoundF16Ref, DotRef, ScaleRoundRef, AxpyRoundRef};

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
// The score keeps the scalar, sequential double sum: a vectorised sum adds in another order, which
// on rare rows changes a score's last bit, and these random test models (and llama.cpp agreement)
// are that sensitive. The conversions and F16 roundings were the cost.
constexpr AttnOps kAvxOps = {F16ToF32Avx, RoundF16Avx, DotRef, ScaleRoundAvx, AxpyRoundAvx};
#endif

const AttnOps& BestOps() {
  static const AttnOps* ops = [] {
#if defined(__x86_64__)
    __builtin_cpu_init();
    const char* no_simd = std::getenv("HEARTH_NO_SIMD");
    if (!(no_simd && *no_simd && *no_simd != '0') && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("f16c"))
      return &kAvxOps;
#endif
    return &kRefOps;
  }();
  return *ops;
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
    if (qh.size() < size_t(group) * hd) qh.resize(size_t(group) * hd), acc.resize(size_t(group) * hd);
    if (kbuf.size() < size_t(hd)) kbuf.resize(hd), vbuf.resize(hd);
    if (m.size() < size_t(group)) m.resize(group), s.resize(group), w.resize(group);
    for (int64_t job = begin; job < end; ++job) {
      const int64_t t = job / a.n_head_kv;
      const int g = static_cast<int>(job % a.n_head_kv);
      ops.round_f16(a.q + t * q_stride + int64_t{g} * group * hd, qh.data(), group * hd);
      std::fill(acc.begin(), acc.begin() + int64_t{group} * hd, 0.0f);
      std::fill(m.begin(), m.begin() + group, -std::numeric_limits<float>::infinity());
      std::fill(s.begin(), s.begin() + group, 0.0f);
      const int64_t p = a.pos[t];
      const int64_t hi = a.limit[t];
      int64_t lo = 0;
      if (a.window > 0) lo = std::max<int64_t>(0, p - a.window + 1);
      for (int64_t k = lo; k <= hi; ++k) {
        const int64_t cell = kv.Cell(k);
        DCHECK(kv.PosAt(cell) == k);
        if (f16) ops.f16_to_f32(kv.KRowF16(cell) + g * hd, kbuf.data(), hd);
        else kv.LoadK(cell, g * hd, hd, kbuf.data());
        for (int j = 0; j < group; ++j) {
          const float score = static_cast<float>(ops.dot(qh.data() + int64_t{j} * hd, kbuf.data(), hd)) * a.kq_scale;
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
