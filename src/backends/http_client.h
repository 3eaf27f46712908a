// HTTP over libcurl for network backends: one POST (or GET) with connect and total timeouts,
// optional streaming of the response body, cancellation, TLS through libcurl's defaults (peer and
// host verification on).
//
// Egress: the exact body bytes are hashed and reported to the EgressObserver once the connection
// is up and just before libcurl reads the first body byte to send. If the observer fails, the
// transfer is aborted and nothing of the body leaves. A connection that never opens (refused,
// unresolvable, offline namespace) reports nothing, because nothing left.
//
// Headers may hold API keys: they are never logged, and every error message built here passes
// through RedactSecrets() with the request's secret values.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "core/status.h"

namespace hearth::backends {

struct HttpRequest {
  std::string method = "POST";  // "POST" or "GET"
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::string> secrets;  // header values to scrub from any message (API keys)
  std::string body;
  // With a sink: only a 2xx reply of this content type (lower case, no parameters) streams into
  // it; any other reply is collected into HttpResponse::body. Empty = any type streams.
  std::string stream_content_type;
  int64_t connect_timeout_ms = 5000;
  int64_t total_timeout_ms = 60000;
  const std::atomic<bool>* cancel = nullptr;
};

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; last value wins
  std::string content_type;                    // lower-case, without parameters
  std::string body;  // the whole body, except a streamed 2xx body (given to the sink instead)
};

// Receives a 2xx body as it arrives. Returns false to abort (the call returns kCancelled).
using BodySink = std::function<bool(std::string_view bytes)>;

// Who is sending, for the EgressRecord.
struct EgressContext {
  std::string backend;
  std::string request_id;
  std::vector<std::string> redacted_entity_types;
};

// Process-wide count of sockets libcurl asked us to open, by destination. Tests use it to prove
// that offline mode opens nothing and that loopback traffic stays on loopback.
struct SocketCounts {
  int64_t loopback = 0;
  int64_t non_loopback = 0;
};
SocketCounts GetSocketCounts();

class HttpClient {
 public:
  explicit HttpClient(EgressObserver egress);

  // Sends `request`. With a sink, a 2xx body streams into it; a non-2xx body is always collected
  // into the response (for error mapping). Transport failures map to kUnavailable (refused,
  // reset, TLS, DNS), kDeadlineExceeded (timeouts), kCancelled; an observer failure is returned
  // as is.
  Result<HttpResponse> Send(const HttpRequest& request, const EgressContext& context,
                            const BodySink* sink) const;

 private:
  EgressObserver egress_;
};

// Replaces every occurrence of each secret (length >= 4) with "[REDACTED]".
std::string RedactSecrets(std::string_view text, const std::vector<std::string>& secrets);

// One line describing a request for logs, without content or secrets:
//   POST api.openai.com /v1/chat/completions headers[Authorization=<redacted>, Accept=...]
//   body 1234 bytes sha256 ab12...
// Header values of credential headers are replaced; the body is summarised by size and hash.
std::string DescribeForLog(const HttpRequest& request);

// "https://api.openai.com:443/v1/x?y" -> "api.openai.com".
std::string UrlHost(std::string_view url);

// Seconds or HTTP-date in a Retry-After header, as milliseconds; nullopt when unparseable.
std::optional<int64_t> ParseRetryAfter(std::string_view value);

}  // namespace hearth::backends
