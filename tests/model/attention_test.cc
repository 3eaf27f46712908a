// Attention: the SIMD (AVX2+F16C) primitives against the scalar reference, and both against a
// plain softmax in double for the masking rules (causal, sliding window, non-causal blocks, GQA).
#include "model/layers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/fp16.h"

namespace hearth::model {
namespace {

struct Case {
  int n_head, n_head_kv, head_dim, window;
  int64_t n_past, n_tok;  // keys already in the cache, then n_tok new rows
  bool causal;
  KvType kv_type;
};

struct Fixture {
  KvLayer kv;
  std::vector<float> q, k, v;  // q: [n_tok, n_head·hd]; k, v: [n_keys, n_kv·hd] as stored (rounded)
  std::vector<int32_t> pos, limit;
};

Fixture Make(const Case& c, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d(0.0f, 1.0f);
  Fixture s;
  const int64_t n_keys = c.n_past + c.n_tok;
  const int kv_w = c.n_head_kv * c.head_dim;
  s.kv = KvLayer(c.kv_type, n_keys + 8, kv_w, /*ring=*/false);
  std::vector<float> kr(kv_w), vr(kv_w);
  for (int64_t p = 0; p < n_keys; ++p) {
    for (int i = 0; i < kv_w; ++i) kr[i] = 2.0f * d(rng), vr[i] = d(rng);
    s.kv.Store(p, kr.data(), vr.data());
    std::vector<float> kl(kv_w), vl(kv_w);
    s.kv.LoadK(p, 0, kv_w, kl.data());
    s.kv.LoadV(p, 0, kv_w, vl.data());
    s.k.insert(s.k.end(), kl.begin(), kl.end());
    s.v.insert(s.v.end(), vl.begin(), vl.end());
  }
  s.q.resize(c.n_tok * c.n_head * c.head_dim);
  for (auto& x : s.q) x = d(rng) * 0.5f;
  for (int64_t t = 0; t < c.n_tok; ++t) {
    s.pos.push_back(static_cast<int32_t>(c.n_past + t));
    s.limit.push_back(static_cast<int32_t>(c.causal ? c.n_past + t : c.n_past + c.n_tok - 1));
  }
  return s;
}

AttentionArgs Args(const Case& c, const Fixture& s, float* out) {
  AttentionArgs a;
  a.q = s.q.data();
  a.out = out;
  a.n_tok = c.n_tok;
  a.pos = s.pos.data();
  a.limit = s.limit.data();
  a.n_head = c.n_head;
  a.n_head_kv = c.n_head_kv;
  a.head_dim = c.head_dim;
  a.window = c.window;
  return a;
}

// Plain softmax(q·k) · v in double over the visible keys (no F16 accumulation).
std::vector<double> Naive(const Case& c, const Fixture& s) {
  const int hd = c.head_dim, group = c.n_head / c.n_head_kv, kv_w = c.n_head_kv * hd;
  std::vector<double> out(c.n_tok * c.n_head * hd);
  for (int64_t t = 0; t < c.n_tok; ++t) {
    for (int h = 0; h < c.n_head; ++h) {
      const int g = h / group;
      std::vector<double> sc;
      std::vector<int64_t> keys;
      for (int64_t k = 0; k <= s.limit[t]; ++k) {
        if (c.window > 0 && s.pos[t] - k >= c.window) continue;
        double dot = 0;
        for (int i = 0; i < hd; ++i)
          dot += double(RoundToF16(s.q[(t * c.n_head + h) * hd + i])) * s.k[k * kv_w + g * hd + i];
        sc.push_back(dot);
        keys.push_back(k);
      }
      double mx = -1e300, sum = 0;
      for (double x : sc) mx = std::max(mx, x);
      for (double& x : sc) sum += (x = std::exp(x - mx));
      for (size_t j = 0; j < keys.size(); ++j)
        for (int i = 0; i < hd; ++i)
          out[(t * c.n_head + h) * hd + i] += sc[j] / sum * s.v[keys[j] * kv_w + g * hd + i];
    }
  }
  return out;
}

class AttentionTest : public ::testing::TestWithParam<Case> {};

TEST_P(AttentionTest, SimdIsBitIdenticalAndBothMatchThePlainSoftmax) {
  const Case c = GetParam();
  const Fixture s = Make(c, 7);
  ThreadPool pool(2);
  std::vector<float> simd(s.q.size()), ref(s.q.size());
  Attention(Args(c, s, simd.data()), s.kv, pool);
  AttentionReference(Args(c, s, ref.data()), s.kv, pool);
  // Same operations in the same order: bit-identical.
  EXPECT_EQ(simd, ref);
  // F16 accumulation of the weighted sum: relative error ~ 2^-11 per add, values O(1).
  const std::vector<double> naive = Naive(c, s);
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::fabs(ref[i] - naive[i]));
  EXPECT_LT(worst, 0.02);
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionTest,
    ::testing::Values(Case{4, 4, 64, 0, 0, 1, true, KvType::kF16},       // one key
                      Case{8, 2, 64, 0, 30, 1, true, KvType::kF16},      // decode, GQA 4
                      Case{4, 1, 256, 0, 5, 20, true, KvType::kF16},     // prefill, head 256
                      Case{4, 2, 64, 16, 40, 12, true, KvType::kF16},    // sliding window
                      Case{4, 2, 64, 16, 10, 24, false, KvType::kF16},   // non-causal block + window
                      Case{2, 1, 512, 0, 3, 5, false, KvType::kF16},     // head 512
                      Case{4, 2, 36, 0, 9, 3, true, KvType::kF16},       // head dim not a multiple of 8
                      Case{4, 2, 64, 8, 20, 6, true, KvType::kQ8_0},     // q8_0 cache
                      Case{6, 2, 64, 0, 7, 5, true, KvType::kF16},       // GQA 3: padded lanes
                      Case{16, 2, 64, 0, 7, 5, true, KvType::kF16},      // GQA 8: two chains
                      Case{40, 2, 32, 0, 4, 3, true, KvType::kF16}));    // GQA 20: 16 + 4 heads

}  // namespace
}  // namespace hearth::model
