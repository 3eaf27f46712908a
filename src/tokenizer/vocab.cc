#include "tokenizer/vocab.h"

#include <string>

namespace hearth::tokenizer {
namespace {

std::string Key(std::string_view k) { return std::string(k); }

// Reads an optional token id key into *out (-1 when absent).
Status ReadOptionalId(const gguf::File& f, std::string_view key, int32_t* out) {
  *out = -1;
  if (!f.Has(key)) return Status::Ok();
  Result<int64_t> v = f.GetI64(key);
  if (!v.ok()) return v.status();
  if (*v < 0 || *v > INT32_MAX) {
    return InvalidArgumentError("key " + Key(key) + ": token id " + std::to_string(*v) +
                                " is out of range");
  }
  *out = static_cast<int32_t>(*v);
  return Status::Ok();
}

Status CheckId(const Vocab& v, std::string_view key, int32_t id) {
  if (id == -1) return Status::Ok();
  if (id < 0 || id >= v.size()) {
    return InvalidArgumentError("key " + Key(key) + ": token id " + std::to_string(id) +
                                " is outside the vocabulary of " + std::to_string(v.size()) +
                                " tokens");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateVocab(const Vocab& v) {
  if (v.tokens.empty()) return InvalidArgumentError("key " + Key(kKeyTokens) + ": empty token list");
  if (v.tokens.size() > static_cast<size_t>(INT32_MAX)) {
    return InvalidArgumentError("key " + Key(kKeyTokens) + ": too many tokens");
  }
  if (v.scores.size() != v.tokens.size()) {
    return InvalidArgumentError("key " + Key(kKeyScores) + ": " + std::to_string(v.scores.size()) +
                                " scores for " + std::to_string(v.tokens.size()) + " tokens");
  }
  if (v.types.size() != v.tokens.size()) {
    return InvalidArgumentError("key " + Key(kKeyTokenType) + ": " +
                                std::to_string(v.types.size()) + " types for " +
                                std::to_string(v.tokens.size()) + " tokens");
  }
  for (size_t i = 0; i < v.types.size(); ++i) {
    int32_t t = static_cast<int32_t>(v.types[i]);
    if (t < 1 || t > 6) {
      return InvalidArgumentError("key " + Key(kKeyTokenType) + "[" + std::to_string(i) +
                                  "]: unknown token type " + std::to_string(t));
    }
  }
  TRY(CheckId(v, kKeyBosId, v.bos_id));
  TRY(CheckId(v, kKeyEosId, v.eos_id));
  TRY(CheckId(v, kKeyUnkId, v.unk_id));
  TRY(CheckId(v, kKeyPadId, v.pad_id));
  TRY(CheckId(v, kKeyEotId, v.eot_id));
  for (size_t i = 0; i < v.suppress_tokens.size(); ++i) {
    int32_t id = v.suppress_tokens[i];
    if (id < 0 || id >= v.size()) {
      return InvalidArgumentError("key " + Key(kKeySuppressTokens) + "[" + std::to_string(i) +
                                  "]: token id " + std::to_string(id) + " is out of range");
    }
  }
  if (v.algorithm == Algorithm::kGemma4Bpe && v.merges.empty()) {
    return InvalidArgumentError("key " + Key(kKeyMerges) + ": required for tokenizer model gemma4");
  }
  for (size_t i = 0; i < v.merges.size(); ++i) {
    const std::string& m = v.merges[i];
    size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    if (sp == std::string::npos || sp + 1 >= m.size()) {
      return InvalidArgumentError("key " + Key(kKeyMerges) + "[" + std::to_string(i) +
                                  "]: malformed merge '" + m + "' (want \"A B\")");
    }
  }
  return Status::Ok();
}

Result<Vocab> LoadVocab(const gguf::File& f) {
  Vocab v;
  ASSIGN_OR_RETURN(v.model_name, f.GetString(kKeyModel));
  if (v.model_name == "llama") {
    v.algorithm = Algorithm::kSpm;
  } else if (v.model_name == "gemma4") {
    v.algorithm = Algorithm::kGemma4Bpe;
  } else {
    return UnimplementedError("key " + Key(kKeyModel) + ": tokenizer model '" + v.model_name +
                              "' is not supported (supported: llama, gemma4)");
  }
  if (f.Has(kKeyPre)) {
    ASSIGN_OR_RETURN(v.pre, f.GetString(kKeyPre));
  }

  ASSIGN_OR_RETURN(std::vector<std::string_view> tokens, f.GetStringArray(kKeyTokens));
  v.tokens.assign(tokens.begin(), tokens.end());
  const size_t n = v.tokens.size();

  if (f.Has(kKeyScores)) {
    ASSIGN_OR_RETURN(v.scores, f.GetF32Array(kKeyScores));
  } else {
    v.scores.assign(n, 0.0f);
  }
  if (f.Has(kKeyTokenType)) {
    ASSIGN_OR_RETURN(std::vector<int64_t> types, f.GetIntArray(kKeyTokenType));
    v.types.reserve(types.size());
    for (size_t i = 0; i < types.size(); ++i) {
      if (types[i] < 1 || types[i] > 6) {
        return InvalidArgumentError("key " + Key(kKeyTokenType) + "[" + std::to_string(i) +
                                    "]: unknown token type " + std::to_string(types[i]));
      }
      v.types.push_back(static_cast<TokenType>(types[i]));
    }
  } else {
    v.types.assign(n, TokenType::kNormal);
  }
  if (f.Has(kKeyMerges)) {
    ASSIGN_OR_RETURN(std::vector<std::string_view> merges, f.GetStringArray(kKeyMerges));
    v.merges.assign(merges.begin(), merges.end());
  }

  TRY(ReadOptionalId(f, kKeyBosId, &v.bos_id));
  TRY(ReadOptionalId(f, kKeyEosId, &v.eos_id));
  TRY(ReadOptionalId(f, kKeyUnkId, &v.unk_id));
  TRY(ReadOptionalId(f, kKeyPadId, &v.pad_id));
  TRY(ReadOptionalId(f, kKeyEotId, &v.eot_id));

  const bool is_spm = v.algorithm == Algorithm::kSpm;
  ASSIGN_OR_RETURN(v.add_bos, f.GetBoolOr(kKeyAddBos, true));
  ASSIGN_OR_RETURN(v.add_eos, f.GetBoolOr(kKeyAddEos, false));
  ASSIGN_OR_RETURN(v.add_space_prefix, f.GetBoolOr(kKeyAddSpacePrefix, is_spm));
  if (v.algorithm == Algorithm::kGemma4Bpe) v.add_bos = true;  // forced by llama.cpp (§8.2)

  if (f.Has(kKeySuppressTokens)) {
    ASSIGN_OR_RETURN(std::vector<int64_t> sup, f.GetIntArray(kKeySuppressTokens));
    for (size_t i = 0; i < sup.size(); ++i) {
      if (sup[i] < 0 || sup[i] >= static_cast<int64_t>(n)) {
        return InvalidArgumentError("key " + Key(kKeySuppressTokens) + "[" + std::to_string(i) +
                                    "]: token id " + std::to_string(sup[i]) + " is out of range");
      }
      v.suppress_tokens.push_back(static_cast<int32_t>(sup[i]));
    }
  }
  if (f.Has(kKeyChatTemplate)) {
    ASSIGN_OR_RETURN(v.chat_template, f.GetString(kKeyChatTemplate));
  }
  TRY(ValidateVocab(v));
  return v;
}

void WriteVocab(const Vocab& v, gguf::Writer& w) {
  const bool is_spm = v.algorithm == Algorithm::kSpm;
  w.SetString(Key(kKeyModel), is_spm ? "llama" : "gemma4");
  // _set_vocab_sentencepiece writes pre "default"; Gemma4Model.set_vocab writes no pre at all.
  if (is_spm) w.SetString(Key(kKeyPre), v.pre.empty() ? "default" : v.pre);
  else if (!v.pre.empty()) w.SetString(Key(kKeyPre), v.pre);
  w.SetStringArray(Key(kKeyTokens), v.tokens);
  w.SetF32Array(Key(kKeyScores), v.scores);
  std::vector<int32_t> types(v.types.size());
  for (size_t i = 0; i < v.types.size(); ++i) types[i] = static_cast<int32_t>(v.types[i]);
  w.SetI32Array(Key(kKeyTokenType), types);
  if (!v.merges.empty()) w.SetStringArray(Key(kKeyMerges), v.merges);
  // SpecialVocab order: bos, eos, unk, (sep), pad; then eot when the family has one.
  if (v.bos_id >= 0) w.SetU32(Key(kKeyBosId), static_cast<uint32_t>(v.bos_id));
  if (v.eos_id >= 0) w.SetU32(Key(kKeyEosId), static_cast<uint32_t>(v.eos_id));
  if (v.unk_id >= 0) w.SetU32(Key(kKeyUnkId), static_cast<uint32_t>(v.unk_id));
  if (v.pad_id >= 0) w.SetU32(Key(kKeyPadId), static_cast<uint32_t>(v.pad_id));
  if (v.eot_id >= 0) w.SetU32(Key(kKeyEotId), static_cast<uint32_t>(v.eot_id));
  w.SetBool(Key(kKeyAddBos), v.add_bos);
  w.SetBool(Key(kKeyAddEos), v.add_eos);
  if (!v.chat_template.empty()) w.SetString(Key(kKeyChatTemplate), v.chat_template);
  w.SetBool(Key(kKeyAddSpacePrefix), v.add_space_prefix);
  if (!is_spm) w.SetBool(Key(kKeyAddBos), true);  // Gemma4Model.set_vocab re-sets it (same slot)
  if (!v.suppress_tokens.empty()) w.SetI32Array(Key(kKeySuppressTokens), v.suppress_tokens);
}

}  // namespace hearth::tokenizer
