// The arithmetic building blocks of the reference forward pass, in two numerics modes.
//
// kExact: weights dequantised to float, all arithmetic in double, exact tanh-GELU, no rounding
//   of activations or of the KV cache. This is "the model as the spec defines it".
// kLlamaCpp: the same, plus the rounding points where llama.cpp's CPU backend loses precision
//   (gemma-gguf-spec.md §2, §12a): activations rounded through the weight's vec-dot type before
//   each matmul (Q8_0 / Q8_1 / Q8_K blocks, F16, BF16), RMSNorm with an F32 scale, GELU through
//   the F16 table, F32 RoPE angles. K/V/Q rounding lives in forward.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hearth::reference {

enum class Numerics { kExact, kLlamaCpp };

using Vec = std::vector<double>;

// A weight dequantised to float: a vector (norms, scales), a matrix used as y = W·x, or a stack
// of matrices (MoE experts). Shapes follow GGUF: cols = ne[0] (input features), rows = ne[1]
// (output features), slices = ne[2] (experts).
struct Weight {
  std::string name;            // GGUF tensor name; empty when the tensor is absent
  uint32_t type = 0;           // ggml_type of the stored tensor
  int64_t cols = 0, rows = 1, slices = 1;
  std::vector<float> values;   // [slices][rows][cols]
  std::vector<float> block_mins;  // Q4_1/Q5_1 only: [slices][rows][cols/32] additive minimums
  double output_scale = 1.0;   // optional scalar `<stem>.scale` tensor (spec §3.3)

  bool present() const { return !name.empty(); }
  const float* Row(int64_t slice, int64_t row) const {
    return values.data() + (slice * rows + row) * cols;
  }
};

// y = W[slice] · x, length rows. In kLlamaCpp mode x is first rounded through W's vec-dot type.
Vec MatVec(const Weight& w, const Vec& x, Numerics mode, int64_t slice = 0);

// What llama.cpp's CPU matmul turns the activation vector into for weights of `weight_type`
// (the dequantised values of the vec-dot blocks). For Q8_1, `block_sums` receives the F16 `s`
// field of each block (d·Σq), which the Q4_1/Q5_1 dot product uses for the minimum term.
Vec RoundActivationsForWeight(uint32_t weight_type, const Vec& x, Vec* block_sums);

// RMSNorm over x with an optional weight (nullptr = weightless), spec §2.
Vec RmsNorm(const Vec& x, const float* weight, double eps, Numerics mode);

// tanh-GELU; kLlamaCpp goes through ggml's F16 table rule (§2).
double Gelu(double z, Numerics mode);

// x rounded to F16 (kLlamaCpp) or unchanged (kExact).
double MaybeRoundHalf(double x, Numerics mode);

// NEOX RoPE in place on one head vector of `head_dim` values (§2): pairs (i, i + n_rot/2),
// angle = scale · pos · base^(-2i/n_rot) / factor_i. `factors` may be nullptr.
void RopeNeox(double* head, int head_dim, int n_rot, int pos, double base, double scale,
              const float* factors, Numerics mode);

}  // namespace hearth::reference
