// The multimodal projectors of gemma-gguf-spec.md §4 and §6, as plainly as possible (see mm.h).
#include "reference/mm.h"

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>

#include "reference/dequant.h"
#include "reference/numerics.h"

namespace hearth::reference::mm {
namespace {

constexpr int64_t kAny = -1;

// The numerics mode of the current run (Options::numerics). A CLI tool runs one projector at a
// time, so a file-level setting keeps every helper's signature plain; NumericsScope sets it.
Numerics g_numerics = Numerics::kExact;

struct NumericsScope {
  explicit NumericsScope(Numerics m) : saved(g_numerics) { g_numerics = m; }
  ~NumericsScope() { g_numerics = saved; }
  Numerics saved;
};

bool LlamaCpp() { return g_numerics == Numerics::kLlamaCpp; }

std::string ShapeString(const std::vector<int64_t>& ne) {
  std::string s = "(";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + ")";
}

// ---------------------------------------------------------------------------------------------
// Weights

// A linear layer y = clamp(W·clamp(x)) + b. The clamp bounds are the "clippable linear" scalars
// of §6 (`<stem>.input_min/.input_max/.output_min/.output_max`, missing = ∓FLT_MAX); they are
// read only where the spec says the graph clamps (gemma4v, gemma4a).
struct Linear {
  Weight w;  // cols = input features, rows = output features
  Weight b;  // optional bias [rows]
  double in_min = -FLT_MAX, in_max = FLT_MAX, out_min = -FLT_MAX, out_max = FLT_MAX;
  bool present() const { return w.present(); }
  int64_t in() const { return w.cols; }
  int64_t out() const { return w.rows; }
};

// In llamacpp mode MatVec rounds the (clamped) input through the weight's vec-dot type (§12a).
Vec Apply(const Linear& l, const Vec& x) {
  CHECK(static_cast<int64_t>(x.size()) == l.w.cols) << l.w.name << ": input " << x.size();
  Vec xc(x.size());
  for (size_t c = 0; c < x.size(); ++c) xc[c] = std::clamp(x[c], l.in_min, l.in_max);
  Vec y = MatVec(l.w, xc, g_numerics);
  for (int64_t r = 0; r < l.w.rows; ++r) {
    y[r] = std::clamp(y[r], l.out_min, l.out_max);
    if (l.b.present()) y[r] += l.b.values[r];
  }
  return y;
}

// A convolution's input as ggml's im2col hands it to the matmul: in the kernel's type (§12a:
// F16 kernels see F16 inputs). Exact mode leaves it alone.
void RoundForKernel(const Weight& kernel, std::vector<double>& v) {
  if (!LlamaCpp()) return;
  for (double& x : v) {
    if (kernel.type == kTypeF16) x = RoundToHalf(static_cast<float>(x));
    if (kernel.type == kTypeBF16) x = RoundToBF16(static_cast<float>(x));
  }
}

// Binds tensors by name with shape checks and remembers which ones were used, so that tensors the
// reference does not understand are reported instead of silently ignored.
class Loader {
 public:
  explicit Loader(const GgufFile& file) : file_(file) {}

  bool Has(const std::string& name) const { return file_.FindTensor(name) != nullptr; }

  // shape: expected ne (kAny = any); missing trailing dims are 1.
  Status Get(const std::string& name, std::vector<int64_t> shape, bool required, Weight* w) {
    const GgufTensor* t = file_.FindTensor(name);
    if (t == nullptr) {
      if (required) return NotFoundError("missing tensor " + name);
      return Status::Ok();
    }
    shape.resize(4, 1);
    for (int d = 0; d < 4; ++d) {
      if (shape[d] != kAny && t->ne[d] != shape[d]) {
        return InvalidArgumentError("tensor " + name + " has shape " + ShapeString(t->ne) +
                                    ", expected " + ShapeString(shape) + " (-1 = any)");
      }
    }
    Status s = Dequantise(*t, w);
    if (!s.ok()) return s.WithContext("tensor " + name);
    used_.insert(name);
    return Status::Ok();
  }

  // A linear layer `<stem>.weight` [in -> out] with optional `<stem>.bias`; `clippable` also reads
  // the clamp scalars.
  Status GetLinear(const std::string& stem, int64_t in, int64_t out, bool required, bool clippable,
                   bool with_bias, Linear* l) {
    TRY(Get(stem + ".weight", {in, out}, required, &l->w));
    if (!l->w.present()) return Status::Ok();
    if (with_bias) TRY(Get(stem + ".bias", {l->w.rows}, false, &l->b));
    if (clippable) {
      TRY(Scalar(stem + ".input_min", &l->in_min));
      TRY(Scalar(stem + ".input_max", &l->in_max));
      TRY(Scalar(stem + ".output_min", &l->out_min));
      TRY(Scalar(stem + ".output_max", &l->out_max));
    }
    return Status::Ok();
  }

  // A one-element tensor; *v keeps its default when the tensor is absent.
  Status Scalar(const std::string& name, double* v) {
    const GgufTensor* t = file_.FindTensor(name);
    if (t == nullptr) return Status::Ok();
    if (t->NumElements() != 1) {
      return InvalidArgumentError("tensor " + name + " should be a scalar, has shape " +
                                  ShapeString(t->ne));
    }
    Weight w;
    TRY(Get(name, {1}, true, &w));
    *v = w.values[0];
    return Status::Ok();
  }

  // Tensors of `prefix` that nothing bound (names of another modality are not reported).
  std::vector<std::string> Unused(const std::vector<std::string>& prefixes) const {
    std::vector<std::string> out;
    for (const GgufTensor& t : file_.tensors()) {
      if (used_.count(t.name)) continue;
      for (const std::string& p : prefixes) {
        if (t.name.rfind(p, 0) == 0) {
          out.push_back(t.name);
          break;
        }
      }
    }
    return out;
  }

 private:
  static Status Dequantise(const GgufTensor& t, Weight* w) {
    ASSIGN_OR_RETURN(TypeLayout layout, LayoutOf(t.type));
    w->name = t.name;
    w->type = t.type;
    w->cols = t.ne[0];
    w->rows = t.ne[1] * t.ne[2] * t.ne[3];  // everything flattened to rows of ne[0]
    w->slices = 1;
    const int64_t row_bytes = w->cols / layout.block_elems * layout.block_bytes;
    w->values.resize(w->rows * w->cols);
    for (int64_t r = 0; r < w->rows; ++r) {
      DequantizeRow(t.type, t.data + r * row_bytes, w->cols, w->values.data() + r * w->cols);
    }
    if (t.type == kTypeQ4_1 || t.type == kTypeQ5_1) {  // for MatVec's llamacpp Q8_1 product
      w->block_mins.resize(w->rows * (w->cols / 32));
      for (int64_t r = 0; r < w->rows; ++r) {
        BlockMinimums(t.type, t.data + r * row_bytes, w->cols,
                      w->block_mins.data() + r * (w->cols / 32));
      }
    }
    return Status::Ok();
  }

