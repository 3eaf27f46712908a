// Matrix products over weights in place (see matmul.h). Cost: one pass over the weight rows
// [row_begin, row_end) from memory, each block of rows dotted with all n_tok activation rows while
// it is hot in cache; activations are converted once per call into the Workspace. Where the CPU
// has a packed many-token kernel for the weight type (AVX-512 VNNI: Q4_0, Q5_0, Q8_0, Q4_K, Q6_K,
// F16, BF16), the activations are also packed into its layout and the kernel computes tiles of
// rows × tokens (MatMulPacked); otherwise four tokens at a time share each weight row's unpacking
// (VecDot4Fn). Matrices in an interleaved layout (matmul.h, rewritten at load) take their own
// kernel, whatever the number of tokens.
#include "kernels/matmul.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/check.h"
#include "kernels/impl.h"
#include "kernels/quant.h"

namespace hearth::kernels {
namespace {

constexpr int64_t kRowChunk = 16;  // weight rows per scheduling unit when rows are many
// Weight rows kept hot while all tokens pass over them (16 rows of 4096 Q8_0 ≈ 70 KB).
constexpr int64_t kRowBlock = 16;
constexpr int64_t kMinParallelTokens = 4;  // fewer activation rows are converted on the caller
// Packed activations one row block is run against at a time (a quarter of a 1 MiB L2).
constexpr int64_t kPackedTokenBytes = 256 * 1024;

}  // namespace

uint8_t* Workspace::Bytes(size_t n) {
  if (buf_.size() < n) buf_.resize(n);
  return buf_.data();
}

namespace {

// The many-token path (a packed kernel for this type and CPU, impl.h): activations converted and
// packed once; then each thread walks its weight rows in blocks of kRowBlock, and each block
// against the tokens in groups of at most kPackedTokenBytes of packed activations, so the block's
// weights (read from memory once) and the group's activations both stay in cache while the tile
// kernel runs over them.
// `unit`: rows per indivisible group (kInterleaveRows in the interleaved layouts, else 1);
// row_begin and n_rows are multiples of it, and so is every thread's share.
void MatMulPacked(const Matrix& w, int64_t row_begin, int64_t n_rows, const float* x,
                  int64_t n_tok, float* y, ThreadPool& pool, Workspace& ws, int64_t act_bytes,
                  const PackedPath& path, int64_t unit) {
  struct Job {
    const Matrix* w;
    int64_t row_begin, n_rows, n_tok, act_bytes, pstride, tok_block;
    const float* x;
    float* y;
    uint8_t* act;
    uint8_t* packed;
    PackedPath path;
  };
  const int64_t pstride = path.bytes(w.type, path.one_token, w.cols);
  const size_t act_total = static_cast<size_t>(act_bytes * n_tok);
  const size_t packed_at = (act_total + 63) / 64 * 64;
  uint8_t* base = ws.Bytes(packed_at + static_cast<size_t>(pstride * n_tok) + 64);
  base += (64 - reinterpret_cast<uintptr_t>(base) % 64) % 64;  // 64-byte aligned packed rows
  const int64_t tok_block = std::max<int64_t>(8, kPackedTokenBytes / pstride / 8 * 8);
  const Job job{&w, row_begin, n_rows, n_tok, act_bytes, pstride, tok_block, x, y,
                base, base + packed_at, path};

  auto convert = [&job](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      uint8_t* act = job.act + t * job.act_bytes;
      QuantizeActivations(job.w->type, job.x + t * job.w->cols, act, job.w->cols);
      job.path.pack(act, job.w->cols, job.packed + t * job.pstride);
    }
  };
  if (n_tok < kMinParallelTokens) {
    convert(0, n_tok, 0);
  } else {
    pool.ParallelFor(n_tok, convert);
  }

  const int64_t units = n_rows / unit;
  const int64_t grain =
      std::clamp<int64_t>(units / pool.size(), 1, std::max<int64_t>(1, kRowChunk / unit));
  pool.ParallelFor(
      units,
      [&job, unit](int64_t u0, int64_t u1, int) {
        const int64_t r0 = u0 * unit, r1 = u1 * unit;
        for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
          const int64_t rb_end = std::min(r1, rb + kRowBlock);
          for (int64_t t = 0; t < job.n_tok; t += job.tok_block) {
            job.path.dot(job.w->data + (job.row_begin + rb) * job.w->row_bytes, job.w->row_bytes,
                         rb_end - rb, job.packed + t * job.pstride, job.pstride,
                         std::min(job.tok_block, job.n_tok - t), job.w->cols,
                         job.y + t * job.n_rows + rb, job.n_rows);
          }
        }
      },
      grain);
}

}  // namespace

