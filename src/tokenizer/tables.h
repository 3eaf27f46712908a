// Internal to tokenizer/: the lookup tables Tokenizer::Create builds once, and the per-stage
// encoders that read them. Not part of the public API.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

// Hash for heterogeneous lookup: find(std::string_view) without building a std::string.
struct StringViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
using TextToId = std::unordered_map<std::string, int32_t, StringViewHash, std::equal_to<>>;

struct TokenizerTables {
  TextToId token_to_id;           // the last id wins for duplicate texts, as in llama.cpp
  size_t max_token_bytes = 0;     // longest token text; longer concatenations are never tokens
  int32_t byte_token[256];        // id of <0xXX> (or of the 1-byte text), -1 if none
  // Special-token splitting: a byte trie over the texts of CONTROL, USER_DEFINED and UNKNOWN
  // tokens. edge key = node << 8 | byte.
  std::unordered_map<uint64_t, int32_t> trie_edges;
  std::vector<int32_t> trie_token;  // per node: token id ending here, or -1
  // Gemma 4 BPE: rank of the merge (left id, right id), key = left << 32 | right.
  std::unordered_map<uint64_t, int32_t> merge_rank;
  // Merges whose halves are not both tokens, keyed "A B" (empty for real Gemma vocabularies).
  TextToId merge_rank_text;
  std::vector<std::string> pieces;  // per id: what Decode emits (render rules applied in Decode)
  // Per id: llama.cpp's token attributes, i.e. the type's bit plus kAttrControl for tokens that
  // Create forced into the end-of-generation set (§8: "get the CONTROL attribute added").
  std::vector<uint8_t> attrs;
};

inline constexpr uint8_t kAttrNormal = 1, kAttrUnknown = 2, kAttrControl = 4,
                         kAttrUserDefined = 8, kAttrUnused = 16, kAttrByte = 32;
uint8_t AttrOfType(TokenType t);

// A piece of the input after special-token splitting: a token id, or raw text [off, off+len).
struct Fragment {
  int32_t token = -1;
  size_t off = 0, len = 0;
};

// Builds trie_edges/trie_token from the vocab (special_split.cc).
void BuildSpecialTrie(const Vocab& v, TokenizerTables* t);
// llama.cpp's tokenizer_st_partition: splits text on special-token texts, longest first.
std::vector<Fragment> SplitSpecial(const Vocab& v, const TokenizerTables& t, std::string_view text,
                                   bool parse_special);

// SentencePiece merge-by-score on one fragment whose spaces are already ▁ (spm.cc).
void EncodeSpm(const Vocab& v, const TokenizerTables& t, std::string_view text,
               std::vector<int32_t>* out);
// Builds merge_rank/merge_rank_text (bpe.cc).
void BuildMergeRanks(const Vocab& v, TokenizerTables* t);
// Gemma 4 BPE on one raw fragment: ▁ for spaces, [^\n]+|[\n]+ pre-split, merges by rank (bpe.cc).
void EncodeGemma4Bpe(const Vocab& v, const TokenizerTables& t, std::string_view text,
                     std::vector<int32_t>* out);

// Appends the byte-fallback tokens of the bytes of s (bytes with no token are dropped; unk_id is
// used instead when the vocab has one).
void AppendByteFallback(const Vocab& v, const TokenizerTables& t, std::string_view s,
                        std::vector<int32_t>* out);

// Length in bytes of the UTF-8 symbol starting at s[i]: the length of a well-formed sequence, or 1
// for an invalid byte (so every invalid byte becomes its own symbol).
size_t Utf8SymbolLen(std::string_view s, size_t i);

// Replaces every U+0020 with U+2581 (▁).
std::string EscapeSpaces(std::string_view s);

}  // namespace hearth::tokenizer
