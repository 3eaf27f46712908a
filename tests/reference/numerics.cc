#include "reference/numerics.h"

#include <cmath>

#include "core/check.h"
#include "reference/dequant.h"

namespace hearth::reference {
namespace {

// Round half to even, as ggml's nearest_int and the SIMD quantisers do.
int RoundHalfEven(float v) { return static_cast<int>(std::nearbyint(v)); }

// Q8_0 / Q8_1 activation blocks of 32 (§12a): d = amax/127 stored as F16, q = round(x/d).
void RoundQ8Blocks32(const std::vector<float>& xf, Vec& out, Vec* block_sums) {
  const size_t n = xf.size();
  for (size_t b = 0; b * 32 < n; ++b) {
    float amax = 0;
    for (size_t j = b * 32; j < b * 32 + 32; ++j) amax = std::fmax(amax, std::fabs(xf[j]));
    const float d = amax / 127.0f;
    // x86 AVX2 quantize_row_q8_0 multiplies by 127/amax (the scalar reference uses 1/d); the
    // golden files match this form exactly on short prompts.
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    const double d_half = RoundToHalf(d);
    int sum = 0;
    for (size_t j = b * 32; j < b * 32 + 32; ++j) {
      const int q = RoundHalfEven(xf[j] * id);
      sum += q;
      out[j] = d_half * q;
    }
    if (block_sums != nullptr) block_sums->push_back(RoundToHalf(static_cast<float>(sum) * d));
  }
}

// Q8_K activation blocks of 256 (§12a): scale from the signed value of largest magnitude,
// iscale = -127/max, q = min(127, round(iscale·x)), d = 1/iscale kept as F32.
void RoundQ8KBlocks(const std::vector<float>& xf, Vec& out) {
  const size_t n = xf.size();
  for (size_t b = 0; b * 256 < n; ++b) {
    float amax = 0, max = 0;
    for (size_t j = b * 256; j < b * 256 + 256; ++j) {
      if (std::fabs(xf[j]) > amax) {
        amax = std::fabs(xf[j]);
        max = xf[j];
      }
    }
    if (amax == 0) {
      for (size_t j = b * 256; j < b * 256 + 256; ++j) out[j] = 0;
      continue;
    }
    const float iscale = -127.0f / max;
    const float d = 1.0f / iscale;
    for (size_t j = b * 256; j < b * 256 + 256; ++j) {
      const int q = std::min(127, RoundHalfEven(iscale * xf[j]));
      out[j] = static_cast<double>(d) * q;
    }
  }
}

}  // namespace

Vec RoundActivationsForWeight(uint32_t weight_type, const Vec& x, Vec* block_sums) {
  std::vector<float> xf(x.begin(), x.end());  // llama.cpp activations are F32
  Vec out(x.size());
  switch (weight_type) {
    case kTypeF32:
      for (size_t i = 0; i < x.size(); ++i) out[i] = xf[i];
      break;
    case kTypeF16:
      for (size_t i = 0; i < x.size(); ++i) out[i] = RoundToHalf(xf[i]);
      break;
    case kTypeBF16:
      for (size_t i = 0; i < x.size(); ++i) out[i] = RoundToBF16(xf[i]);
      break;
    case kTypeQ4_0: case kTypeQ5_0: case kTypeQ8_0: case kTypeIQ4_NL: case kTypeMXFP4:
      RoundQ8Blocks32(xf, out, nullptr);
      break;
    case kTypeQ4_1: case kTypeQ5_1:
      RoundQ8Blocks32(xf, out, block_sums);
      break;
    case kTypeQ2_K: case kTypeQ3_K: case kTypeQ4_K: case kTypeQ5_K: case kTypeQ6_K:
    case kTypeIQ4_XS:
      RoundQ8KBlocks(xf, out);
      break;
    default: CHECK(false) << "no vec-dot type for weight type " << weight_type;
  }
  return out;
}

Vec MatVec(const Weight& w, const Vec& x, Numerics mode, int64_t slice) {
  CHECK(w.present()) << "MatVec on an absent weight";
  CHECK(static_cast<int64_t>(x.size()) == w.cols)
      << w.name << ": input length " << x.size() << " != " << w.cols;
  CHECK(slice >= 0 && slice < w.slices) << w.name << ": slice " << slice;
  Vec y(w.rows);
  if (mode == Numerics::kExact) {
    for (int64_t r = 0; r < w.rows; ++r) {
      const float* row = w.Row(slice, r);
      double acc = 0;
      for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(row[c]) * x[c];
      y[r] = acc * w.output_scale;
    }
    return y;
  }
  Vec sums;
  const Vec xq = RoundActivationsForWeight(w.type, x, &sums);
  const bool has_min = w.type == kTypeQ4_1 || w.type == kTypeQ5_1;
  for (int64_t r = 0; r < w.rows; ++r) {
    const float* row = w.Row(slice, r);
    double acc = 0;
    if (!has_min) {
      for (int64_t c = 0; c < w.cols; ++c) acc += static_cast<double>(row[c]) * xq[c];
    } else {
      // ggml: Σ_blocks d_w·d_a·Σ q_w·q_a + m_w·s_a, with s_a the block's F16 sum field.
      const float* mins = w.block_mins.data() + (slice * w.rows + r) * (w.cols / 32);
      for (int64_t b = 0; b < w.cols / 32; ++b) {
        for (int64_t c = b * 32; c < b * 32 + 32; ++c) {
          acc += (static_cast<double>(row[c]) - mins[b]) * xq[c];
        }
        acc += static_cast<double>(mins[b]) * sums[b];
      }
    }
    y[r] = acc * w.output_scale;
  }
  return y;
}

Vec RmsNorm(const Vec& x, const float* weight, double eps, Numerics mode) {
  const size_t n = x.size();
  Vec y(n);
  if (mode == Numerics::kExact) {
    double sum = 0;
    for (double v : x) sum += v * v;
    const double s = 1.0 / std::sqrt(sum / n + eps);
    for (size_t i = 0; i < n; ++i) y[i] = x[i] * s * (weight ? weight[i] : 1.0);
    return y;
  }
  // ggml CPU: squares in F32 summed in double, mean to F32, scale with sqrtf, products in F32.
  double sum = 0;
  for (double v : x) {
    const float f = static_cast<float>(v);
    sum += static_cast<double>(f * f);
  }
  const float mean = static_cast<float>(sum / n);
  const float s = 1.0f / std::sqrt(mean + static_cast<float>(eps));
  for (size_t i = 0; i < n; ++i) {
    const float v = static_cast<float>(x[i]) * s;
    y[i] = weight ? v * weight[i] : v;
  }
  return y;
}

double Gelu(double z, Numerics mode) {
  if (mode == Numerics::kExact) {
    const double k = std::sqrt(2.0 / M_PI);
    return 0.5 * z * (1.0 + std::tanh(k * (z + 0.044715 * z * z * z)));
  }
  // ggml's table: saturate outside (-10, 10); otherwise F16 input, F32 formula, F16 output.
  const float zf = static_cast<float>(z);
  if (zf <= -10.0f) return 0.0;
  if (zf >= 10.0f) return zf;
  const float h = RoundToHalf(zf);
  const float k = 0.79788456080286535587989211986876f;  // sqrt(2/pi) in F32
  const float g = 0.5f * h * (1.0f + std::tanh(k * h * (1.0f + 0.044715f * h * h)));
  return RoundToHalf(g);
}

double MaybeRoundHalf(double x, Numerics mode) {
  return mode == Numerics::kExact ? x : RoundToHalf(static_cast<float>(x));
}

void RopeNeox(double* head, int head_dim, int n_rot, int pos, double base, double scale,
              const float* factors, Numerics mode) {
  CHECK(n_rot % 2 == 0 && n_rot <= head_dim) << "bad n_rot " << n_rot;
  const int half = n_rot / 2;
  // F32 path: theta_scale = powf(base, -2/n_rot), angles by repeated multiplication (§2).
  const float theta_scale = std::pow(static_cast<float>(base), -2.0f / static_cast<float>(n_rot));
  float theta_f = static_cast<float>(pos);
  for (int i = 0; i < half; ++i) {
    const double factor = factors ? factors[i] : 1.0;
    double c, s;
    if (mode == Numerics::kExact) {
      const double angle = scale * pos * std::pow(base, -2.0 * i / n_rot) / factor;
      c = std::cos(angle);
      s = std::sin(angle);
    } else {
      const float angle = static_cast<float>(scale) * (theta_f / static_cast<float>(factor));
      c = std::cos(angle);
      s = std::sin(angle);
      theta_f *= theta_scale;
    }
    const double x0 = head[i], x1 = head[i + half];
    head[i] = x0 * c - x1 * s;
    head[i + half] = x0 * s + x1 * c;
  }
}

}  // namespace hearth::reference
