// Hyperparameters from GGUF keys: gemma-gguf-spec.md §3.1 (gemma3), §5.2 (gemma4), §8 (EOG).
#include <cmath>

#include "reference/model.h"

namespace hearth::reference {
namespace {

class Keys {
 public:
  Keys(const GgufFile& file, std::string arch) : file_(file), arch_(std::move(arch)) {}

  const GgufValue* Find(const std::string& name) const { return file_.Find(arch_ + "." + name); }

  Result<const GgufValue*> Numeric(const std::string& name) const {
    const GgufValue* v = Find(name);
    if (v == nullptr) return NotFoundError("missing key " + arch_ + "." + name);
    if (!v->IsNumeric()) return InvalidArgumentError("key " + arch_ + "." + name + " not a number");
    return v;
  }
  Result<int64_t> Int(const std::string& name) const {
    ASSIGN_OR_RETURN(const GgufValue* v, Numeric(name));
    return v->integer;
  }
  Result<int64_t> IntOr(const std::string& name, int64_t fallback) const {
    if (Find(name) == nullptr) return fallback;
    return Int(name);
  }
  Result<double> FloatOr(const std::string& name, double fallback) const {
    if (Find(name) == nullptr) return fallback;
    ASSIGN_OR_RETURN(const GgufValue* v, Numeric(name));
    return v->number;
  }
  // A scalar repeated n times, or an array of exactly n numbers.
  Result<std::vector<int64_t>> PerLayer(const std::string& name, int n, bool required,
                                        int64_t fallback) const {
    const GgufValue* v = Find(name);
    if (v == nullptr) {
      if (required) return NotFoundError("missing key " + arch_ + "." + name);
      return std::vector<int64_t>(n, fallback);
    }
    if (v->IsNumeric()) return std::vector<int64_t>(n, v->integer);
    if (v->type != kGgufArray || v->array_type == kGgufString ||
        static_cast<int>(v->array.size()) != n) {
      return InvalidArgumentError("key " + arch_ + "." + name +
                                  " must be a number or an array of " + std::to_string(n) +
                                  " numbers");
    }
    std::vector<int64_t> out;
    for (const GgufValue& e : v->array) out.push_back(e.integer);
    return out;
  }

