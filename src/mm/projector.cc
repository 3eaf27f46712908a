#include "mm/projector.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>

#include "gguf/file.h"
#include "kernels/quant.h"
#include "mm/internal.h"
#include "mm/preprocess.h"
#include "model/layers.h"

namespace hearth::mm {

// ---- shared ops ----

void LayerNorm(const float* x, const float* w, const float* b, int64_t n, float eps, float* y) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += x[i];
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  double sum2 = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i] - mean;
    y[i] = v;
    sum2 += static_cast<double>(v * v);
  }
  const float var = static_cast<float>(sum2 / static_cast<double>(n));
  const float s = 1.0f / std::sqrt(var + eps);
  for (int64_t i = 0; i < n; ++i) y[i] *= s;
  if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] *= w[i];
  }
  if (b) {
    for (int64_t i = 0; i < n; ++i) y[i] += b[i];
  }
}

void LayerNormRows(const float* x, const float* w, const float* b, int64_t rows, int64_t n,
                   float eps, float* y, ThreadPool& pool) {
  pool.ParallelFor(rows, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) LayerNorm(x + r * n, w, b, n, eps, y + r * n);
  });
}

void BidirectionalAttention(const float* q, const float* k, const float* v, int64_t n, int n_head,
                            int hd, int64_t width, float kq_scale, float* out, ThreadPool& pool) {
  // One (head, query) row at a time: scores, softmax (sum in double), weighted sum of V.
  pool.ParallelFor(static_cast<int64_t>(n_head) * n, [&](int64_t b, int64_t e, int) {
    std::vector<float> s(static_cast<size_t>(n));
    for (int64_t idx = b; idx < e; ++idx) {
      const int64_t hh = idx / n, i = idx % n;
      const float* qi = &q[i * width + hh * hd];
      float mx = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        const float* kj = &k[j * width + hh * hd];
        float dot = 0;
        for (int c = 0; c < hd; ++c) dot += qi[c] * kj[c];
        s[j] = dot * kq_scale;
        mx = std::max(mx, s[j]);
      }
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) {
        s[j] = std::exp(s[j] - mx);
        sum += s[j];
      }
      const float inv = static_cast<float>(1.0 / sum);
      float* o = &out[i * width + hh * hd];
      std::fill(o, o + hd, 0.0f);
      for (int64_t j = 0; j < n; ++j) {
        const float w = s[j] * inv;
        const float* vj = &v[j * width + hh * hd];
        for (int c = 0; c < hd; ++c) o[c] += w * vj[c];
      }
    }
  });
}

Result<int> ReadCount(const gguf::File& f, const std::string& key) {
  auto v = f.GetU32(key);
  if (!v.ok()) return Status(v.status().code(), f.path() + ": " + v.status().message());
  if (*v == 0 || *v > (1u << 20)) {
    return InvalidArgumentError(f.path() + ": " + key + " = " + std::to_string(*v) +
                                " is out of range");
  }
  return static_cast<int>(*v);
}

void Apply(const Linear& l, const float* x, int64_t n_tok, float* y, ThreadPool& pool,
           kernels::Workspace& ws) {
  const int64_t cols = l.w.cols, rows = l.w.rows;
  if (l.clamp) {
    std::vector<float> xc(x, x + n_tok * cols);
    for (float& v : xc) v = std::clamp(v, l.in_min, l.in_max);
    kernels::MatMul(l.w, xc.data(), n_tok, y, pool, ws);
  } else {
    kernels::MatMul(l.w, x, n_tok, y, pool, ws);
  }
  // llama.cpp clamps the product, then adds the bias.
  for (int64_t t = 0; t < n_tok; ++t) {
    float* row = y + t * rows;
    if (l.clamp) {
      for (int64_t r = 0; r < rows; ++r) row[r] = std::clamp(row[r], l.out_min, l.out_max);
    }
    if (!l.b.empty()) {
      for (int64_t r = 0; r < rows; ++r) row[r] += l.b[r];
    }
  }
}

