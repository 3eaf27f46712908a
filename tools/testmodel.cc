#include "tools/testmodel.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

#include "gguf/writer.h"
#include "kernels/quant.h"
#include "tokenizer/vocab.h"

namespace hearth::testmodel {
namespace {

using gguf::TensorType;

struct Shape {
  bool gemma4 = true;
  int n_embd = 256, n_layer = 6, n_head = 4;
  int kv_swa = 2, kv_full = 1, hd_swa = 64, hd_full = 128;
  std::vector<int> n_ff;          // per layer
  int n_swa = 16;
  std::vector<bool> sliding;      // per layer
  int shared_kv = 0, n_pl = 0;
  int n_expert = 0, n_expert_used = 0, n_ff_exp = 0;
  bool k_eq_v = false;            // full layers without attn_v
  float rope_linear = 0;          // Gemma 3 global-layer linear factor (0: none)
  int n_ctx = 4096;
  int n_vocab = 512;
};

std::vector<bool> Pattern(int n_layer, int period) {  // period-1 sliding, then 1 full
  std::vector<bool> s(n_layer);
  for (int i = 0; i < n_layer; ++i) s[i] = (i % period) < period - 1;
  return s;
}

Result<Shape> MakeShape(const Options& o) {
  Shape s;
  const bool real = o.real_shape;
  if (o.variant == "g4-12b") {
    if (real) { s.n_embd = 3840; s.n_layer = 48; s.n_head = 16; s.kv_swa = 8; s.kv_full = 1;
                s.hd_swa = 256; s.hd_full = 512; s.n_ff.assign(48, 15360); s.n_swa = 1024; s.n_ctx = 262144; }
    else { s.n_ff.assign(6, 512); }
    s.sliding = Pattern(s.n_layer, 6);
    s.k_eq_v = true;
  } else if (o.variant == "g4-e2b") {
    s.n_layer = real ? 35 : 10;
    s.shared_kv = real ? 20 : 5;
    if (real) { s.n_embd = 1536; s.n_head = 8; s.hd_swa = 256; s.hd_full = 512; s.n_swa = 512; s.n_pl = 256; s.n_ctx = 131072; }
    else { s.n_pl = 32; }
    s.kv_swa = s.kv_full = 1;
    const int small = real ? 6144 : 512;
    for (int i = 0; i < s.n_layer; ++i) s.n_ff.push_back(i < s.n_layer - s.shared_kv ? small : 2 * small);
    s.sliding = Pattern(s.n_layer, 5);
  } else if (o.variant == "g4-moe") {
    if (real) { s.n_embd = 2816; s.n_layer = 30; s.n_head = 16; s.kv_swa = 8; s.kv_full = 2; s.hd_swa = 256;
                s.hd_full = 512; s.n_ff.assign(30, 2112); s.n_swa = 1024; s.n_expert = 128; s.n_expert_used = 8;
                s.n_ff_exp = 704; s.n_ctx = 262144; }
    else { s.n_layer = 4; s.n_ff.assign(4, 256); s.n_expert = 8; s.n_expert_used = 2; s.n_ff_exp = 256; }
    s.sliding = Pattern(s.n_layer, real ? 6 : 4);
    s.k_eq_v = true;
  } else if (o.variant == "g3-1b" || o.variant == "g3-4b") {
    s.gemma4 = false;
    const bool four = o.variant == "g3-4b";
    if (real) {
      s.n_embd = four ? 2560 : 1152; s.n_layer = four ? 34 : 26; s.n_head = four ? 8 : 4;
      s.kv_swa = s.kv_full = four ? 4 : 1; s.hd_swa = s.hd_full = 256;
      s.n_ff.assign(s.n_layer, four ? 10240 : 6912); s.n_swa = four ? 1024 : 512;
      s.n_ctx = four ? 131072 : 32768;
    } else {
      s.n_layer = 8; s.n_head = four ? 8 : 4; s.kv_swa = s.kv_full = four ? 4 : 1;
      s.hd_swa = s.hd_full = four ? 32 : 64; s.n_ff.assign(8, 512);
    }
    s.sliding = Pattern(s.n_layer, 6);
    if (four) s.rope_linear = 8.0f;
  } else {
    return InvalidArgumentError("unknown test-model variant '" + o.variant + "'");
  }
  s.n_vocab = real ? (s.gemma4 || o.variant == "g3-1b" ? 262144 : 262208) : o.n_vocab;
  return s;
}

// ---- vocabulary ----

std::string ByteToken(int b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "<0x%02X>", b);
  return buf;
}

tokenizer::Vocab MakeVocab(const Shape& s) {
  using tokenizer::TokenType;
  tokenizer::Vocab v;
  v.algorithm = s.gemma4 ? tokenizer::Algorithm::kGemma4Bpe : tokenizer::Algorithm::kSpm;
  v.model_name = s.gemma4 ? "gemma4" : "llama";
  v.pre = s.gemma4 ? "gemma4" : "default";
  auto add = [&](const std::string& t, TokenType type, float score = 0) {
    v.tokens.push_back(t);
    v.types.push_back(type);
    v.scores.push_back(score);
    return static_cast<int32_t>(v.tokens.size() - 1);
  };
  v.pad_id = add("<pad>", TokenType::kControl);
  v.eos_id = add("<eos>", TokenType::kControl);
  v.bos_id = add("<bos>", TokenType::kControl);
  v.unk_id = add("<unk>", TokenType::kUnknown);
  const std::vector<std::string> control =
      s.gemma4 ? std::vector<std::string>{"<mask>", "<|turn>", "<turn|>", "<|think|>", "<|image>",
                                          "<image|>", "<|audio>", "<audio|>", "<|image|>", "<|audio|>",
                                          "<|video|>", "<|tool>", "<tool|>"}
               : std::vector<std::string>{"<mask>", "<start_of_turn>", "<end_of_turn>",
                                          "<start_of_image>", "<end_of_image>"};
  for (const auto& t : control) add(t, TokenType::kControl);
  if (s.gemma4) {
    for (const char* t : {"<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
                          "<|tool_response>", "<tool_response|>", "<|\"|>"})
      add(t, TokenType::kUserDefined);
  }
  for (int b = 0; b < 256; ++b) add(ByteToken(b), TokenType::kByte);
  // Single characters, then merges of a small fixed word list (rank = order of appearance).
  const std::string sp = "\xE2\x96\x81";  // ▁, SentencePiece's space
  const std::string chars = "\n" + sp +
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;!?'\"()-_/*+=<>{}[]#%&@";
  std::vector<std::string> singles;
  for (size_t i = 0; i < chars.size();) {
    const size_t len = (static_cast<unsigned char>(chars[i]) >= 0xE0) ? 3 : 1;
    singles.push_back(chars.substr(i, len));
    i += len;
  }
  float score = -1.0f;
  for (const auto& c : singles) add(c, TokenType::kNormal, -1000.0f);
  const std::vector<std::string> words = {
      sp + "the", sp + "a", sp + "is", sp + "of", sp + "and", sp + "to", sp + "in", sp + "what",
      sp + "picture", sp + "number", sp + "red", sp + "blue", sp + "circle", sp + "square",
      sp + "hello", sp + "world", "user", "model", "system", "\n\n"};
  auto known = [&](const std::string& t) {
    for (const auto& h : v.tokens)
      if (h == t) return true;
    return false;
  };
  for (const std::string& w : words) {
    // Left-to-right merges: build prefixes char by char (a rank-ordered chain per word).
    std::vector<std::string> sym;
    std::string wd = w;
    for (size_t i = 0; i < wd.size();) {
      const size_t len = (static_cast<unsigned char>(wd[i]) >= 0xE0) ? 3 : 1;
      sym.push_back(wd.substr(i, len));
      i += len;
    }
    std::string cur = sym[0];
    for (size_t i = 1; i < sym.size(); ++i) {
      const std::string next = cur + sym[i];
      if (!known(next)) {
        if (static_cast<int>(v.tokens.size()) >= s.n_vocab) break;
        v.merges.push_back(cur + " " + sym[i]);
        add(next, TokenType::kNormal, score);
        score -= 1.0f;
      }
      cur = next;
    }
  }
  for (int i = 0; static_cast<int>(v.tokens.size()) < s.n_vocab; ++i)
    add("<unused" + std::to_string(i) + ">", TokenType::kUnused);
  if (!s.gemma4) v.merges.clear();  // SentencePiece vocabularies carry scores, not merges
  v.add_bos = true;
  v.add_eos = false;
  v.add_space_prefix = false;
  // Only the family markers matter: chat::DetectFamily picks the hand-translated renderer of the
  // real template for the family.
  v.chat_template = s.gemma4
      ? "{{ bos_token }}{% for m in messages %}<|turn>{{ m['role'] }}\n{{ m['content'] }}<turn|>\n"
        "{% endfor %}{% if add_generation_prompt %}<|turn>model\n{% endif %}"
      : "{{ bos_token }}{% for m in messages %}<start_of_turn>{{ m['role'] }}\n{{ m['content'] }}"
        "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}";
  return v;
}

// ---- tensors ----

class TensorMaker {
 public:
  TensorMaker(gguf::Writer& w, const Options& o, std::string type)
      : w_(w), rng_(o.seed), type_(std::move(type)) {}

