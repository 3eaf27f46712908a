// Tier names, retry classification and the OpenAI error shape shared by every adapter.
#include "backends/backend.h"

#include <charconv>

namespace hearth::backends {
namespace {
constexpr std::string_view kRetryAfterTag = " [retry_after_ms=";
}  // namespace

std::string_view TierName(Tier tier) {
  switch (tier) {
    case Tier::kDevice: return "device";
    case Tier::kPrivate: return "private";
    case Tier::kCloud: return "cloud";
  }
  return "?";
}

Result<Tier> ParseTier(std::string_view name) {
  if (name == "device") return Tier::kDevice;
  if (name == "private") return Tier::kPrivate;
  if (name == "cloud") return Tier::kCloud;
  return InvalidArgumentError("unknown tier \"" + std::string(name) +
                              "\" (expected device, private or cloud)");
}

bool IsRetryable(const Status& status) {
  switch (status.code()) {
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
    case StatusCode::kResourceExhausted:
      return true;
    default:
      return false;
  }
}

Status RateLimitedError(std::string message, std::optional<int64_t> retry_after_ms) {
  if (retry_after_ms) message += std::string(kRetryAfterTag) + std::to_string(*retry_after_ms) + "]";
  return ResourceExhaustedError(std::move(message));
}

std::optional<int64_t> RetryAfterMs(const Status& status) {
  if (status.code() != StatusCode::kResourceExhausted) return std::nullopt;
  const std::string& m = status.message();
  size_t at = m.rfind(kRetryAfterTag);
  if (at == std::string::npos) return std::nullopt;
  const char* begin = m.data() + at + kRetryAfterTag.size();
  const char* end = m.data() + m.size();
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr == end || *ptr != ']' || value < 0) return std::nullopt;
  return value;
}

nlohmann::json OpenAiErrorJson(const Status& status) {
  std::string type = "api_error";
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kUnimplemented:
      type = "invalid_request_error";
      break;
    case StatusCode::kNotFound: type = "not_found_error"; break;
    case StatusCode::kPermissionDenied: type = "permission_error"; break;
    case StatusCode::kResourceExhausted: type = "rate_limit_error"; break;
    case StatusCode::kDeadlineExceeded: type = "timeout_error"; break;
    case StatusCode::kCancelled: type = "cancelled"; break;
    default: break;
  }
  // Validation errors about one field start with its name in quotes: "'temperature': must be...".
  nlohmann::json param = nullptr;
  const std::string& m = status.message();
  if (type == "invalid_request_error" && m.size() > 2 && m[0] == '\'') {
    const size_t end = m.find("': ", 1);
    if (end != std::string::npos && end > 1 && end < 200) param = m.substr(1, end - 1);
  }
  nlohmann::json error = {{"message", status.message()},
                          {"type", type},
                          {"param", param},
                          {"code", std::string(StatusCodeName(status.code()))}};
  return {{"error", error}};
}

}  // namespace hearth::backends