namespace {

std::string Shape(const gguf::TensorInfo& t) {
  std::string s = "(";
  for (uint32_t i = 0; i < std::max<uint32_t>(t.n_dims, 1); ++i) {
    if (i) s += ", ";
    s += std::to_string(t.ne[i]);
  }
  return s + ")";
}

}  // namespace

Result<Matrix> TensorReader::Mat(const std::string& name, int64_t cols, int64_t rows) const {
  const gguf::TensorInfo* t = f_.FindTensor(name);
  if (!t) return NotFoundError(f_.path() + ": tensor '" + name + "' is missing");
  if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1) {
    return InvalidArgumentError(f_.path() + ": tensor '" + name + "' has shape " + Shape(*t) +
                                ", expected (" + std::to_string(cols) + ", " +
                                std::to_string(rows) + ")");
  }
  if (kernels::BlockElems(t->type) == 0 || cols % kernels::BlockElems(t->type) != 0) {
    return InvalidArgumentError(f_.path() + ": tensor '" + name + "' has unsupported type " +
                                std::string(gguf::TypeName(t->type)));
  }
  Matrix m;
  m.type = t->type;
  m.data = t->data;
  m.cols = cols;
  m.rows = rows;
  m.row_bytes = kernels::RowBytes(t->type, cols);
  return m;
}

Result<std::vector<float>> TensorReader::Vec(const std::string& name, int64_t n) const {
  const gguf::TensorInfo* t = f_.FindTensor(name);
  if (!t) return NotFoundError(f_.path() + ": tensor '" + name + "' is missing");
  if (t->n_elements() != n) {
    return InvalidArgumentError(f_.path() + ": tensor '" + name + "' has shape " + Shape(*t) +
                                " (" + std::to_string(t->n_elements()) + " values), expected " +
                                std::to_string(n) + " values");
  }
  const int64_t be = kernels::BlockElems(t->type);
  if (be == 0 || t->ne[0] % be != 0) {
    return InvalidArgumentError(f_.path() + ": tensor '" + name + "' has unsupported type " +
                                std::string(gguf::TypeName(t->type)));
  }
  std::vector<float> out(static_cast<size_t>(n));
  const int64_t rb = kernels::RowBytes(t->type, t->ne[0]);
  for (int64_t r = 0; r < t->rows(); ++r) {
    kernels::DequantizeRow(t->type, t->data + r * rb, out.data() + r * t->ne[0], t->ne[0]);
  }
  return out;
}

Result<std::vector<float>> TensorReader::VecOpt(const std::string& name, int64_t n) const {
  if (!Has(name)) return std::vector<float>{};
  return Vec(name, n);
}

// ---- loading ----