  const GgufFile& file_;
  std::set<std::string> used_;
};

void WarnUnused(const Loader& ld, const std::vector<std::string>& prefixes) {
  for (const std::string& n : ld.Unused(prefixes)) {
    std::fprintf(stderr, "hearth-mm-reference: note: tensor %s is not used by this projector\n",
                 n.c_str());
  }
}

// ---------------------------------------------------------------------------------------------
// Metadata

Result<int64_t> GetInt(const GgufFile& f, const std::string& key, bool required, int64_t dflt) {
  const GgufValue* v = f.Find(key);
  if (v == nullptr) {
    if (required) return NotFoundError("missing key " + key);
    return dflt;
  }
  if (!v->IsNumeric()) return InvalidArgumentError("key " + key + " is not a number");
  return v->integer;
}

Result<double> GetFloat(const GgufFile& f, const std::string& key, double dflt) {
  const GgufValue* v = f.Find(key);
  if (v == nullptr) return dflt;
  if (!v->IsNumeric()) return InvalidArgumentError("key " + key + " is not a number");
  return v->number;
}

bool GetBool(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.Find(key);
  return v != nullptr && v->IsNumeric() && v->integer != 0;
}

// image_mean / image_std: three numbers; absent → dflt (kept as F32, as llama.cpp stores them).
Result<std::vector<float>> GetTriple(const GgufFile& f, const std::string& key, float dflt) {
  const GgufValue* v = f.Find(key);
  if (v == nullptr) return std::vector<float>(3, dflt);
  if (v->type != kGgufArray || v->array.size() != 3) {
    return InvalidArgumentError("key " + key + " should be an array of 3 numbers");
  }
  std::vector<float> out;
  for (const GgufValue& e : v->array) {
    if (!e.IsNumeric()) return InvalidArgumentError("key " + key + " has a non-number");
    out.push_back(static_cast<float>(e.number));
  }
  return out;
}

Result<std::string> ProjectorType(const GgufFile& f, bool image) {
  const GgufValue* arch = f.Find("general.architecture");
  if (arch == nullptr || arch->type != kGgufString || arch->str != "clip") {
    return UnimplementedError("general.architecture is not 'clip': not an mmproj file");
  }
  const std::string has = image ? "clip.has_vision_encoder" : "clip.has_audio_encoder";
  if (f.Find(has) != nullptr && !GetBool(f, has)) {
    return InvalidArgumentError(std::string("this mmproj has no ") + (image ? "vision" : "audio") +
                                " encoder (" + has + " = false)");
  }
  for (const std::string key : {image ? "clip.vision.projector_type" : "clip.audio.projector_type",
                                "clip.projector_type"}) {
    const GgufValue* v = f.Find(key);
    if (v != nullptr && v->type == kGgufString) return v->str;
  }
  return NotFoundError(std::string("no projector type key (clip.") + (image ? "vision" : "audio") +
                       ".projector_type / clip.projector_type)");
}

// ---------------------------------------------------------------------------------------------
// Arithmetic building blocks (double)

using Seq = std::vector<Vec>;  // one vector per token / patch / frame

Vec LayerNorm(const Vec& x, const Weight* w, const Weight* b, double eps) {
  const size_t n = x.size();
  if (LlamaCpp()) {
    // ggml_norm (§12a): mean and variance of the mean-subtracted values as F32 results (sums in
    // double), times 1/sqrtf(var + eps); weight and bias as separate F32 steps.
    double sum = 0;
    for (double v : x) sum += static_cast<float>(v);
    const float mean = static_cast<float>(sum / n);
    std::vector<float> d(n);
    double sum2 = 0;
    for (size_t i = 0; i < n; ++i) {
      d[i] = static_cast<float>(x[i]) - mean;
      sum2 += static_cast<double>(d[i] * d[i]);
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(sum2 / n) + static_cast<float>(eps));
    Vec y(n);
    for (size_t i = 0; i < n; ++i) {
      float v = d[i] * scale;
      if (w != nullptr && w->present()) v *= w->values[i];
      if (b != nullptr && b->present()) v += b->values[i];
      y[i] = v;
    }
    return y;
  }
  double mean = 0;
  for (double v : x) mean += v;
  mean /= n;
  double var = 0;
  for (double v : x) var += (v - mean) * (v - mean);
  var /= n;
  const double s = 1.0 / std::sqrt(var + eps);
  Vec y(n);
  for (size_t i = 0; i < n; ++i) {
    y[i] = (x[i] - mean) * s;
    if (w != nullptr && w->present()) y[i] *= w->values[i];
    if (b != nullptr && b->present()) y[i] += b->values[i];
  }
  return y;
}

Vec Rms(const Vec& x, const Weight* w, double eps) {
  return RmsNorm(x, w != nullptr && w->present() ? w->values.data() : nullptr, eps, g_numerics);
}

// Sigmoid and SiLU are F32 expressions in ggml (§12a).
double Sigmoid(double z) {
  if (LlamaCpp()) return 1.0f / (1.0f + std::exp(-static_cast<float>(z)));
  return 1.0 / (1.0 + std::exp(-z));
}
double Silu(double z) {
  if (LlamaCpp()) return static_cast<float>(z) / (1.0f + std::exp(-static_cast<float>(z)));
  return z * Sigmoid(z);
}
double GeluTanh(double z) { return Gelu(z, g_numerics); }
// z·σ(1.702 z). llamacpp: ggml's GELU-quick F16 table (§12a): the input rounded to F16, the F32
// formula on it, the result rounded to F16; unlike the tanh-GELU table there is no saturation.
double GeluQuick(double z) {
  if (LlamaCpp()) {
    const float h = RoundToHalf(static_cast<float>(z));
    return RoundToHalf(h * (1.0f / (1.0f + std::exp(-1.702f * h))));
  }
  return z * Sigmoid(1.702 * z);
}

enum class Act { kGeluTanh, kGeluQuick, kSilu };

double Activate(Act a, double z) {
  switch (a) {
    case Act::kGeluTanh:
      return GeluTanh(z);
    case Act::kGeluQuick:
      return GeluQuick(z);
    case Act::kSilu:
      return Silu(z);
  }
  return 0;
}

void AddInPlace(Vec& a, const Vec& b) {
  for (size_t i = 0; i < a.size(); ++i) a[i] += b[i];
}

// Multiplies by a vector of the same length, or by a one-element "layer scalar".
void ScaleInPlace(Vec& a, const Weight& s) {
  for (size_t i = 0; i < a.size(); ++i) a[i] *= s.values.size() == 1 ? s.values[0] : s.values[i];
}

// Full bidirectional multi-head attention: softmax(q·k·scale)·v per head, heads concatenated.
Seq Attention(const Seq& q, const Seq& k, const Seq& v, int n_head, double scale) {
  const size_t n = q.size();
  const int d = static_cast<int>(q[0].size()) / n_head;
  Seq out(n, Vec(q[0].size(), 0.0));
  std::vector<double> p(n);
  for (int h = 0; h < n_head; ++h) {
    for (size_t i = 0; i < n; ++i) {
      double mx = -INFINITY;
      for (size_t j = 0; j < n; ++j) {
        double s = 0;
        for (int e = 0; e < d; ++e) s += q[i][h * d + e] * k[j][h * d + e];
        p[j] = s * scale;
        mx = std::max(mx, p[j]);
      }
      double sum = 0;
      for (size_t j = 0; j < n; ++j) sum += p[j] = std::exp(p[j] - mx);
      for (size_t j = 0; j < n; ++j) {
        for (int e = 0; e < d; ++e) out[i][h * d + e] += p[j] / sum * v[j][h * d + e];
      }
    }
  }
  return out;
}

// Average pool k×k stride k over a cols×rows grid of patches (row-major), output row-major.
Seq AvgPool(const Seq& x, int cols, int rows, int k) {
  const int oc = cols / k, orr = rows / k;
  Seq out;
  for (int oy = 0; oy < orr; ++oy) {
    for (int ox = 0; ox < oc; ++ox) {
      Vec acc(x[0].size(), 0.0);
      for (int dy = 0; dy < k; ++dy) {
        for (int dx = 0; dx < k; ++dx) AddInPlace(acc, x[(oy * k + dy) * cols + ox * k + dx]);
      }
      for (double& a : acc) a /= k * k;
      out.push_back(std::move(acc));
    }
  }
  return out;
}

// Normalised pixel value (u8/255 − mean)/std, in F32 as llama.cpp's preprocessor computes it.
double NormPixel(uint8_t u, float mean, float std) {
  return (static_cast<float>(u) / 255.0f - mean) / std;
}

// Planar normalised image: [3][height][width].
std::vector<double> Planar(const Image& img, const std::vector<float>& mean,
                           const std::vector<float>& std) {
  std::vector<double> p(3 * static_cast<size_t>(img.width) * img.height);
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < img.height; ++y) {
      for (int x = 0; x < img.width; ++x) {
        p[(static_cast<size_t>(c) * img.height + y) * img.width + x] =
            NormPixel(img.at(x, y, c), mean[c], std[c]);
      }
    }
  }
  return p;
}

Chunk PreprocessedImageChunk(const Image& img, const std::vector<float>& mean,
                             const std::vector<float>& std) {
  Chunk c;
  c.width = img.width;
  c.height = img.height;
  c.data.resize(img.rgb.size());
  for (size_t i = 0; i < img.rgb.size(); ++i)
    c.data[i] = NormPixel(img.rgb[i], mean[i % 3], std[i % 3]);
  return c;
}

Chunk EmbeddingChunk(const Seq& x, bool causal) {
  Chunk c;
  c.n_tok = static_cast<int64_t>(x.size());
  c.n_embd = x.empty() ? 0 : static_cast<int64_t>(x[0].size());
  c.causal = causal;
  for (const Vec& v : x) c.data.insert(c.data.end(), v.begin(), v.end());
  return c;
}

