// model::Config: every hyperparameter of a Gemma text decoder, read from GGUF keys and validated in
// one place (gemma3.cc / gemma4.cc). Nothing else in the engine reads GGUF metadata.
//
// Dimension glossary (used everywhere in model/ and engine/):
//   n_embd      width of the residual stream
//   n_vocab     rows of token_embd (ids 0..n_vocab-1)
//   n_head      query heads; n_head_kv key/value heads of a layer (GQA: query head h uses KV head
//               h / (n_head / n_head_kv))
//   head_dim    width of one head on a layer (Gemma 4: sliding and full layers differ)
//   n_ff        width of the dense GeGLU FFN on a layer
//   n_swa       sliding-window size (a key is visible iff q_pos - k_pos < n_swa)
//   n_pl        per-layer-embedding width (Gemma 4 E2B/E4B; 0 otherwise)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace hearth::gguf {
class File;
}

namespace hearth::model {

enum class Arch { kGemma3, kGemma4 };

struct LayerConfig {
  bool sliding = false;      // SWA layer (else global / full attention)
  int n_head = 0;
  int n_head_kv = 0;
  int head_dim = 0;
  int n_ff = 0;              // dense FFN width (the shared MLP on MoE layers)
  int n_rot = 0;             // rotary dims (NEOX pairs (i, i + n_rot/2))
  float rope_base = 10000.0f;
  float rope_scale = 1.0f;   // frequency scale s (1 / linear factor)
  bool rope_freq_factors = false;  // divide angles by rope_freqs (Gemma 4 full layers)
  int kv_source = -1;        // layer whose KV cache this layer reads; == own index when it owns KV
  bool moe = false;          // has ffn_gate_inp (Gemma 4 26B-A4B)
  bool has_v = true;         // attn_v present (else V := raw K projection, Gemma 4 k_eq_v)
  bool owns_kv() const { return kv_source < 0; }
};

struct Config {
  Arch arch = Arch::kGemma3;
  std::string arch_name;     // "gemma3" / "gemma4"
  std::string name;          // general.name
  int n_embd = 0;
  int n_layer = 0;
  int n_vocab = 0;
  int n_ctx_train = 0;
  int n_swa = 0;             // 0: no sliding window
  float rms_eps = 1e-6f;
  float attn_scale = 1.0f;   // multiplies Q after RoPE (Gemma 3: 1/sqrt(head_dim) or 1/sqrt(168))
  float final_softcap = 0;   // 0: none
  bool v_norm = false;       // Gemma 4: weightless RMSNorm on V
  int n_pl = 0;              // PLE width
  int n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
  std::vector<LayerConfig> layers;

  int max_head_dim() const;
  int64_t kv_bytes_per_token(int64_t bytes_per_elem_x2) const;  // full-attention layers only
};

// Reads and validates the config of a gemma3 / gemma4 file; Unimplemented for other archs.
Result<Config> LoadConfig(const gguf::File& f);

// Checks every layer's head grouping and rotary dims and sets n_vocab from token_embd (called by
// LoadConfig after the architecture's loader).
Status FinishConfig(const gguf::File& f, Config& c);

// Per-architecture loaders (gemma3.cc, gemma4.cc).
Result<Config> LoadGemma3Config(const gguf::File& f);
Result<Config> LoadGemma4Config(const gguf::File& f);

}  // namespace hearth::model
