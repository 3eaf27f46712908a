// Tiny random-weight Gemma GGUF files with the exact tensor names, shapes (scaled down) and
// metadata keys of real files, for tests and benchmarks (`hearth make-test-model`).
//
// Variants (all widths multiples of 256 so every K-quant applies, vocab of 512 synthetic tokens):
//   g4-12b   Gemma 4 12B unified: 5 sliding + 1 full, per-layer KV heads, no attn_v on full
//            layers (V = K), partial RoPE via rope_freqs, soft-cap 30
//   g4-e2b   Gemma 4 E2B: per-layer embeddings, last 5 of 10 layers share KV, double-wide FFN
//   g4-moe   Gemma 4 26B-A4B: 8 experts (top 2) with fused gate/up, shared MLP, extra norms
//   g3-1b    Gemma 3 1B: iSWA period 6, 4 heads / 1 KV head, no RoPE scaling
//   g3-4b    Gemma 3 4B: 8 heads / 4 KV heads, linear RoPE scaling 8 on global layers
// Types: any type kernels::CanQuantize accepts by name ("f32", "q4_0", "q6_k", ...) for every 2-D
// weight (1-D tensors stay F32; rows that do not divide the block fall back as llama-quantize does),
// or "q4_k_m" (llama-quantize's Q4_K_M mix).
// `shape` = "real" writes the real model's dimensions (for benchmarks) with random weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace hearth::testmodel {

std::vector<std::string> Variants();
std::vector<std::string> TypeNames();

struct Options {
  std::string variant = "g4-12b";
  std::string type = "q8_0";
  uint64_t seed = 1;
  bool real_shape = false;  // the real model's dimensions (large!)
  int n_vocab = 512;        // ignored with real_shape (262144)
};

Status Write(const Options& o, const std::string& path);

// Random-weight multimodal projector files (mmproj, `general.architecture = clip`) in the layout
// llama.cpp's converter writes (gemma-gguf-spec.md §4.1, §6): names, keys and tensor types of
// the real files, small dimensions (or the real ones with real_shape). `types` is one projector
// type or a comma-separated pair as the real files hold them ("gemma4uv,gemma4ua"); the
// projection width is the text variant's n_embd.
//   gemma4uv  12B unified vision: 48-pixel patches, LayerNorms, x/y position tables
//   gemma4ua  12B unified audio: 640-sample frames, one projection
//   gemma4v   E2B/E4B/26B/31B ViT (tiny: 64 wide, 2 layers; clamp bounds on one linear)
//   gemma4a   E2B/E4B audio conformer (tiny: 64 wide, 2 blocks, 8-channel convolutions)
//   gemma3    SigLIP ViT (tiny: 112-pixel images, 14-pixel patches, 2 layers; real: 896, 27)
std::vector<std::string> MmprojTypes();

struct MmprojOptions {
  std::string types = "gemma4uv,gemma4ua";
  std::string variant = "g4-12b";  // the text model it belongs to
  uint64_t seed = 1;
  bool real_shape = false;
};

Status WriteMmproj(const MmprojOptions& o, const std::string& path);

}  // namespace hearth::testmodel
