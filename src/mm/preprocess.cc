#include "mm/preprocess.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace hearth::mm {

RgbImage ResizeBilinear(const RgbImage& src, int dst_w, int dst_h) {
  RgbImage dst;
  dst.width = dst_w;
  dst.height = dst_h;
  dst.rgb.assign(static_cast<size_t>(dst_w) * dst_h * 3, 0);
  const int sw = src.width, sh = src.height;
  // Align corners: the first and last output pixels sample the first and last source pixels.
  const float x_ratio = dst_w > 1 ? static_cast<float>(sw - 1) / static_cast<float>(dst_w - 1) : 0.0f;
  const float y_ratio = dst_h > 1 ? static_cast<float>(sh - 1) / static_cast<float>(dst_h - 1) : 0.0f;
  auto px = [&](int x, int y, int c) {
    return static_cast<float>(src.rgb[3 * (static_cast<size_t>(y) * sw + x) + c]);
  };
  auto lerp = [](float a, float b, float t) { return a + (b - a) * t; };
  for (int y = 0; y < dst_h; ++y) {
    const float fy = y_ratio * static_cast<float>(y);
    const int y0 = std::max(0, std::min(static_cast<int>(fy), sh - 2));
    const int y1 = std::min(y0 + 1, sh - 1);
    const float ty = fy - static_cast<float>(y0);
    for (int x = 0; x < dst_w; ++x) {
      const float fx = x_ratio * static_cast<float>(x);
      const int x0 = std::max(0, std::min(static_cast<int>(fx), sw - 2));
      const int x1 = std::min(x0 + 1, sw - 1);
      const float tx = fx - static_cast<float>(x0);
      for (int c = 0; c < 3; ++c) {
        const float top = lerp(px(x0, y0, c), px(x1, y0, c), tx);
        const float bottom = lerp(px(x0, y1, c), px(x1, y1, c), tx);
        dst.rgb[3 * (static_cast<size_t>(y) * dst_w + x) + c] =
            static_cast<uint8_t>(lerp(top, bottom, ty));
      }
    }
  }
  return dst;
}

RgbImage ResizeLetterbox(const RgbImage& src, int dst_w, int dst_h) {
  if (src.width == dst_w && src.height == dst_h) return src;
  const float scale = std::min(static_cast<float>(dst_w) / static_cast<float>(src.width),
                               static_cast<float>(dst_h) / static_cast<float>(src.height));
  const int new_w =
      std::min(static_cast<int>(std::ceil(static_cast<float>(src.width) * scale)), dst_w);
  const int new_h =
      std::min(static_cast<int>(std::ceil(static_cast<float>(src.height) * scale)), dst_h);
  const RgbImage resized = ResizeBilinear(src, new_w, new_h);
  RgbImage dst;
  dst.width = dst_w;
  dst.height = dst_h;
  dst.rgb.assign(static_cast<size_t>(dst_w) * dst_h * 3, 0);
  const int ox = (dst_w - new_w) / 2, oy = (dst_h - new_h) / 2;
  for (int y = 0; y < new_h; ++y) {
    std::copy_n(&resized.rgb[3 * static_cast<size_t>(y) * new_w], 3 * new_w,
                &dst.rgb[3 * (static_cast<size_t>(y + oy) * dst_w + ox)]);
  }
  return dst;
}

Size DynSizeTarget(int width, int height, int align, int min_tokens, int max_tokens) {
  const int64_t min_pixels = static_cast<int64_t>(min_tokens) * align * align;
  const int64_t max_pixels = static_cast<int64_t>(max_tokens) * align * align;
  const float f = static_cast<float>(align);
  auto round_by = [&](float x) { return static_cast<int>(std::round(x / f)) * align; };
  auto ceil_by = [&](float x) { return static_cast<int>(std::ceil(x / f)) * align; };
  auto floor_by = [&](float x) { return static_cast<int>(std::floor(x / f)) * align; };
  int h = std::max(align, round_by(static_cast<float>(height)));
  int w = std::max(align, round_by(static_cast<float>(width)));
  const float area = static_cast<float>(static_cast<int64_t>(height) * width);
  if (static_cast<int64_t>(h) * w > max_pixels) {
    const float beta = std::sqrt(area / static_cast<float>(max_pixels));
    h = std::max(align, floor_by(static_cast<float>(height) / beta));
    w = std::max(align, floor_by(static_cast<float>(width) / beta));
  } else if (static_cast<int64_t>(h) * w < min_pixels) {
    const float beta = std::sqrt(static_cast<float>(min_pixels) / area);
    h = ceil_by(static_cast<float>(height) * beta);
    w = ceil_by(static_cast<float>(width) * beta);
  }
  return {w, h};
}

std::vector<float> Normalize(const RgbImage& img, const float mean[3], const float std[3]) {
  std::vector<float> out(img.rgb.size());
  for (size_t i = 0; i < img.rgb.size(); ++i) {
    const int c = static_cast<int>(i % 3);
    out[i] = (static_cast<float>(img.rgb[i]) / 255.0f - mean[c]) / std[c];
  }
  return out;
}

