// Human-readable summary of a gguf::File, for `hearth inspect` / `gguf-dump`:
//
//   file: model.gguf (1 shard, 6602144 bytes)
//   architecture: gemma4   name: tiny   version: 3   alignment: 32
//   keys: 41
//     general.architecture = "gemma4"
//     gemma4.block_count = 5 (u32)
//     tokenizer.ggml.tokens = [string × 4096] "<pad>", "<eos>", "<bos>", ...
//   tensors: 57
//     token_embd.weight  Q8_0  [256, 4096]  1114112 bytes
#pragma once

#include <string>

#include "gguf/file.h"

namespace hearth::gguf {

// One line per key (sorted by name); with `with_tensors`, one line per tensor in file order.
std::string DescribeFile(const File& file, bool with_tensors);

// Short rendering of one value: scalars as text, strings quoted and cut after 60 bytes, arrays
// as `[type × count]` followed by their first few elements.
std::string DescribeValue(const Value& v);

}  // namespace hearth::gguf
