// Binds GGUF tensors to the reference model and dequantises them (spec §3.3, §5.3).
#include "reference/model.h"

#include "reference/dequant.h"

namespace hearth::reference {
namespace {

constexpr int64_t kAny = -1;

std::string ShapeString(const std::vector<int64_t>& ne) {
  std::string s = "(";
  for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
  return s + ")";
}

Status Dequantise(const GgufTensor& t, Weight* w) {
  ASSIGN_OR_RETURN(TypeLayout layout, LayoutOf(t.type));
  w->name = t.name;
  w->type = t.type;
  w->cols = t.ne[0];
  w->rows = t.ne[1];
  w->slices = t.ne[2] * t.ne[3];
  const int64_t n_rows = w->rows * w->slices;
  const int64_t row_bytes = w->cols / layout.block_elems * layout.block_bytes;
  w->values.resize(n_rows * w->cols);
  for (int64_t r = 0; r < n_rows; ++r) {
    DequantizeRow(t.type, t.data + r * row_bytes, w->cols, w->values.data() + r * w->cols);
  }
  if (t.type == kTypeQ4_1 || t.type == kTypeQ5_1) {
    w->block_mins.resize(n_rows * (w->cols / 32));
    for (int64_t r = 0; r < n_rows; ++r) {
      BlockMinimums(t.type, t.data + r * row_bytes, w->cols,
                    w->block_mins.data() + r * (w->cols / 32));
    }
  }
  return Status::Ok();
}

// Binds tensor `name` to *w after checking its shape (kAny = any size in that dimension).
Status Bind(const GgufFile& file, const std::string& name, std::vector<int64_t> shape,
            bool required, Weight* w) {
  const GgufTensor* t = file.FindTensor(name);
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
  // Optional scalar output scale `<stem>.scale` (§3.3, all archs). The router input scale and the
  // per-expert scale share the suffix but are vectors with their own roles (§5.3).
  const std::string suffix = ".weight";
  if (name.size() > suffix.size() && name.ends_with(suffix) &&
      name.find("ffn_gate_inp") == std::string::npos &&
      name.find("ffn_down_exps") == std::string::npos) {
    const std::string stem = name.substr(0, name.size() - suffix.size());
    if (const GgufTensor* sc = file.FindTensor(stem + ".scale"); sc && sc->NumElements() == 1) {
      Weight scale;
      TRY(Dequantise(*sc, &scale));
      w->output_scale = scale.values[0];
    }
  }
  return Status::Ok();
}

Status BindLayer(const GgufFile& file, const Config& c, int il, LayerWeights& lw) {
  const LayerConfig& l = c.layers[il];
  const std::string p = "blk." + std::to_string(il) + ".";
  const int64_t e = c.n_embd, hd = l.head_dim;
  const bool gemma4 = c.arch == "gemma4";
  const bool owns_kv = l.kv_source == il;
  TRY(Bind(file, p + "attn_norm.weight", {e}, true, &lw.attn_norm));
  TRY(Bind(file, p + "attn_q.weight", {e, hd * l.n_head}, true, &lw.attn_q));
  TRY(Bind(file, p + "attn_k.weight", {e, hd * l.n_head_kv}, owns_kv, &lw.attn_k));
  TRY(Bind(file, p + "attn_v.weight", {e, hd * l.n_head_kv}, !gemma4, &lw.attn_v));
  TRY(Bind(file, p + "attn_q_norm.weight", {hd}, true, &lw.attn_q_norm));
  TRY(Bind(file, p + "attn_k_norm.weight", {hd}, owns_kv, &lw.attn_k_norm));
  TRY(Bind(file, p + "attn_output.weight", {hd * l.n_head, e}, true, &lw.attn_output));
  TRY(Bind(file, p + "post_attention_norm.weight", {e}, true, &lw.post_attention_norm));
  TRY(Bind(file, p + "ffn_norm.weight", {e}, true, &lw.ffn_norm));
  TRY(Bind(file, p + "ffn_gate.weight", {e, l.n_ff}, true, &lw.ffn_gate));
  TRY(Bind(file, p + "ffn_up.weight", {e, l.n_ff}, true, &lw.ffn_up));
  TRY(Bind(file, p + "ffn_down.weight", {l.n_ff, e}, true, &lw.ffn_down));
  TRY(Bind(file, p + "post_ffw_norm.weight", {e}, true, &lw.post_ffw_norm));
  if (!gemma4) return Status::Ok();

  TRY(Bind(file, p + "layer_output_scale.weight", {1}, false, &lw.layer_output_scale));
  if (l.moe) {
    const int64_t nx = c.n_expert, nf = c.n_ff_exp;
    TRY(Bind(file, p + "ffn_gate_inp.weight", {e, nx}, true, &lw.ffn_gate_inp));
    TRY(Bind(file, p + "ffn_gate_inp.scale", {e}, false, &lw.ffn_gate_inp_scale));
    TRY(Bind(file, p + "pre_ffw_norm_2.weight", {e}, true, &lw.pre_ffw_norm_2));
    TRY(Bind(file, p + "post_ffw_norm_1.weight", {e}, true, &lw.post_ffw_norm_1));
    TRY(Bind(file, p + "post_ffw_norm_2.weight", {e}, true, &lw.post_ffw_norm_2));
    if (file.FindTensor(p + "ffn_gate_up_exps.weight") != nullptr) {
      TRY(Bind(file, p + "ffn_gate_up_exps.weight", {e, 2 * nf, nx}, true, &lw.ffn_gate_up_exps));
    } else {
      TRY(Bind(file, p + "ffn_gate_exps.weight", {e, nf, nx}, true, &lw.ffn_gate_exps));
      TRY(Bind(file, p + "ffn_up_exps.weight", {e, nf, nx}, true, &lw.ffn_up_exps));
    }
    TRY(Bind(file, p + "ffn_down_exps.weight", {nf, e, nx}, true, &lw.ffn_down_exps));
    TRY(Bind(file, p + "ffn_down_exps.scale", {nx}, false, &lw.ffn_down_exps_scale));
  }
  if (c.n_pl > 0) {
    TRY(Bind(file, p + "inp_gate.weight", {e, c.n_pl}, true, &lw.inp_gate));
    TRY(Bind(file, p + "proj.weight", {c.n_pl, e}, true, &lw.proj));
    TRY(Bind(file, p + "post_norm.weight", {e}, true, &lw.post_norm));
  }
  return Status::Ok();
}

}  // namespace

Result<Model> LoadModel(const GgufFile& file) {
  Model m;
  ASSIGN_OR_RETURN(m.config, ReadConfig(file));
  Config& c = m.config;
  const int64_t e = c.n_embd;
  TRY(Bind(file, "token_embd.weight", {e, kAny}, true, &m.token_embd));
  c.n_vocab = static_cast<int>(m.token_embd.rows);
  TRY(Bind(file, "output.weight", {e, c.n_vocab}, false, &m.output));
  TRY(Bind(file, "output_norm.weight", {e}, true, &m.output_norm));
  if (c.arch == "gemma4") {
    for (int il = 0; il < c.n_layer; ++il) {
      const std::string router = "blk." + std::to_string(il) + ".ffn_gate_inp.weight";
      c.layers[il].moe = file.FindTensor(router) != nullptr;
      if (c.layers[il].moe && (c.n_expert <= 0 || c.n_expert_used <= 0 || c.n_ff_exp <= 0 ||
                               c.n_expert_used > c.n_expert)) {
        return InvalidArgumentError("layer " + std::to_string(il) +
                                    " has a router but the expert_* keys are missing or invalid");
      }
    }
    int n_rot_full = 0;
    for (const LayerConfig& l : c.layers) {
      if (!l.sliding) n_rot_full = l.n_rot;
    }
    if (n_rot_full > 0) {
      TRY(Bind(file, "rope_freqs.weight", {n_rot_full / 2}, false, &m.rope_freqs));
    }
    if (c.n_pl > 0) {
      const int64_t total = static_cast<int64_t>(c.n_pl) * c.n_layer;
      TRY(Bind(file, "per_layer_token_embd.weight", {total, c.n_vocab}, true,
               &m.per_layer_token_embd));
      TRY(Bind(file, "per_layer_model_proj.weight", {e, total}, true, &m.per_layer_model_proj));
      TRY(Bind(file, "per_layer_proj_norm.weight", {c.n_pl}, true, &m.per_layer_proj_norm));
    }
  }
  m.layers.resize(c.n_layer);
  for (int il = 0; il < c.n_layer; ++il) TRY(BindLayer(file, c, il, m.layers[il]));
  m.eog_ids = EndOfGenerationIds(file, c.arch);
  if (const GgufValue* s = file.Find("tokenizer.ggml.suppress_tokens");
      s != nullptr && s->type == kGgufArray) {
    for (const GgufValue& id : s->array) m.suppressed_ids.insert(static_cast<int>(id.integer));
  }
  return m;
}

}  // namespace hearth::reference