std::vector<float> PatchVectors(const float* rgb, int width, int height, int patch) {
  const int nc = width / patch, nr = height / patch;
  const int64_t dim = 3LL * patch * patch;
  std::vector<float> out(static_cast<size_t>(nc) * nr * dim);
  for (int pr = 0; pr < nr; ++pr) {
    for (int pc = 0; pc < nc; ++pc) {
      float* v = &out[(static_cast<size_t>(pr) * nc + pc) * dim];
      for (int c = 0; c < 3; ++c) {
        for (int y = 0; y < patch; ++y) {
          const float* row = rgb + 3 * (static_cast<size_t>(pr * patch + y) * width + pc * patch);
          for (int x = 0; x < patch; ++x) v[(c * patch + y) * patch + x] = row[3 * x + c];
        }
      }
    }
  }
  return out;
}

std::vector<float> Gemma4uaFrames(std::span<const float> samples) {
  const size_t n_tok = (samples.size() + kGemma4uaFrame - 1) / kGemma4uaFrame;
  std::vector<float> out(n_tok * kGemma4uaFrame, 0.0f);
  std::copy(samples.begin(), samples.end(), out.begin());
  return out;
}

namespace {

constexpr int kFft = 512, kWin = 320, kHop = 160, kBins = kFft / 2 + 1;

double HzToMel(double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); }
double MelToHz(double mel) { return 700.0 * (std::pow(10.0, mel / 2595.0) - 1.0); }

}  // namespace

std::vector<float> Gemma4aLogMel(std::span<const float> samples, int n_mel, int* n_frames) {
  const int64_t n = static_cast<int64_t>(samples.size());
  // llama.cpp's int arithmetic: the division truncates toward zero, so 2..160 samples still
  // give one frame.
  const int64_t t_frames = n > 0 ? std::max<int64_t>(0, (n + kHop - (kWin + 1)) / kHop + 1) : 0;
  *n_frames = static_cast<int>(t_frames);
  if (t_frames == 0) return {};
  // The padded signal: 160 zeros, the samples, zeros up to the end of the last 512-point frame.
  std::vector<float> sig(static_cast<size_t>((t_frames - 1) * kHop + kFft), 0.0f);
  std::copy(samples.begin(), samples.end(), sig.begin() + kHop);

  std::vector<float> window(kWin);
  for (int i = 0; i < kWin; ++i) {
    window[i] = static_cast<float>(0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * i / kWin));
  }
  // Only the first 320 samples of each 512-point frame are non-zero, so the DFT sums over them.
  std::vector<float> cos_t(static_cast<size_t>(kBins) * kWin), sin_t(cos_t.size());
  for (int k = 0; k < kBins; ++k) {
    for (int i = 0; i < kWin; ++i) {
      const double a = 2.0 * std::numbers::pi * ((static_cast<int64_t>(k) * i) % kFft) / kFft;
      cos_t[static_cast<size_t>(k) * kWin + i] = static_cast<float>(std::cos(a));
      sin_t[static_cast<size_t>(k) * kWin + i] = static_cast<float>(std::sin(a));
    }
  }
  // HTK triangular filters over 0..8000 Hz at the bin frequencies k·16000/512.
  std::vector<float> filters(static_cast<size_t>(n_mel) * kBins, 0.0f);
  const double mel_lo = HzToMel(0.0), mel_hi = HzToMel(8000.0);
  std::vector<double> edges(n_mel + 2);
  for (int m = 0; m < n_mel + 2; ++m) {
    edges[m] = MelToHz(mel_lo + (mel_hi - mel_lo) * m / (n_mel + 1));
  }
  for (int m = 0; m < n_mel; ++m) {
    for (int k = 0; k < kBins; ++k) {
      const double f = k * 16000.0 / kFft;
      const double up = (f - edges[m]) / (edges[m + 1] - edges[m]);
      const double down = (edges[m + 2] - f) / (edges[m + 2] - edges[m + 1]);
      filters[static_cast<size_t>(m) * kBins + k] =
          static_cast<float>(std::max(0.0, std::min(up, down)));
    }
  }
  std::vector<float> out(static_cast<size_t>(t_frames) * n_mel);
  std::vector<float> frame(kWin), mag(kBins);
  for (int64_t t = 0; t < t_frames; ++t) {
    const float* s = &sig[static_cast<size_t>(t) * kHop];
    for (int i = 0; i < kWin; ++i) frame[i] = s[i] * window[i];
    for (int k = 0; k < kBins; ++k) {
      const float* c = &cos_t[static_cast<size_t>(k) * kWin];
      const float* sn = &sin_t[static_cast<size_t>(k) * kWin];
      double re = 0, im = 0;
      for (int i = 0; i < kWin; ++i) {
        re += static_cast<double>(frame[i]) * c[i];
        im -= static_cast<double>(frame[i]) * sn[i];
      }
      mag[k] = static_cast<float>(std::sqrt(re * re + im * im));
    }
    for (int m = 0; m < n_mel; ++m) {
      const float* w = &filters[static_cast<size_t>(m) * kBins];
      double acc = 0;
      for (int k = 0; k < kBins; ++k) acc += static_cast<double>(w[k]) * mag[k];
      out[static_cast<size_t>(t) * n_mel + m] =
          std::log(std::max(static_cast<float>(acc), 1e-3f));
    }
  }
  return out;
}

}  // namespace hearth::mm
