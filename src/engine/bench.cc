#include "engine/bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <numeric>
#include <random>

#include "engine/loader.h"
#include "engine/session.h"

namespace hearth::engine {

namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace

int64_t DecodeBytesPerToken(const model::Model& m) {
  const model::Config& c = m.config();
  const bool tied = m.weights().output.data == nullptr;
  double bytes = 0;
  for (const auto& t : m.file().tensors()) {
    if (t.n_dims < 2) {
      bytes += static_cast<double>(t.nbytes);  // norms, scales: read every step
      continue;
    }
    if (t.name == "token_embd.weight") {
      if (tied) bytes += static_cast<double>(t.nbytes);  // the LM head reads all of it
      continue;
    }
    if (ReadOneRowPerToken(t)) continue;
    if (t.name.find("_exps") != std::string::npos && c.n_expert > 0) {
      bytes += static_cast<double>(t.nbytes) * c.n_expert_used / c.n_expert;
      continue;
    }
    bytes += static_cast<double>(t.nbytes);
  }
  return static_cast<int64_t>(bytes);
}

double MeasureReadBandwidth(int64_t bytes, ThreadPool& pool, int reps) {
  const int64_t n = std::max<int64_t>(bytes / 8, 1 << 20);
  std::unique_ptr<uint64_t[]> buf(new uint64_t[n]);
  // Touch every page (and give the values something to sum) in parallel, so first-touch places
  // each thread's part near it.
  pool.ParallelFor(n, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) buf[i] = static_cast<uint64_t>(i);
  });
  std::vector<uint64_t> sums(pool.size());
  double best = 0;
  for (int r = 0; r <= reps; ++r) {
    const auto t0 = Clock::now();
    pool.ParallelFor(n, [&](int64_t b, int64_t e, int t) {
      // Four independent accumulators keep the loads in flight; the compiler vectorises this.
      uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      int64_t i = b;
      for (; i + 4 <= e; i += 4) {
        s0 += buf[i];
        s1 += buf[i + 1];
        s2 += buf[i + 2];
        s3 += buf[i + 3];
      }
      for (; i < e; ++i) s0 += buf[i];
      sums[t] += s0 + s1 + s2 + s3;
    }, 4096);
    const double s = Seconds(t0, Clock::now());
    if (r > 0) best = std::max(best, static_cast<double>(n) * 8 / s / 1e9);  // r == 0: warm-up
  }
  // Use the sums so the reads cannot be optimised away.
  volatile uint64_t sink = std::accumulate(sums.begin(), sums.end(), uint64_t{0});
  (void)sink;
  return best;
}

Result<BenchResult> RunBench(const model::Model& m, const BenchOptions& o, ThreadPool& pool) {
  if (o.n_prompt < 0 || o.n_gen < 0 || o.reps < 1)
    return InvalidArgumentError("prompt and generation lengths must be >= 0 and reps >= 1");
  const model::Config& c = m.config();
  const int64_t n_ctx = std::max<int64_t>(o.n_prompt, o.n_gen + 1) + 16;
  ASSIGN_OR_RETURN(std::unique_ptr<Session> s,
                   Session::Create(m, {.n_ctx = n_ctx, .n_batch = o.n_batch, .kv_type = o.kv_type},
                                   pool));
  // Random ids from the ordinary part of the vocabulary (past the first special ids).
  std::mt19937_64 rng(o.seed);
  const int32_t lo = std::min(c.n_vocab - 1, 1000);
  std::uniform_int_distribution<int32_t> pick(lo, c.n_vocab - 1);
  std::vector<int32_t> prompt(o.n_prompt);
  for (auto& id : prompt) id = pick(rng);

  BenchResult r;
  // One untimed pass of each pages the weights in.
  for (int rep = -1; rep < o.reps; ++rep) {
    if (o.n_prompt > 0) {
      TRY(s->Truncate(0));
      const auto t0 = Clock::now();
      TRY(s->Feed(prompt));
      const double sec = Seconds(t0, Clock::now());
      if (rep >= 0) r.pp_tokens_per_s.push_back(o.n_prompt / sec);
    }
    if (o.n_gen > 0) {
      TRY(s->Truncate(0));
      const int32_t first = pick(rng);
      const auto t0 = Clock::now();
      int32_t id = first;
      for (int64_t i = 0; i < o.n_gen; ++i) {
        TRY(s->Feed(std::span<const int32_t>(&id, 1)));
        id = pick(rng);
      }
      const double sec = Seconds(t0, Clock::now());
      if (rep >= 0) r.tg_tokens_per_s.push_back(o.n_gen / sec);
    }
    if (rep < 0 && o.n_prompt == 0 && o.n_gen == 0) break;
  }
  return r;
}

double Mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  return std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}

double StdDev(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = Mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return std::sqrt(ss / (v.size() - 1));
}

}  // namespace hearth::engine
