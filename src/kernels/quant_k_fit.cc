// Scale searches of the K-quant quantizers (see quant_k_fit.h).
#include "kernels/quant_k_fit.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/blocks.h"

namespace hearth::kernels::ref {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // groups whose absmax is below this quantize to zero

}  // namespace

float FitScaleMin(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min,
                  float rmin, float rdelta, int nstep, bool use_mad) {
  float mn = x[0], mx = x[0], sum_w = w[0], sum_x = w[0] * x[0];
  for (int i = 1; i < n; ++i) {
    mn = std::min(mn, x[i]);
    mx = std::max(mx, x[i]);
    sum_w += w[i];
    sum_x += w[i] * x[i];
  }
  if (mn > 0.f) mn = 0.f;  // the min is only ever subtracted: never shift a positive group
  if (mx == mn) {
    std::memset(L, 0, n);
    *neg_min = -mn;
    return 0.f;
  }
  auto error = [&](float scale, float min, const uint8_t* levels) {
    float e = 0.f;
    for (int i = 0; i < n; ++i) {
      const float diff = scale * levels[i] + min - x[i];
      e += w[i] * (use_mad ? std::fabs(diff) : diff * diff);
    }
    return e;
  };
  float iscale = nmax / (mx - mn);
  float scale = 1.f / iscale;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(NearestInt(iscale * (x[i] - mn)), 0, nmax));
  }
  float best_error = error(scale, mn, L);
  uint8_t trial[kQK];  // n ≤ 32
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (mx - mn);
    float sum_l = 0.f, sum_l2 = 0.f, sum_xl = 0.f;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * (x[i] - mn)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      sum_l += w[i] * l;
      sum_l2 += w[i] * l * l;
      sum_xl += w[i] * l * x[i];
    }
    const float det = sum_w * sum_l2 - sum_l * sum_l;
    if (det <= 0.f) continue;
    float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
    float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
    if (this_min > 0.f) {
      this_min = 0.f;
      this_scale = sum_xl / sum_l2;
    }
    const float cur_error = error(this_scale, this_min, trial);
    if (cur_error < best_error) {
      std::memcpy(L, trial, n);
      best_error = cur_error;
      scale = this_scale;
      mn = this_min;
    }
  }
  *neg_min = -mn;
  return scale;
}

float FitScaleSymmetric(int n, int nmax, const float* x, uint8_t* L) {
  float max = 0.f, amax = 0.f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, n);
    return 0.f;
  }
  auto fit = [&](float iscale, float* sumlx, float* suml2, uint8_t* out) {
    *sumlx = 0.f;
    *suml2 = 0.f;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
      out[i] = static_cast<uint8_t>(l + nmax);
      const float w = x[i] * x[i];
      *sumlx += w * x[i] * l;
      *suml2 += w * l * l;
    }
  };
  float sumlx, suml2;
  fit(-nmax / max, &sumlx, &suml2, L);
  float scale = suml2 > 0.f ? sumlx / suml2 : 0.f;
  float best = scale * sumlx;
  uint8_t trial[kQK];
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    fit(-(nmax + 0.1f * is) / max, &sumlx, &suml2, trial);
    if (suml2 > 0.f && sumlx * sumlx > best * suml2) {
      std::memcpy(L, trial, n);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

float FitScaleQ3(int n, int nmax, const float* x, uint8_t* L) {
  float max = 0.f, amax = 0.f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    std::memset(L, 0, n);
    return 0.f;
  }
  const float iscale = -nmax / max;
  int l8[kQK];
  float sumlx = 0.f, suml2 = 0.f;
  for (int i = 0; i < n; ++i) {
    l8[i] = std::clamp(NearestInt(iscale * x[i]), -nmax, nmax - 1);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l8[i];
    suml2 += w * l8[i] * l8[i];
  }
  for (int itry = 0; itry < 5; ++itry) {
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * l8[i];
      if (slx <= 0.f) continue;
      float sl2 = suml2 - w * l8[i] * l8[i];
      const int new_l = std::clamp(NearestInt(x[i] * sl2 / slx), -nmax, nmax - 1);
      if (new_l == l8[i]) continue;
      slx += w * x[i] * new_l;
      sl2 += w * new_l * new_l;
      if (sl2 > 0.f && slx * slx * suml2 > sumlx * sumlx * sl2) {
        l8[i] = new_l;
        sumlx = slx;
        suml2 = sl2;
        ++n_changed;
      }
    }
    if (n_changed == 0) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<uint8_t>(l8[i] + nmax);
  return suml2 > 0.f ? sumlx / suml2 : 0.f;
}

}  // namespace hearth::kernels::ref