namespace {

Status CheckPositive(const std::string& path, const std::string& key, int64_t v) {
  if (v <= 0 || v > (1 << 20)) {
    return InvalidArgumentError(path + ": " + key + " = " + std::to_string(v) +
                                " is out of range");
  }
  return Status::Ok();
}

Result<int> GetInt(const gguf::File& f, const std::string& key) {
  auto v = f.GetU32(key);
  if (!v.ok()) return Status(v.status().code(), f.path() + ": " + v.status().message());
  return static_cast<int>(*v);
}

Status LoadGemma4uv(const gguf::File& f, const TensorReader& r, int64_t n_embd_text,
                    VisionParams& v) {
  const std::string& p = f.path();
  ASSIGN_OR_RETURN(v.n_embd, GetInt(f, "clip.vision.embedding_length"));
  ASSIGN_OR_RETURN(int patch, GetInt(f, "clip.vision.patch_size"));
  ASSIGN_OR_RETURN(uint32_t merge, f.GetU32Or("clip.vision.projector.scale_factor", 3));
  TRY(CheckPositive(p, "clip.vision.embedding_length", v.n_embd));
  TRY(CheckPositive(p, "clip.vision.patch_size", patch));
  TRY(CheckPositive(p, "clip.vision.projector.scale_factor", merge));
  // llama.cpp folds the pooling into the patch: 16·3 = 48-pixel patches, no merge afterwards.
  v.patch = patch * static_cast<int>(merge);
  if (v.patch > 1024) return InvalidArgumentError(p + ": patch size " + std::to_string(v.patch) + " is too large");
  v.n_merge = 1;
  v.min_tokens = 40;
  v.max_tokens = 280;
  const int64_t dim = 3LL * v.patch * v.patch;
  ASSIGN_OR_RETURN(v.pn1_w, r.Vec("v.patch_norm.1.weight", dim));
  ASSIGN_OR_RETURN(v.pn1_b, r.Vec("v.patch_norm.1.bias", dim));
  ASSIGN_OR_RETURN(v.patch_embd.w, r.Mat("v.patch_embd.weight", dim, v.n_embd));
  ASSIGN_OR_RETURN(v.patch_embd.b, r.Vec("v.patch_embd.bias", v.n_embd));
  ASSIGN_OR_RETURN(v.pn2_w, r.Vec("v.patch_norm.2.weight", v.n_embd));
  ASSIGN_OR_RETURN(v.pn2_b, r.Vec("v.patch_norm.2.bias", v.n_embd));
  ASSIGN_OR_RETURN(v.pn3_w, r.Vec("v.patch_norm.3.weight", v.n_embd));
  ASSIGN_OR_RETURN(v.pn3_b, r.Vec("v.patch_norm.3.bias", v.n_embd));
  const gguf::TensorInfo* pos = r.Find("v.position_embd.weight");
  if (!pos) return NotFoundError(p + ": tensor 'v.position_embd.weight' is missing");
  if (pos->ne[0] != v.n_embd || pos->ne[2] != 2 || pos->ne[3] != 1) {
    return InvalidArgumentError(p + ": tensor 'v.position_embd.weight' has shape " + Shape(*pos) +
                                ", expected (" + std::to_string(v.n_embd) + ", N, 2)");
  }
  v.pos_size = static_cast<int>(pos->ne[1]);
  ASSIGN_OR_RETURN(v.pos, r.Vec("v.position_embd.weight", pos->n_elements()));
  ASSIGN_OR_RETURN(v.input_proj, r.Mat("mm.input_projection.weight", v.n_embd, n_embd_text));
  return Status::Ok();
}

Status LoadGemma4ua(const gguf::File& f, const TensorReader& r, int64_t n_embd_text,
                    AudioParams& a) {
  // clip.cpp forces the frame size to 640 samples for gemma4ua (num_mel_bins holds it).
  a.frame = kGemma4uaFrame;
  ASSIGN_OR_RETURN(uint32_t bins, f.GetU32Or("clip.audio.num_mel_bins", kGemma4uaFrame));
  if (bins != static_cast<uint32_t>(kGemma4uaFrame)) {
    return InvalidArgumentError(f.path() + ": clip.audio.num_mel_bins = " + std::to_string(bins) +
                                ", gemma4ua frames are 640 samples");
  }
  ASSIGN_OR_RETURN(a.input_proj, r.Mat("mm.a.input_projection.weight", a.frame, n_embd_text));
  return Status::Ok();
}

}  // namespace

Status LoadSiglip(const gguf::File& f, const TensorReader& r, int64_t n_embd_text,
                  VisionParams& v);
Result<Embeddings> EncodeSiglip(const VisionParams& v, int64_t n_embd_text, int width, int height,
                                const uint8_t* rgb, ThreadPool& pool);
Status LoadGemma4v(const gguf::File& f, const TensorReader& r, int64_t n_embd_text,
                   VisionParams& v);
Result<Embeddings> EncodeGemma4v(const VisionParams& v, int64_t n_embd_text, int width, int height,
                                 const uint8_t* rgb, const ImageOptions& o, ThreadPool& pool);

