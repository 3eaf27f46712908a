// Small pieces the HTTP layer shares: reading a JSON body (errors name the byte offset), mapping a
// Status to an HTTP status and an OpenAI-shaped error body, times in the formats the APIs use, and
// the base64 / duration parsing the Ollama API needs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace hearth::server {

// Parses a request body. Not JSON: kInvalidArgument "request body is not valid JSON at byte N: ...".
Result<nlohmann::json> ParseJsonBody(std::string_view body);

// What a failed request answers.
struct HttpError {
  int http_status = 500;
  nlohmann::json body;             // {"error":{"message","type","param","code"}}
  std::optional<int> retry_after_s;
};

// Status -> HTTP, one table for every endpoint:
//   InvalidArgument, OutOfRange, Unimplemented, DataLoss  400
//   NotFound 404   PermissionDenied 403   ResourceExhausted 429 (a rate limit or spent budget;
//   Retry-After when the provider gave one)   Unavailable 503 ("queue full..." adds Retry-After: 1)
//   FailedPrecondition 503 (a model that does not fit in memory, see AcquireError)
//   DeadlineExceeded 504   Cancelled 499 (the client went away; nobody reads it)   others 500
// `param` fills error.param when the failing field is known.
HttpError MapError(const Status& status, std::string_view param = {});
// A 401 with the OpenAI authentication_error shape.
HttpError AuthError(std::string message);

// ModelHost::Acquire reports "does not fit in memory" as kResourceExhausted; a client must not
// read that as a rate limit (429, retry soon), so it becomes kFailedPrecondition -> 503 with the
// memory plan in the message.
Status AcquireError(const Status& status);

// Ollama error bodies are {"error":"message"}.
nlohmann::json OllamaErrorJson(const Status& status);

// "2026-11-25T16:48:05.123456789Z" (Ollama created_at / modified_at / expires_at).
std::string Rfc3339Nanos(int64_t unix_ns);
std::string Rfc3339Seconds(int64_t unix_s);
int64_t UnixNanosNow();

// Ollama keep_alive: a number of seconds, or a Go duration string ("5m", "1h30m", "250ms", "0",
// "-1m"); a bare number in a string is seconds. Negative means forever (returned as -1).
Result<double> ParseKeepAlive(const nlohmann::json& value);

// Decodes `text` as standard base64 (media::DecodeBase64: padding optional) and returns the media
// type src/media sniffs from the magic number ("image/png", "image/jpeg", "audio/wav",
// "audio/mpeg", "audio/flac", "audio/ogg", "video/mp4", ...), or "application/octet-stream".
// Errors say what is wrong and where.
Result<std::string> SniffBase64MediaType(std::string_view text);

// JSON dump that never throws on invalid UTF-8 (replaced with U+FFFD).
std::string Dump(const nlohmann::json& value);

}  // namespace hearth::server
