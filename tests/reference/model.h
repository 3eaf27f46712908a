// Hyperparameters and dequantised weights of a `gemma3` or `gemma4` GGUF, for the reference
// forward pass. Everything is read from the file (gemma-gguf-spec.md §3 and §5); nothing about a
// particular checkpoint is hard-coded.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/status.h"
#include "reference/gguf_reader.h"
#include "reference/numerics.h"

namespace hearth::reference {

// Per-layer shape and attention settings.
struct LayerConfig {
  bool sliding = false;     // SWA layer (window n_swa) vs global/full layer
  int n_head = 0;
  int n_head_kv = 0;        // of the cache this layer reads
  int head_dim = 0;         // K, V and Q head dim of this layer
  int n_ff = 0;             // dense (or shared) MLP width
  int n_rot = 0;            // rotary dims
  double rope_base = 10000;
  double rope_scale = 1.0;  // frequency scale = 1 / linear factor
  bool use_rope_freqs = false;  // Gemma 4 full layers: divide angles by rope_freqs
  int kv_source = 0;        // layer whose KV cache this layer uses (itself unless KV-shared)
  bool moe = false;         // has a router (ffn_gate_inp)
};

struct Config {
  std::string arch;          // "gemma3" or "gemma4"
  int n_embd = 0;
  int n_layer = 0;
  int n_vocab = 0;
  int n_swa = 0;             // sliding window; 0 = none
  int n_pl = 0;              // Gemma 4 per-layer-embedding width (0 = no PLE)
  int n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
  double eps = 1e-6;
  double softcap = 0;        // final logit soft-cap; 0 = off
  double attn_q_scale = 1;   // Gemma 3: Q multiplier after RoPE; Gemma 4: 1
  bool v_norm = false;       // Gemma 4: weightless RMSNorm on V
  std::vector<LayerConfig> layers;
};

struct LayerWeights {
  Weight attn_norm, attn_q, attn_k, attn_v, attn_q_norm, attn_k_norm, attn_output;
  Weight post_attention_norm;
  Weight ffn_norm, ffn_gate, ffn_up, ffn_down, post_ffw_norm;  // dense / shared MLP
  Weight layer_output_scale;                                    // Gemma 4, optional [1]
  // Gemma 4 MoE.
  Weight ffn_gate_inp;        // router [n_embd -> n_expert]
  Weight ffn_gate_inp_scale;  // router input scale [n_embd]
  Weight pre_ffw_norm_2, post_ffw_norm_1, post_ffw_norm_2;
  Weight ffn_gate_up_exps;    // fused [n_embd -> 2·n_ff_exp] × n_expert, gate rows first
  Weight ffn_gate_exps, ffn_up_exps;  // separate [n_embd -> n_ff_exp] × n_expert
  Weight ffn_down_exps;       // [n_ff_exp -> n_embd] × n_expert
  Weight ffn_down_exps_scale; // per-expert output scale [n_expert], optional
  // Gemma 4 PLE.
  Weight inp_gate;            // [n_embd -> n_pl]
  Weight proj;                // [n_pl -> n_embd]
  Weight post_norm;           // [n_embd]
};

struct Model {
  Config config;
  Weight token_embd;             // [n_vocab rows of n_embd]
  Weight output;                 // LM head when stored separately; else token_embd is used
  Weight output_norm;
  Weight rope_freqs;             // Gemma 4 full-layer frequency factors [n_rot_full/2]
  Weight per_layer_token_embd;   // PLE [n_vocab rows of n_pl·n_layer]
  Weight per_layer_model_proj;   // PLE [n_embd -> n_pl·n_layer]
  Weight per_layer_proj_norm;    // PLE [n_pl]
  std::vector<LayerWeights> layers;
  std::set<int> eog_ids;         // end-of-generation token ids (§8)
  std::set<int> suppressed_ids;  // tokenizer.ggml.suppress_tokens: never chosen (§5.6)

  const Weight& head() const { return output.present() ? output : token_embd; }
};

// Hyperparameters of the file's architecture (config.cc); Unimplemented for other archs.
Result<Config> ReadConfig(const GgufFile& file);

// End-of-generation ids: token texts of §8 plus the eos/eot id keys (config.cc).
std::set<int> EndOfGenerationIds(const GgufFile& file, const std::string& arch);

// Reads hyperparameters, binds and dequantises every tensor, checks shapes.
Result<Model> LoadModel(const GgufFile& file);

}  // namespace hearth::reference
