// Backend: one place a chat request can run (the in-process engine, a private OpenAI-compatible
// endpoint, or a cloud API), seen through the OpenAI Chat Completions shapes.
//
// The router talks to every backend the same way: an OpenAI chat-completions request body goes in,
// an OpenAI `chat.completion` object comes out (and, when streaming, OpenAI `chat.completion.chunk`
// objects are handed to a callback as they arrive). Adapters translate to and from each provider's
// wire format. Every network send reports the exact bytes it puts on the wire to an EgressObserver
// *before* they leave; if the observer returns an error the send is aborted (fail closed), so the
// audit log can never miss an egress.
//
// Errors returned by Complete():
//   kUnavailable        unreachable, 5xx, malformed or cut reply (retryable)
//   kDeadlineExceeded   connect or total timeout (retryable)
//   kResourceExhausted  429 from the provider; RetryAfterMs() gives its Retry-After (retryable)
//   kInvalidArgument    400/413/422, or a request this adapter cannot translate (not retryable)
//   kPermissionDenied   401/403 (not retryable)        kNotFound  404 (not retryable)
//   kCancelled          the chunk callback returned false or the cancel flag was raised
//   kFailedPrecondition offline mode, missing API key
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace hearth::backends {

// Where a backend runs, from most to least private.
enum class Tier { kDevice, kPrivate, kCloud };
std::string_view TierName(Tier tier);  // "device", "private", "cloud"
Result<Tier> ParseTier(std::string_view name);

struct ChatRequest {
  nlohmann::json body;  // an OpenAI chat-completions request (model, messages, stream, ...)
  // Extra HTTP headers to send (never the API key: adapters add that from the environment).
  std::map<std::string, std::string> headers;
  // What the router redacted before this request; copied into every EgressRecord. Types only.
  std::vector<std::string> redacted_entity_types;
  std::string request_id;                        // for logs and the audit log; may be empty
  int64_t timeout_ms = 0;                        // total deadline; 0 = the backend's configured one
  const std::atomic<bool>* cancel = nullptr;     // raised by the caller to abort; may be null
};

struct Usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

struct ChatResult {
  // An OpenAI `chat.completion` object. When streaming, the answer assembled from the chunks.
  nlohmann::json response;
  Usage usage;
  std::string backend;      // the backend's configured name
  std::string model;        // the model that answered (as the provider named it)
  double latency_ms = 0;    // wall time of the whole call, including retries when from a Pool
  double ttft_ms = -1;      // time to first content chunk when streaming; -1 when not streamed
  int attempts = 1;         // how many sends it took (Pool retries)
};

// Receives each OpenAI `chat.completion.chunk` object (never the `[DONE]` marker: the caller's
// server writes that). Returns false when the client has gone: the backend then aborts the call
// and returns kCancelled. The first chunk carries `delta.role = "assistant"`; the last content
// chunk carries `finish_reason`; when the request asked for `stream_options.include_usage`, one
// final chunk with `choices: []` and `usage` follows.
using ChunkCallback = std::function<bool(const nlohmann::json& openai_chunk)>;

// One network send, reported before the bytes leave.
struct EgressRecord {
  std::string backend;                              // configured backend name
  std::string url;                                  // full URL (never carries a key)
  std::string host;                                 // host part of url
  std::string sha256_hex;                           // SHA-256 of the exact body bytes sent
  std::vector<std::string> redacted_entity_types;   // copied from ChatRequest
  int64_t bytes = 0;                                // body size
  std::string request_id;
};
// Returning a non-OK status aborts the send (nothing leaves) and Complete() fails with it.
using EgressObserver = std::function<Status(const EgressRecord&)>;

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const std::string& name() const = 0;
  virtual Tier tier() const = 0;
  // The model this backend sends (its configured model, or "" to pass the request's through).
  virtual const std::string& model() const = 0;
  // Runs one request. `stream` null = non-streaming. Thread-safe: may run concurrently.
  virtual Result<ChatResult> Complete(const ChatRequest& request, const ChunkCallback* stream) = 0;
  // Cheap liveness probe. Network backends with a health path GET it; others return OK.
  virtual Status Health() = 0;
};

// True for the codes a Pool retries (on the same or another backend).
bool IsRetryable(const Status& status);
// The provider's Retry-After, when `status` came from a 429 that carried one.
std::optional<int64_t> RetryAfterMs(const Status& status);
// Builds the ResourceExhausted status for a 429 so that RetryAfterMs() can read it back.
Status RateLimitedError(std::string message, std::optional<int64_t> retry_after_ms);

// OpenAI-shaped error body: {"error":{"message","type","param","code"}}. `param` is the field an
// invalid-argument message names first in quotes ("'temperature': must be ..."), else null.
// type: invalid_request_error, authentication_error, permission_error, not_found_error,
// rate_limit_error, timeout_error, api_error, cancelled.
nlohmann::json OpenAiErrorJson(const Status& status);

}  // namespace hearth::backends
