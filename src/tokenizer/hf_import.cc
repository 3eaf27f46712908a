#include "tokenizer/hf_import.h"

#include <algorithm>
#include <unordered_map>

#include "tokenizer/hf_files.h"

namespace hearth::tokenizer {
namespace {

bool IsByteText(const std::string& s) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); };
  return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && hex(s[3]) && hex(s[4]) && s[5] == '>';
}

bool StartsEnds(const std::string& s, std::string_view a, std::string_view b) {
  return s.size() >= a.size() + b.size() && s.compare(0, a.size(), a) == 0 &&
         s.compare(s.size() - b.size(), b.size(), b) == 0;
}

// The converter's does_token_look_special.
bool LooksSpecial(const std::string& s) {
  if (s == "<pad>" || s == "<mask>" || s == "<2mass>" || s == "[@BOS@]") return true;
  return StartsEnds(s, "<|", "|>") || StartsEnds(s, "<\xEF\xBD\x9C", "\xEF\xBD\x9C>") ||
         StartsEnds(s, "<unused", ">");
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size())) {
    s.replace(p, from.size(), to);
  }
  return s;
}

bool Contains(const HfFiles& f, std::string_view text) {
  for (const HfAddedToken& a : f.added_tokens) if (a.content == text) return true;
  return std::find(f.model_tokens.begin(), f.model_tokens.end(), text) != f.model_tokens.end();
}

// gguf.SpecialVocab: special ids from tokenizer_config names (looked up among tokenizer.json's
// added tokens), then config.json's *_token_id; add_bos/add_eos from the post-processor template,
// overridden by tokenizer_config; the chat template.
void ApplySpecialVocab(const HfFiles& f, Vocab* v) {
  auto id_of = [&](const char* typ) -> int32_t {
    auto it = f.named_special.find(typ);
    if (it != f.named_special.end()) {
      for (const HfAddedToken& a : f.added_tokens) {
        if (a.content == it->second && a.id >= 0 && a.id < v->size()) return a.id;
      }
    }
    auto c = f.config_token_ids.find(typ);
    if (c != f.config_token_ids.end() && c->second >= 0 && c->second < v->size()) {
      return static_cast<int32_t>(c->second);
    }
    return -1;
  };
  v->bos_id = id_of("bos");
  v->eos_id = id_of("eos");
  v->unk_id = id_of("unk");
  v->pad_id = id_of("pad");
  v->add_bos = true;  // llama.cpp's default when nothing says otherwise
  v->add_eos = false;
  if (!f.template_first_special.empty()) {
    auto bos = f.named_special.find("bos");
    v->add_bos = bos != f.named_special.end() && bos->second == f.template_first_special;
  }
  if (f.add_bos) v->add_bos = *f.add_bos;
  if (f.add_eos) v->add_eos = *f.add_eos;
  if (f.chat_template) v->chat_template = *f.chat_template;
}

Result<Vocab> BuildGemma3(const HfFiles& f) {
  const int64_t sp_size = static_cast<int64_t>(f.model_tokens.size());
  const int64_t n = f.vocab_size.value_or(sp_size);
  if (n <= 0 || n > INT32_MAX) return InvalidArgumentError("config.json: bad vocab_size " + std::to_string(n));
  Vocab v;
  v.algorithm = Algorithm::kSpm;
  v.model_name = "llama";
  v.pre = "default";
  v.tokens.resize(n);
  v.scores.assign(n, -10000.0f);
  v.types.assign(n, TokenType::kUnused);
  for (int64_t i = 0; i < n; ++i) v.tokens[i] = "[PAD" + std::to_string(i) + "]";

  // Scores: -(first merge rank) for merge results, so SPM's highest score is BPE's lowest rank.
  std::unordered_map<std::string_view, int32_t> id_of;
  id_of.reserve(f.model_tokens.size());
  for (int64_t i = 0; i < sp_size; ++i) id_of.emplace(f.model_tokens[i], static_cast<int32_t>(i));
  const float n_merges = static_cast<float>(f.merges.size());
  std::vector<float> score(sp_size, 1.0f);  // 1.0 = not yet set (real scores are <= 0)
  std::string joined;
  for (size_t r = 0; r < f.merges.size(); ++r) {
    const std::string& m = f.merges[r];
    size_t sp = m.find(' ', 1);
    if (sp == std::string::npos) {
      return InvalidArgumentError("tokenizer.json: model.merges[" + std::to_string(r) + "] '" + m + "' has no space");
    }
    joined.assign(m, 0, sp);
    joined.append(m, sp + 1, std::string::npos);
    auto it = id_of.find(joined);
    if (it != id_of.end() && score[it->second] > 0) score[it->second] = -static_cast<float>(r);
  }
  for (int64_t i = 0; i < std::min(sp_size, n); ++i) {
    const std::string& text = f.model_tokens[i];
    v.tokens[i] = text;
    if (IsByteText(text)) {
      v.types[i] = TokenType::kByte;
      v.scores[i] = 0.0f;  // SentencePiece byte pieces score 0
    } else {
      v.types[i] = text == f.unk_token ? TokenType::kUnknown : TokenType::kNormal;
      v.scores[i] = score[i] <= 0 ? score[i] : -(n_merges + static_cast<float>(i));
    }
  }
  for (const auto& [text, id] : f.added_tokens_json) {
    if (id < 0 || id >= n) continue;  // the converter ignores out-of-range ids
    v.tokens[id] = text;
    v.scores[id] = -1000.0f;
    v.types[id] = TokenType::kUserDefined;
  }
  const std::vector<HfAddedToken>& added = f.has_config ? f.added_tokens_decoder : f.added_tokens;
  for (const HfAddedToken& a : added) {
    if (a.id < 0 || a.id >= n) continue;
    if (a.special || LooksSpecial(a.content)) {
      v.types[a.id] = TokenType::kControl;
      v.tokens[a.id] = a.content;
    } else {
      v.types[a.id] = TokenType::kUserDefined;
      v.tokens[a.id] = ReplaceAll(a.content, "\xE2\x96\x81", " ");  // pre-normalised spaces
    }
    v.scores[a.id] = -1000.0f;
  }
  ApplySpecialVocab(f, &v);
  v.add_space_prefix = false;  // Gemma3Model.set_vocab
  return v;
}

