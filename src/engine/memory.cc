#include "engine/memory.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "gguf/file.h"
#include "model/model.h"

namespace hearth::engine {

std::string FormatBytes(int64_t b) {
  char buf[64];
  const double d = static_cast<double>(b);
  if (b >= (int64_t{1} << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", d / (1 << 30));
  else if (b >= (1 << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", d / (1 << 20));
  else if (b >= (1 << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", d / (1 << 10));
  else std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

SystemMemory ReadSystemMemory() {
  SystemMemory m;
  std::ifstream in("/proc/meminfo");
  std::string key;
  int64_t kb;
  std::string unit;
  while (in >> key >> kb) {
    std::getline(in, unit);
    if (key == "MemTotal:") m.total = kb * 1024;
    if (key == "MemAvailable:") m.available = kb * 1024;
  }
  return m;
}

MemoryPlan PlanMemory(const gguf::File& f, const model::Config& c, int64_t n_ctx, int64_t n_batch,
                      model::KvType kv_type) {
  MemoryPlan p;
  p.n_ctx = n_ctx;
  for (const auto& t : f.tensors()) p.weights += static_cast<int64_t>(t.nbytes);
  p.kv = model::KvCache::PlanBytes(c, n_ctx, std::min(n_batch, n_ctx), kv_type);
  p.compute = model::ForwardState::PlanBytes(c, std::min(n_batch, n_ctx)) +
              int64_t{c.n_vocab} * 4 * 2;  // logits + sampler copy
  SystemMemory m = ReadSystemMemory();
  p.ram_total = m.total;
  p.ram_available = m.available;
  return p;
}

std::string MemoryPlan::Explain() const {
  std::ostringstream os;
  os << "memory at a context of " << n_ctx << " tokens:\n"
     << "  weights           " << FormatBytes(weights) << "\n"
     << "  KV cache          " << FormatBytes(kv) << "\n"
     << "  compute buffers   " << FormatBytes(compute) << "\n"
     << "  total             " << FormatBytes(total()) << "\n"
     << "  RAM available     " << FormatBytes(ram_available) << " of " << FormatBytes(ram_total)
     << "\n";
  if (fits()) {
    os << "  fits, leaving " << FormatBytes(ram_available - total()) << "\n";
  } else {
    os << "  does NOT fit: short by " << FormatBytes(total() - ram_available)
       << "; use a smaller context (-c), a q8_0 KV cache (--kv-type q8_0) or a smaller quantization\n";
  }
  return os.str();
}

}  // namespace hearth::engine
