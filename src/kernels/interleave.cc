// The 16-row interleaved layouts of Q4_0 and Q8_0 (matmul.h, Layout::kQ4_0x16 / kQ8_0x16):
// rewriting rows into them at load, and reading one row back out (GetRow). Portable code; the
// kernel that reads them is x86/avx512_x16.cc.
#include <cstring>
#include <vector>

#include "core/check.h"
#include "kernels/blocks.h"
#include "kernels/impl.h"
#include "kernels/matmul.h"

namespace hearth::kernels {
namespace {

constexpr int64_t kGroup = 16;

// Bytes of level data per block (16 for Q4_0's nibbles, 32 for Q8_0), each block being an F16
// scale followed by them; 4-byte pieces of them go to the lanes.
int64_t LevelBytes(gguf::TensorType t) { return t == gguf::TensorType::kQ4_0 ? 16 : 32; }
// Q8_0's signed levels are stored + 128 (unsigned, for vpdpbusd): each byte's top bit flipped,
// four at a time; Q4_0's nibbles as they are.
uint32_t Flip(gguf::TensorType t) { return t == gguf::TensorType::kQ8_0 ? 0x80808080u : 0; }

void Copy4(const uint8_t* src, uint8_t* dst, uint32_t flip) {
  uint32_t v;
  std::memcpy(&v, src, 4);
  v ^= flip;
  std::memcpy(dst, &v, 4);
}

// The layout applies (whatever the CPU).
bool Fits(const Matrix& w) {
  return (w.type == gguf::TensorType::kQ4_0 || w.type == gguf::TensorType::kQ8_0) &&
         w.layout == Layout::kRows && w.rows > 0 && w.rows % kGroup == 0 && w.cols > 0 &&
         w.cols % kQK == 0 && w.row_bytes == w.cols / kQK * (2 + LevelBytes(w.type));
}

}  // namespace

bool CanInterleave(const Matrix& w) { return Fits(w) && InterleavedPath(w.type).dot != nullptr; }

void Interleave(Matrix& w, uint8_t* data) {
  CHECK(Fits(w)) << "Interleave: not Q4_0 or Q8_0 rows in GGUF's layout in groups of 16";
  CHECK(data == w.data) << "Interleave: data is not the matrix's";
  const int64_t nb = w.cols / kQK, lb = LevelBytes(w.type), block = 2 + lb;
  const uint32_t flip = Flip(w.type);
  std::vector<uint8_t> rows(static_cast<size_t>(kGroup * w.row_bytes));
  for (int64_t g = 0; g < w.rows / kGroup; ++g) {
    uint8_t* out = data + g * kGroup * w.row_bytes;
    std::memcpy(rows.data(), out, rows.size());
    for (int64_t b = 0; b < nb; ++b, out += kGroup * block) {
      for (int64_t r = 0; r < kGroup; ++r) {
        const uint8_t* blk = rows.data() + r * w.row_bytes + b * block;
        std::memcpy(out + 2 * r, blk, 2);  // the F16 scale
        for (int64_t j = 0; j < lb / 4; ++j) Copy4(blk + 2 + 4 * j, out + 32 + 64 * j + 4 * r, flip);
      }
    }
  }
  w.layout = w.type == gguf::TensorType::kQ4_0 ? Layout::kQ4_0x16 : Layout::kQ8_0x16;
}

void ReadInterleavedRow(const Matrix& w, int64_t r, void* blocks) {
  auto* out = static_cast<uint8_t*>(blocks);
  const int64_t nb = w.cols / kQK, lb = LevelBytes(w.type), block = 2 + lb, i = r % kGroup;
  const uint32_t flip = Flip(w.type);
  const uint8_t* col = w.data + (r - i) * w.row_bytes;
  for (int64_t b = 0; b < nb; ++b, col += kGroup * block, out += block) {
    std::memcpy(out, col + 2 * i, 2);
    for (int64_t j = 0; j < lb / 4; ++j) Copy4(col + 32 + 64 * j + 4 * i, out + 2 + 4 * j, flip);
  }
}

}  // namespace hearth::kernels
