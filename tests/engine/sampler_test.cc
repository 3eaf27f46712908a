#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <map>
#include <vector>

namespace hearth::engine {
namespace {

std::vector<float> LogitsFromProbs(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(static_cast<float>(std::log(x)));
  return l;
}

std::map<int32_t, int> Histogram(Sampler& s, const std::vector<float>& logits, int n) {
  std::map<int32_t, int> h;
  for (int i = 0; i < n; ++i) h[s.Sample(logits.data(), {})]++;
  return h;
}

SamplingParams Plain(float temp) {
  SamplingParams p;
  p.temperature = temp;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  return p;
}

TEST(Sampler, GreedyPicksArgmaxLowestIdOnTies) {
  Sampler s(Plain(0), 5);
  const std::vector<float> l = {0.1f, 2.0f, -1.0f, 2.0f, 1.9f};
  EXPECT_EQ(s.Sample(l.data(), {}), 1);
}

TEST(Sampler, FollowsTheSoftmaxAtTemperatureOne) {
  const std::vector<double> p = {0.5, 0.25, 0.15, 0.1};
  Sampler s(Plain(1.0f), 4);
  const int n = 40000;
  auto h = Histogram(s, LogitsFromProbs(p), n);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(h[i] / double(n), p[i], 0.01) << i;
}

TEST(Sampler, TemperatureSharpensAndFlattens) {
  const auto l = LogitsFromProbs({0.6, 0.4});
  Sampler cold(Plain(0.5f), 2), hot(Plain(2.0f), 2);
  const int n = 40000;
  // p^(1/T) normalised: T=0.5 -> 0.36/(0.36+0.16) = 0.692; T=2 -> 0.7746/(0.7746+0.6325) = 0.5505
  EXPECT_NEAR(Histogram(cold, l, n)[0] / double(n), 0.6923, 0.01);
  EXPECT_NEAR(Histogram(hot, l, n)[0] / double(n), 0.5505, 0.01);
}

TEST(Sampler, SeedMakesItDeterministic) {
  const auto l = LogitsFromProbs({0.3, 0.3, 0.2, 0.2});
  SamplingParams p = Plain(1.0f);
  p.seed = 42;
  Sampler a(p, 4), b(p, 4);
  p.seed = 43;
  Sampler c(p, 4);
  std::vector<int32_t> sa, sb, sc;
  for (int i = 0; i < 64; ++i) {
    sa.push_back(a.Sample(l.data(), {}));
    sb.push_back(b.Sample(l.data(), {}));
    sc.push_back(c.Sample(l.data(), {}));
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

TEST(Sampler, TopKTopPMinPFilter) {
  const auto l = LogitsFromProbs({0.5, 0.3, 0.15, 0.05});
  {
    SamplingParams p = Plain(1.0f);
    p.top_k = 2;
    Sampler s(p, 4);
    auto h = Histogram(s, l, 5000);
    EXPECT_EQ(h.count(2) + h.count(3), 0u);
    EXPECT_NEAR(h[0] / 5000.0, 0.5 / 0.8, 0.03);
  }
  {
    SamplingParams p = Plain(1.0f);
    p.top_p = 0.6f;  // 0.5 < 0.6 <= 0.8: keeps ids 0 and 1
    Sampler s(p, 4);
    auto h = Histogram(s, l, 5000);
    EXPECT_EQ(h.count(2) + h.count(3), 0u);
    EXPECT_GT(h[1], 0);
  }
  {
    SamplingParams p = Plain(1.0f);
    p.min_p = 0.2f;  // keeps p >= 0.1: ids 0, 1, 2
    Sampler s(p, 4);
    auto h = Histogram(s, l, 5000);
    EXPECT_EQ(h.count(3), 0u);
    EXPECT_GT(h[2], 0);
  }
}

TEST(Sampler, PenaltiesAndBias) {
  const std::vector<float> l = {3.0f, 2.5f, 0.0f};
  {
    SamplingParams p = Plain(0);
    p.repeat_penalty = 2.0f;  // 3.0 / 2 = 1.5 < 2.5
    Sampler s(p, 3);
    EXPECT_EQ(s.Sample(l.data(), {0}), 1);
    EXPECT_EQ(s.Sample(l.data(), {2}), 0);
  }
  {
    SamplingParams p = Plain(0);
    p.frequency_penalty = 0.3f;  // 3.0 - 2·0.3 = 2.4 < 2.5
    Sampler s(p, 3);
    EXPECT_EQ(s.Sample(l.data(), {0}), 0);
    EXPECT_EQ(s.Sample(l.data(), {0, 0}), 1);
  }
  {
    SamplingParams p = Plain(0);
    p.presence_penalty = 0.6f;
    p.penalty_last_n = 1;  // only the last token counts
    Sampler s(p, 3);
    EXPECT_EQ(s.Sample(l.data(), {0}), 1);
    EXPECT_EQ(s.Sample(l.data(), {0, 2}), 0);
  }
  {
    SamplingParams p = Plain(1.0f);
    p.logit_bias = {{0, -std::numeric_limits<float>::infinity()}, {2, 10.0f}};
    Sampler s(p, 3);
    auto h = Histogram(s, l, 2000);
    EXPECT_EQ(h.count(0), 0u);
    EXPECT_GT(h[2], 1900);
  }
}

TEST(Sampler, ValidateNamesTheBadParameter) {
  SamplingParams p;
  p.temperature = -1;
  EXPECT_NE(p.Validate(10).message().find("temperature"), std::string::npos);
  p = SamplingParams();
  p.top_p = 0;
  EXPECT_NE(p.Validate(10).message().find("top_p"), std::string::npos);
  p = SamplingParams();
  p.logit_bias = {{10, 1.0f}};
  EXPECT_NE(p.Validate(10).message().find("logit_bias"), std::string::npos);
  EXPECT_TRUE(SamplingParams().Validate(10).ok());
}

TEST(Sampler, TopLogprobsAreTheNormalisedLogSoftmax) {
  const std::vector<double> p = {0.1, 0.6, 0.3};
  const auto l = LogitsFromProbs(p);
  auto top = TopLogprobs(l.data(), 3, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].first, 1);
  EXPECT_EQ(top[1].first, 2);
  EXPECT_EQ(top[2].first, 0);
  for (const auto& [id, lp] : top) EXPECT_NEAR(lp, std::log(p[id]), 1e-6);
  EXPECT_NEAR(Logprob(l.data(), 3, 2), std::log(0.3), 1e-6);
  EXPECT_EQ(TopLogprobs(l.data(), 3, 10).size(), 3u);
}

}  // namespace
}  // namespace hearth::engine

namespace hearth::engine {
namespace {

TEST(LogprobAndEntropy, MatchesTheDefinitions) {
  // Uniform over 4: entropy ln 4, every logprob −ln 4.
  const float uniform[4] = {2, 2, 2, 2};
  TokenStats u = LogprobAndEntropy(uniform, 4, 1);
  EXPECT_NEAR(u.entropy, std::log(4.0), 1e-6);
  EXPECT_NEAR(u.logprob, -std::log(4.0), 1e-6);
  // A general case against the textbook formulas, with a banned (−inf) entry.
  const float l[5] = {1.5f, -0.25f, 3.0f, -std::numeric_limits<float>::infinity(), 0.5f};
  double z = 0;
  for (float x : l) z += std::exp(double(x));
  double h = 0;
  for (float x : l) {
    const double p = std::exp(double(x)) / z;
    if (p > 0) h -= p * std::log(p);
  }
  TokenStats t = LogprobAndEntropy(l, 5, 2);
  EXPECT_NEAR(t.logprob, 3.0 - std::log(z), 1e-6);
  EXPECT_NEAR(t.entropy, h, 1e-6);
  EXPECT_NEAR(t.logprob, Logprob(l, 5, 2), 1e-6);
  // Certainty: entropy ~0.
  const float sure[3] = {100, 0, 0};
  EXPECT_NEAR(LogprobAndEntropy(sure, 3, 0).entropy, 0.0, 1e-6);
}

}  // namespace
}  // namespace hearth::engine

namespace hearth::engine {
namespace {

// The one-pass top-k (a heap, skipping blocks that cannot contribute) keeps exactly the set and
// order a full sort keeps: with every finite logit inside k, it draws what the full-sort path
// draws, tie for tie, seed for seed.
TEST(SamplerTopK, HeapSelectionEqualsFullSort) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    const int32_t n = 300 + trial * 37;
    std::vector<float> l(n);
    std::uniform_int_distribution<int> coarse(-20, 20);  // many exact ties
    for (auto& x : l) x = coarse(rng) * 0.25f;
    l[n - 1] = -std::numeric_limits<float>::infinity();
    SamplingParams heap, full;
    heap.top_k = n - 1;
    full.top_k = 0;
    heap.top_p = full.top_p = 0.9f;
    heap.seed = full.seed = trial;
    Sampler a(heap, n), b(full, n);
    for (int draw = 0; draw < 20; ++draw) ASSERT_EQ(a.Sample(l.data(), {}), b.Sample(l.data(), {}));
  }
  // A small k over a large vocabulary: the k best by logit, ties to the lower id.
  std::vector<float> big(100000, 0.0f);
  big[99999] = 5;
  big[50000] = 5;
  big[7] = 4;
  SamplingParams p;
  p.top_k = 2;
  Sampler s(p, 100000);
  std::set<int32_t> seen;
  for (int i = 0; i < 200; ++i) seen.insert(s.Sample(big.data(), {}));
  EXPECT_EQ(seen, (std::set<int32_t>{50000, 99999}));  // the two best, nothing else
  // Greedy: the first id holding the largest logit.
  SamplingParams g;
  g.temperature = 0;
  Sampler sg(g, 100000);
  EXPECT_EQ(sg.Sample(big.data(), {}), 50000);
  EXPECT_EQ(TopLogprobs(big.data(), 100000, 3)[2].first, 7);
  EXPECT_EQ(TopLogprobs(big.data(), 100000, 3)[0].first, 50000);
}

}  // namespace
}  // namespace hearth::engine
