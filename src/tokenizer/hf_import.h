// tokenizer::ImportHfTokenizer: builds the Vocab that llama.cpp's converter would write for a
// Hugging Face tokenizer directory (tokenizer.json + tokenizer_config.json, optionally
// chat_template.jinja, config.json, added_tokens.json), without Python or sentencepiece.
//
// Gemma 3 (the files have <start_of_turn>): tokenizer model "llama" as _set_vocab_sentencepiece
// writes it. tokenizer.json has no SentencePiece scores, so they are derived from the merges:
// a piece that is the result of merges gets score -(rank of its first merge); with that, merging
// the highest-scoring pair (the SPM algorithm) picks the same pair as merging the lowest-ranked
// pair (BPE), because Gemma's merge list is the SentencePiece piece order (every split of a piece
// into two pieces is a merge, and the merges of one piece are contiguous). Byte pieces score 0,
// pieces that are no merge result score -(n_merges + id); added tokens get the converter's types
// (CONTROL if special or looking special, else USER_DEFINED with ▁ written as a space) and -1000.
// The token list has config.json's vocab_size entries when that file exists (padding [PADn],
// UNUSED), else the tokenizer.json model size.
//
// Gemma 4 (the files have <|turn>): tokenizer model "gemma4" as Gemma4Model.set_vocab writes it:
// model vocab then added tokens, scores -1000, BYTE for <0xXX>, CONTROL for special tokens,
// the channel/tool/string-delimiter tokens forced USER_DEFINED, and the merges.
//
// Errors (bad JSON, missing fields, ids out of range or repeated) name the file and the field.
#pragma once

#include <string>

#include "core/status.h"
#include "tokenizer/vocab.h"

namespace hearth::tokenizer {

enum class HfFamily {
  kAuto,    // <|turn> present -> Gemma 4, <start_of_turn> present -> Gemma 3, else an error
  kGemma3,  // SentencePiece-style vocab ("llama")
  kGemma4,  // BPE vocab with merges ("gemma4")
};

// vocab_size > 0 overrides config.json's vocab_size for Gemma 3 (the converter's token-list length:
// 262144 for Gemma 3 270M/1B, 262208 for 4B/12B/27B whose <image_soft_token> is id 262144).
Result<Vocab> ImportHfTokenizer(const std::string& dir, HfFamily family = HfFamily::kAuto,
                                int64_t vocab_size = 0);

}  // namespace hearth::tokenizer