  Status Norm(const std::string& name, int64_t n, float center = 1.0f, float spread = 0.1f) {
    std::vector<float> v(n);
    std::normal_distribution<float> d(center, spread);
    for (auto& x : v) x = d(rng_);
    return AddF32(name, {n}, v);
  }
  Status AddF32(const std::string& name, std::vector<int64_t> ne, const std::vector<float>& v) {
    std::vector<uint8_t> bytes(v.size() * 4);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    return w_.AddTensor(name, TensorType::kF32, std::move(ne), std::move(bytes));
  }
  // A weight of ne = (cols, rows[, n3]) with N(0, std²) entries, in the chosen type.
  Status Weight(const std::string& name, std::vector<int64_t> ne, float std, bool is_embd = false) {
    const int64_t cols = ne[0];
    int64_t rows = 1;
    for (size_t i = 1; i < ne.size(); ++i) rows *= ne[i];
    ASSIGN_OR_RETURN(TensorType t, TypeFor(name, cols, is_embd));
    const int64_t rb = kernels::RowBytes(t, cols);
    std::vector<uint8_t> bytes(rb * rows);
    std::vector<float> row(cols);
    std::normal_distribution<float> d(0.0f, std);
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& x : row) x = d(rng_);
      kernels::QuantizeRow(t, row.data(), bytes.data() + r * rb, cols);
    }
    return w_.AddTensor(name, t, std::move(ne), std::move(bytes));
  }

 private:
  static Result<TensorType> Parse(const std::string& n) {
    static const std::pair<const char*, TensorType> kNames[] = {
        {"f32", TensorType::kF32}, {"f16", TensorType::kF16}, {"bf16", TensorType::kBF16},
        {"q8_0", TensorType::kQ8_0}, {"q4_0", TensorType::kQ4_0}, {"q4_1", TensorType::kQ4_1},
        {"q5_0", TensorType::kQ5_0}, {"q5_1", TensorType::kQ5_1}, {"q2_k", TensorType::kQ2_K},
        {"q3_k", TensorType::kQ3_K}, {"q4_k", TensorType::kQ4_K}, {"q5_k", TensorType::kQ5_K},
        {"q6_k", TensorType::kQ6_K}, {"iq4_nl", TensorType::kIQ4_NL}, {"iq4_xs", TensorType::kIQ4_XS},
        {"mxfp4", TensorType::kMXFP4}};
    for (const auto& [name, t] : kNames)
      if (n == name) return t;
    return InvalidArgumentError("unknown tensor type '" + n + "'");
  }
  // llama-quantize's fallbacks for rows that do not divide the block (spec §10.1).
  static TensorType Fallback(TensorType t, int64_t cols) {
    while (cols % kernels::BlockElems(t) != 0) {
      switch (t) {
        case TensorType::kQ4_K: t = TensorType::kQ5_0; break;
        case TensorType::kQ5_K: t = TensorType::kQ5_1; break;
        case TensorType::kQ6_K: t = TensorType::kQ8_0; break;
        case TensorType::kQ2_K: case TensorType::kQ3_K: t = TensorType::kQ4_0; break;
        case TensorType::kIQ4_XS: t = TensorType::kIQ4_NL; break;
        default: return TensorType::kF16;
      }
    }
    return t;
  }
  Result<TensorType> TypeFor(const std::string& name, int64_t cols, bool is_embd) {
    if (type_ == "q4_k_m") {
      if (is_embd) return Fallback(TensorType::kQ6_K, cols);
      // attn_v / ffn_down in the first and last eighth of layers and every third one between.
      const bool v_or_down = name.find("attn_v.") != std::string::npos ||
                             name.find("ffn_down") != std::string::npos;
      return Fallback(v_or_down ? TensorType::kQ6_K : TensorType::kQ4_K, cols);
    }
    ASSIGN_OR_RETURN(TensorType t, Parse(type_));
    if (!kernels::CanQuantize(t)) return UnimplementedError("cannot write tensors of type " + type_);
    return Fallback(t, cols);
  }

  gguf::Writer& w_;
  std::mt19937_64 rng_;
  std::string type_;
};

}  // namespace

