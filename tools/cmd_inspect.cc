// hearth inspect: what a GGUF file is and what it needs to run at a given context.
#include <cstdio>
#include <map>
#include <memory>

#include <nlohmann/json.hpp>

#include "engine/memory.h"
#include "gguf/dump.h"
#include "gguf/file.h"
#include "model/config.h"
#include "tools/cli_common.h"

namespace hearth::cli {
namespace {

struct InspectOptions {
  std::string path;
  int64_t n_ctx = 0;
  int64_t n_batch = 512;
  std::string kv_type = "f16";
  bool tensors = false, keys = false, json = false;
};

Status Inspect(const InspectOptions& o) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> f, gguf::File::Open(o.path));
  std::map<std::string, std::pair<int64_t, int64_t>> by_type;  // type -> (count, bytes)
  int64_t weight_bytes = 0;
  for (const auto& t : f->tensors()) {
    auto& e = by_type[std::string(gguf::TypeName(t.type))];
    e.first++;
    e.second += static_cast<int64_t>(t.nbytes);
    weight_bytes += static_cast<int64_t>(t.nbytes);
  }
  const std::string arch = f->GetString("general.architecture").ok() ? *f->GetString("general.architecture") : "?";
  Result<model::Config> cfg = model::LoadConfig(*f);
  const model::KvType kv = o.kv_type == "q8_0" ? model::KvType::kQ8_0 : model::KvType::kF16;

  if (o.json) {
    nlohmann::json j;
    j["path"] = o.path;
    j["architecture"] = arch;
    j["file_bytes"] = f->total_bytes();
    j["tensor_bytes"] = weight_bytes;
    for (const auto& [name, e] : by_type) j["tensor_types"][name] = {{"count", e.first}, {"bytes", e.second}};
    if (cfg.ok()) {
      const model::Config& c = *cfg;
      const int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : c.n_ctx_train;
      engine::MemoryPlan p = engine::PlanMemory(*f, c, n_ctx, o.n_batch, kv);
      j["config"] = {{"n_layer", c.n_layer}, {"n_embd", c.n_embd}, {"n_vocab", c.n_vocab},
                     {"n_ctx_train", c.n_ctx_train}, {"n_swa", c.n_swa}, {"n_expert", c.n_expert},
                     {"n_pl", c.n_pl}};
      j["memory"] = {{"n_ctx", n_ctx}, {"weights", p.weights}, {"kv", p.kv}, {"compute", p.compute},
                     {"total", p.total()}, {"ram_available", p.ram_available},
                     {"ram_total", p.ram_total}, {"fits", p.fits()}};
    } else {
      j["config_error"] = cfg.status().message();
    }
    std::printf("%s\n", j.dump(2).c_str());
    return Status::Ok();
  }

  std::printf("%s\n", o.path.c_str());
  std::printf("  architecture  %s\n", arch.c_str());
  std::printf("  file size     %s (%s in %zu tensors)\n",
              engine::FormatBytes(static_cast<int64_t>(f->total_bytes())).c_str(),
              engine::FormatBytes(weight_bytes).c_str(), f->tensors().size());
  for (const auto& [name, e] : by_type)
    std::printf("    %-8s %5lld tensors  %s\n", name.c_str(), static_cast<long long>(e.first),
                engine::FormatBytes(e.second).c_str());
  if (o.keys || o.tensors) std::printf("%s", gguf::DescribeFile(*f, o.tensors).c_str());
  if (!cfg.ok()) {
    std::printf("  not runnable: %s\n", cfg.status().message().c_str());
    return Status::Ok();
  }
  const model::Config& c = *cfg;
  int n_sliding = 0, n_shared = 0, n_moe = 0;
  for (const auto& l : c.layers) {
    n_sliding += l.sliding;
    n_shared += !l.owns_kv();
    n_moe += l.moe;
  }
  std::printf("  layers        %d (%d sliding, window %d; %d KV-shared; %d MoE)\n", c.n_layer,
              n_sliding, c.n_swa, n_shared, n_moe);
  std::printf("  width         %d, vocab %d, trained context %d\n", c.n_embd, c.n_vocab, c.n_ctx_train);
  const int64_t n_ctx = o.n_ctx > 0 ? o.n_ctx : c.n_ctx_train;
  engine::MemoryPlan p = engine::PlanMemory(*f, c, n_ctx, o.n_batch, kv);
  std::printf("%s", p.Explain().c_str());
  return Status::Ok();
}

}  // namespace

void AddInspectCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand("inspect", "describe a GGUF file and the memory it needs");
  sub->add_option("model", o->path, "GGUF file")->required();
  sub->add_option("-c,--ctx", o->n_ctx, "context size for the memory plan (0: trained context)");
  sub->add_option("--kv-type", o->kv_type, "KV cache type: f16 or q8_0")->check(CLI::IsMember({"f16", "q8_0"}));
  sub->add_flag("--tensors", o->tensors, "list every tensor");
  sub->add_flag("--keys", o->keys, "list every metadata key");
  sub->add_flag("--json", o->json, "machine-readable output");
  sub->callback([o, exit_code] {
    Status s = Inspect(*o);
    if (!s.ok()) *exit_code = Fail(s);
  });
}

}  // namespace hearth::cli
