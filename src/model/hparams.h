// Small helpers shared by the per-architecture config loaders: typed GGUF key reads with the
// architecture prefix, and keys that may be a scalar or a per-layer array.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "gguf/file.h"

namespace hearth::model {

class HParams {
 public:
  HParams(const gguf::File& f, std::string prefix) : f_(f), prefix_(std::move(prefix)) {}
  std::string Key(const std::string& name) const { return prefix_ + "." + name; }
  bool Has(const std::string& name) const { return f_.Has(Key(name)); }
  Result<uint32_t> U32(const std::string& name) const { return f_.GetU32(Key(name)); }
  Result<uint32_t> U32Or(const std::string& name, uint32_t d) const { return f_.GetU32Or(Key(name), d); }
  Result<float> F32(const std::string& name) const { return f_.GetF32(Key(name)); }
  Result<float> F32Or(const std::string& name, float d) const { return f_.GetF32Or(Key(name), d); }

  // A key that is either a scalar (same for every layer) or an array of n_layer integers.
  Result<std::vector<int>> PerLayer(const std::string& name, int n_layer, bool required,
                                    int def = 0) const;
  // A bool array of n_layer entries.
  Result<std::vector<bool>> BoolPerLayer(const std::string& name, int n_layer) const;

 private:
  const gguf::File& f_;
  std::string prefix_;
};

struct Config;

// The keys every Gemma decoder has, read and range-checked: fills c.name, n_embd, n_layer and
// n_ctx_train, and returns the per-layer FFN widths and head counts (scalars or arrays).
struct CommonHParams {
  std::vector<int> n_ff, n_head, n_head_kv;
};
Result<CommonHParams> ReadCommonHParams(const gguf::File& f, const HParams& hp, Config& c);

// A positive value that fits the engine's int dimensions; errors name the key.
Status CheckDim(const std::string& key, int64_t v, int64_t max = int64_t{1} << 24);

}  // namespace hearth::model
