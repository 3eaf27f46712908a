#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace hearth::engine {

namespace {

// Σ e^(l_i − mx) and Σ e^(l_i − mx)·(l_i − mx) over the vocabulary (−inf entries count 0): the
// softmax normaliser and the entropy term, once per generated token over up to 262k logits.
void ExpSumsScalar(const float* l, int32_t n, float mx, double* z, double* zl) {
  double a = 0, b = 0;
  for (int32_t i = 0; i < n; ++i) {
    const double d = double(l[i]) - mx;
    if (!(d > -87.0)) continue;  // e^d below F32's range, or a banned (−inf) entry
    const double e = std::exp(d);
    a += e;
    b += e * d;
  }
  *z = a;
  *zl = b;
}

#if defined(__x86_64__)
// The same in AVX2: e^d = 2^n · e^r with n = round(d·log2 e), |r| <= ln2/2, e^r by a degree-6
// polynomial (relative error < 3e-7); F32 partial sums over 1024 entries, added in F64.
__attribute__((target("avx2,fma"))) void ExpSumsAvx2(const float* l, int32_t n, float mx,
                                                      double* z_out, double* zl_out) {
  const __m256 vmx = _mm256_set1_ps(mx), lo = _mm256_set1_ps(-87.0f);
  const __m256 log2e = _mm256_set1_ps(1.44269504088896341f);
  const __m256 ln2_hi = _mm256_set1_ps(0.693145751953125f);
  const __m256 ln2_lo = _mm256_set1_ps(1.428606765330187045e-06f);
  double a = 0, b = 0;
  const int32_t n8 = n - n % 8;
  for (int32_t i0 = 0; i0 < n8; i0 += 1024) {
    const int32_t i1 = std::min(n8, i0 + 1024);
    __m256 z = _mm256_setzero_ps(), zl = _mm256_setzero_ps();
    for (int32_t i = i0; i < i1; i += 8) {
      const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(l + i), vmx);
      const __m256 live = _mm256_cmp_ps(d, lo, _CMP_GT_OQ);
      const __m256 x = _mm256_max_ps(d, lo);
      const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, log2e),
                                       _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m256 r = _mm256_fnmadd_ps(k, ln2_lo, _mm256_fnmadd_ps(k, ln2_hi, x));
      __m256 p = _mm256_set1_ps(1.3888889e-3f);
      p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3333333e-3f));
      p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1666667e-2f));
      p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666667e-1f));
      p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
      p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
      p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
      const __m256i pow2 = _mm256_slli_epi32(
          _mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
      const __m256 e = _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(pow2)), live);
      z = _mm256_add_ps(z, e);
      zl = _mm256_fmadd_ps(e, _mm256_and_ps(d, live), zl);
    }
    alignas(32) float zs[8], zls[8];
    _mm256_store_ps(zs, z);
    _mm256_store_ps(zls, zl);
    for (int k = 0; k < 8; ++k) a += zs[k], b += zls[k];
  }
  double ta = 0, tb = 0;
  ExpSumsScalar(l + n8, n - n8, mx, &ta, &tb);
  *z_out = a + ta;
  *zl_out = b + tb;
}

__attribute__((target("avx2"))) float MaxAvx2(const float* l, int32_t n) {
  __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int32_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(l + i));
  alignas(32) float ms[8];
  _mm256_store_ps(ms, m);
  float mx = ms[0];
  for (int k = 1; k < 8; ++k) mx = std::max(mx, ms[k]);
  for (; i < n; ++i) mx = std::max(mx, l[i]);
  return mx;
}

bool HaveAvx2() {
  static const bool yes = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return yes;
}
#endif

float MaxLogit(const float* l, int32_t n) {
#if defined(__x86_64__)
  if (HaveAvx2()) return MaxAvx2(l, n);
#endif
  float mx = -std::numeric_limits<float>::infinity();
  for (int32_t i = 0; i < n; ++i) mx = std::max(mx, l[i]);
  return mx;
}

void ExpSums(const float* l, int32_t n, float mx, double* z, double* zl) {
#if defined(__x86_64__)
  if (HaveAvx2()) return ExpSumsAvx2(l, n, mx, z, zl);
#endif
  ExpSumsScalar(l, n, mx, z, zl);
}

}  // namespace

