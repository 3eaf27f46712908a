#include "backends/http_backend.h"

#include <strings.h>

#include <chrono>
#include <cstring>

#include "backends/openai_shapes.h"
#include "core/clock.h"

namespace hearth::backends {

using nlohmann::json;

namespace {

// Headers the adapter sets itself; a caller's value is dropped, so a client's own credentials or
// cookies are never forwarded to a provider.
bool IsReservedHeader(std::string_view name) {
  static const char* kReserved[] = {"authorization", "x-api-key", "x-goog-api-key", "api-key",
                                    "cookie", "host", "content-type", "content-length", "accept",
                                    "transfer-encoding", "anthropic-version", "proxy-authorization"};
  for (const char* r : kReserved) {
    if (name.size() == std::strlen(r) && strncasecmp(name.data(), r, name.size()) == 0) return true;
  }
  return false;
}

bool WantsUsageChunk(const json& body) {
  auto it = body.find("stream_options");
  return it != body.end() && it->is_object() && it->value("include_usage", false) == true;
}

}  // namespace

HttpBackend::HttpBackend(BackendConfig config, std::string api_key,
                         std::shared_ptr<const HttpClient> client)
    : config_(std::move(config)), api_key_(std::move(api_key)), client_(std::move(client)) {}

std::string HttpBackend::ModelFor(const json& body) const {
  if (!config_.model.empty()) return config_.model;
  auto it = body.find("model");
  return (it != body.end() && it->is_string()) ? it->get<std::string>() : std::string();
}

Result<ChatResult> HttpBackend::Complete(const ChatRequest& request, const ChunkCallback* stream) {
  Result<ChatResult> result = CompleteOnce(request, stream);
  if (!result.ok()) return result.status().WithContext("backend " + config_.name);
  return result;
}

Result<ChatResult> HttpBackend::CompleteOnce(const ChatRequest& request,
                                             const ChunkCallback* stream) {
  auto start = std::chrono::steady_clock::now();
  if (!request.body.is_object()) return InvalidArgumentError("request body is not a JSON object");
  // nlohmann::json throws on type mismatches: caught here and below, where request and reply
  // shapes enter (never inside libcurl's callbacks).
  Result<WireRequest> built = InvalidArgumentError("unset");
  HttpRequest http;
  try {
    built = BuildRequest(request.body, stream != nullptr);
    if (!built.ok()) return built.status();
    http.body = built->body.dump();  // the exact bytes that will leave (throws on bad UTF-8)
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("request has an unexpected shape: ") + e.what());
  }
  WireRequest wire = std::move(built).value();
  http.url = wire.url;
  http.headers = std::move(wire.headers);
  http.headers.emplace_back("Content-Type", "application/json");
  http.headers.emplace_back("Accept", stream ? "text/event-stream" : "application/json");
  for (auto& h : AuthHeaders()) http.headers.push_back(std::move(h));
  for (const auto& [k, v] : request.headers) {
    if (k.find_first_of("\r\n:") != std::string::npos || v.find_first_of("\r\n") != std::string::npos) {
      return InvalidArgumentError("extra header \"" + k + "\" contains a line break or colon");
    }
    if (IsReservedHeader(k)) continue;  // the adapter owns these (and never forwards a caller's key)
    http.headers.emplace_back(k, v);
  }
  if (!api_key_.empty()) http.secrets.push_back(api_key_);
  http.connect_timeout_ms = config_.connect_timeout_ms;
  http.total_timeout_ms = config_.timeout_ms;
  if (request.timeout_ms > 0 && request.timeout_ms < http.total_timeout_ms) {
    http.total_timeout_ms = request.timeout_ms;
  }
  http.cancel = request.cancel;
  EgressContext context{config_.name, request.request_id, request.redacted_entity_types};

