// Internal to kernels/: the scale searches the K-quant quantizers use (the methods of ggml's
// make_qkx2_quants, make_qx_quants and make_q3_quants, implemented independently).
#pragma once

#include <cstdint>

namespace hearth::kernels::ref {

// Asymmetric fit x ≈ scale·L − min with L in [0, nmax], weighted by w: starts from the min/max
// scale, then tries nstep scales (nmax + rmin + rdelta·k)/(max − min) and keeps the one whose
// least-squares (scale, min) gives the smallest weighted error (absolute error when use_mad).
// Returns scale; *neg_min = −min ≥ 0. L receives the levels.
float FitScaleMin(int n, int nmax, const float* x, const float* w, uint8_t* L, float* neg_min,
                  float rmin, float rdelta, int nstep, bool use_mad);

// Symmetric fit x ≈ scale·(L − nmax) with L − nmax in [−nmax, nmax − 1], weights x² (ggml
// rmse_type 1): tries 19 scales around nmax/absmax and keeps the best least-squares one.
float FitScaleSymmetric(int n, int nmax, const float* x, uint8_t* L);

// Symmetric fit for Q3_K (ggml make_q3_quants with do_rmse): starts from the absmax scale, then
// moves single levels while that improves the x²-weighted fit. L in [0, 2·nmax).
float FitScaleQ3(int n, int nmax, const float* x, uint8_t* L);

}  // namespace hearth::kernels::ref