Status SamplingParams::Validate(int32_t n_vocab) const {
  if (!std::isfinite(temperature) || temperature < 0 || temperature > 100)
    return InvalidArgumentError("temperature must be in [0, 100], got " + std::to_string(temperature));
  if (!(top_p > 0) || top_p > 1) return InvalidArgumentError("top_p must be in (0, 1], got " + std::to_string(top_p));
  if (!(min_p >= 0) || min_p > 1) return InvalidArgumentError("min_p must be in [0, 1], got " + std::to_string(min_p));
  if (!(repeat_penalty > 0) || repeat_penalty > 10)
    return InvalidArgumentError("repeat_penalty must be in (0, 10], got " + std::to_string(repeat_penalty));
  if (!(std::fabs(presence_penalty) <= 2))
    return InvalidArgumentError("presence_penalty must be in [-2, 2], got " + std::to_string(presence_penalty));
  if (!(std::fabs(frequency_penalty) <= 2))
    return InvalidArgumentError("frequency_penalty must be in [-2, 2], got " + std::to_string(frequency_penalty));
  if (penalty_last_n < -1) return InvalidArgumentError("penalty_last_n must be >= -1");
  for (const auto& [id, bias] : logit_bias) {
    if (id < 0 || id >= n_vocab)
      return InvalidArgumentError("logit_bias token id " + std::to_string(id) +
                                  " is outside the vocabulary (0.." + std::to_string(n_vocab - 1) + ")");
    if (std::isnan(bias)) return InvalidArgumentError("logit_bias for token " + std::to_string(id) + " is NaN");
  }
  return Status::Ok();
}

Sampler::Sampler(SamplingParams p, int32_t n_vocab)
    : p_(std::move(p)), n_vocab_(n_vocab), rng_(p_.seed), work_(n_vocab) {
  cand_.reserve(n_vocab);
}