 private:
  const GgufFile& file_;
  std::string arch_;
};

Status CheckPositive(int64_t v, const std::string& what) {
  if (v <= 0 || v > (1 << 24)) {
    return InvalidArgumentError(what + " out of range: " + std::to_string(v));
  }
  return Status::Ok();
}

Status ReadGemma3(const Keys& k, Config& c) {
  const int n = c.n_layer;
  ASSIGN_OR_RETURN(std::vector<int64_t> n_ff, k.PerLayer("feed_forward_length", n, true, 0));
  ASSIGN_OR_RETURN(std::vector<int64_t> n_head, k.PerLayer("attention.head_count", n, true, 0));
  ASSIGN_OR_RETURN(std::vector<int64_t> n_kv,
                   k.PerLayer("attention.head_count_kv", n, false, n_head[0]));
  TRY(CheckPositive(n_head[0], "head_count"));
  ASSIGN_OR_RETURN(int64_t hd, k.IntOr("attention.key_length", c.n_embd / n_head[0]));
  ASSIGN_OR_RETURN(int64_t hd_v, k.IntOr("attention.value_length", hd));
  if (hd != hd_v) return UnimplementedError("gemma3 key_length != value_length");
  ASSIGN_OR_RETURN(int64_t n_swa, k.IntOr("attention.sliding_window", 0));
  ASSIGN_OR_RETURN(double base, k.FloatOr("rope.freq_base", 10000.0));
  ASSIGN_OR_RETURN(double base_swa, k.FloatOr("rope.freq_base_swa", 10000.0));
  ASSIGN_OR_RETURN(double factor, k.FloatOr("rope.scaling.factor", 0.0));
  if (const GgufValue* t = k.Find("rope.scaling.type")) {
    if (t->str != "linear" && t->str != "none") {
      return UnimplementedError("gemma3 rope.scaling.type " + t->str);
    }
  }
  ASSIGN_OR_RETURN(c.softcap, k.FloatOr("final_logit_softcapping", 0.0));
  c.n_swa = static_cast<int>(n_swa);
  // §3.1: layer il is sliding iff il mod P < P - 1 (P = sliding_window_pattern, default 6);
  // an array-valued pattern is taken as the per-layer flags.
  std::vector<bool> sliding(n, false);
  if (n_swa > 0) {
    const GgufValue* p = k.Find("attention.sliding_window_pattern");
    if (p != nullptr && p->type == kGgufArray) {
      if (static_cast<int>(p->array.size()) != n) {
        return InvalidArgumentError("sliding_window_pattern array length != block_count");
      }
      for (int il = 0; il < n; ++il) sliding[il] = p->array[il].integer != 0;
    } else {
      ASSIGN_OR_RETURN(int64_t period, k.IntOr("attention.sliding_window_pattern", 6));
      TRY(CheckPositive(period, "sliding_window_pattern"));
      for (int il = 0; il < n; ++il) sliding[il] = il % period < period - 1;
    }
  }
  // §3.1: the 62-layer 27B uses 1/sqrt(n_embd / n_head) (integer division), others 1/sqrt(hd).
  c.attn_q_scale = n == 62 ? 1.0 / std::sqrt(static_cast<double>(c.n_embd / n_head[0]))
                           : 1.0 / std::sqrt(static_cast<double>(hd));
  for (int il = 0; il < n; ++il) {
    LayerConfig& l = c.layers[il];
    l.sliding = sliding[il];
    l.n_head = static_cast<int>(n_head[il]);
    l.n_head_kv = static_cast<int>(n_kv[il]);
    l.head_dim = static_cast<int>(hd);
    l.n_ff = static_cast<int>(n_ff[il]);
    l.n_rot = static_cast<int>(hd);
    l.rope_base = l.sliding ? base_swa : base;
    l.rope_scale = (!l.sliding && factor != 0.0) ? 1.0 / factor : 1.0;
    l.kv_source = il;
  }
  return Status::Ok();
}

Status ReadGemma4(const Keys& k, Config& c) {
  const int n = c.n_layer;
  ASSIGN_OR_RETURN(std::vector<int64_t> n_ff, k.PerLayer("feed_forward_length", n, true, 0));
  ASSIGN_OR_RETURN(std::vector<int64_t> n_head, k.PerLayer("attention.head_count", n, true, 0));
  ASSIGN_OR_RETURN(std::vector<int64_t> n_kv,
                   k.PerLayer("attention.head_count_kv", n, false, n_head[0]));
  ASSIGN_OR_RETURN(int64_t hd_full, k.Int("attention.key_length"));
  ASSIGN_OR_RETURN(int64_t hd_full_v, k.IntOr("attention.value_length", hd_full));
  ASSIGN_OR_RETURN(int64_t hd_swa, k.Int("attention.key_length_swa"));
  ASSIGN_OR_RETURN(int64_t hd_swa_v, k.IntOr("attention.value_length_swa", hd_swa));
  if (hd_full != hd_full_v || hd_swa != hd_swa_v) {
    return InvalidArgumentError("gemma4 key and value lengths must be equal");
  }
  ASSIGN_OR_RETURN(int64_t n_swa, k.Int("attention.sliding_window"));
  const GgufValue* pattern = k.Find("attention.sliding_window_pattern");
  if (pattern == nullptr || pattern->type != kGgufArray ||
      static_cast<int>(pattern->array.size()) != n) {
    return InvalidArgumentError("gemma4.attention.sliding_window_pattern must be an array of " +
                                std::to_string(n) + " bools");
  }
  ASSIGN_OR_RETURN(int64_t shared, k.IntOr("attention.shared_kv_layers", 0));
  ASSIGN_OR_RETURN(int64_t n_pl, k.Int("embedding_length_per_layer_input"));
  ASSIGN_OR_RETURN(double base, k.FloatOr("rope.freq_base", 10000.0));
  ASSIGN_OR_RETURN(double base_swa, k.FloatOr("rope.freq_base_swa", 10000.0));
  ASSIGN_OR_RETURN(int64_t n_rot, k.IntOr("rope.dimension_count", hd_full));
  ASSIGN_OR_RETURN(int64_t n_rot_swa, k.IntOr("rope.dimension_count_swa", n_rot));
  ASSIGN_OR_RETURN(int64_t n_expert, k.IntOr("expert_count", 0));
  ASSIGN_OR_RETURN(int64_t n_expert_used, k.IntOr("expert_used_count", 0));
  ASSIGN_OR_RETURN(int64_t n_ff_exp, k.IntOr("expert_feed_forward_length", 0));
  ASSIGN_OR_RETURN(c.softcap, k.FloatOr("final_logit_softcapping", 30.0));
  c.n_swa = static_cast<int>(n_swa);
  c.n_pl = static_cast<int>(n_pl);
  c.n_expert = static_cast<int>(n_expert);
  c.n_expert_used = static_cast<int>(n_expert_used);
  c.n_ff_exp = static_cast<int>(n_ff_exp);
  c.attn_q_scale = 1.0;  // §5.2: f_attention_scale fixed to 1
  c.v_norm = true;
  // §5.5: layers from n_kv_from_start on reuse layer n_kv_from_start-2 (sliding) or -1 (full).
  const int kv_from_start = n - static_cast<int>(shared);
  if (shared < 0 || (shared > 0 && kv_from_start < 2)) {
    return InvalidArgumentError("bad shared_kv_layers " + std::to_string(shared));
  }
  for (int il = 0; il < n; ++il) {
    LayerConfig& l = c.layers[il];
    l.sliding = pattern->array[il].integer != 0;
    l.n_head = static_cast<int>(n_head[il]);
    l.head_dim = static_cast<int>(l.sliding ? hd_swa : hd_full);
    l.n_ff = static_cast<int>(n_ff[il]);
    l.n_rot = static_cast<int>(l.sliding ? n_rot_swa : n_rot);
    l.rope_base = l.sliding ? base_swa : base;
    l.rope_scale = 1.0;
    l.use_rope_freqs = !l.sliding;
    l.kv_source = il < kv_from_start ? il : (l.sliding ? kv_from_start - 2 : kv_from_start - 1);
    if (c.layers[l.kv_source].sliding != l.sliding && l.kv_source != il) {
      return InvalidArgumentError("KV-shared layer " + std::to_string(il) + " reads layer " +
                                  std::to_string(l.kv_source) + " of the other attention type");
    }
    l.n_head_kv = static_cast<int>(n_kv[l.kv_source]);
    if (l.n_rot <= 0 || l.n_rot > l.head_dim || l.n_rot % 2 != 0) {
      return InvalidArgumentError("layer " + std::to_string(il) + ": rotary dims " +
                                  std::to_string(l.n_rot) + " vs head dim " +
                                  std::to_string(l.head_dim));
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Config> ReadConfig(const GgufFile& file) {
  const GgufValue* arch = file.Find("general.architecture");
  if (arch == nullptr || arch->type != kGgufString) {
    return InvalidArgumentError("missing general.architecture");
  }
  Config c;
  c.arch = arch->str;
  if (c.arch != "gemma3" && c.arch != "gemma4") {
    return UnimplementedError("architecture '" + c.arch + "' is not supported (gemma3, gemma4)");
  }
  Keys k(file, c.arch);
  ASSIGN_OR_RETURN(int64_t n_embd, k.Int("embedding_length"));
  ASSIGN_OR_RETURN(int64_t n_layer, k.Int("block_count"));
  TRY(CheckPositive(n_embd, "embedding_length"));
  TRY(CheckPositive(n_layer, "block_count"));
  c.n_embd = static_cast<int>(n_embd);
  c.n_layer = static_cast<int>(n_layer);
  ASSIGN_OR_RETURN(const GgufValue* eps, k.Numeric("attention.layer_norm_rms_epsilon"));
  c.eps = eps->number;
  c.layers.resize(c.n_layer);
  TRY(c.arch == "gemma3" ? ReadGemma3(k, c) : ReadGemma4(k, c));
  for (int il = 0; il < c.n_layer; ++il) {
    const LayerConfig& l = c.layers[il];
    const std::string at = "layer " + std::to_string(il) + ": ";
    TRY(CheckPositive(l.n_head, at + "head_count"));
    TRY(CheckPositive(l.n_head_kv, at + "head_count_kv"));
    TRY(CheckPositive(l.head_dim, at + "head dim"));
    TRY(CheckPositive(l.n_ff, at + "feed_forward_length"));
    if (l.n_head % l.n_head_kv != 0) {
      return InvalidArgumentError(at + "head_count not a multiple of head_count_kv");
    }
  }
  return c;
}

std::set<int> EndOfGenerationIds(const GgufFile& file, const std::string& arch) {
  std::set<int> ids;
  const GgufValue* tokens = file.Find("tokenizer.ggml.tokens");
  if (tokens != nullptr && tokens->type == kGgufArray && tokens->array_type == kGgufString) {
    // §8.1 / §8.2: EOG by token text. `</s>` is dropped when `<|tool_response>` exists (gemma4).
    bool has_tool_response = false;
    for (const GgufValue& t : tokens->array) has_tool_response |= t.str == "<|tool_response>";
    for (size_t id = 0; id < tokens->array.size(); ++id) {
      const std::string& text = tokens->array[id].str;
      if (text == "<end_of_turn>" || text == "<eos>" || text == "<|endoftext|>" ||
          text == "<turn|>" || text == "<|tool_response>" ||
          (text == "</s>" && !(arch == "gemma4" && has_tool_response))) {
        ids.insert(static_cast<int>(id));
      }
    }
  }
  for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"}) {
    const GgufValue* v = file.Find(key);
    if (v != nullptr && v->IsNumeric()) ids.insert(static_cast<int>(v->integer));
  }
  return ids;
}

}  // namespace hearth::reference
