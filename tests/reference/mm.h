// The independent reference of the Gemma multimodal projectors (gemma-gguf-spec.md §4, §6.1–6.4):
// media preprocessing and the five encoder graphs `gemma3`, `gemma4v`, `gemma4a`, `gemma4uv`,
// `gemma4ua`, written from the spec alone for the engine's src/mm to be tested against.
//
// Plain loops on weights dequantised to float. Numerics::kExact (default): every encoder operation
// in double, exact activations. Numerics::kLlamaCpp adds the rounding points of llama.cpp's CPU
// backend that the spec names (README "Numerics"). Inputs are tiny test models, so nothing here is
// fast. Preprocessing steps that the spec states in F32 (resize, target-size rounding, u8 → float
// normalisation) are done in F32 in both modes, because they decide integers and u8 pixels.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "reference/gguf_reader.h"
#include "reference/numerics.h"

namespace hearth::reference::mm {

// 8-bit RGB, row-major, channels interleaved (r, g, b per pixel).
struct Image {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
  uint8_t at(int x, int y, int c) const {
    return rgb[(static_cast<size_t>(y) * width + x) * 3 + c];
  }
};

// Binary PPM (P6, maxval 255) → Image.
Result<Image> ReadPpm(const std::string& path);
// Raw little-endian float32 mono samples.
Result<std::vector<float>> ReadF32Samples(const std::string& path);

// --- preprocessing pieces (exposed for the tests) ---

// llama.cpp's u8 bilinear resize (§4.2): output pixel x samples source x·(w_src−1)/(w_dst−1)
// ("align corners", F32), lerp in F32, truncated to u8.
Image ResizeBilinear(const Image& src, int width, int height);
// Aspect-preserving bilinear resize into a black canvas of width×height, centred (§4.2, §6.1).
Image ResizeWithPad(const Image& src, int width, int height);
// The dyn-size target of §6.1 ("calc_size_preserved_ratio"), F32 arithmetic. Returns {w, h}.
std::pair<int, int> DynTargetSize(int width, int height, int align, int64_t min_pixels,
                                  int64_t max_pixels);
// Frame count of the gemma4a log-mel front end for a chunk of n samples (§6.2).
int64_t LogMelFrameCount(int64_t n_samples);
// The gemma4a log-mel spectrogram of one chunk (§6.2): [n_frames][n_mel], ln(max(mel, 1e-3)).
std::vector<std::vector<double>> LogMel(const float* samples, int64_t n_samples, int n_mel);
// HTK mel filterbank of §6.2: [n_mel][257] weights at bin frequencies k·16000/512.
std::vector<std::vector<double>> MelFilterbank(int n_mel);

// --- the whole pipeline ---

struct Options {
  int min_tokens = 0;            // gemma4v/gemma4uv image token budget; 0 = default (40)
  int max_tokens = 0;            // 0 = default (280)
  bool preprocess_only = false;  // --stage preprocess
  // kLlamaCpp adds llama.cpp's CPU rounding points (§2, §12a; README "Numerics").
  Numerics numerics = Numerics::kExact;
};

// One chunk of the output: embeddings (stage "embeddings") or the preprocessed input.
struct Chunk {
  // Embeddings: n_tok rows of n_embd, row-major.
  int64_t n_tok = 0, n_embd = 0;
  bool causal = false;
  // Preprocessed image: height rows of width pixels of 3 interleaved channels.
  int width = 0, height = 0;
  // Preprocessed audio: n_frames rows of n_mel values (gemma4a log-mel, or gemma4ua's 640-sample
  // frames with n_mel = 640).
  int64_t n_mel = 0, n_frames = 0;
  std::vector<double> data;
};

struct Output {
  std::string projector;
  bool preprocess = false;
  bool is_image = false;
  std::vector<Chunk> chunks;
};

Result<Output> RunImage(const GgufFile& file, const Image& image, const Options& options);
Result<Output> RunAudio(const GgufFile& file, const std::vector<float>& samples,
                        const Options& options);

// The CLI's JSON form of an Output (numbers as %.9g; a non-finite number is written as null).
std::string ToJson(const Output& out);

}  // namespace hearth::reference::mm