int32_t Sampler::Sample(const float* logits, const std::vector<int32_t>& history) {
  // Work on a copy only when something changes the logits.
  const bool penalties =
      p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f;
  const float* l = logits;
  if (!p_.logit_bias.empty() || penalties) {
    std::copy(logits, logits + n_vocab_, work_.begin());
    for (const auto& [id, bias] : p_.logit_bias) work_[id] += bias;
    if (penalties) {
      // Occurrences of each id in the window: sort a copy and count runs (no allocation once
      // the scratch has grown).
      const size_t n = history.size();
      const size_t start = p_.penalty_last_n < 0 ? 0 : n - std::min<size_t>(n, p_.penalty_last_n);
      recent_.assign(history.begin() + start, history.end());
      std::sort(recent_.begin(), recent_.end());
      for (size_t i = 0; i < recent_.size();) {
        size_t j = i;
        while (j < recent_.size() && recent_[j] == recent_[i]) ++j;
        const int32_t id = recent_[i];
        const int cnt = static_cast<int>(j - i);
        i = j;
        if (id < 0 || id >= n_vocab_) continue;
        float& v = work_[id];
        if (p_.repeat_penalty != 1.0f) v = v > 0 ? v / p_.repeat_penalty : v * p_.repeat_penalty;
        v -= static_cast<float>(cnt) * p_.frequency_penalty + p_.presence_penalty;
      }
    }
    l = work_.data();
  }

  if (p_.temperature <= 0.0f) {  // the first id holding the largest logit
    const float mx = MaxLogit(l, n_vocab_);
    for (int32_t i = 0; i < n_vocab_; ++i)
      if (l[i] == mx) return i;
    return 0;
  }

  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  const float kBanned = -std::numeric_limits<float>::infinity();
  cand_.clear();
  if (p_.top_k > 0 && p_.top_k < n_vocab_) {
    // The k best in one pass: a heap whose front is the worst kept candidate (the same set and
    // order as a partial sort, without touching the rest of the vocabulary twice).
    const size_t k = static_cast<size_t>(p_.top_k);
    constexpr int32_t kBlock = 64;
    for (int32_t b = 0; b < n_vocab_; b += kBlock) {
      const int32_t e = std::min(n_vocab_, b + kBlock);
      // Once the heap is full, a block whose best is below the worst kept cannot contribute.
      if (cand_.size() == k && MaxLogit(l + b, e - b) < cand_.front().first) continue;
      for (int32_t i = b; i < e; ++i) {
        if (!(l[i] > kBanned)) continue;
        const std::pair<float, int32_t> c{l[i], i};
        if (cand_.size() < k) {
          cand_.push_back(c);
          std::push_heap(cand_.begin(), cand_.end(), by_logit);
        } else if (by_logit(c, cand_.front())) {
          std::pop_heap(cand_.begin(), cand_.end(), by_logit);
          cand_.back() = c;
          std::push_heap(cand_.begin(), cand_.end(), by_logit);
        }
      }
    }
    std::sort(cand_.begin(), cand_.end(), by_logit);
  } else {
    for (int32_t i = 0; i < n_vocab_; ++i)
      if (l[i] > kBanned) cand_.push_back({l[i], i});
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
  if (cand_.empty()) return 0;  // everything banned: nothing sensible to do; id 0 is pad
  size_t keep = cand_.size();
  // Probabilities of the remaining candidates (untempered, as llama.cpp's top-p / min-p see them).
  const float mx = cand_[0].first;
  std::vector<double>& prob = prob_;
  prob.resize(cand_.size());
  double sum = 0;
  for (size_t i = 0; i < cand_.size(); ++i) sum += (prob[i] = std::exp(double(cand_[i].first) - mx));
  if (p_.top_p < 1.0f) {
    double cum = 0;
    size_t k = 0;
    for (; k < cand_.size(); ++k) {
      cum += prob[k] / sum;
      if (cum >= p_.top_p) {
        ++k;
        break;
      }
    }
    keep = std::max<size_t>(1, std::min(k, cand_.size()));
    cand_.resize(keep);
  }
  if (p_.min_p > 0.0f) {
    const double floor = p_.min_p * prob[0];  // relative to the most likely token
    size_t k = 1;
    while (k < cand_.size() && prob[k] >= floor) ++k;
    cand_.resize(k);
  }
  // Temperature, then draw.
  double total = 0;
  prob.resize(cand_.size());
  for (size_t i = 0; i < cand_.size(); ++i)
    total += (prob[i] = std::exp((double(cand_[i].first) - mx) / p_.temperature));
  std::uniform_real_distribution<double> u(0.0, total);
  double r = u(rng_);
  for (size_t i = 0; i < cand_.size(); ++i) {
    r -= prob[i];
    if (r <= 0) return cand_[i].second;
  }
  return cand_.back().second;
}

static double LogSumExp(const float* logits, int32_t n) {
  const float mx = MaxLogit(logits, n);
  double z = 0, zl = 0;
  ExpSums(logits, n, mx, &z, &zl);
  return mx + std::log(z);
}

std::vector<std::pair<int32_t, float>> TopLogprobs(const float* logits, int32_t n_vocab, int k) {
  k = std::max(0, std::min<int>(k, n_vocab));
  // One pass with a k-heap whose front is the worst kept (most likely first, ties: lower id).
  auto better = [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  std::vector<int32_t> idx;
  idx.reserve(k);
  for (int32_t i = 0; i < n_vocab && k > 0; ++i) {
    if (static_cast<int>(idx.size()) < k) {
      idx.push_back(i);
      std::push_heap(idx.begin(), idx.end(), better);
    } else if (better(i, idx.front())) {
      std::pop_heap(idx.begin(), idx.end(), better);
      idx.back() = i;
      std::push_heap(idx.begin(), idx.end(), better);
    }
  }
  std::sort(idx.begin(), idx.end(), better);
  const double lse = LogSumExp(logits, n_vocab);
  std::vector<std::pair<int32_t, float>> out;
  out.reserve(k);
  for (int32_t id : idx) out.push_back({id, static_cast<float>(logits[id] - lse)});
  return out;
}

float Logprob(const float* logits, int32_t n_vocab, int32_t id) {
  return static_cast<float>(logits[id] - LogSumExp(logits, n_vocab));
}

TokenStats LogprobAndEntropy(const float* logits, int32_t n_vocab, int32_t id) {
  const float mx = MaxLogit(logits, n_vocab);
  // H = log Z − Σ p·(l − m) with Z = Σ e^(l − m): one pass for both sums.
  double z = 0, zl = 0;
  ExpSums(logits, n_vocab, mx, &z, &zl);
  const double log_z = std::log(z);
  TokenStats t;
  t.logprob = static_cast<float>(double(logits[id]) - mx - log_z);
  t.entropy = static_cast<float>(std::max(0.0, log_z - zl / z));
  return t;
}

}  // namespace hearth::engine
