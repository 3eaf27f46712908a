// Building and assembling OpenAI chat-completion shapes: the common language every adapter
// translates to. A ChunkAssembler folds a stream of `chat.completion.chunk` objects back into one
// `chat.completion`, so a streamed call returns the same ChatResult as a non-streamed one.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "backends/backend.h"

namespace hearth::backends {

nlohmann::json UsageJson(const Usage& usage);
// {"id","object":"chat.completion.chunk","created","model","choices":[{"index":0,"delta",
//  "finish_reason"}]}; finish_reason null unless given.
nlohmann::json MakeChunk(const std::string& id, int64_t created, const std::string& model,
                         nlohmann::json delta, const std::string& finish_reason = "");
// The trailing usage chunk: "choices": [] and "usage" filled.
nlohmann::json MakeUsageChunk(const std::string& id, int64_t created, const std::string& model,
                              const Usage& usage);
// True for a chunk that only carries usage (choices empty, null or absent).
bool IsUsageOnlyChunk(const nlohmann::json& chunk);
// Reads OpenAI "usage" (prompt_tokens, completion_tokens); zeros when absent.
Usage UsageFromOpenAi(const nlohmann::json& usage);

class ChunkAssembler {
 public:
  void Add(const nlohmann::json& chunk);
  // The assembled `chat.completion` (content, reasoning_content, tool_calls, finish_reason, usage).
  nlohmann::json Completion() const;
  const Usage& usage() const { return usage_; }
  bool saw_finish() const { return !finish_reason_.empty(); }
  int64_t content_chunks() const { return content_chunks_; }

 private:
  std::string id_, model_;
  int64_t created_ = 0;
  std::string content_, reasoning_;
  bool has_content_ = false;
  nlohmann::json tool_calls_ = nlohmann::json::array();
  std::string finish_reason_;
  Usage usage_;
  bool has_usage_ = false;
  int64_t content_chunks_ = 0;
};

}  // namespace hearth::backends
