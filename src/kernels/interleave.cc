// The 16-row interleaved layouts of Q4_0, Q5_0 and Q8_0 (matmul.h, Layout::kQ4_0x16, kQ5_0x16,
// kQ8_0x16): rewriting rows into them at load, and reading one row back out (GetRow). Portable
// code; the kernel that reads them is x86/avx512_x16.cc.
#include <cstring>
#include <vector>

#include "core/check.h"
#include "kernels/blocks.h"
#include "kernels/impl.h"
#include "kernels/matmul.h"

namespace hearth::kernels {
namespace {

using T = gguf::TensorType;

constexpr int64_t kGroup = kInterleaveRows;

// A block of each type: the F16 scale, Q5_0's 32 fifth bits (qh), then the level bytes (qs),
// which go to the lanes four bytes at a time.
struct Form {
  int64_t qh_bytes;  // 4 (Q5_0) or 0
  int64_t qs_bytes;  // 16 (nibbles) or 32 (Q8_0's levels)
  uint32_t flip;     // xor on each 4-byte piece: Q8_0's signed levels stored + 128 (unsigned)
  Layout layout;
  int64_t block() const { return 2 + qh_bytes + qs_bytes; }
  // Where, in a group's block column, the 16 scales end (and Q5_0's masks begin), and where the
  // 4-byte pieces of the levels begin.
  static constexpr int64_t kMasksAt = 2 * kGroup;
  int64_t pieces_at() const { return kMasksAt + qh_bytes * kGroup; }
};

bool Known(T t) { return t == T::kQ4_0 || t == T::kQ5_0 || t == T::kQ8_0; }

Form FormOf(T t) {
  switch (t) {
    case T::kQ4_0: return {0, 16, 0, Layout::kQ4_0x16};
    case T::kQ5_0: return {4, 16, 0, Layout::kQ5_0x16};
    default: return {0, 32, 0x80808080u, Layout::kQ8_0x16};
  }
}

void Copy4(const uint8_t* src, uint8_t* dst, uint32_t flip) {
  uint32_t v;
  std::memcpy(&v, src, 4);
  v ^= flip;
  std::memcpy(dst, &v, 4);
}

// The layout applies (whatever the CPU).
bool Fits(const Matrix& w) {
  return Known(w.type) && w.layout == Layout::kRows && w.rows > 0 && w.rows % kGroup == 0 &&
         w.cols > 0 && w.cols % kQK == 0 && w.row_bytes == w.cols / kQK * FormOf(w.type).block();
}

}  // namespace

bool CanInterleave(const Matrix& w) { return Fits(w) && InterleavedPath(w.type).dot != nullptr; }

void Interleave(Matrix& w, uint8_t* data) {
  CHECK(Fits(w)) << "Interleave: not Q4_0, Q5_0 or Q8_0 rows in GGUF's layout in groups of 16";
  CHECK(data == w.data) << "Interleave: data is not the matrix's";
  const Form f = FormOf(w.type);
  const int64_t nb = w.cols / kQK, block = f.block();
  std::vector<uint8_t> rows(static_cast<size_t>(kGroup * w.row_bytes));
  for (int64_t g = 0; g < w.rows / kGroup; ++g) {
    uint8_t* out = data + g * kGroup * w.row_bytes;
    std::memcpy(rows.data(), out, rows.size());
    for (int64_t b = 0; b < nb; ++b, out += kGroup * block) {
      uint64_t masks[8] = {};
      uint8_t* pieces = out + f.pieces_at();
      for (int64_t r = 0; r < kGroup; ++r) {
        const uint8_t* blk = rows.data() + r * w.row_bytes + b * block;
        std::memcpy(out + 2 * r, blk, 2);  // the F16 scale
        if (f.qh_bytes != 0) {
          // Mask e, bit 4r + i: the fifth bit of row r's element 4e + i (qh bit 4e + i).
          uint32_t qh;
          std::memcpy(&qh, blk + 2, 4);
          for (int e = 0; e < 8; ++e) masks[e] |= uint64_t{(qh >> (4 * e)) & 15u} << (4 * r);
        }
        for (int64_t j = 0; j < f.qs_bytes / 4; ++j) {
          Copy4(blk + 2 + f.qh_bytes + 4 * j, pieces + 64 * j + 4 * r, f.flip);
        }
      }
      if (f.qh_bytes != 0) std::memcpy(out + Form::kMasksAt, masks, sizeof(masks));
    }
  }
  w.layout = f.layout;
}

void ReadInterleavedRow(const Matrix& w, int64_t r, void* blocks) {
  auto* out = static_cast<uint8_t*>(blocks);
  const Form f = FormOf(w.type);
  const int64_t nb = w.cols / kQK, block = f.block(), i = r % kGroup;
  const uint8_t* col = w.data + (r - i) * w.row_bytes;
  for (int64_t b = 0; b < nb; ++b, col += kGroup * block, out += block) {
    std::memcpy(out, col + 2 * i, 2);
    if (f.qh_bytes != 0) {
      uint64_t masks[8];
      std::memcpy(masks, col + Form::kMasksAt, sizeof(masks));
      uint32_t qh = 0;
      for (int e = 0; e < 8; ++e) {
        qh |= static_cast<uint32_t>((masks[e] >> (4 * i)) & 15u) << (4 * e);
      }
      std::memcpy(out + 2, &qh, 4);
    }
    const uint8_t* pieces = col + f.pieces_at();
    for (int64_t j = 0; j < f.qs_bytes / 4; ++j) {
      Copy4(pieces + 64 * j + 4 * i, out + 2 + f.qh_bytes + 4 * j, f.flip);
    }
  }
}

}  // namespace hearth::kernels
