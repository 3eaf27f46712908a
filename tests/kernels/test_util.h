// Helpers shared by the kernels tests: reproducible Gaussian data, misaligned copies of byte
// buffers, and the error measures the tolerances are stated in.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/quant.h"

namespace hearth::kernels::testing {

inline std::vector<float> Gaussian(int64_t n, uint32_t seed, float sigma = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, sigma);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// A copy of `bytes` starting `offset` bytes into its own storage (for misalignment sweeps).
class OffsetBuffer {
 public:
  OffsetBuffer(const std::vector<uint8_t>& bytes, int offset)
      : storage_(bytes.size() + offset + 64), offset_(offset) {
    std::memcpy(data(), bytes.data(), bytes.size());
  }
  uint8_t* data() { return storage_.data() + offset_; }

 private:
  std::vector<uint8_t> storage_;
  int offset_;
};

inline std::vector<uint8_t> Quantize(TensorType t, const std::vector<float>& x) {
  std::vector<uint8_t> q(RowBytes(t, x.size()));
  QuantizeRow(t, x.data(), q.data(), x.size());
  return q;
}

// A rows × cols matrix of type t from Gaussian(rows·cols, seed), quantized row by row, and its
// Matrix view (whose data pointer stays valid when the TestMatrix is moved).
struct TestMatrix {
  std::vector<uint8_t> bytes;
  Matrix m;
};

inline TestMatrix MakeMatrix(TensorType type, int64_t rows, int64_t cols, uint32_t seed) {
  TestMatrix tm;
  const auto w = Gaussian(rows * cols, seed);
  const int64_t rb = RowBytes(type, cols);
  tm.bytes.resize(rows * rb);
  for (int64_t r = 0; r < rows; ++r) {
    QuantizeRow(type, w.data() + r * cols, tm.bytes.data() + r * rb, cols);
  }
  tm.m = Matrix{type, tm.bytes.data(), cols, rows, rb};
  return tm;
}

inline std::vector<float> Dequantize(TensorType t, const void* q, int64_t n) {
  std::vector<float> y(n);
  DequantizeRow(t, q, y.data(), n);
  return y;
}

// Activations converted for a dot with weights of type t, as bytes.
inline std::vector<uint8_t> Activations(TensorType t, const std::vector<float>& x) {
  std::vector<uint8_t> a(RowBytes(VecDotType(t), x.size()));
  QuantizeActivations(t, x.data(), a.data(), x.size());
  return a;
}

// Σ|a_i·b_i| in double: the scale against which dot-product summation errors are measured.
inline double AbsDotScale(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += std::fabs(static_cast<double>(a[i]) * b[i]);
  return s;
}

inline double Dot64(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * b[i];
  return s;
}

// The supported weight types, for sweeps.
inline const std::vector<TensorType>& AllWeightTypes() {
  using T = TensorType;
  static const std::vector<TensorType> types = {
      T::kF32,  T::kF16,  T::kBF16, T::kQ8_0, T::kQ4_0, T::kQ4_1,   T::kQ5_0,  T::kQ5_1,
      T::kQ2_K, T::kQ3_K, T::kQ4_K, T::kQ5_K, T::kQ6_K, T::kIQ4_NL, T::kIQ4_XS, T::kMXFP4};
  return types;
}

inline const char* Name(TensorType t) {
  using T = TensorType;
  switch (t) {
    case T::kF32: return "F32";
    case T::kF16: return "F16";
    case T::kBF16: return "BF16";
    case T::kQ8_0: return "Q8_0";
    case T::kQ8_1: return "Q8_1";
    case T::kQ8_K: return "Q8_K";
    case T::kQ4_0: return "Q4_0";
    case T::kQ4_1: return "Q4_1";
    case T::kQ5_0: return "Q5_0";
    case T::kQ5_1: return "Q5_1";
    case T::kQ2_K: return "Q2_K";
    case T::kQ3_K: return "Q3_K";
    case T::kQ4_K: return "Q4_K";
    case T::kQ5_K: return "Q5_K";
    case T::kQ6_K: return "Q6_K";
    case T::kIQ4_NL: return "IQ4_NL";
    case T::kIQ4_XS: return "IQ4_XS";
    case T::kMXFP4: return "MXFP4";
    default: return "?";
  }
}

}  // namespace hearth::kernels::testing
