// Internal: parses and validates the bytes of one GGUF file (one shard). Used by gguf::File for
// mapped files and in-memory images alike, so tests and the fuzzer exercise the same code as
// real loads.
//
// Error codes: kDataLoss when the bytes are truncated or structurally inconsistent (a length or
// count larger than what is left, tensor offsets that are not the running padded sum, tensor data
// past the end of the file); kInvalidArgument when a field holds a forbidden value (bad magic,
// unsupported version, unknown type, duplicate key or tensor, nested array, bad n_dims or ne,
// bad alignment). Every message starts with the file name and names the key or tensor and the
// byte position.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "gguf/file.h"

namespace hearth::gguf::internal {

inline constexpr uint32_t kDefaultAlignment = 32;  // GGUF_DEFAULT_ALIGNMENT
inline constexpr uint32_t kMaxVersion = 3;
inline constexpr size_t kMaxTensorNameBytes = 63;  // GGML_MAX_NAME - 1

struct ParsedShard {
  uint32_t version = 0;
  uint32_t alignment = kDefaultAlignment;
  uint64_t data_offset = 0;  // start of the data section, from the start of the image
  std::map<std::string, Value, std::less<>> kv;
  std::vector<TensorInfo> tensors;  // in file order; `data` points into the image, shard = 0
};

// `bytes` must outlive the result (values and tensors point into it). `name` prefixes errors.
Result<ParsedShard> ParseShard(const uint8_t* bytes, size_t size, std::string_view name);

// Size in bytes of one scalar of type t (0 for string/array).
size_t ScalarSize(ValueType t);

}  // namespace hearth::gguf::internal
