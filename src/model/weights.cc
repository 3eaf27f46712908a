#include "model/weights.h"

#include <map>
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

uint64_t InterleaveWeights(gguf::File& f, Weights& w) {
  std::map<const uint8_t*, const gguf::TensorInfo*> by_data;
  for (const gguf::TensorInfo& t : f.tensors()) by_data[t.data] = &t;
  std::map<const uint8_t*, kernels::Layout> done;  // a tensor bound twice is rewritten once
  uint64_t bytes = 0;
  // m: the matrix as bound; rows_total: all rows of its tensor (n_expert × m.rows for experts).
  auto visit = [&](Matrix& m, int64_t rows_total) {
    if (m.data == nullptr) return;
    if (auto it = done.find(m.data); it != done.end()) {
      m.layout = it->second;
      return;
    }
    const auto it = by_data.find(m.data);
    if (it == by_data.end()) return;
    Matrix whole = m;
    whole.rows = rows_total;
    if (static_cast<uint64_t>(whole.rows * whole.row_bytes) != it->second->nbytes ||
        !kernels::CanInterleave(whole)) {
      return;
    }
    if (f.RewriteCopied(*it->second, [&](uint8_t* p) { kernels::Interleave(whole, p); })) {
      m.layout = whole.layout;
      bytes += it->second->nbytes;
    }
    done[m.data] = m.layout;
  };
  auto mat = [&](Matrix& m) { visit(m, m.rows); };
  auto experts = [&](ExpertMatrix& e) { visit(e.first, e.first.rows * e.n_expert); };
  mat(w.token_embd);
  mat(w.output);
  mat(w.per_layer_token_embd);
  mat(w.per_layer_model_proj);
  for (LayerWeights& l : w.layers) {
    for (Matrix* m : {&l.attn_q, &l.attn_k, &l.attn_v, &l.attn_output, &l.ffn_gate, &l.ffn_up,
                      &l.ffn_down, &l.ffn_gate_inp, &l.inp_gate, &l.proj}) {
      mat(*m);
    }
    for (ExpertMatrix* e :
         {&l.ffn_gate_up_exps, &l.ffn_gate_exps, &l.ffn_up_exps, &l.ffn_down_exps}) {
      experts(*e);
    }
  }
  return bytes;
}

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
