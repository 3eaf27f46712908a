// HttpBackend: the part every network adapter shares (sending, streaming, timing, error mapping).
// An adapter supplies its wire format: how to build the provider request from an OpenAI one, how
// to read the provider's reply and stream events back into OpenAI shapes, and where the key goes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "backends/config.h"
#include "backends/http_client.h"
#include "backends/sse.h"

namespace hearth::backends {

// Turns one provider stream into OpenAI chunks.
class StreamTranslator {
 public:
  using Emit = std::function<bool(nlohmann::json chunk)>;  // false = the client has gone
  virtual ~StreamTranslator() = default;
  // Errors: the provider's in-stream error event, malformed JSON (kUnavailable), kCancelled.
  virtual Status OnEvent(const SseEvent& event, const Emit& emit) = 0;
  // The provider's end marker ([DONE], message_stop, a finishReason) has been seen.
  virtual bool complete() const = 0;
  // Called once after a complete stream ended, to emit what only the end knows (usage).
  virtual Status OnEnd(const Emit& emit) { return Status::Ok(); }
};

// Wire-format pieces an adapter provides.
struct WireRequest {
  std::string url;
  nlohmann::json body;
  std::vector<std::pair<std::string, std::string>> headers;  // excluding auth
};

class HttpBackend : public Backend {
 public:
  HttpBackend(BackendConfig config, std::string api_key, std::shared_ptr<const HttpClient> client);

  const std::string& name() const override { return config_.name; }
  Tier tier() const override { return config_.tier; }
  const std::string& model() const override { return config_.model; }
  Result<ChatResult> Complete(const ChatRequest& request, const ChunkCallback* stream) final;
  Status Health() override;

  const BackendConfig& config() const { return config_; }

 protected:
  virtual Result<WireRequest> BuildRequest(const nlohmann::json& openai_body, bool stream) const = 0;
  // Provider reply (parsed JSON, 2xx) -> OpenAI chat.completion.
  virtual Result<nlohmann::json> ParseReply(const nlohmann::json& reply) const = 0;
  virtual std::unique_ptr<StreamTranslator> NewStreamTranslator(const std::string& model) const = 0;
  // Authentication headers carrying api_key_.
  virtual std::vector<std::pair<std::string, std::string>> AuthHeaders() const = 0;
  // A non-2xx reply -> Status (429 carries Retry-After). The default reads the common
  // {"error":{"message"}} / {"error":"..."} / {"message"} shapes.
  virtual Status MapHttpError(const HttpResponse& response) const;

  // The model to send: the configured one, else the request's.
  std::string ModelFor(const nlohmann::json& openai_body) const;

  BackendConfig config_;
  std::string api_key_;

 private:
  Result<ChatResult> CompleteOnce(const ChatRequest& request, const ChunkCallback* stream);
  std::shared_ptr<const HttpClient> client_;
};

// Shared by the adapters' error mapping: the status for an HTTP code with a provider message.
Status StatusForHttp(long http_status, const std::string& message,
                     std::optional<int64_t> retry_after_ms);
// Pulls a human message out of an error body of unknown shape (never longer than 500 bytes).
std::string ErrorMessageFromBody(const std::string& body);

}  // namespace hearth::backends
