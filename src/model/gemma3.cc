// Gemma 3 (`gemma3`, 270M to 27B): hyperparameters and tensor binding (spec §3).
// The forward pass is the shared decoder loop (decoder.cc) with: Q scaled after RoPE by
// 1/sqrt(head_dim) (27B: 1/sqrt(n_embd / n_head)), no V norm, iSWA from a period, linear RoPE scaling
// on global layers, norms used as stored (+1 baked in by the converter).
#include <algorithm>
#include <cmath>
#include <string>

#include "gguf/file.h"
#include "model/hparams.h"
#include "model/weights.h"

namespace hearth::model {

Result<Config> LoadGemma3Config(const gguf::File& f) {
  HParams hp(f, "gemma3");
  Config c;
  c.arch = Arch::kGemma3;
  c.arch_name = "gemma3";
  ASSIGN_OR_RETURN(CommonHParams h, ReadCommonHParams(f, hp, c));
  const uint32_t n_embd = static_cast<uint32_t>(c.n_embd);
  const std::vector<int>& n_ff = h.n_ff;
  const std::vector<int>& n_head = h.n_head;
  const std::vector<int>& n_head_kv = h.n_head_kv;
  ASSIGN_OR_RETURN(uint32_t key_len, hp.U32Or("attention.key_length", n_embd / n_head[0]));
  ASSIGN_OR_RETURN(uint32_t val_len, hp.U32Or("attention.value_length", key_len));
  if (key_len != val_len)
    return UnimplementedError("attention.key_length " + std::to_string(key_len) +
                              " differs from value_length " + std::to_string(val_len));
  TRY(CheckDim(hp.Key("attention.key_length"), key_len, 4096));
  ASSIGN_OR_RETURN(c.rms_eps, hp.F32("attention.layer_norm_rms_epsilon"));
  ASSIGN_OR_RETURN(uint32_t n_swa, hp.U32Or("attention.sliding_window", 0));
  c.n_swa = static_cast<int>(n_swa);
  ASSIGN_OR_RETURN(float base, hp.F32Or("rope.freq_base", 10000.0f));
  ASSIGN_OR_RETURN(float base_swa, hp.F32Or("rope.freq_base_swa", 10000.0f));
  ASSIGN_OR_RETURN(uint32_t n_rot, hp.U32Or("rope.dimension_count", key_len));
  float global_scale = 1.0f;
  if (hp.Has("rope.scaling.type")) {
    ASSIGN_OR_RETURN(std::string type, f.GetString(hp.Key("rope.scaling.type")));
    if (type == "linear") {
      ASSIGN_OR_RETURN(float factor, hp.F32Or("rope.scaling.factor", 1.0f));
      if (!(factor > 0)) return InvalidArgumentError(hp.Key("rope.scaling.factor") + " must be > 0");
      global_scale = 1.0f / factor;
    } else if (type != "none") {
      return UnimplementedError("rope scaling type '" + type + "' is not supported for gemma3");
    }
  }
  ASSIGN_OR_RETURN(c.final_softcap, hp.F32Or("final_logit_softcapping", 0.0f));

  // Sliding pattern: a period P (layer il slides iff il mod P < P - 1) or an explicit bool array.
  std::vector<bool> sliding(c.n_layer, false);
  if (c.n_swa > 0) {
    const gguf::Value* pat = f.Find(hp.Key("attention.sliding_window_pattern"));
    if (pat && pat->type == gguf::ValueType::kArray) {
      ASSIGN_OR_RETURN(sliding, hp.BoolPerLayer("attention.sliding_window_pattern", c.n_layer));
    } else {
      ASSIGN_OR_RETURN(uint32_t period, hp.U32Or("attention.sliding_window_pattern", 6));
      if (period == 0) return InvalidArgumentError("sliding_window_pattern period is 0");
      for (int il = 0; il < c.n_layer; ++il) sliding[il] = (il % period) < period - 1;
    }
  }

  // Attention scale: the 27B (62 layers) uses query_pre_attn_scalar = n_embd / n_head.
  c.attn_scale = c.n_layer == 62 ? 1.0f / std::sqrt(static_cast<float>(n_embd / n_head[0]))
                                 : 1.0f / std::sqrt(static_cast<float>(key_len));

  for (int il = 0; il < c.n_layer; ++il) {
    LayerConfig l;
    l.sliding = sliding[il];
    l.n_head = n_head[il];
    l.n_head_kv = n_head_kv[il];
    l.head_dim = static_cast<int>(key_len);
    l.n_ff = n_ff[il];
    l.n_rot = static_cast<int>(n_rot);
    l.rope_base = l.sliding ? base_swa : base;
    l.rope_scale = l.sliding ? 1.0f : global_scale;
    c.layers.push_back(l);
  }
  return c;
}

Result<Weights> BindGemma3Weights(const gguf::File& f, const Config& c) {
  Weights w;
  Binder b(f, w);
  const int64_t E = c.n_embd;
  TRY(b.Globals(c));
  for (int il = 0; il < c.n_layer; ++il) {
    const LayerConfig& l = c.layers[il];
    LayerWeights& lw = w.layers[il];
    const std::string p = "blk." + std::to_string(il) + ".";
    const int64_t kv_w = int64_t{l.n_head_kv} * l.head_dim;
    TRY(b.BlockCommon(p, c, l, &lw));
    TRY(b.Mat(p + "attn_k.weight", E, kv_w, &lw.attn_k));
    TRY(b.Mat(p + "attn_v.weight", E, kv_w, &lw.attn_v));
    TRY(b.Vector(p + "attn_k_norm.weight", l.head_dim, &lw.attn_k_norm));
  }
  return w;
}

}  // namespace hearth::model
