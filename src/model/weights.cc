#include "model/weights.h"

#include <string>

#include "gguf/file.h"
#include "kernels/quant.h"

namespace hearth::model {

namespace {

std::string Shape(const gguf::TensorInfo& t) {
  std::string s = "(";
  for (uint32_t i = 0; i < t.n_dims; ++i) s += (i ? ", " : "") + std::to_string(t.ne[i]);
  return s + ")";
}

}  // namespace

bool Binder::Has(const std::string& name) const { return f_.FindTensor(name) != nullptr; }

Result<const gguf::TensorInfo*> Binder::Find(const std::string& name, bool required) {
  const gguf::TensorInfo* t = f_.FindTensor(name);
  if (!t) {
    if (required) return NotFoundError("missing tensor '" + name + "'");
    return static_cast<const gguf::TensorInfo*>(nullptr);
  }
  if (!kernels::IsSupported(t->type)) {
    return UnimplementedError("tensor '" + name + "' has type " +
                              std::string(gguf::TypeName(t->type)) +
                              ", which hearth does not support");
  }
  return t;
}

Status Binder::Mat(const std::string& name, int64_t cols, int64_t rows, Matrix* out,
                   bool required) {
  ASSIGN_OR_RETURN(const gguf::TensorInfo* t, Find(name, required));
  if (!t) return Status::Ok();
  if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1) {
    return InvalidArgumentError("tensor '" + name + "' has shape " + Shape(*t) + ", expected (" +
                                std::to_string(cols) + ", " + std::to_string(rows) + ")");
  }
  out->type = t->type;
  out->data = t->data;
  out->cols = cols;
  out->rows = rows;
  out->row_bytes = kernels::RowBytes(t->type, cols);
  return Status::Ok();
}

Status Binder::Experts(const std::string& name, int64_t cols, int64_t rows, int64_t n_expert,
                       ExpertMatrix* out, bool required) {
  ASSIGN_OR_RETURN(const gguf::TensorInfo* t, Find(name, required));
  if (!t) return Status::Ok();
  if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != n_expert || t->ne[3] != 1) {
    return InvalidArgumentError("tensor '" + name + "' has shape " + Shape(*t) + ", expected (" +
                                std::to_string(cols) + ", " + std::to_string(rows) + ", " +
                                std::to_string(n_expert) + ")");
  }
  out->first = Matrix{t->type, t->data, cols, rows, kernels::RowBytes(t->type, cols)};
  out->n_expert = n_expert;
  return Status::Ok();
}

Status Binder::Vector(const std::string& name, int64_t n, Vec* out, bool required) {
  ASSIGN_OR_RETURN(const gguf::TensorInfo* t, Find(name, required));
  if (!t) return Status::Ok();
  if (t->n_elements() != n || t->ne[0] != n) {
    return InvalidArgumentError("tensor '" + name + "' has shape " + Shape(*t) + ", expected (" +
                                std::to_string(n) + ")");
  }
  if (t->type == gguf::TensorType::kF32 &&
      reinterpret_cast<uintptr_t>(t->data) % alignof(float) == 0) {
    out->data = reinterpret_cast<const float*>(t->data);
  } else {
    if (n % kernels::BlockElems(t->type) != 0) {
      return InvalidArgumentError("tensor '" + name + "' length " + std::to_string(n) +
                                  " is not a whole number of " +
                                  std::string(gguf::TypeName(t->type)) + " blocks");
    }
    auto v = std::make_unique<std::vector<float>>(n);
    kernels::DequantizeRow(t->type, t->data, v->data(), n);
    out->data = v->data();
    w_.owned.push_back(std::move(v));
  }
  out->n = n;
  return Status::Ok();
}

Status Binder::Scalar(const std::string& name, float* out) {
  Vec v;
  TRY(Vector(name, 1, &v, /*required=*/false));
  if (v) *out = v.data[0];
  return Status::Ok();
}

Status Binder::Globals(const Config& c) {
  TRY(Mat("token_embd.weight", c.n_embd, c.n_vocab, &w_.token_embd));
  TRY(Mat("output.weight", c.n_embd, c.n_vocab, &w_.output, /*required=*/false));
  TRY(Vector("output_norm.weight", c.n_embd, &w_.output_norm));
  w_.layers.resize(c.n_layer);
  return Status::Ok();
}

Status Binder::BlockCommon(const std::string& p, const Config& c, const LayerConfig& l,
                           LayerWeights* lw) {
  const int64_t E = c.n_embd, q_w = int64_t{l.n_head} * l.head_dim;
  TRY(Vector(p + "attn_norm.weight", E, &lw->attn_norm));
  TRY(Mat(p + "attn_q.weight", E, q_w, &lw->attn_q));
  TRY(Vector(p + "attn_q_norm.weight", l.head_dim, &lw->attn_q_norm));
  TRY(Mat(p + "attn_output.weight", q_w, E, &lw->attn_output));
  TRY(Vector(p + "post_attention_norm.weight", E, &lw->post_attention_norm));
  TRY(Vector(p + "ffn_norm.weight", E, &lw->ffn_norm));
  TRY(Mat(p + "ffn_gate.weight", E, l.n_ff, &lw->ffn_gate));
  TRY(Mat(p + "ffn_up.weight", E, l.n_ff, &lw->ffn_up));
  TRY(Mat(p + "ffn_down.weight", l.n_ff, E, &lw->ffn_down));
  TRY(Vector(p + "post_ffw_norm.weight", E, &lw->post_ffw_norm));
  return Status::Ok();
}

Result<Weights> BindWeights(const gguf::File& f, const Config& c) {
  Result<Weights> w = c.arch == Arch::kGemma3 ? BindGemma3Weights(f, c) : BindGemma4Weights(f, c);
  if (!w.ok()) return w.status().WithContext("binding weights");
  return w;
}

}  // namespace hearth::model
