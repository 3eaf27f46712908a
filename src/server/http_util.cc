#include "server/http_util.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "backends/backend.h"

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

namespace {

int Base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

Result<std::string> SniffBase64MediaType(std::string_view text) {
  if (text.empty()) return InvalidArgumentError("empty base64 data");
  size_t len = text.size();
  size_t pad = 0;
  while (len > 0 && text[len - 1] == '=' && pad < 2) {
    --len;
    ++pad;
  }
  if (pad > 0 && text.size() % 4 != 0) {
    return InvalidArgumentError("invalid base64: padded data whose length is not a multiple of 4");
  }
  if (len % 4 == 1) return InvalidArgumentError("invalid base64: truncated data (length " +
                                                std::to_string(text.size()) + ")");
  std::string head;  // the first decoded bytes, enough for the magic numbers
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < len; ++i) {
    const int v = Base64Value(static_cast<unsigned char>(text[i]));
    if (v < 0) {
      return InvalidArgumentError("invalid base64: character " +
                                  json(std::string(1, text[i])).dump() + " at offset " +
                                  std::to_string(i));
    }
    if (head.size() >= 16) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      head.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  auto starts = [&](std::string_view magic, size_t at = 0) {
    return head.size() >= at + magic.size() && head.compare(at, magic.size(), magic) == 0;
  };
  if (starts("\x89PNG")) return std::string("image/png");
  if (starts("\xFF\xD8\xFF")) return std::string("image/jpeg");
  if (starts("GIF8")) return std::string("image/gif");
  if (starts("RIFF") && starts("WEBP", 8)) return std::string("image/webp");
  if (starts("RIFF") && starts("WAVE", 8)) return std::string("audio/wav");
  if (starts("fLaC")) return std::string("audio/flac");
  if (starts("ID3") || (head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0xFF &&
                        (static_cast<unsigned char>(head[1]) & 0xE0) == 0xE0)) {
    return std::string("audio/mpeg");
  }
  return std::string("application/octet-stream");
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace hearth::server
