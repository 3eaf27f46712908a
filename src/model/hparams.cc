#include "model/hparams.h"

namespace hearth::model {

Status CheckDim(const std::string& key, int64_t v, int64_t max) {
  if (v <= 0 || v > max) {
    return InvalidArgumentError("key " + key + " = " + std::to_string(v) + " is out of range (1.." +
                                std::to_string(max) + ")");
  }
  return Status::Ok();
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
