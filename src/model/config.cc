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
  Status v = FinishConfig(f, *c);
  if (!v.ok()) return v.WithContext("reading " + arch + " hyperparameters");
  return c;
}

Status FinishConfig(const gguf::File& f, Config& c) {
  for (int il = 0; il < c.n_layer; ++il) {
    const LayerConfig& l = c.layers[il];
    const std::string where = "layer " + std::to_string(il) + ": ";
    if (l.n_head <= 0 || l.n_head_kv <= 0 || l.n_head % l.n_head_kv != 0)
      return InvalidArgumentError(where + "head counts " + std::to_string(l.n_head) + "/" +
                                  std::to_string(l.n_head_kv) + " are not a valid grouping");
    if (l.n_rot <= 0 || l.n_rot > l.head_dim || l.n_rot % 2)
      return InvalidArgumentError(where + "rotary dims " + std::to_string(l.n_rot) +
                                  " do not fit head dim " + std::to_string(l.head_dim));
  }
  const gguf::TensorInfo* emb = f.FindTensor("token_embd.weight");
  if (!emb) return NotFoundError("missing tensor 'token_embd.weight'");
  if (emb->ne[1] <= 0 || emb->ne[1] > (int64_t{1} << 24))
    return InvalidArgumentError("token_embd.weight has " + std::to_string(emb->ne[1]) + " rows");
  c.n_vocab = static_cast<int>(emb->ne[1]);
  return Status::Ok();
}

}  // namespace hearth::model
