// tokenizer::Tokenizer: text <-> token ids for Gemma 3 (SentencePiece, merges by score) and
// Gemma 4 (BPE, merges by rank) vocabularies, with llama.cpp's semantics (gemma-gguf-spec.md §8).
//
//   ASSIGN_OR_RETURN(tokenizer::Tokenizer tok, tokenizer::Tokenizer::Create(std::move(vocab)));
//   std::vector<int32_t> ids = tok.Encode(prompt, /*parse_special=*/true);  // never adds BOS
//   if (tok.add_bos()) ids.insert(ids.begin(), tok.bos_id());
//
// Encode: (1) special-token splitting, longest token text first: USER_DEFINED tokens always,
// CONTROL and UNKNOWN tokens only with parse_special; (2) each remaining fragment goes through the
// family's algorithm (special_split.cc, spm.cc, bpe.cc); symbols with no token fall back to
// <0xXX> byte tokens. Invalid UTF-8 never crashes: each invalid byte is its own symbol and so
// becomes a byte token. Cost: O(n log n) in the fragment length; all tables are built once here.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

struct TokenizerTables;  // hash maps built in Create (tables.h)

class Tokenizer {
 public:
  // Validates the vocab (ValidateVocab) and builds the lookup tables.
  static Result<Tokenizer> Create(Vocab v);

  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  std::vector<int32_t> Encode(std::string_view text, bool parse_special) const;

  // Concatenated pieces. NORMAL: text with ▁ as space; BYTE: the raw byte; USER_DEFINED: its
  // text; CONTROL/UNKNOWN: their text only when render_special; UNUSED and out-of-range ids:
  // nothing. The result can hold invalid UTF-8 when byte tokens are cut (see StreamDecoder).
  std::string Decode(std::span<const int32_t> ids, bool render_special) const;
  // The bytes one token decodes to (the rule above).
  std::string Piece(int32_t id, bool render_special) const;

  // The token's text as stored in the vocab ("▁Hello", "<0x41>", "<start_of_turn>"); "" if the
  // id is out of range.
  std::string TokenText(int32_t id) const;
  int32_t Find(std::string_view token_text) const;  // -1 if absent
  TokenType Type(int32_t id) const;                 // kUnused if out of range

  bool IsEog(int32_t id) const;
  const std::vector<int32_t>& eog_ids() const { return eog_ids_; }
  int32_t bos_id() const { return vocab_.bos_id; }
  bool add_bos() const { return vocab_.add_bos; }
  int32_t n_vocab() const { return vocab_.size(); }
  const Vocab& vocab() const { return vocab_; }

 private:
  Tokenizer() = default;
  void BuildEog();
  bool InRange(int32_t id) const { return id >= 0 && id < vocab_.size(); }

  Vocab vocab_;
  std::unique_ptr<TokenizerTables> tables_;
  std::vector<int32_t> eog_ids_;  // sorted
  std::vector<uint8_t> is_eog_;   // per id
};

}  // namespace hearth::tokenizer
