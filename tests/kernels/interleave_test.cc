// Layout::kQ4_0x16, kQ5_0x16 and kQ8_0x16: the rewrite keeps every row (GetRow reads them back bit for bit), and MatMul
// over it agrees with the exact products of the same quantized weights and activations, for any
// number of tokens and threads, odd block counts and group-aligned row ranges. The interleaved
// kernel adds each row's block terms in another order than VecDot, so the oracle is the exact
// sum (in double, of values that are exact in float) with a bound on float rounding.
#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "kernels/blocks.h"
#include "kernels/matmul.h"
#include "kernels/quant.h"
#include "test_util.h"

namespace hearth::kernels {
namespace {

using T = TensorType;
using testing::Gaussian;

// A test matrix and a copy of its bytes in GGUF's layout (Interleave rewrites the matrix's own).
struct QMatrix {
  std::vector<uint8_t> bytes, original;
  Matrix m;
};

QMatrix Make(T type, int64_t rows, int64_t cols, uint32_t seed) {
  testing::TestMatrix tm = testing::MakeMatrix(type, rows, cols, seed);
  QMatrix q{std::move(tm.bytes), {}, tm.m};  // the moved vector keeps its storage: m.data holds
  q.original = q.bytes;
  return q;
}

class Interleaved : public ::testing::TestWithParam<T> {};

// Exact y[t][r - r0] from the GGUF-layout bytes, and a bound on the kernel's float rounding.
void Exact(const QMatrix& q, int64_t r0, int64_t r1, const std::vector<float>& x, int64_t n_tok,
           std::vector<double>* y, std::vector<double>* tol) {
  const int64_t cols = q.m.cols, nb = cols / kQK;
  std::vector<float> w(cols), xd(cols);
  std::vector<uint8_t> act(RowBytes(T::kQ8_0, cols));
  y->assign(n_tok * (r1 - r0), 0);
  tol->assign(n_tok * (r1 - r0), 0);
  for (int64_t t = 0; t < n_tok; ++t) {
    QuantizeActivations(q.m.type, x.data() + t * cols, act.data(), cols);
    DequantizeRow(T::kQ8_0, act.data(), xd.data(), cols);
    for (int64_t r = r0; r < r1; ++r) {
      DequantizeRow(q.m.type, q.original.data() + r * q.m.row_bytes, w.data(), cols);
      double sum = 0, mag = 0;
      for (int64_t c = 0; c < cols; ++c) {
        sum += double{w[c]} * xd[c];
        mag += std::fabs(double{w[c]} * xd[c]);
      }
      (*y)[t * (r1 - r0) + r - r0] = sum;
      // One rounding of each block's scale product and term, nb additions: relative 2^-24 each.
      (*tol)[t * (r1 - r0) + r - r0] = (nb + 3) * 6e-8 * mag + 1e-30;
    }
  }
}

TEST_P(Interleaved, GetRowReadsEveryRowBack) {
  for (int64_t cols : {32, 544, 1152}) {
    QMatrix q = Make(GetParam(), 48, cols, 3);
    Interleave(q.m, q.bytes.data());
    EXPECT_EQ(q.m.layout, GetParam() == T::kQ4_0   ? Layout::kQ4_0x16
                          : GetParam() == T::kQ5_0 ? Layout::kQ5_0x16
                                                   : Layout::kQ8_0x16);
    EXPECT_NE(q.bytes, q.original);
    std::vector<float> got(cols), want(cols);
    for (int64_t r = 0; r < 48; ++r) {
      GetRow(q.m, r, got.data());
      DequantizeRow(GetParam(), q.original.data() + r * q.m.row_bytes, want.data(), cols);
      ASSERT_EQ(got, want) << "cols " << cols << " row " << r;
    }
  }
}

TEST_P(Interleaved, OnlyRowsInGroupsOf16) {
  EXPECT_FALSE(CanInterleave(Make(GetParam(), 40, 64, 1).m));  // 40 rows: not whole groups
  EXPECT_FALSE(CanInterleave(Make(T::kQ4_1, 32, 64, 1).m));    // no layout for other types
  QMatrix q = Make(GetParam(), 32, 64, 1);
  Interleave(q.m, q.bytes.data());
  EXPECT_FALSE(CanInterleave(q.m));  // already interleaved
  EXPECT_DEATH(Interleave(q.m, q.bytes.data()), "groups of 16");
}

TEST_P(Interleaved, MatMulMatchesExactProducts) {
  if (!CanInterleave(Make(GetParam(), 16, 32, 1).m)) {
    GTEST_SKIP() << "no interleaved-layout kernel on this CPU";
  }
  for (int threads = 1; threads <= 3; ++threads) {
    ThreadPool pool(threads);
    Workspace ws;
    // 32 columns: one block; 544: an odd 17; 8192: token blocks split by the cache budget.
    for (int64_t cols : {32, 544, 8192}) {
      const int64_t rows = 48;
      QMatrix q = Make(GetParam(), rows, cols, 7 + static_cast<uint32_t>(cols));
      Interleave(q.m, q.bytes.data());
      for (int64_t n_tok : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 40}) {
        if (threads > 1 && cols == 8192 && n_tok > 9) continue;  // enough: the same code as one thread
        const auto x = Gaussian(n_tok * cols, 100 + static_cast<uint32_t>(n_tok));
        std::vector<float> y(n_tok * rows, -1.f);
        MatMul(q.m, x.data(), n_tok, y.data(), pool, ws);
        std::vector<double> want, tol;
        Exact(q, 0, rows, x, n_tok, &want, &tol);
        for (size_t i = 0; i < y.size(); ++i) {
          ASSERT_NEAR(y[i], want[i], tol[i]) << "cols " << cols << " n_tok " << n_tok << " threads "
                                             << threads << " token " << i / rows << " row " << i % rows;
        }
      }
      // A group-aligned range of rows: y has 32 columns per token.
      const auto x = Gaussian(3 * cols, 5);
      std::vector<float> y(3 * 32);
      MatMulRows(q.m, 16, 48, x.data(), 3, y.data(), pool, ws);
      std::vector<double> want, tol;
      Exact(q, 16, 48, x, 3, &want, &tol);
      for (size_t i = 0; i < y.size(); ++i) ASSERT_NEAR(y[i], want[i], tol[i]) << "rows 16..48, " << i;
    }
  }
}

TEST_P(Interleaved, RowRangesKeepGroupsWhole) {
  if (!CanInterleave(Make(GetParam(), 16, 32, 1).m)) {
    GTEST_SKIP() << "no interleaved-layout kernel on this CPU";
  }
  ThreadPool pool(1);
  Workspace ws;
  QMatrix q = Make(GetParam(), 32, 64, 2);
  Interleave(q.m, q.bytes.data());
  std::vector<float> x(64), y(32);
  EXPECT_DEATH(MatMulRows(q.m, 8, 24, x.data(), 1, y.data(), pool, ws), "split a group of 16");
}

INSTANTIATE_TEST_SUITE_P(Types, Interleaved, ::testing::Values(T::kQ4_0, T::kQ5_0, T::kQ8_0),
                         [](const auto& info) { return std::string(testing::Name(info.param)); });

}  // namespace
}  // namespace hearth::kernels
