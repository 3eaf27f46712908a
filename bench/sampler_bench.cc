// The per-token cost of turning logits into a token over a Gemma-sized vocabulary (262 144): the
// sampler chain, the chosen token's log-probability with the distribution's entropy, and the
// top-k log-probabilities the API can ask for. At 30 decoded tokens/s a millisecond here is 3% of
// the decode time.
//   sampler_bench --benchmark_filter=Sample
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "engine/sampler.h"

namespace hearth::engine {
namespace {

constexpr int32_t kVocab = 262144;

const std::vector<float>& Logits() {
  static const std::vector<float> v = [] {
    std::mt19937 rng(3);
    std::normal_distribution<float> d(0.f, 3.f);
    std::vector<float> x(kVocab);
    for (auto& l : x) l = d(rng);
    return x;
  }();
  return v;
}

void BM_SampleGreedy(benchmark::State& state) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p, kVocab);
  const std::vector<int32_t> history(64, 7);
  for (auto _ : state) benchmark::DoNotOptimize(s.Sample(Logits().data(), history));
}
BENCHMARK(BM_SampleGreedy);

void BM_SampleTopK64TopP(benchmark::State& state) {
  SamplingParams p;  // Gemma's defaults: temperature 1, top_k 64, top_p 0.95
  Sampler s(p, kVocab);
  const std::vector<int32_t> history(64, 7);
  for (auto _ : state) benchmark::DoNotOptimize(s.Sample(Logits().data(), history));
}
BENCHMARK(BM_SampleTopK64TopP);

void BM_SampleWithPenalties(benchmark::State& state) {
  SamplingParams p;
  p.repeat_penalty = 1.1f;
  p.presence_penalty = 0.5f;
  Sampler s(p, kVocab);
  std::vector<int32_t> history(64);
  for (int i = 0; i < 64; ++i) history[i] = i * 97;
  for (auto _ : state) benchmark::DoNotOptimize(s.Sample(Logits().data(), history));
}
BENCHMARK(BM_SampleWithPenalties);

void BM_LogprobAndEntropy(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(LogprobAndEntropy(Logits().data(), kVocab, 5));
  state.SetBytesProcessed(int64_t{state.iterations()} * kVocab * 4);
}
BENCHMARK(BM_LogprobAndEntropy);

void BM_TopLogprobs20(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(TopLogprobs(Logits().data(), kVocab, 20));
}
BENCHMARK(BM_TopLogprobs20);

}  // namespace
}  // namespace hearth::engine
