#include "model/config.h"

#include <algorithm>

#include "gguf/file.h"

namespace hearth::model {

int Config::max_head_dim() const {
  int m = 0;
  for (const auto& l : layers) m = std::max(m, l.head_dim);
  return m;
}

int64_t Config::kv_bytes_per_token(int64_t bytes_per_elem_x2) const {
  int64_t total = 0;
  for (const auto& l : layers)
    if (l.owns_kv() && !l.sliding) total += int64_t{l.n_head_kv} * l.head_dim * bytes_per_elem_x2;
  return total;
}

Result<Config> LoadConfig(const gguf::File& f) {
  ASSIGN_OR_RETURN(std::string arch, f.GetString("general.architecture"));
  Result<Config> c = arch == "gemma3"   ? LoadGemma3Config(f)
                     : arch == "gemma4" ? LoadGemma4Config(f)
                                        : Result<Config>(UnimplementedError(
                                              "architecture '" + arch +
                                              "' is not supported (hearth runs gemma3 and gemma4)"));
  if (!c.ok()) return c.status().WithContext("reading " + arch + " hyperparameters");
  return c;
}

}  // namespace hearth::model
