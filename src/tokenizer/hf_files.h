// Internal to tokenizer/: the parts of a Hugging Face tokenizer directory the importer needs,
// read into plain structs (nlohmann exceptions are caught here, at the boundary).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace hearth::tokenizer {

struct HfAddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
};

struct HfFiles {
  // tokenizer.json
  std::vector<std::string> model_tokens;  // model.vocab by id (ids 0..n-1, each exactly once)
  std::vector<std::string> merges;        // "A B"
  std::string unk_token;                  // model.unk_token
  std::vector<HfAddedToken> added_tokens;  // tokenizer.json added_tokens
  std::string template_first_special;      // post_processor TemplateProcessing single[0]
  // tokenizer_config.json
  bool has_config = false;
  std::vector<HfAddedToken> added_tokens_decoder;  // by id order
  std::map<std::string, std::string> named_special;  // "bos" -> "<bos>", also eos/unk/pad/...
  std::vector<std::string> extra_special;            // additional_/extra_special_tokens
  std::optional<bool> add_bos, add_eos;
  std::optional<std::string> chat_template;  // config field, else chat_template.jinja
  // config.json
  std::optional<int64_t> vocab_size;               // vocab_size or text_config.vocab_size
  std::map<std::string, int64_t> config_token_ids;  // "bos" -> bos_token_id, ...
  // added_tokens.json
  std::vector<std::pair<std::string, int64_t>> added_tokens_json;
};

Result<HfFiles> ReadHfFiles(const std::string& dir);

}  // namespace hearth::tokenizer
