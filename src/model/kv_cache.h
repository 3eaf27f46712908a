// KvCache: per-layer key/value storage for one sequence.
//
// Layers that own KV get a buffer of cells; full-attention layers hold one cell per position up to
// the context size, sliding layers a ring of min(n_ctx, n_swa + max_batch) cells (cell = pos mod
// size), so their memory is bounded by the window. KV-shared layers (Gemma 4 E2B/E4B) have no
// cache and read their source layer's. K and V are stored as F16 (default, rounded to nearest
// even, as llama.cpp does) or Q8_0 blocks.
#pragma once

#include <cstdint>
#include <vector>

#include "core/status.h"
#include "model/config.h"

namespace hearth::model {

enum class KvType { kF16, kQ8_0 };

class KvLayer {
 public:
  KvLayer() = default;
  KvLayer(KvType type, int64_t n_cells, int width, bool ring);

  int64_t n_cells() const { return n_cells_; }
  int width() const { return width_; }  // n_head_kv · head_dim
  bool ring() const { return ring_; }
  int64_t Cell(int64_t pos) const { return ring_ ? pos % n_cells_ : pos; }

  // Stores rows k[width], v[width] for position pos.
  void Store(int64_t pos, const float* k, const float* v);
  // Reads elements [off, off + n) of the K / V row at cell into dst (F32).
  void LoadK(int64_t cell, int off, int n, float* dst) const;
  void LoadV(int64_t cell, int off, int n, float* dst) const;
  int64_t PosAt(int64_t cell) const { return pos_[cell]; }
  KvType type() const { return type_; }
  // Raw F16 rows (type() == kF16 only): width() halves each.
  const uint16_t* KRowF16(int64_t cell) const {
    return reinterpret_cast<const uint16_t*>(k_.data() + cell * row_bytes_);
  }
  const uint16_t* VRowF16(int64_t cell) const {
    return reinterpret_cast<const uint16_t*>(v_.data() + cell * row_bytes_);
  }
  int64_t bytes() const { return static_cast<int64_t>(k_.size() + v_.size()); }

 private:
  KvType type_ = KvType::kF16;
  int64_t n_cells_ = 0;
  int width_ = 0;
  bool ring_ = false;
  int64_t row_bytes_ = 0;
  std::vector<uint8_t> k_, v_;   // n_cells × row_bytes
  std::vector<int64_t> pos_;     // position held by each cell, −1 if empty
};

class KvCache {
 public:
  // n_ctx: positions the sequence may reach; max_batch: most tokens per forward call.
  static Result<KvCache> Create(const Config& c, int64_t n_ctx, int64_t max_batch, KvType type);
  // Bytes the cache would take, without allocating.
  static int64_t PlanBytes(const Config& c, int64_t n_ctx, int64_t max_batch, KvType type);

  KvLayer& layer(int il) { return layers_[source_[il]]; }
  const KvLayer& layer(int il) const { return layers_[source_[il]]; }
  int64_t n_ctx() const { return n_ctx_; }
  int64_t max_batch() const { return max_batch_; }
  int64_t bytes() const;

 private:
  std::vector<KvLayer> layers_;  // indexed by layer (empty for shared layers)
  std::vector<int> source_;      // layer whose cache layer il reads
  int64_t n_ctx_ = 0, max_batch_ = 0;
};

}  // namespace hearth::model
