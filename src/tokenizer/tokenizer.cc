#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "tokenizer/tables.h"

namespace hearth::tokenizer {
namespace {

// Token texts that llama.cpp puts into the end-of-generation set by text (§8.1, §8.2). One list
// for both families, as in llama.cpp: a Gemma 3 vocabulary hits <end_of_turn>, <eos> and (its
// HTML tag) </s>; a Gemma 4 vocabulary hits <eos>, <turn|> and <|tool_response>, and then </s>
// is left out.
constexpr std::string_view kEogTexts[] = {"<end_of_turn>", "<eos>",  "<|endoftext|>",
                                          "</s>",          "<turn|>", "<|tool_response>"};

// "<0x41>" -> 0x41; -1 if the text is not a byte token text.
int ParseByteToken(std::string_view s) {
  if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return -1;
  auto hex = [](char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  int hi = hex(s[3]), lo = hex(s[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::string UnescapeSpaces(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.compare(i, 3, "\xE2\x96\x81") == 0) {
      out += ' ';
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Result<Tokenizer> Tokenizer::Create(Vocab v) {
  TRY(ValidateVocab(v));
  if (v.algorithm == Algorithm::kGemma4Bpe) v.add_bos = true;  // forced by llama.cpp (§8.2)
  Tokenizer tok;
  tok.vocab_ = std::move(v);
  const Vocab& vocab = tok.vocab_;
  auto t = std::make_unique<TokenizerTables>();
  t->token_to_id.reserve(vocab.tokens.size());
  for (int32_t id = 0; id < vocab.size(); ++id) {
    t->token_to_id[vocab.tokens[id]] = id;
    t->max_token_bytes = std::max(t->max_token_bytes, vocab.tokens[id].size());
  }
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    auto it = t->token_to_id.find(std::string_view(buf));
    if (it == t->token_to_id.end()) it = t->token_to_id.find(std::string(1, static_cast<char>(b)));
    t->byte_token[b] = it == t->token_to_id.end() ? -1 : it->second;
  }
  t->pieces.resize(vocab.tokens.size());
  t->attrs.resize(vocab.tokens.size());
  for (int32_t id = 0; id < vocab.size(); ++id) {
    const std::string& text = vocab.tokens[id];
    t->attrs[id] = AttrOfType(vocab.types[id]);
    switch (vocab.types[id]) {
      case TokenType::kNormal: t->pieces[id] = UnescapeSpaces(text); break;
      case TokenType::kByte: {
        int b = ParseByteToken(text);
        if (b >= 0) t->pieces[id] = std::string(1, static_cast<char>(b));
        break;
      }
      case TokenType::kUnused: break;
      default: t->pieces[id] = text; break;
    }
  }
  if (vocab.algorithm == Algorithm::kGemma4Bpe) BuildMergeRanks(vocab, t.get());
  tok.tables_ = std::move(t);
  tok.BuildEog();
  BuildSpecialTrie(vocab, tok.tables_.get());
  return tok;
}

void Tokenizer::BuildEog() {
  std::vector<int32_t> ids;
  if (vocab_.eos_id >= 0) ids.push_back(vocab_.eos_id);
  if (vocab_.eot_id >= 0) ids.push_back(vocab_.eot_id);
  const bool has_tool_response = Find("<|tool_response>") >= 0;
  for (std::string_view text : kEogTexts) {
    if (has_tool_response && text == "</s>") continue;  // §8.2
    int32_t id = Find(text);
    if (id < 0) continue;
    ids.push_back(id);
    tables_->attrs[id] |= kAttrControl;  // llama.cpp adds the CONTROL attribute
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  eog_ids_ = std::move(ids);
  is_eog_.assign(vocab_.tokens.size(), 0);
  for (int32_t id : eog_ids_) is_eog_[id] = 1;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool parse_special) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  const TokenizerTables& t = *tables_;
  bool prev_special = true;  // llama.cpp: a space prefix goes before the first raw fragment
  for (const Fragment& f : SplitSpecial(vocab_, t, text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      prev_special = true;
      continue;
    }
    std::string_view raw = text.substr(f.off, f.len);
    if (vocab_.algorithm == Algorithm::kSpm) {
      std::string s;
      if (vocab_.add_space_prefix && prev_special) s = " ";
      s.append(raw);
      EncodeSpm(vocab_, t, EscapeSpaces(s), &out);
    } else {
      EncodeGemma4Bpe(vocab_, t, raw, &out);
    }
    prev_special = false;
  }
  return out;
}

std::string Tokenizer::Piece(int32_t id, bool render_special) const {
  if (!InRange(id)) return "";
  uint8_t attr = tables_->attrs[id];
  if (!render_special && (attr & (kAttrControl | kAttrUnknown))) return "";
  return tables_->pieces[id];
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string piece = Piece(ids[i], render_special);
    // llama.cpp strips the prefix space of the first piece when the vocab adds one.
    if (i == 0 && vocab_.add_space_prefix && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
    out += piece;
  }
  return out;
}

std::string Tokenizer::TokenText(int32_t id) const {
  return InRange(id) ? vocab_.tokens[id] : std::string();
}

int32_t Tokenizer::Find(std::string_view token_text) const {
  auto it = tables_->token_to_id.find(token_text);
  return it == tables_->token_to_id.end() ? -1 : it->second;
}

TokenType Tokenizer::Type(int32_t id) const {
  return InRange(id) ? vocab_.types[id] : TokenType::kUnused;
}

bool Tokenizer::IsEog(int32_t id) const { return InRange(id) && is_eog_[id] != 0; }

}  // namespace hearth::tokenizer
