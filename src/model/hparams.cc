#include "model/hparams.h"

#include <algorithm>

#include "model/config.h"

namespace hearth::model {

Status CheckDim(const std::string& key, int64_t v, int64_t max) {
  if (v <= 0 || v > max) {
    return InvalidArgumentError("key " + key + " = " + std::to_string(v) + " is out of range (1.." +
                                std::to_string(max) + ")");
  }
  return Status::Ok();
}

Result<CommonHParams> ReadCommonHParams(const gguf::File& f, const HParams& hp, Config& c) {
  if (auto name = f.GetString("general.name"); name.ok()) c.name = *name;
  ASSIGN_OR_RETURN(uint32_t n_embd, hp.U32("embedding_length"));
  ASSIGN_OR_RETURN(uint32_t n_layer, hp.U32("block_count"));
  ASSIGN_OR_RETURN(uint32_t n_ctx, hp.U32Or("context_length", 131072));
  TRY(CheckDim(hp.Key("embedding_length"), n_embd));
  TRY(CheckDim(hp.Key("block_count"), n_layer, 4096));
  c.n_embd = static_cast<int>(n_embd);
  c.n_layer = static_cast<int>(n_layer);
  c.n_ctx_train = static_cast<int>(std::min<uint32_t>(n_ctx, 1u << 30));
  CommonHParams h;
  ASSIGN_OR_RETURN(h.n_ff, hp.PerLayer("feed_forward_length", c.n_layer, true));
  ASSIGN_OR_RETURN(h.n_head, hp.PerLayer("attention.head_count", c.n_layer, true));
  ASSIGN_OR_RETURN(h.n_head_kv, hp.PerLayer("attention.head_count_kv", c.n_layer, false, h.n_head[0]));
  return h;
}

Result<std::vector<int>> HParams::PerLayer(const std::string& name, int n_layer, bool required,
                                           int def) const {
  const std::string key = Key(name);
  const gguf::Value* v = f_.Find(key);
  if (!v) {
    if (required) return NotFoundError("missing key " + key);
    return std::vector<int>(n_layer, def);
  }
  if (v->type != gguf::ValueType::kArray) {
    ASSIGN_OR_RETURN(uint32_t x, f_.GetU32(key));
    return std::vector<int>(n_layer, static_cast<int>(x));
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> arr, f_.GetIntArray(key));
  if (static_cast<int>(arr.size()) != n_layer) {
    return InvalidArgumentError("key " + key + " has " + std::to_string(arr.size()) +
                                " entries, expected one per layer (" + std::to_string(n_layer) + ")");
  }
  std::vector<int> out(n_layer);
  for (int i = 0; i < n_layer; ++i) {
    if (arr[i] < 0 || arr[i] > (1 << 24))
      return InvalidArgumentError("key " + key + "[" + std::to_string(i) + "] = " +
                                  std::to_string(arr[i]) + " is out of range");
    out[i] = static_cast<int>(arr[i]);
  }
  return out;
}

Result<std::vector<bool>> HParams::BoolPerLayer(const std::string& name, int n_layer) const {
  const std::string key = Key(name);
  ASSIGN_OR_RETURN(std::vector<bool> arr, f_.GetBoolArray(key));
  if (static_cast<int>(arr.size()) != n_layer) {
    return InvalidArgumentError("key " + key + " has " + std::to_string(arr.size()) +
                                " entries, expected one per layer (" + std::to_string(n_layer) + ")");
  }
  return arr;
}

}  // namespace hearth::model