std::vector<std::string> Variants() { return {"g4-12b", "g4-e2b", "g4-moe", "g3-1b", "g3-4b"}; }
std::vector<std::string> TypeNames() {
  return {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q2_k", "q3_k",
          "q4_k", "q5_k", "q6_k", "iq4_nl", "iq4_xs", "mxfp4", "q4_k_m"};
}

Status Write(const Options& o, const std::string& path) {
  ASSIGN_OR_RETURN(Shape s, MakeShape(o));
  const std::string arch = s.gemma4 ? "gemma4" : "gemma3";
  auto K = [&](const std::string& k) { return arch + "." + k; };
  gguf::Writer w;
  w.SetString("general.architecture", arch);
  w.SetString("general.name", "hearth test " + o.variant + " " + o.type);
  w.SetU32("general.quantization_version", 2);
  w.SetU32(K("context_length"), s.n_ctx);
  w.SetU32(K("embedding_length"), s.n_embd);
  w.SetU32(K("block_count"), s.n_layer);
  bool ff_varies = false;
  for (int f : s.n_ff) ff_varies |= f != s.n_ff[0];
  if (ff_varies) w.SetU32Array(K("feed_forward_length"), std::vector<uint32_t>(s.n_ff.begin(), s.n_ff.end()));
  else w.SetU32(K("feed_forward_length"), s.n_ff[0]);
  w.SetU32(K("attention.head_count"), s.n_head);
  w.SetF32(K("attention.layer_norm_rms_epsilon"), 1e-6f);
  w.SetU32(K("attention.sliding_window"), s.n_swa);
  if (s.gemma4) {
    if (s.kv_swa != s.kv_full) {
      std::vector<uint32_t> kv;
      for (int i = 0; i < s.n_layer; ++i) kv.push_back(s.sliding[i] ? s.kv_swa : s.kv_full);
      w.SetU32Array(K("attention.head_count_kv"), kv);
    } else {
      w.SetU32(K("attention.head_count_kv"), s.kv_full);
    }
    w.SetU32(K("attention.key_length"), s.hd_full);
    w.SetU32(K("attention.value_length"), s.hd_full);
    w.SetU32(K("attention.key_length_swa"), s.hd_swa);
    w.SetU32(K("attention.value_length_swa"), s.hd_swa);
    w.SetBoolArray(K("attention.sliding_window_pattern"), s.sliding);
    w.SetU32(K("attention.shared_kv_layers"), s.shared_kv);
    w.SetU32(K("embedding_length_per_layer_input"), s.n_pl);
    w.SetF32(K("rope.freq_base"), 1e6f);
    w.SetF32(K("rope.freq_base_swa"), 10000.0f);
    w.SetU32(K("rope.dimension_count"), s.hd_full);
    w.SetU32(K("rope.dimension_count_swa"), s.hd_swa);
    w.SetF32(K("final_logit_softcapping"), 30.0f);
    if (s.n_expert > 0) {
      w.SetU32(K("expert_count"), s.n_expert);
      w.SetU32(K("expert_used_count"), s.n_expert_used);
      w.SetU32(K("expert_feed_forward_length"), s.n_ff_exp);
    }
  } else {
    w.SetU32(K("attention.head_count_kv"), s.kv_full);
    w.SetU32(K("attention.key_length"), s.hd_full);
    w.SetU32(K("attention.value_length"), s.hd_full);
    w.SetF32(K("rope.freq_base"), 1e6f);
    if (s.rope_linear > 0) {
      w.SetString(K("rope.scaling.type"), "linear");
      w.SetF32(K("rope.scaling.factor"), s.rope_linear);
    }
  }
  tokenizer::WriteVocab(MakeVocab(s), w);

  TensorMaker t(w, o, o.type);
  const int64_t E = s.n_embd;
  // The embedding row enters the residual stream × sqrt(E) and is also the LM head: 0.06 keeps the
  // input row from dominating the stream (else the model only copies its input token) and gives
  // logits of spread ~1-3, so the top-20 holds tokens of real probability.
  const float emb_std = 0.06f;
  TRY(t.Weight("token_embd.weight", {E, s.n_vocab}, emb_std, /*is_embd=*/true));
  TRY(t.Norm("output_norm.weight", E));
  if (s.gemma4) {
    // rope_freqs: a quarter of the full head's pairs rotate (1.0), the rest are frozen (1e30).
    std::vector<float> f(s.hd_full / 2, 1e30f);
    for (int i = 0; i < s.hd_full / 8; ++i) f[i] = 1.0f;
    TRY(t.AddF32("rope_freqs.weight", {s.hd_full / 2}, f));
  }
  if (s.n_pl > 0) {
    const int64_t W = int64_t{s.n_pl} * s.n_layer;
    TRY(t.Weight("per_layer_token_embd.weight", {W, s.n_vocab}, 0.5f));
    TRY(t.Weight("per_layer_model_proj.weight", {E, W}, 1.0f / std::sqrt(float(E))));
    TRY(t.Norm("per_layer_proj_norm.weight", s.n_pl));
  }
  for (int il = 0; il < s.n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    const bool sl = s.sliding[il];
    const int hd = sl ? s.hd_swa : s.hd_full, kv = sl ? s.kv_swa : s.kv_full;
    const int64_t q_w = int64_t{s.n_head} * hd, kv_w = int64_t{kv} * hd, F = s.n_ff[il];
    const bool owns_kv = il < s.n_layer - s.shared_kv;
    const float in_std = 1.0f / std::sqrt(float(E));
    TRY(t.Norm(p + "attn_norm.weight", E));
    TRY(t.Weight(p + "attn_q.weight", {E, q_w}, in_std));
    if (owns_kv) {
      TRY(t.Weight(p + "attn_k.weight", {E, kv_w}, in_std));
      if (!(s.k_eq_v && !sl)) TRY(t.Weight(p + "attn_v.weight", {E, kv_w}, in_std));
      TRY(t.Norm(p + "attn_k_norm.weight", hd));
    }
    TRY(t.Norm(p + "attn_q_norm.weight", hd));
    TRY(t.Weight(p + "attn_output.weight", {q_w, E}, 1.0f / std::sqrt(float(q_w))));
    TRY(t.Norm(p + "post_attention_norm.weight", E));
    TRY(t.Norm(p + "ffn_norm.weight", E));
    TRY(t.Weight(p + "ffn_gate.weight", {E, F}, in_std));
    TRY(t.Weight(p + "ffn_up.weight", {E, F}, in_std));
    TRY(t.Weight(p + "ffn_down.weight", {F, E}, 1.0f / std::sqrt(float(F))));
    TRY(t.Norm(p + "post_ffw_norm.weight", E));
    if (s.gemma4) TRY(t.Norm(p + "layer_output_scale.weight", 1, 0.9f, 0.05f));
    if (s.n_expert > 0) {
      const int64_t X = s.n_expert, FE = s.n_ff_exp;
      TRY(t.Weight(p + "ffn_gate_inp.weight", {E, X}, 1.0f));
      TRY(t.Norm(p + "ffn_gate_inp.scale", E));
      TRY(t.Norm(p + "pre_ffw_norm_2.weight", E));
      TRY(t.Norm(p + "post_ffw_norm_1.weight", E));
      TRY(t.Norm(p + "post_ffw_norm_2.weight", E));
      TRY(t.Weight(p + "ffn_gate_up_exps.weight", {E, 2 * FE, X}, in_std));
      TRY(t.Weight(p + "ffn_down_exps.weight", {FE, E, X}, 1.0f / std::sqrt(float(FE))));
      TRY(t.Norm(p + "ffn_down_exps.scale", X));
    }
    if (s.n_pl > 0) {
      TRY(t.Weight(p + "inp_gate.weight", {E, s.n_pl}, in_std));
      TRY(t.Weight(p + "proj.weight", {s.n_pl, E}, 1.0f / std::sqrt(float(s.n_pl))));
      TRY(t.Norm(p + "post_norm.weight", E));
    }
  }
  return w.WriteFile(path);
}

