// Kernel micro-benchmarks: MatMul weight throughput (GB/s of weight bytes streamed, GFLOP/s) per
// weight type and shape, and single-row VecDot of the dispatched vs the reference kernels.
//   kernels_bench --benchmark_filter=MatMul/Q4_0
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/impl.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"

namespace hearth::kernels {
namespace {

using T = TensorType;

std::vector<float> Gaussian(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// A rows × cols weight matrix of type t (rows quantized one by one, as a converter would).
std::vector<uint8_t> MakeWeights(T t, int64_t rows, int64_t cols) {
  const int64_t rb = RowBytes(t, cols);
  std::vector<uint8_t> bytes(rows * rb);
  const auto row = Gaussian(cols, 1);
  QuantizeRow(t, row.data(), bytes.data(), cols);
  for (int64_t r = 1; r < rows; ++r) std::memcpy(bytes.data() + r * rb, bytes.data(), rb);
  return bytes;
}

ThreadPool& Pool() {
  static ThreadPool pool(ThreadPool::DefaultThreads());
  return pool;
}

// `interleave`: in the 16-row interleaved layout, as the engine loads Q4_0, Q5_0 and Q8_0 on CPUs
// with its kernel.
void BM_MatMul(benchmark::State& state, T type, bool interleave = false) {
  const int64_t rows = state.range(0), cols = state.range(1), n_tok = state.range(2);
  auto bytes = MakeWeights(type, rows, cols);
  Matrix w{type, bytes.data(), cols, rows, RowBytes(type, cols)};
  if (interleave) {
    if (!CanInterleave(w)) {
      state.SkipWithError("no kernel for the interleaved layout on this CPU");
      return;
    }
    Interleave(w, bytes.data());
  }
  const auto x = Gaussian(n_tok * cols, 2);
  std::vector<float> y(n_tok * rows);
  Workspace ws;
  for (auto _ : state) {
    MatMul(w, x.data(), n_tok, y.data(), Pool(), ws);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * rows * cols * n_tok * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["threads"] = Pool().size();
}

void MatMulArgs(benchmark::internal::Benchmark* b) {
  for (int64_t rows : {2048, 8192}) {
    for (int64_t n_tok : {1, 64}) b->Args({rows, 2048, n_tok});
  }
  b->Args({40960, 2560, 1});
  b->ArgNames({"rows", "cols", "n_tok"})->UseRealTime()->Unit(benchmark::kMicrosecond);
}

BENCHMARK_CAPTURE(BM_MatMul, Q4_0, T::kQ4_0)->Apply(MatMulArgs);
BENCHMARK_CAPTURE(BM_MatMul, Q4_0x16, T::kQ4_0, true)->Apply(MatMulArgs);
BENCHMARK_CAPTURE(BM_MatMul, Q5_0, T::kQ5_0)->Apply(MatMulArgs);
BENCHMARK_CAPTURE(BM_MatMul, Q5_0x16, T::kQ5_0, true)->Apply(MatMulArgs);
BENCHMARK_CAPTURE(BM_MatMul, Q8_0, T::kQ8_0)->Apply(MatMulArgs);
BENCHMARK_CAPTURE(BM_MatMul, Q8_0x16, T::kQ8_0, true)->Apply(MatMulArgs);
BENCHMARK_CAPTURE(BM_MatMul, Q4_K, T::kQ4_K)->Apply(MatMulArgs);
BENCHMARK_CAPTURE(BM_MatMul, Q6_K, T::kQ6_K)->Apply(MatMulArgs);
BENCHMARK_CAPTURE(BM_MatMul, F16, T::kF16)->Apply(MatMulArgs);

// The inner kernels of a prefill MatMul on one thread, with everything in cache: 16 weight rows of
// `cols` against 64 tokens, by the packed many-token kernel (here Q4_0 / Q8_0, with AVX-512 VNNI)
// and by the four-token kernel the types without a packed one use. GFLOP/s counts 2 per weight-activation product.
void BM_Tile(benchmark::State& state, T type, bool packed) {
  const int64_t rows = 16, cols = state.range(0), n_tok = 64;
  const auto bytes = MakeWeights(type, rows, cols);
  const int64_t rb = RowBytes(type, cols), ab = RowBytes(VecDotType(type), cols);
  const PackedPath path = BestPackedPath(type, n_tok);
  const VecDot4Fn dot4 = BestVecDot4(type);
  if (packed ? path.dot == nullptr : dot4 == nullptr) {
    state.SkipWithError("no such kernel for this type on this CPU");
    return;
  }
  const auto x = Gaussian(n_tok * cols, 5);
  std::vector<uint8_t> act(n_tok * ab);
  const int64_t pstride = packed ? path.bytes(type, path.one_token, cols) : 0;
  std::vector<uint8_t> pk(n_tok * pstride);
  for (int64_t t = 0; t < n_tok; ++t) {
    QuantizeActivations(type, x.data() + t * cols, act.data() + t * ab, cols);
    if (packed) path.pack(act.data() + t * ab, cols, pk.data() + t * pstride);
  }
  std::vector<float> y(n_tok * rows);
  for (auto _ : state) {
    if (packed) {
      path.dot(bytes.data(), rb, rows, pk.data(), pstride, n_tok, cols, y.data(), rows);
    } else {
      float out[4];
      for (int64_t t = 0; t < n_tok; t += 4) {
        for (int64_t r = 0; r < rows; ++r) {
          dot4(bytes.data() + r * rb, act.data() + t * ab, ab, cols, out);
          for (int k = 0; k < 4; ++k) y[(t + k) * rows + r] = out[k];
        }
      }
    }
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(
      2.0 * rows * cols * n_tok * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK_CAPTURE(BM_Tile, Q4_0_packed, T::kQ4_0, true)->Arg(1152)->Arg(6912);
BENCHMARK_CAPTURE(BM_Tile, Q4_0_four, T::kQ4_0, false)->Arg(1152)->Arg(6912);
BENCHMARK_CAPTURE(BM_Tile, Q8_0_packed, T::kQ8_0, true)->Arg(1152)->Arg(6912);
BENCHMARK_CAPTURE(BM_Tile, Q8_0_four, T::kQ8_0, false)->Arg(1152)->Arg(6912);

// One row of 4096 against its activations: the dispatched kernel (SIMD where available) and the
// scalar reference.
void BM_VecDot(benchmark::State& state, T type, bool reference) {
  const int64_t n = 4096;
  const auto w = MakeWeights(type, 1, n);
  const auto xf = Gaussian(n, 3);
  std::vector<uint8_t> act(RowBytes(VecDotType(type), n));
  QuantizeActivations(type, xf.data(), act.data(), n);
  const VecDotFn fn = reference ? ref::VecDot(type) : BestVecDot(type);
  for (auto _ : state) benchmark::DoNotOptimize(fn(w.data(), act.data(), n));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(w.size()));
}

#define HEARTH_VECDOT_BENCH(name)                                             \
  BENCHMARK_CAPTURE(BM_VecDot, name##_best, T::k##name, false);               \
  BENCHMARK_CAPTURE(BM_VecDot, name##_ref, T::k##name, true)

HEARTH_VECDOT_BENCH(F32);
HEARTH_VECDOT_BENCH(F16);
HEARTH_VECDOT_BENCH(BF16);
HEARTH_VECDOT_BENCH(Q8_0);
HEARTH_VECDOT_BENCH(Q4_0);
HEARTH_VECDOT_BENCH(Q4_1);
HEARTH_VECDOT_BENCH(Q5_0);
HEARTH_VECDOT_BENCH(Q5_1);
HEARTH_VECDOT_BENCH(IQ4_NL);
HEARTH_VECDOT_BENCH(MXFP4);
HEARTH_VECDOT_BENCH(Q2_K);
HEARTH_VECDOT_BENCH(Q3_K);
HEARTH_VECDOT_BENCH(Q4_K);
HEARTH_VECDOT_BENCH(Q5_K);
HEARTH_VECDOT_BENCH(Q6_K);
HEARTH_VECDOT_BENCH(IQ4_XS);

// Activation conversion of one 2048-wide row to each vec-dot type.
void BM_QuantizeActivations(benchmark::State& state, T type) {
  const int64_t n = 2048;
  const auto x = Gaussian(n, 4);
  std::vector<uint8_t> act(RowBytes(VecDotType(type), n));
  for (auto _ : state) {
    QuantizeActivations(type, x.data(), act.data(), n);
    benchmark::DoNotOptimize(act.data());
  }
}
BENCHMARK_CAPTURE(BM_QuantizeActivations, Q8_0, T::kQ8_0);
BENCHMARK_CAPTURE(BM_QuantizeActivations, Q8_1, T::kQ4_1);
BENCHMARK_CAPTURE(BM_QuantizeActivations, Q8_K, T::kQ4_K);
BENCHMARK_CAPTURE(BM_QuantizeActivations, F16, T::kF16);

}  // namespace
}  // namespace hearth::kernels
