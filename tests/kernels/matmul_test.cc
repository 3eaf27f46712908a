// MatMul / MatMulRows / GetRow: every output equals the per-row VecDot exactly, for 1–3 threads
// and 1–9 tokens; the workspace stops growing once it is large enough.
#include "kernels/matmul.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "kernels/quant.h"
#include "alloc_counter.h"
#include "test_util.h"

namespace hearth::kernels {
namespace {

using T = TensorType;
using testing::Gaussian;
using testing::MakeMatrix;
using testing::Name;

// y[t][r] by one VecDot per (row, token): the oracle.
std::vector<float> PerRowDots(const Matrix& w, int64_t r0, int64_t r1, const std::vector<float>& x,
                              int64_t n_tok) {
  std::vector<float> y(n_tok * (r1 - r0));
  std::vector<uint8_t> act(RowBytes(VecDotType(w.type), w.cols));
  for (int64_t t = 0; t < n_tok; ++t) {
    QuantizeActivations(w.type, x.data() + t * w.cols, act.data(), w.cols);
    for (int64_t r = r0; r < r1; ++r) {
      y[t * (r1 - r0) + (r - r0)] = VecDot(w.type, w.data + r * w.row_bytes, act.data(), w.cols);
    }
  }
  return y;
}

TEST(MatMulTest, EqualsPerRowVecDot) {
  for (int threads = 1; threads <= 3; ++threads) {
    ThreadPool pool(threads);
    Workspace ws;
    for (T type : testing::AllWeightTypes()) {
      const int64_t cols = 512, rows = 37;  // rows not a multiple of the chunk size
      auto tm = MakeMatrix(type, rows, cols, 5);
      for (int64_t n_tok = 1; n_tok <= 9; ++n_tok) {
        const auto x = Gaussian(n_tok * cols, 40 + n_tok);
        std::vector<float> y(n_tok * rows, -1.f);
        MatMul(tm.m, x.data(), n_tok, y.data(), pool, ws);
        ASSERT_EQ(y, PerRowDots(tm.m, 0, rows, x, n_tok))
            << Name(type) << " threads " << threads << " n_tok " << n_tok;
      }
    }
  }
}

// Many tokens: the packed many-token path (Q4_0 / Q5_0 / Q8_0 / Q4_K / Q6_K / F16 / BF16 where
// the CPU has AVX-512 VNNI) takes tokens 8 (K types and float rows: 4) at a time with 4/2/1
// tails and splits them into blocks that fit the cache (16 tokens per block at 8192 columns), so
// counts around 8, 16 and past one block; odd block counts (544 columns) take the kernels'
// half-pair tail. Q5_K takes the 4-token path here.
TEST(MatMulTest, ManyTokensEqualPerRowVecDot) {
  ThreadPool pool(2);
  Workspace ws;
  for (T type : {T::kQ4_0, T::kQ5_0, T::kQ8_0, T::kQ4_K, T::kQ6_K, T::kF16, T::kBF16, T::kQ5_K}) {
    for (int64_t cols : {544, 8192}) {
      if (cols % BlockElems(type) != 0) continue;  // Q4_K: 256-element blocks
      const int64_t rows = 37;
      auto tm = MakeMatrix(type, rows, cols, 21);
      for (int64_t n_tok : {15, 16, 17, 40}) {
        const auto x = Gaussian(n_tok * cols, 60 + static_cast<uint32_t>(n_tok));
        std::vector<float> y(n_tok * rows, -1.f);
        MatMul(tm.m, x.data(), n_tok, y.data(), pool, ws);
        ASSERT_EQ(y, PerRowDots(tm.m, 0, rows, x, n_tok))
            << Name(type) << " cols " << cols << " n_tok " << n_tok;
      }
      std::vector<float> y(17 * 20);
      const auto x = Gaussian(17 * cols, 99);
      MatMulRows(tm.m, 11, 31, x.data(), 17, y.data(), pool, ws);
      EXPECT_EQ(y, PerRowDots(tm.m, 11, 31, x, 17)) << Name(type) << " cols " << cols;
    }
  }
}

TEST(MatMulTest, RowsSubset) {
  ThreadPool pool(2);
  Workspace ws;
  auto tm = MakeMatrix(T::kQ4_K, 50, 256, 9);
  const int64_t n_tok = 3;
  const auto x = Gaussian(n_tok * 256, 10);
  std::vector<float> y(n_tok * 20);
  MatMulRows(tm.m, 17, 37, x.data(), n_tok, y.data(), pool, ws);
  EXPECT_EQ(y, PerRowDots(tm.m, 17, 37, x, n_tok));
  MatMulRows(tm.m, 5, 5, x.data(), n_tok, y.data(), pool, ws);  // empty range: no-op
}

TEST(MatMulTest, LargeMatrixManyThreads) {
  ThreadPool pool(3);
  Workspace ws;
  auto tm = MakeMatrix(T::kQ8_0, 300, 1024, 11);
  const auto x = Gaussian(2 * 1024, 12);
  std::vector<float> y(2 * 300);
  MatMul(tm.m, x.data(), 2, y.data(), pool, ws);
  EXPECT_EQ(y, PerRowDots(tm.m, 0, 300, x, 2));
}

TEST(MatMulTest, NoAllocationOnceTheWorkspaceHasGrown) {
  // One thread: ThreadPool::ParallelFor then calls straight through (its multi-thread path builds
  // a std::function of its own, outside kernels/).
  ThreadPool pool(1);
  Workspace ws;
  for (T type : {T::kQ4_0, T::kQ4_K, T::kF16}) {
    auto tm = MakeMatrix(type, 40, 512, 3);
    const auto x = Gaussian(8 * 512, 4);
    std::vector<float> y(8 * 40);
    MatMul(tm.m, x.data(), 8, y.data(), pool, ws);  // grows the workspace
    const int64_t before = testing::AllocationCount();
    MatMul(tm.m, x.data(), 8, y.data(), pool, ws);
    MatMul(tm.m, x.data(), 5, y.data(), pool, ws);
    MatMulRows(tm.m, 3, 20, x.data(), 2, y.data(), pool, ws);
    EXPECT_EQ(testing::AllocationCount(), before) << Name(type);
  }
  const int64_t before = testing::AllocationCount();
  auto counted = std::make_unique<int>(1);  // the counter does see allocations
  EXPECT_EQ(testing::AllocationCount(), before + 1);
}

TEST(MatMulTest, WorkspaceDoesNotGrowOnceLargeEnough) {
  Workspace ws;
  uint8_t* p = ws.Bytes(1000);
  EXPECT_EQ(ws.Bytes(10), p);
  EXPECT_EQ(ws.Bytes(1000), p);
}

TEST(MatMulTest, GetRowDequantizes) {
  auto tm = MakeMatrix(T::kQ6_K, 4, 512, 13);
  std::vector<float> row(512), want(512);
  GetRow(tm.m, 2, row.data());
  DequantizeRow(T::kQ6_K, tm.bytes.data() + 2 * tm.m.row_bytes, want.data(), 512);
  EXPECT_EQ(row, want);
}

TEST(MatMulDeathTest, BadShapesAreBugs) {
  ThreadPool pool(1);
  Workspace ws;
  auto tm = MakeMatrix(T::kQ4_0, 4, 64, 1);
  std::vector<float> x(64), y(8);
  EXPECT_DEATH(MatMulRows(tm.m, 2, 5, x.data(), 1, y.data(), pool, ws), "rows");
  Matrix bad = tm.m;
  bad.type = T::kIQ2_XXS;
  EXPECT_DEATH(MatMul(bad, x.data(), 1, y.data(), pool, ws), "unsupported");
}

}  // namespace
}  // namespace hearth::kernels