  ChatResult out;
  out.backend = config_.name;
  if (stream == nullptr) {
    ASSIGN_OR_RETURN(HttpResponse response, client_->Send(http, context, nullptr));
    if (response.status < 200 || response.status >= 300) return MapHttpError(response);
    json reply = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
    if (reply.is_discarded()) {
      return UnavailableError("malformed JSON in reply (HTTP " + std::to_string(response.status) +
                              ", content type \"" + response.content_type + "\", " +
                              std::to_string(response.body.size()) + " bytes)");
    }
    Result<json> parsed = UnavailableError("unset");
    try {
      parsed = ParseReply(reply);
    } catch (const nlohmann::json::exception& e) {
      return UnavailableError(std::string("reply has an unexpected shape: ") + e.what());
    }
    if (!parsed.ok()) return parsed.status();
    out.response = std::move(parsed).value();
    out.usage = UsageFromOpenAi(out.response.value("usage", json()));
  } else {
    std::string model = ModelFor(request.body);
    std::unique_ptr<StreamTranslator> translator = NewStreamTranslator(model);
    ChunkAssembler assembler;
    SseParser parser;
    Status stream_status;
    bool client_gone = false;
    const bool forward_usage = WantsUsageChunk(request.body);
    StreamTranslator::Emit emit = [&](json chunk) {
      assembler.Add(chunk);
      if (IsUsageOnlyChunk(chunk)) {
        if (!forward_usage) return true;
        chunk["choices"] = json::array();
      } else if (!forward_usage) {
        chunk.erase("usage");
      }
      if (out.ttft_ms < 0 && assembler.content_chunks() > 0) out.ttft_ms = MsSince(start);
      if (!(*stream)(chunk)) {
        client_gone = true;
        return false;
      }
      return true;
    };
    SseParser::OnEvent on_event = [&](const SseEvent& event) {
      try {
        stream_status = translator->OnEvent(event, emit);
      } catch (const nlohmann::json::exception& e) {
        stream_status = UnavailableError(std::string("stream event has an unexpected shape: ") + e.what());
      } catch (const std::exception& e) {  // from the client's chunk callback
        stream_status = InternalError(std::string("stream handling threw: ") + e.what());
      }
      return stream_status.ok();
    };
    http.headers.emplace_back("Cache-Control", "no-cache");
    http.stream_content_type = "text/event-stream";
    BodySink sink = [&](std::string_view bytes) { return parser.Feed(bytes, on_event); };
    // Only an event stream is streamed into the sink; anything else is collected and reported.
    Result<HttpResponse> response = client_->Send(http, context, &sink);
    if (client_gone) return CancelledError("the client stopped reading the stream");
    if (!stream_status.ok()) return stream_status;
    if (!parser.status().ok()) return UnavailableError(parser.status().message());
    if (!response.ok()) {
      if (assembler.content_chunks() > 0 && response.status().code() != StatusCode::kCancelled) {
        return response.status().WithContext("stream broke after " +
                                             std::to_string(assembler.content_chunks()) +
                                             " content chunks");
      }
      return response.status();
    }
    if (response->status < 200 || response->status >= 300) return MapHttpError(*response);
    if (response->content_type != "text/event-stream") {
      return UnavailableError("stream reply has content type \"" + response->content_type +
                              "\", expected text/event-stream");
    }
    if (!parser.Finish(on_event)) {
      if (!stream_status.ok()) return stream_status;
      if (client_gone) return CancelledError("the client stopped reading the stream");
    }
    if (!translator->complete()) {
      return UnavailableError("stream ended before the provider's end marker (cut after " +
                              std::to_string(assembler.content_chunks()) + " content chunks)");
    }
    try {
      TRY(translator->OnEnd(emit));
    } catch (const nlohmann::json::exception& e) {
      return UnavailableError(std::string("stream end has an unexpected shape: ") + e.what());
    }
    if (client_gone) return CancelledError("the client stopped reading the stream");
    out.response = assembler.Completion();
    out.usage = assembler.usage();
  }
  auto model = out.response.find("model");
  if (model != out.response.end() && model->is_string()) out.model = model->get<std::string>();
  out.latency_ms = MsSince(start);
  return out;
}

Status HttpBackend::Health() {
  if (config_.health_path.empty()) return Status::Ok();
  HttpRequest http;
  http.method = "GET";
  http.url = config_.url + config_.health_path;
  http.headers = AuthHeaders();
  if (!api_key_.empty()) http.secrets.push_back(api_key_);
  http.connect_timeout_ms = config_.connect_timeout_ms;
  http.total_timeout_ms = std::min<int64_t>(config_.timeout_ms, 10000);
  ASSIGN_OR_RETURN(HttpResponse response, client_->Send(http, EgressContext{config_.name, "", {}}, nullptr));
  if (response.status < 200 || response.status >= 300) {
    return MapHttpError(response).WithContext("health check of " + config_.name);
  }
  return Status::Ok();
}

std::string ErrorMessageFromBody(const std::string& body) {
  std::string message;
  json parsed = json::parse(body, nullptr, false);
  if (!parsed.is_discarded()) {
    const json* e = &parsed;
    if (e->is_array() && !e->empty()) e = &(*e)[0];  // Gemini streams errors as an array
    if (e->is_object() && e->contains("error")) e = &(*e)["error"];
    if (e->is_string()) message = e->get<std::string>();
    else if (e->is_object() && e->contains("message") && (*e)["message"].is_string()) {
      message = (*e)["message"].get<std::string>();
    }
  }
  if (message.empty()) message = body;
  constexpr size_t kMaxMessage = 500;
  if (message.size() > kMaxMessage) message = message.substr(0, kMaxMessage) + "...";
  return message;
}

Status StatusForHttp(long code, const std::string& message, std::optional<int64_t> retry_after_ms) {
  std::string m = "HTTP " + std::to_string(code) + ": " + message;
  if (code == 429) return RateLimitedError(std::move(m), retry_after_ms);
  if (code == 401 || code == 403) return PermissionDeniedError(std::move(m));
  if (code == 404) return NotFoundError(std::move(m));
  if (code == 408) return DeadlineExceededError(std::move(m));
  if (code >= 500 || code == 409) return UnavailableError(std::move(m));  // 529 overloaded too
  if (code >= 400) return InvalidArgumentError(std::move(m));
  return UnavailableError(std::move(m));  // 1xx/3xx: nothing we can use
}

Status HttpBackend::MapHttpError(const HttpResponse& response) const {
  std::optional<int64_t> retry_after;
  if (auto it = response.headers.find("retry-after"); it != response.headers.end()) {
    retry_after = ParseRetryAfter(it->second);
  }
  std::vector<std::string> secrets;
  if (!api_key_.empty()) secrets.push_back(api_key_);
  if (response.status == 429 && response.body.find("insufficient_quota") != std::string::npos) {
    // OpenAI's "out of credit" 429: waiting does not help, so it is not retryable.
    return FailedPreconditionError("HTTP 429: quota exhausted: " +
                                   RedactSecrets(ErrorMessageFromBody(response.body), secrets));
  }
  return StatusForHttp(response.status,
                       RedactSecrets(ErrorMessageFromBody(response.body), secrets), retry_after);
}

}  // namespace hearth::backends
