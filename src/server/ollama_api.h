// The Ollama API (/api/chat, /api/generate) in terms of the OpenAI shapes the LocalModel speaks:
// requests are translated to chat-completions (or, for `raw` generate, completions) bodies, and
// the OpenAI responses and chunks back to Ollama's objects. Pure functions and one small stream
// translator; no I/O.
//
// Ollama ignores options it does not know; hearth does not: an unknown or unsupported `options`
// key is a 400 naming it, so a client never believes a setting took effect when it did not.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "server/model_host.h"

namespace hearth::server {

struct OllamaCall {
  enum class Kind { kInfer, kLoad, kUnload };
  Kind kind = Kind::kInfer;
  std::string model;                  // as requested ("" = the default model)
  nlohmann::json openai_body;         // chat-completions body, or completions body when raw
  bool text_completion = false;       // /api/generate with raw: true
  bool chat = true;                   // /api/chat (message objects) vs /api/generate (response)
  bool stream = true;                 // Ollama streams unless told not to
  std::optional<double> keep_alive_s; // < 0 forever
  int64_t num_ctx = 0;                // options.num_ctx when given: must fit the loaded model
  int media_parts = 0;                // images attached
  int64_t acquire_ns = 0;             // time the server spent getting the model (loading it when
                                      // it was not loaded): load_duration is at least this
};

Result<OllamaCall> TranslateOllamaChat(const nlohmann::json& body);
Result<OllamaCall> TranslateOllamaGenerate(const nlohmann::json& body);

// Statistics Ollama reports on the final object, from `usage` / `x_timings` and the server's own
// wall time of the request.
struct OllamaStats {
  int64_t total_ns = 0;
  int64_t load_ns = 0;
  int64_t prompt_eval_count = 0;
  int64_t prompt_eval_ns = 0;
  int64_t eval_count = 0;
  int64_t eval_ns = 0;
};
// Reads usage and x_timings from a chat.completion / text_completion object or a chunk; fields
// absent leave the stats unchanged.
void ReadStats(const nlohmann::json& openai_object, OllamaStats* stats);

// A non-streamed OpenAI response as one Ollama object (done: true).
nlohmann::json OllamaFromResponse(const OllamaCall& call, const nlohmann::json& openai_response,
                                  OllamaStats stats);
// The answer to a load or unload request ({"done": true, "done_reason": "load"|"unload"}).
nlohmann::json OllamaLoadReply(const OllamaCall& call, const std::string& model_name);

// Turns OpenAI chunks into Ollama stream objects. Tool-call arguments, which OpenAI streams in
// fragments, are gathered and emitted whole (Ollama's form) on the final object.
class OllamaStreamTranslator {
 public:
  explicit OllamaStreamTranslator(OllamaCall call) : call_(std::move(call)) {}
  // Objects to send for one chunk (none for a chunk with nothing to show).
  std::vector<nlohmann::json> Feed(const nlohmann::json& chunk);
  // The final object, done: true; `total_ns` is the server's wall time.
  nlohmann::json Finish(int64_t total_ns);

 private:
  nlohmann::json Base() const;
  OllamaCall call_;
  std::string model_;
  std::string finish_reason_;
  OllamaStats stats_;
  nlohmann::json tool_calls_ = nlohmann::json::array();  // OpenAI shape, being assembled
};

// /api/tags, /api/ps entries and the /api/show "details" object.
nlohmann::json OllamaDetails(const ModelInfo& info);
nlohmann::json OllamaTagsEntry(const ModelInfo& info);
nlohmann::json OllamaPsEntry(const ModelInfo& info);

}  // namespace hearth::server