Status LoadGemma4a(const gguf::File& f, const TensorReader& r, int64_t n_embd_text, AudioParams& a);
Result<std::vector<Embeddings>> EncodeGemma4a(const AudioParams& a, int64_t n_embd_text,
                                              std::span<const float> samples, ThreadPool& pool);

Projector::~Projector() = default;

std::string Projector::vision_type() const { return vision_ ? vision_->type : ""; }
std::string Projector::audio_type() const { return audio_ ? audio_->type : ""; }

Result<std::unique_ptr<Projector>> Projector::Load(const std::string& mmproj_path,
                                                   const model::Config& text) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> f, gguf::File::Open(mmproj_path));
  const std::string& p = f->path();
  ASSIGN_OR_RETURN(std::string arch, f->GetStringOr("general.architecture", ""));
  if (arch != "clip") {
    return InvalidArgumentError(p + ": not a multimodal projector (general.architecture is '" +
                                arch + "', expected 'clip')");
  }
  std::unique_ptr<Projector> proj(new Projector());
  proj->path_ = p;
  proj->n_embd_text_ = text.n_embd;
  ASSIGN_OR_RETURN(bool has_v, f->GetBoolOr("clip.has_vision_encoder", false));
  ASSIGN_OR_RETURN(bool has_a, f->GetBoolOr("clip.has_audio_encoder", false));
  ASSIGN_OR_RETURN(std::string legacy, f->GetStringOr("clip.projector_type", ""));
  const TensorReader r(*f);
  const bool text_g4 = text.arch == model::Arch::kGemma4;
  auto check_family = [&](const std::string& type, bool wants_g4) -> Status {
    if (wants_g4 != text_g4) {
      return InvalidArgumentError(p + ": projector type '" + type + "' is for " +
                                  (wants_g4 ? "Gemma 4" : "Gemma 3") + " models, but the model is " +
                                  text.arch_name);
    }
    return Status::Ok();
  };
  auto check_width = [&](const std::string& key) -> Status {
    ASSIGN_OR_RETURN(uint32_t dim, f->GetU32Or(key, static_cast<uint32_t>(text.n_embd)));
    if (static_cast<int64_t>(dim) != text.n_embd) {
      return InvalidArgumentError(p + ": " + key + " = " + std::to_string(dim) +
                                  " does not match the model's embedding width " +
                                  std::to_string(text.n_embd) + " (wrong mmproj for this model?)");
    }
    return Status::Ok();
  };
  if (has_v) {
    ASSIGN_OR_RETURN(std::string type, f->GetStringOr("clip.vision.projector_type", legacy));
    auto v = std::make_unique<VisionParams>();
    v->type = type;
    TRY(check_width("clip.vision.projection_dim"));
    ASSIGN_OR_RETURN(v->eps, f->GetF32Or("clip.vision.attention.layer_norm_epsilon", 1e-6f));
    ASSIGN_OR_RETURN(std::vector<float> mean, f->GetF32Array("clip.vision.image_mean"));
    ASSIGN_OR_RETURN(std::vector<float> stdv, f->GetF32Array("clip.vision.image_std"));
    if (mean.size() != 3 || stdv.size() != 3) {
      return InvalidArgumentError(p + ": clip.vision.image_mean/image_std must hold 3 values");
    }
    for (int c = 0; c < 3; ++c) {
      if (!(stdv[c] != 0) || !std::isfinite(stdv[c]) || !std::isfinite(mean[c])) {
        return InvalidArgumentError(p + ": clip.vision.image_std/image_mean hold an unusable value");
      }
      v->mean[c] = mean[c];
      v->std[c] = stdv[c];
    }
    if (type == "gemma4uv") {
      TRY(check_family(type, true));
      TRY(LoadGemma4uv(*f, r, text.n_embd, *v));
    } else if (type == "gemma4v") {
      TRY(check_family(type, true));
      TRY(LoadGemma4v(*f, r, text.n_embd, *v));
    } else if (type == "gemma3") {
      TRY(check_family(type, false));
      TRY(LoadSiglip(*f, r, text.n_embd, *v));
    } else {
      return UnimplementedError(p + ": vision projector type '" + type +
                                "' is not supported (hearth reads gemma4uv, gemma4v and gemma3)");
    }
    proj->vision_ = std::move(v);
  }
  if (has_a) {
    ASSIGN_OR_RETURN(std::string type, f->GetStringOr("clip.audio.projector_type", legacy));
    auto a = std::make_unique<AudioParams>();
    a->type = type;
    TRY(check_width("clip.audio.projection_dim"));
    if (type == "gemma4ua") {
      TRY(check_family(type, true));
      TRY(LoadGemma4ua(*f, r, text.n_embd, *a));
    } else if (type == "gemma4a") {
      TRY(check_family(type, true));
      TRY(LoadGemma4a(*f, r, text.n_embd, *a));
    } else {
      return UnimplementedError(p + ": audio projector type '" + type +
                                "' is not supported (hearth reads gemma4ua and gemma4a)");
    }
    proj->audio_ = std::move(a);
  }
  if (!has_v && !has_a) {
    return InvalidArgumentError(p + ": the projector has neither a vision nor an audio encoder");
  }
  proj->file_ = std::move(f);
  return proj;
}

