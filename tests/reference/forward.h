// The reference forward pass: one token at a time, plain loops, double accumulation.
//
// Feeding tokens one by one with a KV cache gives the same numbers (up to rounding order) as
// llama.cpp's batched prompt processing, and keeps the code a direct transcription of
// gemma-gguf-spec.md §3.4 (gemma3) and §5.6 / §5.7 (gemma4).
#pragma once

#include <vector>

#include "reference/model.h"
#include "reference/numerics.h"

namespace hearth::reference {

class ForwardPass {
 public:
  ForwardPass(const Model& model, Numerics mode);

  // Processes `token` at the next position. Returns the final logits over the vocabulary
  // (after soft-capping) when `want_logits`, else an empty vector.
  Vec Step(int token, bool want_logits);

  int position() const { return pos_; }

 private:
  Vec PerLayerInputs(int token, const Vec& x0) const;  // PLE, [n_layer · n_pl]
  Vec Attention(int il, const Vec& a);                 // returns Wo · attention, [n_embd]
  Vec DenseFfn(const LayerWeights& lw, const Vec& x) const;
  Vec MoeFfn(const LayerWeights& lw, const Vec& h) const;
  Vec Geglu(const Vec& gate, const Vec& up) const;

  const Model& model_;
  Numerics mode_;
  int pos_ = 0;
  // KV cache per layer that owns one: [position][n_head_kv · head_dim]. K after norm + RoPE,
  // V after the (Gemma 4) V-norm; rounded to F16 in kLlamaCpp mode.
  std::vector<std::vector<Vec>> k_cache_, v_cache_;
};

}  // namespace hearth::reference