void MatMulRows(const Matrix& w, int64_t row_begin, int64_t row_end, const float* x,
                int64_t n_tok, float* y, ThreadPool& pool, Workspace& ws) {
  CHECK(IsSupported(w.type)) << "MatMul: unsupported weight type " << static_cast<uint32_t>(w.type);
  CHECK(w.cols > 0 && w.cols % BlockElems(w.type) == 0)
      << "MatMul: " << w.cols << " columns is not a whole number of blocks";
  CHECK(w.row_bytes == RowBytes(w.type, w.cols)) << "MatMul: row_bytes " << w.row_bytes;
  CHECK(0 <= row_begin && row_begin <= row_end && row_end <= w.rows)
      << "MatMul: rows [" << row_begin << ", " << row_end << ") of " << w.rows;
  if (n_tok <= 0 || row_begin == row_end) return;

  const TensorType act_type = VecDotType(w.type);
  const int64_t act_bytes = RowBytes(act_type, w.cols);
  if (w.layout != Layout::kRows) {
    const PackedPath path = InterleavedPath(w.type);
    CHECK(path.dot != nullptr) << "MatMul: interleaved rows but no kernel for them on this CPU";
    CHECK(row_begin % kInterleaveRows == 0 && row_end % kInterleaveRows == 0)
        << "MatMul: rows [" << row_begin << ", " << row_end << ") split a group of "
        << kInterleaveRows;
    MatMulPacked(w, row_begin, row_end - row_begin, x, n_tok, y, pool, ws, act_bytes, path,
                 kInterleaveRows);
    return;
  }
  const PackedPath packed = BestPackedPath(w.type, n_tok);
  if (packed.dot != nullptr) {
    MatMulPacked(w, row_begin, row_end - row_begin, x, n_tok, y, pool, ws, act_bytes, packed, 1);
    return;
  }

  // Everything the workers need, behind one pointer: a lambda capturing only &job fits in
  // std::function's inline storage, so no call allocates.
  struct Job {
    const Matrix* w;
    int64_t row_begin, n_rows, n_tok, act_bytes;
    const float* x;
    float* y;
    uint8_t* act;
    VecDotFn dot;
    VecDot4Fn dot4;  // nullptr where the type has no four-token kernel
  };
  const Job job{&w, row_begin, row_end - row_begin, n_tok, act_bytes, x, y,
                ws.Bytes(static_cast<size_t>(act_bytes * n_tok)), BestVecDot(w.type),
                BestVecDot4(w.type)};

  // 1. Activations to the vec-dot type, once for all weight rows.
  auto convert = [&job](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      QuantizeActivations(job.w->type, job.x + t * job.w->cols, job.act + t * job.act_bytes,
                          job.w->cols);
    }
  };
  if (n_tok < kMinParallelTokens) {
    convert(0, n_tok, 0);
  } else {
    pool.ParallelFor(n_tok, convert);
  }

  // 2. Weight rows across threads. Each thread walks its rows in blocks of kRowBlock: a block's
  // weights stay in cache while every token is dotted with them, four tokens at a time where a
  // four-token kernel shares the weight unpacking (and those four activation rows stay in L1
  // across the block). y has n_rows columns per token.
  const int64_t grain = std::clamp<int64_t>(job.n_rows / pool.size(), 1, kRowChunk);
  pool.ParallelFor(
      job.n_rows,
      [&job](int64_t r0, int64_t r1, int) {
        for (int64_t rb = r0; rb < r1; rb += kRowBlock) {
          const int64_t rb_end = std::min(r1, rb + kRowBlock);
          int64_t t = 0;
          if (job.dot4 != nullptr) {
            float out[4];
            for (; t + 4 <= job.n_tok; t += 4) {
              const uint8_t* act4 = job.act + t * job.act_bytes;
              for (int64_t r = rb; r < rb_end; ++r) {
                job.dot4(job.w->data + (job.row_begin + r) * job.w->row_bytes, act4,
                         job.act_bytes, job.w->cols, out);
                for (int k = 0; k < 4; ++k) job.y[(t + k) * job.n_rows + r] = out[k];
              }
            }
          }
          for (; t < job.n_tok; ++t) {
            const uint8_t* act = job.act + t * job.act_bytes;
            for (int64_t r = rb; r < rb_end; ++r) {
              job.y[t * job.n_rows + r] =
                  job.dot(job.w->data + (job.row_begin + r) * job.w->row_bytes, act, job.w->cols);
            }
          }
        }
      },
      grain);
}

void MatMul(const Matrix& w, const float* x, int64_t n_tok, float* y, ThreadPool& pool,
            Workspace& ws) {
  MatMulRows(w, 0, w.rows, x, n_tok, y, pool, ws);
}

void GetRow(const Matrix& w, int64_t r, float* dst) {
  CHECK(0 <= r && r < w.rows) << "GetRow: row " << r << " of " << w.rows;
  if (w.layout != Layout::kRows) {
    thread_local std::vector<uint8_t> row;
    row.resize(static_cast<size_t>(w.row_bytes));
    ReadInterleavedRow(w, r, row.data());
    DequantizeRow(w.type, row.data(), dst, w.cols);
    return;
  }
  DequantizeRow(w.type, w.data + r * w.row_bytes, dst, w.cols);
}

}  // namespace hearth::kernels