// ---- encoders ----

namespace {

Result<Embeddings> EncodeGemma4uv(const VisionParams& v, int64_t n_embd_text, int width,
                                  int height, const uint8_t* rgb, const ImageOptions& o,
                                  ThreadPool& pool) {
  const int min_t = o.min_tokens > 0 ? o.min_tokens : v.min_tokens;
  const int max_t = o.max_tokens > 0 ? o.max_tokens : v.max_tokens;
  if (min_t > max_t) {
    return InvalidArgumentError("image token limits: minimum " + std::to_string(min_t) +
                                " exceeds maximum " + std::to_string(max_t));
  }
  const Size target = DynSizeTarget(width, height, v.patch, min_t, max_t);
  const int n_cols = target.width / v.patch, n_rows = target.height / v.patch;
  if (n_cols > v.pos_size || n_rows > v.pos_size) {
    return InvalidArgumentError(
        "the image (" + std::to_string(width) + "x" + std::to_string(height) + ") becomes " +
        std::to_string(n_cols) + "x" + std::to_string(n_rows) +
        " patches, more per side than the projector's position table holds (" +
        std::to_string(v.pos_size) + ")");
  }
  RgbImage src;
  src.width = width;
  src.height = height;
  src.rgb.assign(rgb, rgb + static_cast<size_t>(width) * height * 3);
  const RgbImage boxed = ResizeLetterbox(src, target.width, target.height);
  const std::vector<float> norm = Normalize(boxed, v.mean, v.std);
  std::vector<float> patches = PatchVectors(norm.data(), target.width, target.height, v.patch);
  const int64_t n_tok = static_cast<int64_t>(n_cols) * n_rows;
  const int64_t dim = 3LL * v.patch * v.patch;
  constexpr float kEps = 1e-5f;  // PyTorch LayerNorm default, hard-coded in the graph
  LayerNormRows(patches.data(), v.pn1_w.data(), v.pn1_b.data(), n_tok, dim, kEps, patches.data(),
                pool);
  kernels::Workspace ws;
  std::vector<float> x(static_cast<size_t>(n_tok) * v.n_embd);
  Apply(v.patch_embd, patches.data(), n_tok, x.data(), pool, ws);
  LayerNormRows(x.data(), v.pn2_w.data(), v.pn2_b.data(), n_tok, v.n_embd, kEps, x.data(), pool);
  for (int64_t t = 0; t < n_tok; ++t) {
    const int col = static_cast<int>(t % n_cols), row = static_cast<int>(t / n_cols);
    const float* px = &v.pos[static_cast<size_t>(col) * v.n_embd];
    const float* py = &v.pos[static_cast<size_t>(v.pos_size + row) * v.n_embd];
    float* xr = &x[static_cast<size_t>(t) * v.n_embd];
    for (int i = 0; i < v.n_embd; ++i) xr[i] = (xr[i] + px[i]) + py[i];
  }
  LayerNormRows(x.data(), v.pn3_w.data(), v.pn3_b.data(), n_tok, v.n_embd, kEps, x.data(), pool);
  model::RmsNormRows(x.data(), nullptr, n_tok, v.n_embd, v.eps, x.data());
  Embeddings e;
  e.n_tok = n_tok;
  e.n_embd = n_embd_text;
  e.data.resize(static_cast<size_t>(n_tok) * n_embd_text);
  kernels::MatMul(v.input_proj, x.data(), n_tok, e.data.data(), pool, ws);
  e.causal = false;
  e.kind = Embeddings::Kind::kImage;
  return e;
}

Result<Embeddings> EncodeGemma4ua(const AudioParams& a, int64_t n_embd_text,
                                  std::span<const float> samples, ThreadPool& pool) {
  std::vector<float> frames = Gemma4uaFrames(samples);
  const int64_t n_tok = static_cast<int64_t>(frames.size()) / a.frame;
  constexpr float kEps = 1e-6f;  // hard-coded in the graph
  model::RmsNormRows(frames.data(), nullptr, n_tok, a.frame, kEps, frames.data());
  Embeddings e;
  e.n_tok = n_tok;
  e.n_embd = n_embd_text;
  e.data.resize(static_cast<size_t>(n_tok) * n_embd_text);
  kernels::Workspace ws;
  kernels::MatMul(a.input_proj, frames.data(), n_tok, e.data.data(), pool, ws);
  e.causal = true;
  e.kind = Embeddings::Kind::kAudio;
  return e;
}

}  // namespace

