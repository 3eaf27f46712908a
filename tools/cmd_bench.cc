// hearth bench: prefill and decode speed of a model on this machine, with the memory-bandwidth
// probe and the decode roofline, in the shape of llama-bench's pp/tg figures.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "engine/bench.h"
#include "engine/memory.h"
#include "tools/cli_common.h"

namespace hearth::cli {

namespace {

struct BenchCmd {
  ModelOptions model;
  int64_t n_prompt = 512, n_gen = 128;
  int reps = 3;
  std::string probe = "1G";
  bool json = false;
};

Status Bench(BenchCmd& o) {
  ASSIGN_OR_RETURN(model::KvType kv_type, o.model.KvType());
  ASSIGN_OR_RETURN(int64_t probe_bytes, ParseBytes(o.probe));
  ASSIGN_OR_RETURN(engine::LoadedModel lm, engine::LoadModel(o.model.model_path, {.mmap = o.model.mmap}));
  const int threads = o.model.threads > 0 ? o.model.threads : ThreadPool::DefaultThreads();
  ThreadPool pool(threads);
  engine::BenchOptions bo;
  bo.n_prompt = o.n_prompt;
  bo.n_gen = o.n_gen;
  bo.n_batch = o.model.n_batch;
  bo.reps = o.reps;
  bo.kv_type = kv_type;
  if (!o.json)
    std::fprintf(stderr, "hearth bench: %s, %d threads, pp %lld, tg %lld, %d reps\n",
                 o.model.model_path.c_str(), threads, static_cast<long long>(o.n_prompt),
                 static_cast<long long>(o.n_gen), o.reps);
  ASSIGN_OR_RETURN(engine::BenchResult r, engine::RunBench(*lm.model, bo, pool));
  // The probe runs after the model (so the weights are not evicted before it runs) over a buffer
  // far larger than any last-level cache.
  const double bw = engine::MeasureReadBandwidth(probe_bytes, pool);
  const int64_t bytes_per_token = engine::DecodeBytesPerToken(*lm.model);
  const double tg = engine::Mean(r.tg_tokens_per_s), pp = engine::Mean(r.pp_tokens_per_s);
  const double roofline = bw > 0 ? tg * static_cast<double>(bytes_per_token) / (bw * 1e9) : 0;

  if (o.json) {
    nlohmann::json j = {
        {"model", o.model.model_path},
        {"threads", threads},
        {"n_prompt", o.n_prompt},
        {"n_gen", o.n_gen},
        {"n_batch", o.model.n_batch},
        {"reps", o.reps},
        {"kv_type", o.model.kv_type},
        {"mmap", o.model.mmap},
        {"pp_tokens_per_s", pp},
        {"pp_tokens_per_s_stddev", engine::StdDev(r.pp_tokens_per_s)},
        {"pp_tokens_per_s_runs", r.pp_tokens_per_s},
        {"tg_tokens_per_s", tg},
        {"tg_tokens_per_s_stddev", engine::StdDev(r.tg_tokens_per_s)},
        {"tg_tokens_per_s_runs", r.tg_tokens_per_s},
        {"bandwidth_gb_per_s", bw},
        {"bandwidth_probe_bytes", probe_bytes},
        {"decode_bytes_per_token", bytes_per_token},
        {"decode_roofline_fraction", roofline},
    };
    std::printf("%s\n", j.dump().c_str());
    return Status::Ok();
  }
  std::printf("%-10s %14s %10s\n", "test", "tokens/s", "± stddev");
  if (o.n_prompt > 0)
    std::printf("pp%-8lld %14.2f %10.2f\n", static_cast<long long>(o.n_prompt), pp,
                engine::StdDev(r.pp_tokens_per_s));
  if (o.n_gen > 0)
    std::printf("tg%-8lld %14.2f %10.2f\n", static_cast<long long>(o.n_gen), tg,
                engine::StdDev(r.tg_tokens_per_s));
  std::printf("memory bandwidth (read, %d threads): %.1f GB/s\n", threads, bw);
  std::printf("weights read per decoded token: %s\n", engine::FormatBytes(bytes_per_token).c_str());
  if (o.n_gen > 0)
    std::printf("decode roofline: %.1f%% of the bandwidth limit (%.1f tokens/s at %.1f GB/s)\n",
                100 * roofline, bw * 1e9 / static_cast<double>(bytes_per_token), bw);
  return Status::Ok();
}

}  // namespace

void AddBenchCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<BenchCmd>();
  CLI::App* sub = app.add_subcommand("bench", "prefill/decode speed, memory bandwidth, decode roofline");
  sub->add_option("-m,--model", o->model.model_path, "GGUF model")->required();
  sub->add_option("-p,--n-prompt", o->n_prompt, "prefill tokens (0: skip)");
  sub->add_option("-n,--n-gen", o->n_gen, "decode tokens (0: skip)");
  sub->add_option("-t,--threads", o->model.threads, "threads (0: physical cores)");
  sub->add_option("-b,--batch", o->model.n_batch, "prefill micro-batch");
  sub->add_option("-r,--reps", o->reps, "repetitions (mean and spread are reported)");
  sub->add_option("--kv-type", o->model.kv_type, "KV cache type: f16 or q8_0");
  sub->add_option("--probe", o->probe, "bandwidth probe buffer size (e.g. 1G)");
  sub->add_flag("--mmap", o->model.mmap, kMmapHelp);
  sub->add_flag("--json", o->json, "one JSON object");
  sub->callback([o, exit_code] {
    Status s = Bench(*o);
    if (!s.ok()) *exit_code = Fail(s);
  });
}

}  // namespace hearth::cli
