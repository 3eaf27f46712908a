// Memory planning: what a model needs at a given context (mapped weights, KV cache, activation
// buffers) against the RAM this machine has, so that `run`, `chat` and the server refuse to start
// what would not fit instead of being killed by the OOM killer.
#pragma once

#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/kv_cache.h"

namespace hearth::gguf {
class File;
}

namespace hearth::engine {

struct MemoryPlan {
  int64_t weights = 0;   // tensor bytes in the file (memory-mapped, used in place)
  int64_t kv = 0;        // KV cache at n_ctx
  int64_t compute = 0;   // activations, logits and scratch
  int64_t total() const { return weights + kv + compute; }
  int64_t ram_total = 0;      // MemTotal
  int64_t ram_available = 0;  // MemAvailable
  int64_t n_ctx = 0;
  bool fits() const { return total() <= ram_available; }
  std::string Explain() const;  // human-readable table with a verdict
};

struct SystemMemory {
  int64_t total = 0, available = 0;
};
SystemMemory ReadSystemMemory();  // from /proc/meminfo (0s if unreadable)

MemoryPlan PlanMemory(const gguf::File& f, const model::Config& c, int64_t n_ctx, int64_t n_batch,
                      model::KvType kv_type);

std::string FormatBytes(int64_t bytes);  // "1.23 GiB"

}  // namespace hearth::engine
