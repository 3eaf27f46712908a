#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

namespace hearth::engine {

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
  std::copy(logits, logits + n_vocab_, work_.begin());
  for (const auto& [id, bias] : p_.logit_bias) work_[id] += bias;

  if (p_.repeat_penalty != 1.0f || p_.presence_penalty != 0.0f || p_.frequency_penalty != 0.0f) {
    const size_t n = history.size();
    const size_t start = p_.penalty_last_n < 0 ? 0 : n - std::min<size_t>(n, p_.penalty_last_n);
    std::unordered_map<int32_t, int> counts;
    for (size_t i = start; i < n; ++i) counts[history[i]]++;
    for (const auto& [id, cnt] : counts) {
      if (id < 0 || id >= n_vocab_) continue;
      float& l = work_[id];
      if (p_.repeat_penalty != 1.0f) l = l > 0 ? l / p_.repeat_penalty : l * p_.repeat_penalty;
      l -= static_cast<float>(cnt) * p_.frequency_penalty + p_.presence_penalty;
    }
  }

  if (p_.temperature <= 0.0f) {
    int32_t best = 0;
    for (int32_t i = 1; i < n_vocab_; ++i)
      if (work_[i] > work_[best]) best = i;
    return best;
  }

  cand_.clear();
  for (int32_t i = 0; i < n_vocab_; ++i)
    if (work_[i] > -std::numeric_limits<float>::infinity()) cand_.push_back({work_[i], i});
  if (cand_.empty()) return 0;  // everything banned: nothing sensible to do; id 0 is pad
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  };
  size_t keep = cand_.size();
  if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < keep) {
    keep = p_.top_k;
    std::partial_sort(cand_.begin(), cand_.begin() + keep, cand_.end(), by_logit);
    cand_.resize(keep);
  } else {
    std::sort(cand_.begin(), cand_.end(), by_logit);
  }
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
  float mx = -std::numeric_limits<float>::infinity();
  for (int32_t i = 0; i < n; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (int32_t i = 0; i < n; ++i) sum += std::exp(double(logits[i]) - mx);
  return mx + std::log(sum);
}

std::vector<std::pair<int32_t, float>> TopLogprobs(const float* logits, int32_t n_vocab, int k) {
  k = std::max(0, std::min<int>(k, n_vocab));
  std::vector<int32_t> idx(n_vocab);
  for (int32_t i = 0; i < n_vocab; ++i) idx[i] = i;
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  const double lse = LogSumExp(logits, n_vocab);
  std::vector<std::pair<int32_t, float>> out;
  out.reserve(k);
  for (int i = 0; i < k; ++i) out.push_back({idx[i], static_cast<float>(logits[idx[i]] - lse)});
  return out;
}

float Logprob(const float* logits, int32_t n_vocab, int32_t id) {
  return static_cast<float>(logits[id] - LogSumExp(logits, n_vocab));
}

TokenStats LogprobAndEntropy(const float* logits, int32_t n_vocab, int32_t id) {
  float mx = -std::numeric_limits<float>::infinity();
  for (int32_t i = 0; i < n_vocab; ++i) mx = std::max(mx, logits[i]);
  // H = log Z − Σ p·(l − m) with Z = Σ e^(l − m): one pass for both sums.
  double z = 0, zl = 0;
  for (int32_t i = 0; i < n_vocab; ++i) {
    const double d = double(logits[i]) - mx;
    if (d == -std::numeric_limits<double>::infinity()) continue;
    const double e = std::exp(d);
    z += e;
    zl += e * d;
  }
  const double log_z = std::log(z);
  TokenStats t;
  t.logprob = static_cast<float>(double(logits[id]) - mx - log_z);
  t.entropy = static_cast<float>(std::max(0.0, log_z - zl / z));
  return t;
}

}  // namespace hearth::engine
