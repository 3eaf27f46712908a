#include "model/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "core/fp16.h"
#include "kernels/quant.h"

namespace hearth::model {

namespace {

int64_t RowBytesFor(KvType t, int width) {
  return t == KvType::kF16 ? int64_t{width} * 2 : kernels::RowBytes(gguf::TensorType::kQ8_0, width);
}

int64_t CellsFor(const Config& c, const LayerConfig& l, int64_t n_ctx, int64_t max_batch) {
  if (l.sliding && c.n_swa > 0) return std::min(n_ctx, int64_t{c.n_swa} + max_batch);
  return n_ctx;
}

}  // namespace

KvLayer::KvLayer(KvType type, int64_t n_cells, int width, bool ring)
    : type_(type), n_cells_(n_cells), width_(width), ring_(ring),
      row_bytes_(RowBytesFor(type, width)),
      k_(n_cells * row_bytes_), v_(n_cells * row_bytes_), pos_(n_cells, -1) {}

void KvLayer::Store(int64_t pos, const float* k, const float* v) {
  const int64_t cell = Cell(pos);
  CHECK(cell >= 0 && cell < n_cells_) << "position " << pos << " outside the cache";
  uint8_t* kd = k_.data() + cell * row_bytes_;
  uint8_t* vd = v_.data() + cell * row_bytes_;
  if (type_ == KvType::kF16) {
    auto* kh = reinterpret_cast<uint16_t*>(kd);
    auto* vh = reinterpret_cast<uint16_t*>(vd);
    for (int i = 0; i < width_; ++i) {
      kh[i] = F32ToF16(k[i]);
      vh[i] = F32ToF16(v[i]);
    }
  } else {
    kernels::QuantizeRow(gguf::TensorType::kQ8_0, k, kd, width_);
    kernels::QuantizeRow(gguf::TensorType::kQ8_0, v, vd, width_);
  }
  pos_[cell] = pos;
}

static void LoadRow(KvType type, const uint8_t* row, int off, int n, float* dst) {
  if (type == KvType::kF16) {
    const auto* h = reinterpret_cast<const uint16_t*>(row) + off;
    for (int i = 0; i < n; ++i) dst[i] = F16ToF32(h[i]);
  } else {
    // Q8_0 blocks of 34 bytes; off and n are multiples of 32 (head_dim is).
    kernels::DequantizeRow(gguf::TensorType::kQ8_0, row + (off / 32) * 34, dst, n);
  }
}

void KvLayer::LoadK(int64_t cell, int off, int n, float* dst) const {
  LoadRow(type_, k_.data() + cell * row_bytes_, off, n, dst);
}
void KvLayer::LoadV(int64_t cell, int off, int n, float* dst) const {
  LoadRow(type_, v_.data() + cell * row_bytes_, off, n, dst);
}

int64_t KvCache::PlanBytes(const Config& c, int64_t n_ctx, int64_t max_batch, KvType type) {
  int64_t total = 0;
  for (const auto& l : c.layers) {
    if (!l.owns_kv()) continue;
    total += 2 * CellsFor(c, l, n_ctx, max_batch) * RowBytesFor(type, l.n_head_kv * l.head_dim);
  }
  return total;
}

Result<KvCache> KvCache::Create(const Config& c, int64_t n_ctx, int64_t max_batch, KvType type) {
  if (n_ctx <= 0) return InvalidArgumentError("context size must be positive");
  if (type == KvType::kQ8_0) {
    for (const auto& l : c.layers)
      if (l.head_dim % 32 != 0)
        return InvalidArgumentError("q8_0 KV cache needs head dims divisible by 32, got " +
                                    std::to_string(l.head_dim));
  }
  KvCache kv;
  kv.n_ctx_ = n_ctx;
  kv.max_batch_ = max_batch;
  kv.layers_.resize(c.layers.size());
  kv.source_.resize(c.layers.size());
  for (size_t il = 0; il < c.layers.size(); ++il) {
    const LayerConfig& l = c.layers[il];
    if (l.owns_kv()) {
      const int64_t cells = CellsFor(c, l, n_ctx, max_batch);
      kv.layers_[il] = KvLayer(type, cells, l.n_head_kv * l.head_dim, cells < n_ctx);
      kv.source_[il] = static_cast<int>(il);
    } else {
      kv.source_[il] = l.kv_source;
    }
  }
  return kv;
}

int64_t KvCache::bytes() const {
  int64_t t = 0;
  for (const auto& l : layers_) t += l.bytes();
  return t;
}

}  // namespace hearth::model
