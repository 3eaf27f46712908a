#include "server/http_util.h"

#include "media/media.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "backends/backend.h"
#include "media/media.h"

namespace hearth::server {

using nlohmann::json;

Result<json> ParseJsonBody(std::string_view body) {
  if (body.empty()) return InvalidArgumentError("request body is empty; expected a JSON object");
  try {
    return json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 5: <why>".
    std::string why = e.what();
    const size_t colon = why.find(": ");
    if (colon != std::string::npos) why = why.substr(colon + 2);
    return InvalidArgumentError("request body is not valid JSON at byte " + std::to_string(e.byte) +
                                ": " + why);
  }
}

HttpError MapError(const Status& status, std::string_view param) {
  HttpError e;
  e.body = backends::OpenAiErrorJson(status);
  if (!param.empty()) e.body["error"]["param"] = std::string(param);
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kUnimplemented:
    case StatusCode::kDataLoss:
      e.http_status = 400;
      e.body["error"]["type"] = "invalid_request_error";
      break;
    case StatusCode::kNotFound: e.http_status = 404; break;
    case StatusCode::kPermissionDenied: e.http_status = 403; break;
    case StatusCode::kResourceExhausted: {
      e.http_status = 429;
      if (std::optional<int64_t> ms = backends::RetryAfterMs(status)) {
        e.retry_after_s = static_cast<int>((*ms + 999) / 1000);
      }
      break;
    }
    case StatusCode::kUnavailable:
      e.http_status = 503;
      e.body["error"]["type"] = "unavailable_error";
      if (status.message().rfind("queue full", 0) == 0) e.retry_after_s = 1;
      break;
    case StatusCode::kFailedPrecondition:
      e.http_status = 503;
      e.body["error"]["type"] = "unavailable_error";
      break;
    case StatusCode::kDeadlineExceeded: e.http_status = 504; break;
    case StatusCode::kCancelled: e.http_status = 499; break;
    default: e.http_status = 500; break;
  }
  return e;
}

HttpError AuthError(std::string message) {
  HttpError e;
  e.http_status = 401;
  e.body = {{"error",
             {{"message", std::move(message)},
              {"type", "authentication_error"},
              {"param", nullptr},
              {"code", "invalid_api_key"}}}};
  return e;
}

Status AcquireError(const Status& status) {
  if (status.code() != StatusCode::kResourceExhausted) return status;
  return Status(StatusCode::kFailedPrecondition, status.message());
}

json OllamaErrorJson(const Status& status) { return {{"error", status.message()}}; }

std::string Rfc3339Nanos(int64_t unix_ns) {
  const std::time_t s = static_cast<std::time_t>(unix_ns / 1000000000);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(unix_ns % 1000000000));
  return buf;
}

std::string Rfc3339Seconds(int64_t unix_s) {
  const std::time_t s = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

int64_t UnixNanosNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

// Go's time.ParseDuration: [-+]? ( number unit )+, units ns us µs ms s m h; "0" alone is allowed.
Result<double> ParseGoDuration(std::string_view s) {
  const std::string original(s);
  auto bad = [&] {
    return InvalidArgumentError("keep_alive \"" + original +
                                "\" is not a duration (examples: \"5m\", \"1h30m\", \"30s\", "
                                "\"0\", \"-1\", or a number of seconds)");
  };
  double sign = 1;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    if (s[0] == '-') sign = -1;
    s.remove_prefix(1);
  }
  if (s.empty()) return bad();
  // A bare number (Ollama clients send "300" and "-1" too): seconds.
  char* end = nullptr;
  const std::string whole(s);
  const double bare = std::strtod(whole.c_str(), &end);
  if (end == whole.c_str() + whole.size() && std::isfinite(bare)) return sign * bare;
  double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    if (i == 0) return bad();
    const std::string num(s.substr(0, i));
    char* e = nullptr;
    const double v = std::strtod(num.c_str(), &e);
    if (e != num.c_str() + num.size()) return bad();
    s.remove_prefix(i);
    size_t j = 0;
    while (j < s.size() && !std::isdigit(static_cast<unsigned char>(s[j])) && s[j] != '.') ++j;
    const std::string_view unit = s.substr(0, j);
    s.remove_prefix(j);
    double scale = 0;
    if (unit == "ns") scale = 1e-9;
    else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") scale = 1e-6;
    else if (unit == "ms") scale = 1e-3;
    else if (unit == "s") scale = 1;
    else if (unit == "m") scale = 60;
    else if (unit == "h") scale = 3600;
    else return bad();
    total += v * scale;
  }
  return sign * total;
}

}  // namespace

Result<double> ParseKeepAlive(const json& value) {
  double seconds = 0;
  if (value.is_number()) {
    seconds = value.get<double>();
  } else if (value.is_string()) {
    ASSIGN_OR_RETURN(seconds, ParseGoDuration(value.get<std::string>()));
  } else {
    return InvalidArgumentError("keep_alive must be a number of seconds or a duration string, not " +
                                std::string(value.type_name()));
  }
  if (!std::isfinite(seconds)) return InvalidArgumentError("keep_alive is not a finite duration");
  return seconds < 0 ? -1.0 : seconds;
}

Result<std::string> SniffBase64MediaType(std::string_view text) {
  if (text.empty()) return InvalidArgumentError("empty base64 data");
  Result<std::vector<uint8_t>> bytes = media::DecodeBase64(text);
  if (!bytes.ok()) return bytes.status();
  const std::string format(media::SniffFormat(*bytes));
  switch (media::Sniff(*bytes)) {
    case media::Kind::kImage: return "image/" + format;
    case media::Kind::kAudio: return std::string(format == "mp3" ? "audio/mpeg" : "audio/" + format);
    case media::Kind::kVideo: return "video/" + format;
    case media::Kind::kUnknown: break;
  }
  return std::string("application/octet-stream");
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hearth::server