// ---- multimodal projectors ----

std::vector<std::string> MmprojTypes() {
  return {"gemma4uv", "gemma4ua", "gemma4v", "gemma4a", "gemma3"};
}

Status WriteMmproj(const MmprojOptions& o, const std::string& path) {
  Options text;
  text.variant = o.variant;
  text.real_shape = o.real_shape;
  ASSIGN_OR_RETURN(Shape s, MakeShape(text));
  std::vector<std::string> types;
  for (size_t i = 0; i <= o.types.size();) {
    size_t j = o.types.find(',', i);
    if (j == std::string::npos) j = o.types.size();
    types.push_back(o.types.substr(i, j - i));
    i = j + 1;
  }
  std::string vision, audio;
  for (const std::string& t : types) {
    if (t == "gemma4uv" || t == "gemma4v" || t == "gemma3") {
      if (!vision.empty()) return InvalidArgumentError("two vision projectors: " + o.types);
      vision = t;
    } else if (t == "gemma4ua" || t == "gemma4a") {
      if (!audio.empty()) return InvalidArgumentError("two audio projectors: " + o.types);
      audio = t;
    } else {
      return InvalidArgumentError("unknown projector type '" + t + "' (known: gemma4uv, gemma4ua, gemma4v, gemma4a, gemma3)");
    }
  }
  const bool g3 = vision == "gemma3";
  if ((vision == "gemma4v" && audio == "gemma4ua") || (vision == "gemma4uv" && audio == "gemma4a")) {
    return InvalidArgumentError(o.types + ": these projectors belong to different models");
  }
  if (g3 != !s.gemma4) {
    return InvalidArgumentError("projector type " + (g3 ? std::string("gemma3") : o.types) +
                                " does not belong to the text variant " + o.variant);
  }
  const bool real = o.real_shape;
  const int64_t T = s.n_embd;  // projection width
  gguf::Writer w;
  w.SetString("general.architecture", "clip");
  w.SetString("general.type", "mmproj");
  w.SetString("general.name", "hearth test mmproj " + o.types);
  w.SetU32("general.file_type", 1);
  w.SetU32("general.quantization_version", 2);
  w.SetBool("clip.has_vision_encoder", !vision.empty());
  w.SetBool("clip.has_audio_encoder", !audio.empty());
  TensorMaker t(w, Options{.seed = o.seed}, "f16");
  if (vision == "gemma4uv") {
    // HF config: patch 16 pooled 3×3 into 48-pixel patches, 3840 wide, 1120 positions per axis.
    const int64_t E = real ? 3840 : 128, P = 48, D = 3 * P * P, pos = real ? 1120 : 64;
    w.SetString("clip.vision.projector_type", "gemma4uv");
    w.SetU32("clip.vision.projection_dim", T);
    w.SetU32("clip.vision.image_size", 224);
    w.SetU32("clip.vision.patch_size", 16);
    w.SetU32("clip.vision.embedding_length", E);
    w.SetU32("clip.vision.feed_forward_length", 0);
    w.SetU32("clip.vision.block_count", 0);
    w.SetU32("clip.vision.attention.head_count", 0);
    w.SetF32("clip.vision.attention.layer_norm_epsilon", 1e-6f);
    w.SetF32Array("clip.vision.image_mean", {0, 0, 0});
    w.SetF32Array("clip.vision.image_std", {1, 1, 1});
    TRY(t.Norm("v.patch_norm.1.weight", D));
    TRY(t.Norm("v.patch_norm.1.bias", D, 0.0f, 0.1f));
    TRY(t.Weight("v.patch_embd.weight", {D, E}, 1.0f / std::sqrt(float(D))));
    TRY(t.Norm("v.patch_embd.bias", E, 0.0f, 0.1f));
    TRY(t.Norm("v.patch_norm.2.weight", E));
    TRY(t.Norm("v.patch_norm.2.bias", E, 0.0f, 0.1f));
    {
      std::vector<float> tab(static_cast<size_t>(E * pos * 2));
      std::mt19937_64 rng(o.seed + 7);
      std::normal_distribution<float> d(0.0f, 0.5f);
      for (float& x : tab) x = d(rng);
      TRY(t.AddF32("v.position_embd.weight", {E, pos, 2}, tab));
    }
    TRY(t.Norm("v.patch_norm.3.weight", E));
    TRY(t.Norm("v.patch_norm.3.bias", E, 0.0f, 0.1f));
    TRY(t.Weight("mm.input_projection.weight", {E, T}, 1.0f / std::sqrt(float(E))));
  } else if (vision == "gemma4v") {
    // E2B/E4B tower shape (HF vision_config: 768 wide, 16 layers, 12 heads, 3072 FFN) [U].
    const int64_t E = real ? 768 : 64, F = real ? 3072 : 128, L = real ? 16 : 2, H = real ? 12 : 4;
    const int64_t P = 16, pos = real ? 10240 : 64, hd = E / H;
    w.SetString("clip.vision.projector_type", "gemma4v");
    w.SetU32("clip.vision.projection_dim", T);
    w.SetU32("clip.vision.image_size", 224);
    w.SetU32("clip.vision.patch_size", P);
    w.SetU32("clip.vision.embedding_length", E);
    w.SetU32("clip.vision.feed_forward_length", F);
    w.SetU32("clip.vision.block_count", L);
    w.SetU32("clip.vision.attention.head_count", H);
    w.SetF32("clip.vision.attention.layer_norm_epsilon", 1e-6f);
    w.SetF32Array("clip.vision.image_mean", {0, 0, 0});
    w.SetF32Array("clip.vision.image_std", {1, 1, 1});
    {
      // The converter reshapes HF's linear patch embedder into a conv kernel and keeps it and
      // the position tables in F32.
      std::mt19937_64 rng(o.seed + 13);
      std::normal_distribution<float> d(0.0f, 1.0f / std::sqrt(float(P * P * 3)));
      std::vector<float> k(static_cast<size_t>(P * P * 3 * E));
      for (float& x : k) x = d(rng);
      TRY(t.AddF32("v.patch_embd.weight", {P, P, 3, E}, k));
      std::normal_distribution<float> dp(0.0f, 0.5f);
      std::vector<float> tab(static_cast<size_t>(E * pos * 2));
      for (float& x : tab) x = dp(rng);
      TRY(t.AddF32("v.position_embd.weight", {E, pos, 2}, tab));
    }
    const float in_std = 1.0f / std::sqrt(float(E));
    for (int64_t il = 0; il < L; ++il) {
      const std::string b = "v.blk." + std::to_string(il) + ".";
      TRY(t.Norm(b + "ln1.weight", E));
      for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
        TRY(t.Weight(b + n + ".weight", {E, E}, in_std));
      }
      if (il == 0) {  // "clippable linear" bounds as the real files carry them
        TRY(t.AddF32(b + "attn_q.input_min", {1}, {-2.5f}));
        TRY(t.AddF32(b + "attn_q.input_max", {1}, {2.5f}));
        TRY(t.AddF32(b + "attn_q.output_min", {1}, {-3.0f}));
        TRY(t.AddF32(b + "attn_q.output_max", {1}, {3.0f}));
      }
      TRY(t.Norm(b + "attn_q_norm.weight", hd));
      TRY(t.Norm(b + "attn_k_norm.weight", hd));
      TRY(t.Norm(b + "attn_post_norm.weight", E));
      TRY(t.Norm(b + "ln2.weight", E));
      TRY(t.Weight(b + "ffn_gate.weight", {E, F}, in_std));
      TRY(t.Weight(b + "ffn_up.weight", {E, F}, in_std));
      TRY(t.Weight(b + "ffn_down.weight", {F, E}, 1.0f / std::sqrt(float(F))));
      TRY(t.Norm(b + "ffn_post_norm.weight", E));
      TRY(t.Norm(b + "out_scale.weight", 1, 0.9f, 0.05f));
    }
    TRY(t.Norm("v.std_bias", E, 0.0f, 0.5f));
    TRY(t.Norm("v.std_scale", E, 1.0f, 0.2f));
    TRY(t.Weight("mm.input_projection.weight", {E, T}, in_std));
    TRY(t.AddF32("mm.input_projection.output_max", {1}, {2.0f}));
  } else if (vision == "gemma3") {
    const int64_t E = real ? 1152 : 64, F = real ? 4304 : 128, L = real ? 27 : 2, H = real ? 16 : 4;
    const int64_t img = real ? 896 : 112, P = 14, n_pos = (img / P) * (img / P);
    w.SetString("clip.projector_type", "gemma3");
    w.SetU32("clip.vision.projection_dim", T);
    w.SetU32("clip.vision.image_size", img);
    w.SetU32("clip.vision.patch_size", P);
    w.SetU32("clip.vision.embedding_length", E);
    w.SetU32("clip.vision.feed_forward_length", F);
    w.SetU32("clip.vision.block_count", L);
    w.SetU32("clip.vision.attention.head_count", H);
    w.SetF32("clip.vision.attention.layer_norm_epsilon", 1e-6f);
    w.SetF32Array("clip.vision.image_mean", {0.5f, 0.5f, 0.5f});
    w.SetF32Array("clip.vision.image_std", {0.5f, 0.5f, 0.5f});
    w.SetBool("clip.use_gelu", true);
    // The converter keeps the patch and position embeddings in F32 and the projection in F16.
    {
      std::vector<float> k(static_cast<size_t>(P * P * 3 * E));
      std::mt19937_64 rng(o.seed + 11);
      std::normal_distribution<float> d(0.0f, 1.0f / std::sqrt(float(P * P * 3)));
      for (float& x : k) x = d(rng);
      TRY(t.AddF32("v.patch_embd.weight", {P, P, 3, E}, k));
      std::vector<float> pe(static_cast<size_t>(E * n_pos));
      std::normal_distribution<float> dp(0.0f, 0.5f);
      for (float& x : pe) x = dp(rng);
      TRY(t.Norm("v.patch_embd.bias", E, 0.0f, 0.1f));
      TRY(t.AddF32("v.position_embd.weight", {E, n_pos}, pe));
    }
    const float in_std = 1.0f / std::sqrt(float(E));
    for (int64_t il = 0; il < L; ++il) {
      const std::string b = "v.blk." + std::to_string(il) + ".";
      TRY(t.Norm(b + "ln1.weight", E));
      TRY(t.Norm(b + "ln1.bias", E, 0.0f, 0.1f));
      for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
        TRY(t.Weight(b + n + ".weight", {E, E}, in_std));
        TRY(t.Norm(b + n + ".bias", E, 0.0f, 0.1f));
      }
      TRY(t.Norm(b + "ln2.weight", E));
      TRY(t.Norm(b + "ln2.bias", E, 0.0f, 0.1f));
      TRY(t.Weight(b + "ffn_up.weight", {E, F}, in_std));
      TRY(t.Norm(b + "ffn_up.bias", F, 0.0f, 0.1f));
      TRY(t.Weight(b + "ffn_down.weight", {F, E}, 1.0f / std::sqrt(float(F))));
      TRY(t.Norm(b + "ffn_down.bias", E, 0.0f, 0.1f));
    }
    TRY(t.Norm("v.post_ln.weight", E));
    TRY(t.Norm("v.post_ln.bias", E, 0.0f, 0.1f));
    TRY(t.Norm("mm.soft_emb_norm.weight", E));  // +1 baked in, as the converter writes it
    // HF's raw [E, T] parameter: ne = (T, E).
    TRY(t.Weight("mm.input_projection.weight", {T, E}, in_std));
  }
  if (audio == "gemma4a") {
    // E2B/E4B conformer (HF audio_config: 1536 wide, 12 layers, 8 heads, 32-channel convs) [U].
    const int64_t D = real ? 1536 : 64, L = real ? 12 : 2, H = real ? 8 : 4, F = 4 * D, K = 5;
    const int64_t C0 = real ? 128 : 8, C1 = real ? 32 : 8, mel = 128, freq = 32, hd = D / H;
    w.SetString("clip.audio.projector_type", "gemma4a");
    w.SetU32("clip.audio.projection_dim", T);
    w.SetU32("clip.audio.embedding_length", D);
    w.SetU32("clip.audio.feed_forward_length", F);
    w.SetU32("clip.audio.block_count", L);
    w.SetU32("clip.audio.attention.head_count", H);
    w.SetF32("clip.audio.attention.layer_norm_epsilon", 1e-6f);
    w.SetU32("clip.audio.num_mel_bins", mel);
    std::mt19937_64 rng(o.seed + 17);
    auto f32 = [&](const std::string& name, std::vector<int64_t> ne, float std) {
      int64_t n = 1;
      for (int64_t x : ne) n *= x;
      std::vector<float> v(static_cast<size_t>(n));
      std::normal_distribution<float> d(0.0f, std);
      for (float& x : v) x = d(rng);
      return t.AddF32(name, std::move(ne), v);
    };
    // The converter keeps the subsampling convolutions in F32.
    TRY(f32("a.conv1d.0.weight", {3, 3, 1, C0}, 1.0f / 3.0f));
    TRY(t.Norm("a.conv1d.0.norm.weight", C0));
    TRY(f32("a.conv1d.1.weight", {3, 3, C0, C1}, 1.0f / std::sqrt(9.0f * C0)));
    TRY(t.Norm("a.conv1d.1.norm.weight", C1));
    TRY(t.Weight("a.input_projection.weight", {C1 * freq, D}, 1.0f / std::sqrt(float(C1 * freq))));
    const float in_std = 1.0f / std::sqrt(float(D));
    for (int64_t il = 0; il < L; ++il) {
      const std::string b = "a.blk." + std::to_string(il) + ".";
      for (const char* sfx : {"", "_1"}) {
        TRY(t.Norm(b + "ffn_norm" + sfx + ".weight", D));
        TRY(t.Weight(b + "ffn_up" + sfx + ".weight", {D, F}, in_std));
        TRY(t.Weight(b + "ffn_down" + sfx + ".weight", {F, D}, 1.0f / std::sqrt(float(F))));
        TRY(t.Norm(b + "ffn_post_norm" + sfx + ".weight", D));
      }
      TRY(t.Norm(b + "attn_pre_norm.weight", D));
      for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
        TRY(t.Weight(b + n + ".weight", {D, D}, in_std));
      }
      TRY(t.Norm(b + "per_dim_scale.weight", hd, 0.7f, 0.1f));  // softplus-ed by the converter
      TRY(t.Norm(b + "per_dim_k_scale.weight", hd, 0.7f, 0.1f));
      TRY(t.Weight(b + "attn_k_rel.weight", {D, D}, in_std));
      TRY(t.Norm(b + "attn_post_norm.weight", D));
      TRY(t.Norm(b + "conv_norm.weight", D));  // the conv module's pre-norm (swapped names)
      TRY(t.Weight(b + "conv_pw1.weight", {D, 2 * D}, in_std));
      TRY(f32(b + "conv_dw.weight", {K, D}, 0.4f));
      TRY(t.Norm(b + "norm_conv.weight", D));
      TRY(t.Weight(b + "conv_pw2.weight", {D, D}, in_std));
      TRY(t.Norm(b + "ln2.weight", D));
      if (il == 0) {
        TRY(t.AddF32(b + "attn_q.input_min", {1}, {-4.0f}));
        TRY(t.AddF32(b + "attn_q.input_max", {1}, {4.0f}));
      }
    }
    TRY(t.Weight("a.pre_encode.out.weight", {D, D}, in_std));
    TRY(t.Norm("a.pre_encode.out.bias", D, 0.0f, 0.1f));
    TRY(t.Norm("mm.a.soft_emb_norm.weight", D));
    TRY(t.Weight("mm.a.input_projection.weight", {D, T}, in_std));
  }
  if (audio == "gemma4ua") {
    w.SetString("clip.audio.projector_type", "gemma4ua");
    w.SetU32("clip.audio.projection_dim", T);
    w.SetU32("clip.audio.embedding_length", 640);
    w.SetU32("clip.audio.feed_forward_length", 0);
    w.SetU32("clip.audio.block_count", 0);
    w.SetU32("clip.audio.attention.head_count", 0);
    w.SetF32("clip.audio.attention.layer_norm_epsilon", 1e-6f);
    w.SetU32("clip.audio.num_mel_bins", 640);
    TRY(t.Weight("mm.a.input_projection.weight", {640, T}, 1.0f / std::sqrt(640.0f)));
  }
  return w.WriteFile(path);
}

}  // namespace hearth::testmodel
