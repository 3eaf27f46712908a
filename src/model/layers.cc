#include "model/layers.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/fp16.h"

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

void Attention(const AttentionArgs& a, const KvLayer& kv, ThreadPool& pool) {
  const int hd = a.head_dim;
  const int group = a.n_head / a.n_head_kv;  // query heads per KV head
  const int64_t q_stride = int64_t{a.n_head} * hd;
  const int64_t jobs = a.n_tok * a.n_head_kv;
  pool.ParallelFor(jobs, [&](int64_t begin, int64_t end, int) {
    // Per-thread scratch: grows to the largest head group once, then is reused.
    thread_local std::vector<float> qh, acc, kbuf, vbuf, m, s, w;
    if (qh.size() < size_t(group) * hd) qh.resize(size_t(group) * hd), acc.resize(size_t(group) * hd);
    if (kbuf.size() < size_t(hd)) kbuf.resize(hd), vbuf.resize(hd);
    if (m.size() < size_t(group)) m.resize(group), s.resize(group), w.resize(group);
    for (int64_t job = begin; job < end; ++job) {
      const int64_t t = job / a.n_head_kv;
      const int g = static_cast<int>(job % a.n_head_kv);
      const float* q = a.q + t * q_stride + int64_t{g} * group * hd;
      for (int64_t i = 0; i < int64_t{group} * hd; ++i) qh[i] = RoundToF16(q[i]);
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
        kv.LoadK(cell, g * hd, hd, kbuf.data());
        // llama.cpp's CPU flash attention (one query row): online softmax in F32 with the
        // V-weighted sum kept in F16 (rounded after every rescale and every add).
        for (int j = 0; j < group; ++j) {
          const float* qj = qh.data() + int64_t{j} * hd;
          double dot = 0;  // ggml's F16 dot accumulates in double on this path
          for (int i = 0; i < hd; ++i) dot += double(qj[i]) * kbuf[i];
          const float score = static_cast<float>(dot) * a.kq_scale;
          float ms = 1.0f;
          w[j] = 1.0f;
          if (score > m[j]) {
            ms = std::isinf(m[j]) ? 0.0f : std::exp(m[j] - score);
            m[j] = score;
            float* aj = acc.data() + int64_t{j} * hd;
            if (ms != 1.0f)
              for (int i = 0; i < hd; ++i) aj[i] = RoundToF16(aj[i] * ms);
          } else {
            w[j] = std::exp(score - m[j]);
          }
          s[j] = s[j] * ms + w[j];
        }
        kv.LoadV(cell, g * hd, hd, vbuf.data());
        for (int j = 0; j < group; ++j) {
          float* aj = acc.data() + int64_t{j} * hd;
          const float wj = w[j];
          for (int i = 0; i < hd; ++i) aj[i] = RoundToF16(aj[i] + vbuf[i] * wj);
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

}  // namespace hearth::model