Result<Vocab> BuildGemma4(const HfFiles& f) {
  static const char* kVisible[] = {"<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
                                   "<|tool_response>", "<tool_response|>", "<|\"|>"};
  const int32_t base = static_cast<int32_t>(f.model_tokens.size());
  std::vector<std::string> special_texts;
  for (const auto& [typ, text] : f.named_special) special_texts.push_back(text);
  special_texts.insert(special_texts.end(), f.extra_special.begin(), f.extra_special.end());
  for (const HfAddedToken& a : f.added_tokens) if (a.special) special_texts.push_back(a.content);
  auto is_special = [&](const std::string& s) {
    return std::find(special_texts.begin(), special_texts.end(), s) != special_texts.end();
  };

  Vocab v;
  v.algorithm = Algorithm::kGemma4Bpe;
  v.model_name = "gemma4";
  for (int32_t i = 0; i < base; ++i) {
    const std::string& text = f.model_tokens[i];
    v.tokens.push_back(text);
    v.types.push_back(IsByteText(text) ? TokenType::kByte
                      : is_special(text) ? TokenType::kControl : TokenType::kNormal);
  }
  std::vector<HfAddedToken> extra;
  for (const HfAddedToken& a : f.added_tokens) if (a.id >= base) extra.push_back(a);
  std::sort(extra.begin(), extra.end(), [](auto& a, auto& b) { return a.id < b.id; });
  for (size_t k = 0; k < extra.size(); ++k) {
    if (extra[k].id != base + static_cast<int32_t>(k)) {
      return InvalidArgumentError("tokenizer.json: added token '" + extra[k].content + "' has id " +
                                  std::to_string(extra[k].id) + ", want " + std::to_string(base + k) +
                                  " (added ids must follow the model vocab without gaps)");
    }
    v.tokens.push_back(extra[k].content);
    v.types.push_back(is_special(extra[k].content) ? TokenType::kControl : TokenType::kUserDefined);
  }
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    for (const char* vis : kVisible) if (v.tokens[i] == vis) v.types[i] = TokenType::kUserDefined;
  }
  v.scores.assign(v.tokens.size(), -1000.0f);  // LlamaHfVocab's placeholder score
  v.merges = f.merges;
  ApplySpecialVocab(f, &v);
  v.add_space_prefix = false;
  v.add_bos = true;  // Gemma4Model.set_vocab
  return v;
}

}  // namespace

Result<Vocab> ImportHfTokenizer(const std::string& dir, HfFamily family, int64_t vocab_size) {
  ASSIGN_OR_RETURN(HfFiles f, ReadHfFiles(dir));
  if (vocab_size > 0) f.vocab_size = vocab_size;
  if (family == HfFamily::kAuto) {
    if (Contains(f, "<|turn>")) family = HfFamily::kGemma4;
    else if (Contains(f, "<start_of_turn>")) family = HfFamily::kGemma3;
    else return UnimplementedError(dir + ": not a Gemma 3 or Gemma 4 tokenizer (neither <|turn> nor <start_of_turn>)");
  }
  Result<Vocab> v = family == HfFamily::kGemma3 ? BuildGemma3(f) : BuildGemma4(f);
  if (!v.ok()) return v.status().WithContext(dir);
  TRY(ValidateVocab(*v).WithContext(dir));
  return v;
}

}  // namespace hearth::tokenizer
