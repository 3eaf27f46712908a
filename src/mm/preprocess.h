// Host-side preprocessing of images and audio for the Gemma projectors, as llama.cpp's mtmd does it
// (gemma-gguf-spec.md §4.2, §6.1-6.4): the u8 bilinear resize, letterboxing on black, the
// dyn-size target for gemma4v/gemma4uv, normalisation, the 48×48 patch vectors, the gemma4a
// log-mel features and the gemma4ua 640-sample frames. No weights here.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace hearth::mm {

// An 8-bit RGB image, row-major, 3 bytes per pixel.
struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

// llama.cpp's bilinear resize (mtmd-image.cpp resize_bilinear at d32676d77): output pixel x
// samples the source at x·(w_src − 1)/(w_dst − 1) ("align corners"), lerp in F32, the result
// truncated to u8. (Later llama.cpp divides by w_dst instead; the golden chat case settles that
// d32676d77 aligns corners.) A source of width or height 1 is read with the missing
// neighbour clamped (llama.cpp asserts there).
RgbImage ResizeBilinear(const RgbImage& src, int dst_w, int dst_h);

// Resize keeping the aspect ratio to fit inside dst_w × dst_h, pasted centred on black
// (img_tool::resize with padding); an image already of that size is copied as is.
RgbImage ResizeLetterbox(const RgbImage& src, int dst_w, int dst_h);

// The target size of the dyn-size preprocessor (img_tool::calc_size_preserved_ratio with a
// token budget): each side rounded to `align`, then scaled into [min_tokens, max_tokens] whole
// align×align cells. Returns {width, height}.
struct Size {
  int width = 0, height = 0;
};
Size DynSizeTarget(int width, int height, int align, int min_tokens, int max_tokens);

// Letterboxed pixels as (u8/255 − mean[c])/std[c], interleaved RGB floats.
std::vector<float> Normalize(const RgbImage& img, const float mean[3], const float std[3]);

// Cuts normalised interleaved RGB floats (width × height, both multiples of `patch`) into patch
// vectors of 3·patch² values, channel-major, then row, then column (ggml im2col order); patches
// row-major (p = row·n_cols + col). Result: [n_patches × 3·patch²].
std::vector<float> PatchVectors(const float* rgb, int width, int height, int patch);

// gemma4ua: 640-sample frames of the raw waveform, the last one zero-padded; [ceil(n/640) × 640].
inline constexpr int kGemma4uaFrame = 640;
std::vector<float> Gemma4uaFrames(std::span<const float> samples);

// gemma4a log-mel features of one chunk (≤ 30 s at 16 kHz): semicausal left pad of 160 zeros,
// 320-sample periodic Hann window at the start of a 512-point FFT frame, hop 160, magnitude
// spectrum, HTK mel filters over 0..8000 Hz evaluated at the bin frequencies, ln(max(mel, 1e-3)).
// Returns [T × n_mel] with T = (n + 160 − 321)/160 + 1 in C integer division (truncating toward
// zero, as llama.cpp computes it: 2..160 samples give 1 frame, 0 or 1 sample none).
inline constexpr int kGemma4aChunkSamples = 480000;
std::vector<float> Gemma4aLogMel(std::span<const float> samples, int n_mel, int* n_frames);

}  // namespace hearth::mm
