// tokenizer::Vocab: the tokenizer.* metadata of a GGUF file, validated (gemma-gguf-spec.md §8).
//
// A Vocab is plain data: LoadVocab reads it from a GGUF file, WriteVocab writes it back the way
// llama.cpp's converter does for the family, ImportHfTokenizer (hf_import.h) builds one from a
// Hugging Face tokenizer directory, and Tokenizer::Create (tokenizer.h) turns it into an encoder.
//
//   ASSIGN_OR_RETURN(tokenizer::Vocab vocab, tokenizer::LoadVocab(*file));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "gguf/file.h"
#include "gguf/writer.h"

namespace hearth::tokenizer {

// Values of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

enum class Algorithm {
  kSpm,        // tokenizer.ggml.model "llama": SentencePiece merges by score (Gemma 1/2/3/3n)
  kGemma4Bpe,  // tokenizer.ggml.model "gemma4": BPE merges by rank over characters (Gemma 4)
};

struct Vocab {
  Algorithm algorithm = Algorithm::kSpm;
  std::string model_name;  // tokenizer.ggml.model as stored ("llama", "gemma4")
  std::string pre;         // tokenizer.ggml.pre ("" when absent)
  std::vector<std::string> tokens;
  std::vector<float> scores;      // same length as tokens
  std::vector<TokenType> types;   // same length as tokens
  std::vector<std::string> merges;  // "A B" (rank = index); Gemma 4 only
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1, eot_id = -1;  // -1 if absent
  bool add_bos = true, add_eos = false, add_space_prefix = false;
  std::vector<int32_t> suppress_tokens;
  std::string chat_template;  // "" when absent

  int32_t size() const { return static_cast<int32_t>(tokens.size()); }
};

// Metadata keys (llama.cpp's names, src/llama-arch.cpp).
inline constexpr std::string_view kKeyModel = "tokenizer.ggml.model";
inline constexpr std::string_view kKeyPre = "tokenizer.ggml.pre";
inline constexpr std::string_view kKeyTokens = "tokenizer.ggml.tokens";
inline constexpr std::string_view kKeyScores = "tokenizer.ggml.scores";
inline constexpr std::string_view kKeyTokenType = "tokenizer.ggml.token_type";
inline constexpr std::string_view kKeyMerges = "tokenizer.ggml.merges";
inline constexpr std::string_view kKeyBosId = "tokenizer.ggml.bos_token_id";
inline constexpr std::string_view kKeyEosId = "tokenizer.ggml.eos_token_id";
inline constexpr std::string_view kKeyUnkId = "tokenizer.ggml.unknown_token_id";
inline constexpr std::string_view kKeyPadId = "tokenizer.ggml.padding_token_id";
inline constexpr std::string_view kKeyEotId = "tokenizer.ggml.eot_token_id";
inline constexpr std::string_view kKeyAddBos = "tokenizer.ggml.add_bos_token";
inline constexpr std::string_view kKeyAddEos = "tokenizer.ggml.add_eos_token";
inline constexpr std::string_view kKeyAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
inline constexpr std::string_view kKeySuppressTokens = "tokenizer.ggml.suppress_tokens";
inline constexpr std::string_view kKeyChatTemplate = "tokenizer.chat_template";

// Reads every tokenizer.* key. Errors (naming the key and, where it applies, the index): a missing
// token list, array lengths that disagree with it, token types outside 1..6, special ids or
// suppress_tokens outside [0, n_vocab), malformed merges, a "gemma4" vocab without merges.
// An unknown tokenizer.ggml.model is Unimplemented, naming it. For "gemma4", add_bos is forced true
// (as llama.cpp does). Absent add_space_prefix defaults to llama.cpp's per-model default (true for
// "llama", false for "gemma4").
Result<Vocab> LoadVocab(const gguf::File& f);

// Checks the invariants LoadVocab checks (used by LoadVocab, Tokenizer::Create and the importer).
Status ValidateVocab(const Vocab& v);

// Writes the tokenizer.* keys in the order and with the types llama.cpp's converter uses for the
// family ("llama": model, pre, tokens, scores, token_type, ids, add_bos/add_eos, chat_template,
// add_space_prefix; "gemma4": model, tokens, scores, token_type, merges, ids, add flags,
// chat_template, add_space_prefix). Ids equal to -1 and an empty chat template are not written.
void WriteVocab(const Vocab& v, gguf::Writer& w);

}  // namespace hearth::tokenizer
