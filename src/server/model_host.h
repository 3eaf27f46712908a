// What the HTTP layer needs from the local models it serves.
//
// The server never touches the engine directly: it asks a ModelHost for a LocalModel by the
// request's `model` name (loading it on demand, unloading it after its keep-alive), and a
// LocalModel is a backends::Backend (OpenAI chat-completions in, `chat.completion` out, chunks to a
// callback) plus the raw-prompt completion and the facts the Ollama API reports. The same object
// is what the router's pool sees as the `device` backend.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "core/status.h"

namespace hearth::server {

// One model the host can serve (loaded or not).
struct ModelInfo {
  std::string name;            // the id clients send as `model` (file name without .gguf)
  std::string path;            // the GGUF path
  int64_t size_bytes = 0;      // bytes of the GGUF file(s)
  int64_t modified_unix = 0;   // file modification time, seconds
  std::string family;          // "gemma3", "gemma4"
  std::string parameter_size;  // "12.3B", "1.0B"
  std::string quantization;    // "Q4_0", "Q4_K_M", "F16", ... (the dominant type)
  std::string digest;          // hex SHA-256 of the first MiB + the size (stable id, cheap)
  int64_t n_ctx_train = 0;     // the model's training context
  bool vision = false;         // an mmproj with an image projector is attached
  bool audio = false;          // an mmproj with an audio projector is attached
  // Only for loaded models:
  bool loaded = false;
  int64_t n_ctx = 0;           // the context each sequence gets
  int64_t resident_bytes = 0;  // weights mapped + KV + buffers
  int64_t expires_unix = 0;    // when the keep-alive unloads it (0: never)
  double load_ms = 0;          // how long loading took
};

// Timings and counts of one local request, reported under `x_timings` in every response the
// LocalModel returns (the last chunk when streaming), so the Ollama shapes can give durations.
//   {"prompt_tokens", "cached_tokens", "completion_tokens", "queue_ms", "prompt_ms",
//    "decode_ms", "load_ms"}

// A loaded model, shared by every request that uses it (thread-safe).
//
// Complete(): `request.body` is an OpenAI chat-completions body. Every field is validated; an
// unsupported or ill-typed field is kInvalidArgument naming it (`param` in the error). A prompt
// that does not fit the context is kInvalidArgument naming both numbers. When the queue of waiting
// requests is full: kUnavailable with a message starting "queue full" (the server answers 503 with
// Retry-After). The response is a `chat.completion` with `usage` including
// `prompt_tokens_details.cached_tokens`, plus `x_timings`.
//
// CompleteText(): `request.body` is an OpenAI (legacy) completions body (`prompt` string, no chat
// template applied). The response is a `text_completion` object; chunks are `text_completion`
// chunk objects (`choices[0].text`). Same errors.
class LocalModel : public backends::Backend {
 public:
  virtual Result<backends::ChatResult> CompleteText(const backends::ChatRequest& request,
                                                    const backends::ChunkCallback* stream) = 0;
  virtual ModelInfo info() const = 0;
  // Ollama /api/show: {"template": <chat template text>, "parameters": <text>,
  //  "model_info": {GGUF general.* and <arch>.* scalar keys}, "details": {...},
  //  "capabilities": ["completion", "vision", "audio"]}
  virtual nlohmann::json Show() const = 0;
  // Tokens the chat body's prompt takes after templating (router feature; -1 when it cannot be
  // rendered).
  virtual int64_t CountPromptTokens(const nlohmann::json& chat_body) const = 0;
  // Active sequences, waiting requests, KV cells in use / total (metrics).
  struct Load {
    int active = 0;
    int queued = 0;
    int parallel = 0;
    int64_t kv_used = 0;
    int64_t kv_total = 0;
  };
  virtual Load load() const = 0;
};

class ModelHost {
 public:
  virtual ~ModelHost() = default;
  // Every model in the models directory (and the one given with -m), loaded or not.
  virtual std::vector<ModelInfo> List() const = 0;
  // The loaded ones (Ollama /api/ps).
  virtual std::vector<ModelInfo> Running() const = 0;
  // The model named `name` ("" = the default model), loading it when needed. `keep_alive_s`, when
  // given, sets how long it stays loaded after this use (< 0: forever, 0: unload when idle now).
  // kNotFound for an unknown name (message lists what exists); kResourceExhausted when it would
  // not fit in memory (message carries the memory plan); kUnavailable while the server is
  // shutting down.
  virtual Result<std::shared_ptr<LocalModel>> Acquire(const std::string& name,
                                                      std::optional<double> keep_alive_s) = 0;
  // Unloads `name` once its in-flight requests finish (Ollama keep_alive: 0). kNotFound if unknown.
  virtual Status Unload(const std::string& name) = 0;
  // False until the default model (if any) is loaded: /health answers 503 until then.
  virtual bool Ready() const = 0;
  // The name of the default model ("" when the server has only a models directory).
  virtual std::string DefaultModel() const = 0;
};

}  // namespace hearth::server
