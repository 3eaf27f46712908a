// Measuring the engine against this machine's limits: prefill and decode tokens/s, the memory
// bandwidth a read-only stream achieves, and the decode roofline (decode tokens/s × bytes of
// weights read per token ÷ bandwidth). `hearth bench` prints these.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "model/model.h"

namespace hearth::engine {

// Bytes of weights one decode step reads: every matrix the forward pass multiplies by (the tied
// output projection reads the whole token embedding), only the used share of MoE experts, and not
// the embedding tables of which it reads one row (token_embd when not tied, per-layer embeddings).
int64_t DecodeBytesPerToken(const model::Model& m);

// Read-only streaming over `bytes` of memory with every thread of `pool` (each sums its own
// contiguous part), best of `reps` passes after one warm-up: GB/s (1e9 bytes per second).
double MeasureReadBandwidth(int64_t bytes, ThreadPool& pool, int reps = 3);

struct BenchOptions {
  int64_t n_prompt = 512;   // prefill tokens (0: skip)
  int64_t n_gen = 128;      // decode tokens (0: skip)
  int64_t n_batch = 512;
  int reps = 3;
  model::KvType kv_type = model::KvType::kF16;
  uint64_t seed = 1;        // for the random token ids
};

struct BenchResult {
  std::vector<double> pp_tokens_per_s;  // one per repetition
  std::vector<double> tg_tokens_per_s;
};

// Prefill of n_prompt random tokens into an empty context, then n_gen single-token decode steps
// from an empty context (as llama-bench does), `reps` times each.
Result<BenchResult> RunBench(const model::Model& m, const BenchOptions& o, ThreadPool& pool);

double Mean(const std::vector<double>& v);
double StdDev(const std::vector<double>& v);

}  // namespace hearth::engine
