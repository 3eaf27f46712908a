// ModelManager: the ModelHost over GGUF files on this machine — the model given with -m and every
// *.gguf in a models directory — loading each on demand (after the engine core's memory check)
// and unloading it after its keep-alive once no request uses it.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "engine/session.h"
#include "server/model_host.h"

namespace hearth::server {

struct ModelManagerOptions {
  std::string model_path;          // -m: the default model (may be empty when models_dir is set)
  std::string mmproj_path;         // --mmproj for the default model
  std::string models_dir;          // every *.gguf here (mmproj-*.gguf files are projectors, not
                                   // models; "<name>.mmproj.gguf" or "mmproj-<name>.gguf" pairs up)
  int64_t n_ctx = 8192;            // context per sequence (clamped to the model's training context)
  int parallel = 4;                // sequences decoded together (continuous batching)
  int max_queue = 64;              // requests waiting for a sequence; more get kUnavailable
  int64_t n_batch = 512;           // prefill micro-batch
  int threads = 0;                 // 0: physical cores
  model::KvType kv_type = model::KvType::kF16;
  double keep_alive_s = 300;       // default idle time before unloading (< 0: never)
  int64_t max_memory_bytes = 0;    // memory budget for the check (0: MemAvailable)
  bool ignore_memory_check = false;
  bool load_default_now = true;    // load -m in the background at start (Ready() turns true then)
  bool allow_remote_media = false; // fetch http(s) media URLs in requests (off: refused)
  bool mmap = false;               // keep weights in the file mapping (engine::LoadOptions::mmap)
};

Result<std::unique_ptr<ModelHost>> CreateModelManager(const ModelManagerOptions& options);

}  // namespace hearth::server