Result<Embeddings> Projector::EncodeImage(int width, int height, const uint8_t* rgb,
                                          const ImageOptions& o, ThreadPool& pool) const {
  if (!vision_) {
    return FailedPreconditionError(path_ + ": this projector has no vision encoder (" +
                                   (audio_ ? "audio only, " + audio_->type : std::string("none")) +
                                   "), so it cannot take images");
  }
  if (width <= 0 || height <= 0 || rgb == nullptr) {
    return InvalidArgumentError("the image is empty (" + std::to_string(width) + "x" +
                                std::to_string(height) + ")");
  }
  if (static_cast<int64_t>(width) * height > (int64_t{1} << 28)) {
    return InvalidArgumentError("the image (" + std::to_string(width) + "x" +
                                std::to_string(height) + ") has too many pixels");
  }
  if (o.min_tokens < 0 || o.max_tokens < 0) {
    return InvalidArgumentError("image token limits must not be negative");
  }
  if (vision_->type == "gemma4uv") {
    return EncodeGemma4uv(*vision_, n_embd_text_, width, height, rgb, o, pool);
  }
  if (vision_->type == "gemma4v") {
    return EncodeGemma4v(*vision_, n_embd_text_, width, height, rgb, o, pool);
  }
  return EncodeSiglip(*vision_, n_embd_text_, width, height, rgb, pool);
}

Result<std::vector<Embeddings>> Projector::EncodeAudio(std::span<const float> samples,
                                                       ThreadPool& pool) const {
  if (!audio_) {
    return FailedPreconditionError(path_ + ": this projector has no audio encoder (" +
                                   (vision_ ? "vision only, " + vision_->type : std::string("none")) +
                                   "), so it cannot take audio");
  }
  if (samples.empty()) return InvalidArgumentError("the audio is empty (0 samples)");
  for (float s : samples) {
    if (!std::isfinite(s)) return InvalidArgumentError("the audio holds a non-finite sample");
  }
  if (audio_->type == "gemma4a") return EncodeGemma4a(*audio_, n_embd_text_, samples, pool);
  std::vector<Embeddings> out;
  ASSIGN_OR_RETURN(Embeddings e, EncodeGemma4ua(*audio_, n_embd_text_, samples, pool));
  out.push_back(std::move(e));
  return out;
}

}  // namespace hearth::mm