// Conv patch embedding (stride = kernel = ps, no padding) of a planar [3][H][W] image with a GGUF
// kernel of ne (ps, ps, 3, n_embd): patch p = row·cols + col.
Seq PatchEmbed(const std::vector<double>& planar, int width, int height, const Weight& kernel,
               int ps, int64_t n_embd) {
  const int cols = width / ps, rows = height / ps;
  Seq out;
  for (int r = 0; r < rows; ++r) {
    for (int cc = 0; cc < cols; ++cc) {
      Vec e(n_embd, 0.0);
      for (int64_t o = 0; o < n_embd; ++o) {
        double acc = 0;
        for (int c = 0; c < 3; ++c) {
          for (int ky = 0; ky < ps; ++ky) {
            for (int kx = 0; kx < ps; ++kx) {
              const double w = kernel.values[((o * 3 + c) * ps + ky) * ps + kx];
              acc += w *
                     planar[(static_cast<size_t>(c) * height + r * ps + ky) * width + cc * ps + kx];
            }
          }
        }
        e[o] = acc;
      }
      out.push_back(std::move(e));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// gemma3 (§4)

Result<Output> RunGemma3(const GgufFile& f, const Image& image, const Options& opt) {
  Loader ld(f);
  ASSIGN_OR_RETURN(int64_t image_size, GetInt(f, "clip.vision.image_size", true, 0));
  ASSIGN_OR_RETURN(int64_t ps, GetInt(f, "clip.vision.patch_size", true, 0));
  ASSIGN_OR_RETURN(int64_t n_embd, GetInt(f, "clip.vision.embedding_length", true, 0));
  ASSIGN_OR_RETURN(int64_t n_layer, GetInt(f, "clip.vision.block_count", true, 0));
  ASSIGN_OR_RETURN(int64_t n_head, GetInt(f, "clip.vision.attention.head_count", true, 0));
  ASSIGN_OR_RETURN(double eps, GetFloat(f, "clip.vision.attention.layer_norm_epsilon", 1e-6));
  ASSIGN_OR_RETURN(int64_t n_merge, GetInt(f, "clip.vision.projector.scale_factor", false, 4));
  ASSIGN_OR_RETURN(std::vector<float> mean, GetTriple(f, "clip.vision.image_mean", 0.5f));
  ASSIGN_OR_RETURN(std::vector<float> stdv, GetTriple(f, "clip.vision.image_std", 0.5f));
  if (image_size <= 0 || ps <= 0 || image_size % ps != 0 || image_size > 8192) {
    return InvalidArgumentError("clip.vision.image_size " + std::to_string(image_size) +
                                " is not a positive multiple of patch_size " + std::to_string(ps));
  }
  const int grid = static_cast<int>(image_size / ps);
  if (n_embd <= 0 || n_head <= 0 || n_embd % n_head != 0 || n_layer < 0 || n_layer > 1024 ||
      n_embd > 65536 || n_merge <= 0 || grid % n_merge != 0) {
    return InvalidArgumentError("inconsistent gemma3 vision hyperparameters (n_embd " +
                                std::to_string(n_embd) + ", heads " + std::to_string(n_head) +
                                ", grid " + std::to_string(grid) + ", pool " +
                                std::to_string(n_merge) + ")");
  }

  // Preprocessing (§4.2): letterbox into image_size², black padding, normalise.
  const Image canvas =
      ResizeWithPad(image, static_cast<int>(image_size), static_cast<int>(image_size));
  Output out;
  out.projector = "gemma3";
  out.is_image = true;
  if (opt.preprocess_only) {
    out.preprocess = true;
    out.chunks.push_back(PreprocessedImageChunk(canvas, mean, stdv));
    return out;
  }

  // Weights.
  Weight patch_w, patch_b, pos;
  TRY(ld.Get("v.patch_embd.weight", {ps, ps, 3, n_embd}, true, &patch_w));
  TRY(ld.Get("v.patch_embd.bias", {n_embd}, true, &patch_b));
  TRY(ld.Get("v.position_embd.weight", {n_embd, grid * grid}, true, &pos));
  struct Layer {
    Weight ln1_w, ln1_b, ln2_w, ln2_b;
    Linear q, k, v, o, up, down;
  };
  std::vector<Layer> layers(n_layer);
  for (int il = 0; il < n_layer; ++il) {
    Layer& L = layers[il];
    const std::string p = "v.blk." + std::to_string(il) + ".";
    TRY(ld.Get(p + "ln1.weight", {n_embd}, true, &L.ln1_w));
    TRY(ld.Get(p + "ln1.bias", {n_embd}, true, &L.ln1_b));
    TRY(ld.Get(p + "ln2.weight", {n_embd}, true, &L.ln2_w));
    TRY(ld.Get(p + "ln2.bias", {n_embd}, true, &L.ln2_b));
    TRY(ld.GetLinear(p + "attn_q", n_embd, n_embd, true, false, true, &L.q));
    TRY(ld.GetLinear(p + "attn_k", n_embd, n_embd, true, false, true, &L.k));
    TRY(ld.GetLinear(p + "attn_v", n_embd, n_embd, true, false, true, &L.v));
    TRY(ld.GetLinear(p + "attn_out", n_embd, n_embd, true, false, true, &L.o));
    // fc1 is n_embd → n_ff, fc2 n_ff → n_embd; old files swapped the names, so go by shape.
    TRY(ld.GetLinear(p + "ffn_up", kAny, kAny, true, false, true, &L.up));
    TRY(ld.GetLinear(p + "ffn_down", kAny, kAny, true, false, true, &L.down));
    if (L.up.in() != n_embd && L.down.in() == n_embd) std::swap(L.up, L.down);
    if (L.up.in() != n_embd || L.down.out() != n_embd || L.up.out() != L.down.in()) {
      return InvalidArgumentError(p + "ffn_up/ffn_down shapes do not form n_embd → n_ff → n_embd");
    }
  }
  Weight post_w, post_b, soft_norm;
  TRY(ld.Get("v.post_ln.weight", {n_embd}, true, &post_w));
  TRY(ld.Get("v.post_ln.bias", {n_embd}, true, &post_b));
  TRY(ld.Get("mm.soft_emb_norm.weight", {n_embd}, true, &soft_norm));
  // mm.input_projection is HF's raw [n_embd_v, n_text] parameter: ne = (n_text, n_embd_v), used
  // transposed (out_j = Σ_i x_i · P[i][j]).
  Weight proj;
  TRY(ld.Get("mm.input_projection.weight", {kAny, n_embd}, true, &proj));
  const int64_t n_text = proj.cols;
  WarnUnused(ld, {"v.", "mm."});

  // Encoder (§4.3).
  std::vector<double> planar = Planar(canvas, mean, stdv);
  RoundForKernel(patch_w, planar);
  Seq x = PatchEmbed(planar, canvas.width, canvas.height, patch_w, static_cast<int>(ps), n_embd);
  for (size_t p = 0; p < x.size(); ++p) {
    for (int64_t e = 0; e < n_embd; ++e) x[p][e] += patch_b.values[e] + pos.values[p * n_embd + e];
  }
  const Act act = Act::kGeluTanh;  // clip.use_gelu (the only activation §4.3 describes)
  const double scale = 1.0 / std::sqrt(static_cast<double>(n_embd / n_head));
  for (const Layer& L : layers) {
    Seq q, k, v;
    for (const Vec& t : x) {
      const Vec a = LayerNorm(t, &L.ln1_w, &L.ln1_b, eps);
      q.push_back(Apply(L.q, a));
      k.push_back(Apply(L.k, a));
      v.push_back(Apply(L.v, a));
    }
    const Seq att = Attention(q, k, v, static_cast<int>(n_head), scale);
    for (size_t i = 0; i < x.size(); ++i) {
      AddInPlace(x[i], Apply(L.o, att[i]));
      Vec h = Apply(L.up, LayerNorm(x[i], &L.ln2_w, &L.ln2_b, eps));
      for (double& z : h) z = Activate(act, z);
      AddInPlace(x[i], Apply(L.down, h));
    }
  }
  for (Vec& t : x) t = LayerNorm(t, &post_w, &post_b, eps);
  Seq pooled = AvgPool(x, grid, grid, static_cast<int>(n_merge));
  Seq y;
  for (const Vec& t : pooled) {
    Vec nrm = Rms(t, &soft_norm, eps);
    // llama.cpp multiplies by a contiguous transposed copy of the same type (§4.1).
    if (LlamaCpp()) nrm = RoundActivationsForWeight(proj.type, nrm, nullptr);
    Vec o(n_text, 0.0);
    for (int64_t i = 0; i < n_embd; ++i) {
      for (int64_t j = 0; j < n_text; ++j) o[j] += nrm[i] * proj.values[i * n_text + j];
    }
    y.push_back(std::move(o));
  }
  out.chunks.push_back(EmbeddingChunk(y, /*causal=*/false));
  return out;
}

// ---------------------------------------------------------------------------------------------
// gemma4v / gemma4uv shared preprocessing (§6.1, §6.3)

struct DynImage {
  Image canvas;
  int align = 0;
};

Result<DynImage> DynPreprocess(const Image& image, int align, const Options& opt) {
  const int64_t min_tok = opt.min_tokens > 0 ? opt.min_tokens : 40;
  const int64_t max_tok = opt.max_tokens > 0 ? opt.max_tokens : 280;
  if (min_tok > max_tok) {
    return InvalidArgumentError("--min-tokens " + std::to_string(min_tok) + " > --max-tokens " +
                                std::to_string(max_tok));
  }
  const int64_t a2 = static_cast<int64_t>(align) * align;
  const auto [tw, th] = DynTargetSize(image.width, image.height, align, min_tok * a2, max_tok * a2);
  if (tw <= 0 || th <= 0 || static_cast<int64_t>(tw) * th > (int64_t{1} << 26)) {
    return InvalidArgumentError("image " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + " gives a target size " +
                                std::to_string(tw) + "x" + std::to_string(th));
  }
  DynImage d;
  d.canvas = ResizeWithPad(image, tw, th);
  d.align = align;
  return d;
}

// The x/y learned position tables of v.position_embd.weight, ne = (n_embd, pos_size, 2).
Status AddPositionTables(const Weight& pos, int64_t pos_size, int cols, int rows, Seq& x) {
  if (cols > pos_size || rows > pos_size) {
    return InvalidArgumentError("patch grid " + std::to_string(cols) + "x" + std::to_string(rows) +
                                " exceeds the position table size " + std::to_string(pos_size));
  }
  const int64_t n_embd = pos.cols;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      Vec& t = x[r * cols + c];
      for (int64_t e = 0; e < n_embd; ++e) {
        t[e] += pos.values[c * n_embd + e] + pos.values[(pos_size + r) * n_embd + e];
      }
    }
  }
  return Status::Ok();
}

// NEOX rotation of `n` values at `h` (pairs (i, i + n/2)), angle pos·base^(−2i/n); llamacpp: the
// F32 angle recurrence of §2.
void RopeNeoxAll(double* h, int n, int pos, double base) {
  RopeNeox(h, n, n, pos, base, 1.0, nullptr, g_numerics);
}

// Per-head RMSNorm when the weight has d_head entries; over the whole vector when it has n_embd.
Vec HeadNorm(const Vec& x, const Weight& w, int n_head, double eps) {
  const int d = static_cast<int>(x.size()) / n_head;
  if (w.cols != d) return Rms(x, &w, eps);
  Vec y(x.size());
  for (int h = 0; h < n_head; ++h) {
    const Vec part(x.begin() + h * d, x.begin() + (h + 1) * d);
    const Vec n = Rms(part, &w, eps);
    std::copy(n.begin(), n.end(), y.begin() + h * d);
  }
  return y;
}

Vec WeightlessHeadNorm(const Vec& x, int n_head, double eps) {
  const int d = static_cast<int>(x.size()) / n_head;
  Vec y(x.size());
  for (int h = 0; h < n_head; ++h) {
    const Vec n = Rms(Vec(x.begin() + h * d, x.begin() + (h + 1) * d), nullptr, eps);
    std::copy(n.begin(), n.end(), y.begin() + h * d);
  }
  return y;
}

// ---------------------------------------------------------------------------------------------
// gemma4v (§6.1)

Result<Output> RunGemma4v(const GgufFile& f, const Image& image, const Options& opt) {
  Loader ld(f);
  ASSIGN_OR_RETURN(int64_t ps, GetInt(f, "clip.vision.patch_size", true, 0));
  ASSIGN_OR_RETURN(int64_t n_embd, GetInt(f, "clip.vision.embedding_length", true, 0));
  ASSIGN_OR_RETURN(int64_t n_layer, GetInt(f, "clip.vision.block_count", true, 0));
  ASSIGN_OR_RETURN(int64_t n_head, GetInt(f, "clip.vision.attention.head_count", true, 0));
  ASSIGN_OR_RETURN(double eps, GetFloat(f, "clip.vision.attention.layer_norm_epsilon", 1e-6));
  ASSIGN_OR_RETURN(int64_t n_merge, GetInt(f, "clip.vision.projector.scale_factor", false, 3));
  ASSIGN_OR_RETURN(std::vector<float> mean, GetTriple(f, "clip.vision.image_mean", 0.0f));
  ASSIGN_OR_RETURN(std::vector<float> stdv, GetTriple(f, "clip.vision.image_std", 1.0f));
  if (ps <= 0 || ps > 4096 || n_merge <= 0 || n_merge > 64 || n_embd <= 0 || n_head <= 0 ||
      n_embd % n_head != 0 || (n_embd / n_head) % 4 != 0 || n_layer < 0 || n_layer > 1024 ||
      n_embd > 65536) {
    return InvalidArgumentError(
        "inconsistent gemma4v hyperparameters (patch " + std::to_string(ps) + ", pool " +
        std::to_string(n_merge) + ", n_embd " + std::to_string(n_embd) + ", heads " +
        std::to_string(n_head) + "; head dim must be a multiple of 4 for the 2D RoPE)");
  }
  ASSIGN_OR_RETURN(DynImage dyn, DynPreprocess(image, static_cast<int>(ps * n_merge), opt));
  Output out;
  out.projector = "gemma4v";
  out.is_image = true;
  if (opt.preprocess_only) {
    out.preprocess = true;
    out.chunks.push_back(PreprocessedImageChunk(dyn.canvas, mean, stdv));
    return out;
  }

  Weight patch_w, pos;
  TRY(ld.Get("v.patch_embd.weight", {ps, ps, 3, n_embd}, true, &patch_w));
  TRY(ld.Get("v.position_embd.weight", {n_embd, kAny, 2}, true, &pos));
  const int64_t pos_size = f.FindTensor("v.position_embd.weight")->ne[1];
  // clip.use_gelu → tanh-GELU; clip.use_silu → SiLU; neither → GELU-quick (§6.1).
  const Act act = GetBool(f, "clip.use_gelu")   ? Act::kGeluTanh
                  : GetBool(f, "clip.use_silu") ? Act::kSilu
                                                : Act::kGeluQuick;
  const int d_head = static_cast<int>(n_embd / n_head);
  struct Layer {
    Weight ln1, ln2, q_norm, k_norm, post_attn, post_ffn, ls1, ls2, out_scale;
    Linear q, k, v, o, gate, up, down;
  };
  std::vector<Layer> layers(n_layer);
  for (int il = 0; il < n_layer; ++il) {
    Layer& L = layers[il];
    const std::string p = "v.blk." + std::to_string(il) + ".";
    TRY(ld.Get(p + "ln1.weight", {n_embd}, true, &L.ln1));
    TRY(ld.Get(p + "ln2.weight", {n_embd}, true, &L.ln2));
    TRY(ld.GetLinear(p + "attn_q", n_embd, n_embd, true, true, true, &L.q));
    TRY(ld.GetLinear(p + "attn_k", n_embd, n_embd, true, true, true, &L.k));
    TRY(ld.GetLinear(p + "attn_v", n_embd, n_embd, true, true, true, &L.v));
    TRY(ld.GetLinear(p + "attn_out", n_embd, n_embd, true, true, true, &L.o));
    const std::pair<const char*, Weight*> head_norms[] = {{"attn_q_norm", &L.q_norm},
                                                          {"attn_k_norm", &L.k_norm}};
    for (const auto& [name, w] : head_norms) {
      TRY(ld.Get(p + name + ".weight", {kAny}, true, w));
      if (w->cols != d_head && w->cols != n_embd) {
        return InvalidArgumentError(p + name + ".weight has " + std::to_string(w->cols) +
                                    " values, expected the head dim " + std::to_string(d_head));
      }
    }
    TRY(ld.Get(p + "attn_post_norm.weight", {n_embd}, false, &L.post_attn));
    TRY(ld.Get(p + "ffn_post_norm.weight", {n_embd}, false, &L.post_ffn));
    TRY(ld.Get(p + "ls1.weight", {n_embd}, false, &L.ls1));
    TRY(ld.Get(p + "ls2.weight", {n_embd}, false, &L.ls2));
    TRY(ld.Get(p + "out_scale.weight", {kAny}, false, &L.out_scale));
    if (L.out_scale.present() && L.out_scale.cols != 1 && L.out_scale.cols != n_embd) {
      return InvalidArgumentError(p + "out_scale.weight must have 1 or n_embd values");
    }
    TRY(ld.GetLinear(p + "ffn_gate", n_embd, kAny, true, true, true, &L.gate));
    TRY(ld.GetLinear(p + "ffn_up", n_embd, L.gate.out(), true, true, true, &L.up));
    TRY(ld.GetLinear(p + "ffn_down", L.gate.out(), n_embd, true, true, true, &L.down));
  }
  Weight std_bias, std_scale;
  TRY(ld.Get("v.std_bias", {n_embd}, false, &std_bias));
  TRY(ld.Get("v.std_scale", {n_embd}, false, &std_scale));
  Linear proj;
  TRY(ld.GetLinear("mm.input_projection", n_embd, kAny, true, true, false, &proj));
  WarnUnused(ld, {"v.", "mm."});

  // 2x − 1, conv patch embedding without bias, position tables.
  std::vector<double> planar = Planar(dyn.canvas, mean, stdv);
  for (double& v : planar) v = static_cast<double>(static_cast<float>(v) * 2.0f - 1.0f);
  const int cols = dyn.canvas.width / static_cast<int>(ps);
  const int rows = dyn.canvas.height / static_cast<int>(ps);
  RoundForKernel(patch_w, planar);
  Seq x = PatchEmbed(planar, dyn.canvas.width, dyn.canvas.height, patch_w, static_cast<int>(ps),
                     n_embd);
  TRY(AddPositionTables(pos, pos_size, cols, rows, x));

  for (const Layer& L : layers) {
    Seq q, k, v;
    for (size_t p = 0; p < x.size(); ++p) {
      const Vec a = Rms(x[p], &L.ln1, eps);
      Vec qi = HeadNorm(Apply(L.q, a), L.q_norm, static_cast<int>(n_head), eps);
      Vec ki = HeadNorm(Apply(L.k, a), L.k_norm, static_cast<int>(n_head), eps);
      const int col = static_cast<int>(p) % cols, row = static_cast<int>(p) / cols;
      for (int h = 0; h < n_head; ++h) {
        for (Vec* t : {&qi, &ki}) {
          // First half of the head rotated by the column index, second half by the row index.
          RopeNeoxAll(t->data() + h * d_head, d_head / 2, col, 100.0);
          RopeNeoxAll(t->data() + h * d_head + d_head / 2, d_head / 2, row, 100.0);
        }
      }
      q.push_back(std::move(qi));
      k.push_back(std::move(ki));
      v.push_back(WeightlessHeadNorm(Apply(L.v, a), static_cast<int>(n_head), eps));
    }
    const Seq att = Attention(q, k, v, static_cast<int>(n_head), 1.0);
    for (size_t i = 0; i < x.size(); ++i) {
      Vec o = Apply(L.o, att[i]);
      if (L.ls1.present()) ScaleInPlace(o, L.ls1);
      if (L.post_attn.present()) o = Rms(o, &L.post_attn, eps);
      AddInPlace(x[i], o);
      const Vec a = Rms(x[i], &L.ln2, eps);
      const Vec g = Apply(L.gate, a), u = Apply(L.up, a);
      Vec h(g.size());
      for (size_t j = 0; j < h.size(); ++j) h[j] = Activate(act, g[j]) * u[j];
      Vec fo = Apply(L.down, h);
      if (L.post_ffn.present()) fo = Rms(fo, &L.post_ffn, eps);
      if (L.ls2.present()) ScaleInPlace(fo, L.ls2);
      AddInPlace(x[i], fo);
      if (L.out_scale.present()) ScaleInPlace(x[i], L.out_scale);
    }
  }
  Seq pooled = AvgPool(x, cols, rows, static_cast<int>(n_merge));
  const double root =
      LlamaCpp() ? std::sqrt(static_cast<float>(n_embd)) : std::sqrt(static_cast<double>(n_embd));
  Seq y;
  for (Vec& t : pooled) {
    for (size_t e = 0; e < t.size(); ++e) {
      t[e] *= root;
      if (std_bias.present() && std_scale.present()) {
        t[e] = (t[e] - std_bias.values[e]) * std_scale.values[e];
      }
    }
    y.push_back(Apply(proj, Rms(t, nullptr, eps)));
  }
  out.chunks.push_back(EmbeddingChunk(y, /*causal=*/false));
  return out;
}

// ---------------------------------------------------------------------------------------------
// gemma4uv (§6.3)

Result<Output> RunGemma4uv(const GgufFile& f, const Image& image, const Options& opt) {
  Loader ld(f);
  ASSIGN_OR_RETURN(int64_t ps0, GetInt(f, "clip.vision.patch_size", true, 0));
  ASSIGN_OR_RETURN(int64_t merge, GetInt(f, "clip.vision.projector.scale_factor", false, 3));
  ASSIGN_OR_RETURN(double eps, GetFloat(f, "clip.vision.attention.layer_norm_epsilon", 1e-6));
  ASSIGN_OR_RETURN(std::vector<float> mean, GetTriple(f, "clip.vision.image_mean", 0.0f));
  ASSIGN_OR_RETURN(std::vector<float> stdv, GetTriple(f, "clip.vision.image_std", 1.0f));
  // The pooling kernel is folded into the patch: patch = patch_size · 3 (48), no pooling.
  const int64_t ps = ps0 * merge;
  if (ps0 <= 0 || merge <= 0 || ps <= 0 || ps > 4096) {
    return InvalidArgumentError("bad gemma4uv patch size " + std::to_string(ps0) + " x " +
                                std::to_string(merge));
  }
  ASSIGN_OR_RETURN(DynImage dyn, DynPreprocess(image, static_cast<int>(ps), opt));
  Output out;
  out.projector = "gemma4uv";
  out.is_image = true;
  if (opt.preprocess_only) {
    out.preprocess = true;
    out.chunks.push_back(PreprocessedImageChunk(dyn.canvas, mean, stdv));
    return out;
  }
  const int64_t kin = 3 * ps * ps;
  Weight n1w, n1b, n2w, n2b, n3w, n3b, pos;
  Linear embd;
  TRY(ld.Get("v.patch_norm.1.weight", {kin}, true, &n1w));
  TRY(ld.Get("v.patch_norm.1.bias", {kin}, true, &n1b));
  TRY(ld.GetLinear("v.patch_embd", kin, kAny, true, false, true, &embd));
  const int64_t n_embd = embd.out();
  if (!embd.b.present()) return NotFoundError("missing tensor v.patch_embd.bias");
  TRY(ld.Get("v.patch_norm.2.weight", {n_embd}, true, &n2w));
  TRY(ld.Get("v.patch_norm.2.bias", {n_embd}, true, &n2b));
  TRY(ld.Get("v.position_embd.weight", {n_embd, kAny, 2}, true, &pos));
  const int64_t pos_size = f.FindTensor("v.position_embd.weight")->ne[1];
  TRY(ld.Get("v.patch_norm.3.weight", {n_embd}, true, &n3w));
  TRY(ld.Get("v.patch_norm.3.bias", {n_embd}, true, &n3b));
  Linear proj;
  TRY(ld.GetLinear("mm.input_projection", n_embd, kAny, true, false, false, &proj));
  WarnUnused(ld, {"v.", "mm.input", "mm.soft"});

  const int W = dyn.canvas.width, H = dyn.canvas.height;
  const int cols = W / static_cast<int>(ps), rows = H / static_cast<int>(ps);
  const std::vector<double> planar = Planar(dyn.canvas, mean, stdv);
  Seq x;
  for (int r = 0; r < rows; ++r) {
    for (int c = 0; c < cols; ++c) {
      // Channel-major, then row, then column within the patch (§6.3).
      Vec patch;
      for (int ch = 0; ch < 3; ++ch) {
        for (int ky = 0; ky < ps; ++ky) {
          for (int kx = 0; kx < ps; ++kx) {
            patch.push_back(planar[(static_cast<size_t>(ch) * H + r * ps + ky) * W + c * ps + kx]);
          }
        }
      }
      x.push_back(LayerNorm(Apply(embd, LayerNorm(patch, &n1w, &n1b, 1e-5)), &n2w, &n2b, 1e-5));
    }
  }
  TRY(AddPositionTables(pos, pos_size, cols, rows, x));
  Seq y;
  for (const Vec& t : x)
    y.push_back(Apply(proj, Rms(LayerNorm(t, &n3w, &n3b, 1e-5), nullptr, eps)));
  out.chunks.push_back(EmbeddingChunk(y, /*causal=*/false));
  return out;
}

// ---------------------------------------------------------------------------------------------
// gemma4ua (§6.4)

Result<Output> RunGemma4ua(const GgufFile& f, const std::vector<float>& samples,
                           const Options& opt) {
  constexpr int kFrame = 640;
  const int64_t n_tok = (static_cast<int64_t>(samples.size()) + kFrame - 1) / kFrame;
  Seq frames(n_tok, Vec(kFrame, 0.0));
  for (size_t i = 0; i < samples.size(); ++i) frames[i / kFrame][i % kFrame] = samples[i];
  Output out;
  out.projector = "gemma4ua";
  if (opt.preprocess_only) {
    out.preprocess = true;
    Chunk c;
    c.n_mel = kFrame;
    c.n_frames = n_tok;
    for (const Vec& fr : frames) c.data.insert(c.data.end(), fr.begin(), fr.end());
    out.chunks.push_back(std::move(c));
    return out;
  }
  Loader ld(f);
  Linear proj;
  TRY(ld.GetLinear("mm.a.input_projection", kFrame, kAny, true, false, false, &proj));
  WarnUnused(ld, {"a.", "mm.a."});
  Seq y;
  for (const Vec& fr : frames) y.push_back(Apply(proj, Rms(fr, nullptr, 1e-6)));
  out.chunks.push_back(EmbeddingChunk(y, /*causal=*/true));
  return out;
}

// ---------------------------------------------------------------------------------------------
// gemma4a (§6.2)

struct ConformerLayer {
  Weight ffn_norm, ffn_post_norm, ffn_norm_1, ffn_post_norm_1;
  Linear ffn_up, ffn_down, ffn_up_1, ffn_down_1;
  Weight attn_norm, attn_post_norm, per_dim_scale, per_dim_k_scale;
  Linear q, k, v, o;
  Weight k_rel;                          // plain matmul (no clamp), [n_embd -> n_embd]
  Weight conv_pre_norm, conv_post_norm;  // GGUF conv_norm / norm_conv (swapped names)
  Linear pw1, pw2;
  Weight dw_w, dw_b;
  int dw_kernel = 0;
  Weight ln2;
};

// Half-step FFN: 0.5 · post_norm(down(silu(up(pre_norm(x))))).
Vec HalfFfn(const Vec& x, const Weight& pre, const Linear& up, const Linear& down,
            const Weight& post) {
  Vec h = Apply(up, Rms(x, &pre, 1e-6));
  for (double& z : h) z = Silu(z);
  Vec o = Apply(down, h);
  if (post.present()) o = Rms(o, &post, 1e-6);
  for (double& z : o) z *= 0.5;
  return o;
}

Result<Output> RunGemma4a(const GgufFile& f, const std::vector<float>& samples,
                          const Options& opt) {
  ASSIGN_OR_RETURN(int64_t n_mel, GetInt(f, "clip.audio.num_mel_bins", true, 0));
  if (n_mel <= 0 || n_mel > 4096) {
    return InvalidArgumentError("bad clip.audio.num_mel_bins " + std::to_string(n_mel));
  }
  // 30 s chunks, each processed and encoded independently.
  constexpr int64_t kChunk = 480000;
  std::vector<std::vector<std::vector<double>>> mels;
  for (int64_t off = 0; off < static_cast<int64_t>(samples.size()); off += kChunk) {
    const int64_t n = std::min<int64_t>(kChunk, samples.size() - off);
    mels.push_back(LogMel(samples.data() + off, n, static_cast<int>(n_mel)));
  }
  Output out;
  out.projector = "gemma4a";
  if (opt.preprocess_only) {
    out.preprocess = true;
    for (const auto& m : mels) {
      Chunk c;
      c.n_mel = n_mel;
      c.n_frames = static_cast<int64_t>(m.size());
      for (const Vec& fr : m) c.data.insert(c.data.end(), fr.begin(), fr.end());
      out.chunks.push_back(std::move(c));
    }
    return out;
  }

  Loader ld(f);
  ASSIGN_OR_RETURN(int64_t n_embd, GetInt(f, "clip.audio.embedding_length", true, 0));
  ASSIGN_OR_RETURN(int64_t n_layer, GetInt(f, "clip.audio.block_count", true, 0));
  ASSIGN_OR_RETURN(int64_t n_head, GetInt(f, "clip.audio.attention.head_count", true, 0));
  if (n_embd <= 0 || n_head <= 0 || n_embd % n_head != 0 || n_layer < 0 || n_layer > 1024 ||
      n_embd > 65536) {
    return InvalidArgumentError("inconsistent gemma4a hyperparameters (n_embd " +
                                std::to_string(n_embd) + ", heads " + std::to_string(n_head) + ")");
  }
  const int d_head = static_cast<int>(n_embd / n_head);

  // Subsampling convolutions: kernel ne = (3 [freq], 3 [time], C_in, C_out).
  Weight conv_w[2], conv_b[2], conv_n[2];
  int64_t c_in = 1;
  for (int i = 0; i < 2; ++i) {
    const std::string p = "a.conv1d." + std::to_string(i) + ".";
    TRY(ld.Get(p + "weight", {3, 3, c_in, kAny}, true, &conv_w[i]));
    const int64_t c_out = f.FindTensor(p + "weight")->ne[3];
    TRY(ld.Get(p + "bias", {c_out}, false, &conv_b[i]));
    TRY(ld.Get(p + "norm.weight", {c_out}, false, &conv_n[i]));
    c_in = c_out;
  }
  int64_t f_out = n_mel;
  for (int i = 0; i < 2; ++i) f_out = (f_out - 1) / 2 + 1;
  Linear in_proj;
  TRY(ld.GetLinear("a.input_projection", f_out * c_in, n_embd, true, true, true, &in_proj));

  std::vector<ConformerLayer> layers(n_layer);
  for (int il = 0; il < n_layer; ++il) {
    ConformerLayer& L = layers[il];
    const std::string p = "a.blk." + std::to_string(il) + ".";
    TRY(ld.Get(p + "ffn_norm.weight", {n_embd}, true, &L.ffn_norm));
    TRY(ld.GetLinear(p + "ffn_up", n_embd, kAny, true, true, false, &L.ffn_up));
    TRY(ld.GetLinear(p + "ffn_down", L.ffn_up.out(), n_embd, true, true, false, &L.ffn_down));
    TRY(ld.Get(p + "ffn_post_norm.weight", {n_embd}, false, &L.ffn_post_norm));
    TRY(ld.Get(p + "attn_pre_norm.weight", {n_embd}, false, &L.attn_norm));
    if (!L.attn_norm.present()) TRY(ld.Get(p + "ln1.weight", {n_embd}, false, &L.attn_norm));
    TRY(ld.GetLinear(p + "attn_q", n_embd, n_embd, true, true, false, &L.q));
    TRY(ld.GetLinear(p + "attn_k", n_embd, n_embd, true, true, false, &L.k));
    TRY(ld.GetLinear(p + "attn_v", n_embd, n_embd, true, true, false, &L.v));
    TRY(ld.GetLinear(p + "attn_out", n_embd, n_embd, true, true, true, &L.o));
    TRY(ld.Get(p + "attn_post_norm.weight", {n_embd}, false, &L.attn_post_norm));
    TRY(ld.Get(p + "per_dim_scale.weight", {d_head}, false, &L.per_dim_scale));
    TRY(ld.Get(p + "per_dim_k_scale.weight", {d_head}, false, &L.per_dim_k_scale));
    TRY(ld.Get(p + "attn_k_rel.weight", {n_embd, n_embd}, false, &L.k_rel));
    // Name quirk (§6.2): conv_norm is the module's pre-norm, norm_conv the one after the
    // depthwise conv.
    TRY(ld.Get(p + "conv_norm.weight", {n_embd}, true, &L.conv_pre_norm));
    TRY(ld.GetLinear(p + "conv_pw1", n_embd, kAny, true, true, false, &L.pw1));
    if (L.pw1.out() % 2 != 0) return InvalidArgumentError(p + "conv_pw1 output is odd (GLU)");
    const int64_t d_conv = L.pw1.out() / 2;
    TRY(ld.Get(p + "conv_dw.weight", {kAny, kAny, kAny}, true, &L.dw_w));
    {
      const GgufTensor* t = f.FindTensor(p + "conv_dw.weight");
      const bool ok = t->ne[2] == 1 ? (t->ne[1] == d_conv && t->ne[3] == 1)
                                    : (t->ne[1] == 1 && t->ne[2] == d_conv && t->ne[3] == 1);
      if (!ok || t->ne[0] < 1) {
        return InvalidArgumentError(p + "conv_dw.weight has shape " + ShapeString(t->ne) +
                                    ", expected (K, " + std::to_string(d_conv) + ")");
      }
      L.dw_kernel = static_cast<int>(t->ne[0]);
    }
    TRY(ld.Get(p + "conv_dw.bias", {d_conv}, false, &L.dw_b));
    TRY(ld.Get(p + "norm_conv.weight", {d_conv}, false, &L.conv_post_norm));
    TRY(ld.GetLinear(p + "conv_pw2", d_conv, n_embd, true, true, false, &L.pw2));
    TRY(ld.Get(p + "ffn_norm_1.weight", {n_embd}, true, &L.ffn_norm_1));
    TRY(ld.GetLinear(p + "ffn_up_1", n_embd, kAny, true, true, false, &L.ffn_up_1));
    TRY(ld.GetLinear(p + "ffn_down_1", L.ffn_up_1.out(), n_embd, true, true, false, &L.ffn_down_1));
    TRY(ld.Get(p + "ffn_post_norm_1.weight", {n_embd}, false, &L.ffn_post_norm_1));
    TRY(ld.Get(p + "ln2.weight", {n_embd}, false, &L.ln2));
  }
  Linear out_proj;
  TRY(ld.GetLinear("a.pre_encode.out", n_embd, kAny, false, true, true, &out_proj));
  const int64_t n_enc = out_proj.present() ? out_proj.out() : n_embd;
  Weight soft_norm;
  TRY(ld.Get("mm.a.soft_emb_norm.weight", {n_enc}, false, &soft_norm));
  Linear proj;
  TRY(ld.GetLinear("mm.a.input_projection", n_enc, kAny, true, true, false, &proj));
  WarnUnused(ld, {"a.", "mm.a."});

  // Relative-position table (§6.2): R = 13 rows, row r = distance 12 − r, sin | cos halves.
  constexpr int kC = 12, kP = 12, kR = kP + 1;
  std::vector<Vec> rel_rows(kR, Vec(n_embd, 0.0));
  {
    const int64_t nts = n_embd / 2;
    const double inc = std::log(10000.0) / std::max<int64_t>(nts - 1, 1);
    for (int r = 0; r < kR; ++r) {
      const double position = kP - r;
      for (int64_t i = 0; i < nts; ++i) {
        const double s = position * std::exp(-static_cast<double>(i) * inc);
        rel_rows[r][i] = std::sin(s);
        rel_rows[r][i + nts] = std::cos(s);
      }
    }
  }
  const double q_scale = (1.0 / std::sqrt(static_cast<double>(d_head))) / std::log(2.0);
  const double k_scale = std::log(1.0 + std::exp(1.0)) / std::log(2.0);

  for (const auto& mel : mels) {
    // Conv stages over [C][T][F] grids.
    int64_t T = static_cast<int64_t>(mel.size()), F = n_mel, C = 1;
    std::vector<double> grid(T * F);
    for (int64_t t = 0; t < T; ++t) {
      for (int64_t m = 0; m < F; ++m) grid[t * F + m] = mel[t][m];
    }
    for (int i = 0; i < 2; ++i) {
      RoundForKernel(conv_w[i], grid);
      const int64_t Co = conv_w[i].rows / (3 * C);  // rows = 3 (time) · C_in · C_out
      const int64_t To = (T - 1) / 2 + 1, Fo = (F - 1) / 2 + 1;
      std::vector<double> o(Co * To * Fo, 0.0);
      for (int64_t co = 0; co < Co; ++co) {
        for (int64_t t = 0; t < To; ++t) {
          for (int64_t fq = 0; fq < Fo; ++fq) {
            double acc = conv_b[i].present() ? conv_b[i].values[co] : 0.0;
            for (int64_t ci = 0; ci < C; ++ci) {
              for (int kt = 0; kt < 3; ++kt) {
                const int64_t ti = 2 * t + kt - 1;
                if (ti < 0 || ti >= T) continue;
                for (int kf = 0; kf < 3; ++kf) {
                  const int64_t fi = 2 * fq + kf - 1;
                  if (fi < 0 || fi >= F) continue;
                  acc += conv_w[i].values[((co * C + ci) * 3 + kt) * 3 + kf] *
                         grid[(ci * T + ti) * F + fi];
                }
              }
            }
            o[(co * To + t) * Fo + fq] = acc;
          }
        }
      }
      // LayerNorm over channels (weight only), then ReLU.
      for (int64_t t = 0; t < To; ++t) {
        for (int64_t fq = 0; fq < Fo; ++fq) {
          Vec ch(Co);
          for (int64_t co = 0; co < Co; ++co) ch[co] = o[(co * To + t) * Fo + fq];
          if (conv_n[i].present()) ch = LayerNorm(ch, &conv_n[i], nullptr, 1e-6);
          for (int64_t co = 0; co < Co; ++co) o[(co * To + t) * Fo + fq] = std::max(0.0, ch[co]);
        }
      }
      grid = std::move(o);
      T = To;
      F = Fo;
      C = Co;
    }
    // Flatten with the channel index fastest (freq·C + ch), project.
    Seq x;
    for (int64_t t = 0; t < T; ++t) {
      Vec v(F * C);
      for (int64_t fq = 0; fq < F; ++fq) {
        for (int64_t c = 0; c < C; ++c) v[fq * C + c] = grid[(c * T + t) * F + fq];
      }
      x.push_back(Apply(in_proj, v));
    }
    const int64_t n = T;

    for (const ConformerLayer& L : layers) {
      // FFN 1.
      for (Vec& t : x) AddInPlace(t, HalfFfn(t, L.ffn_norm, L.ffn_up, L.ffn_down, L.ffn_post_norm));
      // Chunked local attention.
      Seq q(n), k(n), v(n);
      for (int64_t i = 0; i < n; ++i) {
        const Vec a = L.attn_norm.present() ? Rms(x[i], &L.attn_norm, 1e-6) : x[i];
        q[i] = Apply(L.q, a);
        k[i] = Apply(L.k, a);
        v[i] = Apply(L.v, a);
        for (int64_t e = 0; e < n_embd; ++e) {
          const int d = static_cast<int>(e % d_head);
          q[i][e] *= q_scale;
          if (L.per_dim_scale.present()) q[i][e] *= L.per_dim_scale.values[d];
          k[i][e] *= k_scale;
          if (L.per_dim_k_scale.present()) k[i][e] *= L.per_dim_k_scale.values[d];
        }
      }
      std::vector<Vec> rel;  // projected rows, [13][n_embd]
      if (L.k_rel.present()) {
        for (const Vec& row : rel_rows) rel.push_back(MatVec(L.k_rel, row, g_numerics));
      }
      Seq att(n, Vec(n_embd, 0.0));
      for (int64_t i = 0; i < n; ++i) {
        const int64_t b = i / kC;
        for (int h = 0; h < n_head; ++h) {
          // The 24 keys of the block's context; a key is visible iff it is a real position,
          // j ≤ i and i − j < 12. Masked logits get −1e9, i.e. weight exp(−1e9) = 0 here.
          std::vector<double> logit;
          std::vector<int64_t> key;
          for (int64_t j = b * kC - kP; j < b * kC + kC; ++j) {
            if (j < 0 || j >= n || j > i || i - j >= kP) continue;
            double s = 0;
            for (int d = 0; d < d_head; ++d) s += q[i][h * d_head + d] * k[j][h * d_head + d];
            if (!rel.empty()) {
              const Vec& pr = rel[kP - (i - j)];
              for (int d = 0; d < d_head; ++d) s += q[i][h * d_head + d] * pr[h * d_head + d];
            }
            logit.push_back(50.0 * std::tanh(s / 50.0));
            key.push_back(j);
          }
          double mx = -INFINITY, sum = 0;
          for (double l : logit) mx = std::max(mx, l);
          for (double& l : logit) sum += l = std::exp(l - mx);
          for (size_t kk = 0; kk < key.size(); ++kk) {
            for (int d = 0; d < d_head; ++d) {
              att[i][h * d_head + d] += logit[kk] / sum * v[key[kk]][h * d_head + d];
            }
          }
        }
      }
      for (int64_t i = 0; i < n; ++i) {
        Vec o = Apply(L.o, att[i]);
        if (L.attn_post_norm.present()) o = Rms(o, &L.attn_post_norm, 1e-6);
        AddInPlace(x[i], o);
      }
      // Convolution module.
      const int64_t d_conv = L.pw1.out() / 2;
      Seq glu(n, Vec(d_conv));
      for (int64_t i = 0; i < n; ++i) {
        const Vec h = Apply(L.pw1, Rms(x[i], &L.conv_pre_norm, 1e-6));
        for (int64_t c = 0; c < d_conv; ++c) glu[i][c] = h[c] * Sigmoid(h[c + d_conv]);
      }
      const int K = L.dw_kernel;
      for (int64_t i = 0; i < n; ++i) {
        Vec y(d_conv, 0.0);
        for (int64_t c = 0; c < d_conv; ++c) {
          double acc = L.dw_b.present() ? L.dw_b.values[c] : 0.0;
          for (int kk = 0; kk < K; ++kk) {
            const int64_t src = i + kk - (K - 1);  // causal: K − 1 zeros on the left
            if (src >= 0) acc += L.dw_w.values[c * K + kk] * glu[src][c];
          }
          y[c] = acc;
        }
        if (L.conv_post_norm.present()) y = Rms(y, &L.conv_post_norm, 1e-6);
        for (double& z : y) z = Silu(z);
        AddInPlace(x[i], Apply(L.pw2, y));
      }
      // FFN 2, block output norm.
      for (Vec& t : x) {
        AddInPlace(t, HalfFfn(t, L.ffn_norm_1, L.ffn_up_1, L.ffn_down_1, L.ffn_post_norm_1));
        if (L.ln2.present()) t = Rms(t, &L.ln2, 1e-6);
      }
    }
    Seq y;
    for (const Vec& t : x) {
      const Vec e = out_proj.present() ? Apply(out_proj, t) : t;
      y.push_back(Apply(proj, Rms(e, soft_norm.present() ? &soft_norm : nullptr, 1e-6)));
    }
    out.chunks.push_back(EmbeddingChunk(y, /*causal=*/true));
  }
  return out;
}

void AppendNumber(std::string& s, double v) {
  if (!std::isfinite(v)) {
    s += "null";
    return;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  s += buf;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Input files

Result<Image> ReadPpm(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open image " + path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t pos = 0;
  // Header: "P6", width, height, maxval, separated by whitespace and #-comments, then exactly one
  // whitespace byte before the pixels.
  auto token = [&]() -> std::string {
    while (pos < bytes.size()) {
      if (bytes[pos] == '#') {
        while (pos < bytes.size() && bytes[pos] != '\n') ++pos;
      } else if (std::isspace(static_cast<unsigned char>(bytes[pos]))) {
        ++pos;
      } else {
        break;
      }
    }
    std::string t;
    while (pos < bytes.size() && !std::isspace(static_cast<unsigned char>(bytes[pos])) &&
           bytes[pos] != '#') {
      t += bytes[pos++];
    }
    return t;
  };
  if (token() != "P6") return InvalidArgumentError(path + ": not a binary PPM (P6) image");
  long dims[3];
  for (long& d : dims) {
    const std::string t = token();
    char* end = nullptr;
    d = std::strtol(t.c_str(), &end, 10);
    if (t.empty() || *end != '\0' || d <= 0 || d > 65535) {
      return InvalidArgumentError(path + ": bad PPM header value '" + t + "'");
    }
  }
  if (dims[2] != 255) {
    return UnimplementedError(path + ": PPM maxval " + std::to_string(dims[2]) +
                              " (only 8-bit, maxval 255, is supported)");
  }
  if (pos >= bytes.size() || !std::isspace(static_cast<unsigned char>(bytes[pos]))) {
    return InvalidArgumentError(path + ": truncated PPM header");
  }
  ++pos;
  Image img;
  img.width = static_cast<int>(dims[0]);
  img.height = static_cast<int>(dims[1]);
  const size_t need = static_cast<size_t>(img.width) * img.height * 3;
  if (bytes.size() - pos < need) {
    return DataLossError(path + ": PPM pixel data truncated (" +
                         std::to_string(bytes.size() - pos) + " of " + std::to_string(need) +
                         " bytes)");
  }
  img.rgb.assign(bytes.begin() + pos, bytes.begin() + pos + need);
  return img;
}

Result<std::vector<float>> ReadF32Samples(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open audio " + path);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.empty()) return InvalidArgumentError(path + ": no audio samples");
  if (bytes.size() % 4 != 0) {
    return InvalidArgumentError(path + ": size " + std::to_string(bytes.size()) +
                                " is not a whole number of float32 samples");
  }
  std::vector<float> s(bytes.size() / 4);
  for (size_t i = 0; i < s.size(); ++i) {
    uint32_t u = 0;
    for (int b = 0; b < 4; ++b)
      u |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[i * 4 + b])) << (8 * b);
    std::memcpy(&s[i], &u, 4);
    if (!std::isfinite(s[i])) {
      return InvalidArgumentError(path + ": sample " + std::to_string(i) + " is not finite");
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Preprocessing

Image ResizeBilinear(const Image& src, int width, int height) {
  Image dst;
  dst.width = width;
  dst.height = height;
  dst.rgb.resize(static_cast<size_t>(width) * height * 3);
  const float xr = width > 1 ? static_cast<float>(src.width - 1) / (width - 1) : 0.0f;
  const float yr = height > 1 ? static_cast<float>(src.height - 1) / (height - 1) : 0.0f;
  auto lerp = [](float a, float b, float t) { return a + (b - a) * t; };
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      const float px = x * xr, py = y * yr;
      const int x0 = std::min(static_cast<int>(px), src.width - 1);
      const int y0 = std::min(static_cast<int>(py), src.height - 1);
      const int x1 = std::min(x0 + 1, src.width - 1), y1 = std::min(y0 + 1, src.height - 1);
      const float fx = px - x0, fy = py - y0;
      for (int c = 0; c < 3; ++c) {
        const float top = lerp(src.at(x0, y0, c), src.at(x1, y0, c), fx);
        const float bottom = lerp(src.at(x0, y1, c), src.at(x1, y1, c), fx);
        dst.rgb[(static_cast<size_t>(y) * width + x) * 3 + c] =
            static_cast<uint8_t>(lerp(top, bottom, fy));
      }
    }
  }
  return dst;
}

Image ResizeWithPad(const Image& src, int width, int height) {
  const float scale =
      std::min(static_cast<float>(width) / src.width, static_cast<float>(height) / src.height);
  const int nw = std::min(static_cast<int>(std::ceil(src.width * scale)), width);
  const int nh = std::min(static_cast<int>(std::ceil(src.height * scale)), height);
  const Image resized = ResizeBilinear(src, nw, nh);
  Image dst;
  dst.width = width;
  dst.height = height;
  dst.rgb.assign(static_cast<size_t>(width) * height * 3, 0);
  const int ox = (width - nw) / 2, oy = (height - nh) / 2;
  for (int y = 0; y < nh; ++y) {
    for (int x = 0; x < nw; ++x) {
      for (int c = 0; c < 3; ++c) {
        dst.rgb[(static_cast<size_t>(y + oy) * width + x + ox) * 3 + c] = resized.at(x, y, c);
      }
    }
  }
  return dst;
}

std::pair<int, int> DynTargetSize(int width, int height, int align, int64_t min_pixels,
                                  int64_t max_pixels) {
  const float fa = static_cast<float>(align);
  auto round_by = [&](float v) { return static_cast<int>(std::round(v / fa)) * align; };
  auto ceil_by = [&](float v) { return static_cast<int>(std::ceil(v / fa)) * align; };
  auto floor_by = [&](float v) { return static_cast<int>(std::floor(v / fa)) * align; };
  int h = std::max(align, round_by(static_cast<float>(height)));
  int w = std::max(align, round_by(static_cast<float>(width)));
  const int64_t area = static_cast<int64_t>(h) * w;
  const float hw = static_cast<float>(static_cast<int64_t>(height) * width);
  if (area > max_pixels) {
    const float beta = std::sqrt(hw / static_cast<float>(max_pixels));
    h = std::max(align, floor_by(static_cast<float>(height) / beta));
    w = std::max(align, floor_by(static_cast<float>(width) / beta));
  } else if (area < min_pixels) {
    const float beta = std::sqrt(static_cast<float>(min_pixels) / hw);
    h = ceil_by(static_cast<float>(height) * beta);
    w = ceil_by(static_cast<float>(width) * beta);
  }
  return {w, h};
}

int64_t LogMelFrameCount(int64_t n_samples) {
  // T = (n + 160 − 321) / 160 + 1 with C integer division (see README: for n ≤ 160 this gives
  // one frame, where a literal floor would give none).
  return (n_samples + 160 - 321) / 160 + 1;
}

std::vector<std::vector<double>> MelFilterbank(int n_mel) {
  constexpr int kBins = 257;
  auto hz_to_mel = [](double hz) { return 2595.0 * std::log10(1.0 + hz / 700.0); };
  auto mel_to_hz = [](double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); };
  const double lo = hz_to_mel(0.0), hi = hz_to_mel(8000.0);
  std::vector<double> edges(n_mel + 2);
  for (int i = 0; i < n_mel + 2; ++i) edges[i] = mel_to_hz(lo + (hi - lo) * i / (n_mel + 1));
  std::vector<std::vector<double>> fb(n_mel, std::vector<double>(kBins, 0.0));
  for (int m = 0; m < n_mel; ++m) {
    const double l = edges[m], c = edges[m + 1], r = edges[m + 2];
    for (int k = 0; k < kBins; ++k) {
      const double f = k * 16000.0 / 512.0;
      if (f >= l && f <= c) {
        fb[m][k] = (f - l) / std::max(1e-30, c - l);
      } else if (f > c && f <= r) {
        fb[m][k] = (r - f) / std::max(1e-30, r - c);
      }
    }
  }
  return fb;
}

std::vector<std::vector<double>> LogMel(const float* samples, int64_t n_samples, int n_mel) {
  const int64_t T = LogMelFrameCount(n_samples);
  if (T <= 0) return {};
  // 160 zeros on the left, the samples, zeros so that all T frames of 512 exist.
  std::vector<double> padded(std::max<int64_t>((T - 1) * 160 + 512, n_samples + 160), 0.0);
  for (int64_t i = 0; i < n_samples; ++i) padded[160 + i] = samples[i];
  std::vector<double> window(320);
  for (int i = 0; i < 320; ++i) window[i] = 0.5 - 0.5 * std::cos(2.0 * M_PI * i / 320.0);
  const auto fb = MelFilterbank(n_mel);
  // DFT twiddles for N = 512.
  std::vector<double> cs(512), sn(512);
  for (int i = 0; i < 512; ++i) {
    cs[i] = std::cos(2.0 * M_PI * i / 512.0);
    sn[i] = std::sin(2.0 * M_PI * i / 512.0);
  }
  std::vector<std::vector<double>> out(T, std::vector<double>(n_mel));
  std::vector<double> frame(320), mag(257);
  for (int64_t t = 0; t < T; ++t) {
    // Samples 320..511 of the 512-sample frame have window weight 0.
    for (int j = 0; j < 320; ++j) frame[j] = window[j] * padded[t * 160 + j];
    for (int k = 0; k < 257; ++k) {
      double re = 0, im = 0;
      for (int j = 0; j < 320; ++j) {
        re += frame[j] * cs[(k * j) % 512];
        im -= frame[j] * sn[(k * j) % 512];
      }
      mag[k] = std::sqrt(re * re + im * im);
    }
    for (int m = 0; m < n_mel; ++m) {
      double s = 0;
      for (int k = 0; k < 257; ++k) s += mag[k] * fb[m][k];
      out[t][m] = std::log(std::max(s, 1e-3));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Entry points

Result<Output> RunImage(const GgufFile& file, const Image& image, const Options& options) {
  if (image.width <= 0 || image.height <= 0) return InvalidArgumentError("empty image");
  ASSIGN_OR_RETURN(std::string type, ProjectorType(file, /*image=*/true));
  NumericsScope scope(options.numerics);
  if (type == "gemma3") return RunGemma3(file, image, options);
  if (type == "gemma4v") return RunGemma4v(file, image, options);
  if (type == "gemma4uv") return RunGemma4uv(file, image, options);
  return UnimplementedError("vision projector type '" + type +
                            "' (supported: gemma3, gemma4v, gemma4uv)");
}

Result<Output> RunAudio(const GgufFile& file, const std::vector<float>& samples,
                        const Options& options) {
  if (samples.empty()) return InvalidArgumentError("no audio samples");
  ASSIGN_OR_RETURN(std::string type, ProjectorType(file, /*image=*/false));
  NumericsScope scope(options.numerics);
  if (type == "gemma4a") return RunGemma4a(file, samples, options);
  if (type == "gemma4ua") return RunGemma4ua(file, samples, options);
  return UnimplementedError("audio projector type '" + type + "' (supported: gemma4a, gemma4ua)");
}

std::string ToJson(const Output& out) {
  std::string s = "{\"projector\": \"" + out.projector + "\", \"chunks\": [";
  for (size_t i = 0; i < out.chunks.size(); ++i) {
    const Chunk& c = out.chunks[i];
    if (i) s += ", ";
    if (!out.preprocess) {
      s += "{\"n_tok\": " + std::to_string(c.n_tok) + ", \"n_embd\": " + std::to_string(c.n_embd) +
           ", \"causal\": " + (c.causal ? "true" : "false");
    } else if (out.is_image) {
      s += "{\"width\": " + std::to_string(c.width) + ", \"height\": " + std::to_string(c.height);
    } else {
      s += "{\"n_mel\": " + std::to_string(c.n_mel) +
           ", \"n_frames\": " + std::to_string(c.n_frames);
    }
    s += ", \"data\": [";
    for (size_t j = 0; j < c.data.size(); ++j) {
      if (j) s += ", ";
      AppendNumber(s, c.data[j]);
    }
    s += "]}";
  }
  return s + "]}\n";
}

}  // namespace hearth::reference::mm
