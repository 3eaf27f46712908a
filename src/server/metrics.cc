#include "server/metrics.h"

#include <cmath>
#include <cstdio>

namespace hearth::server {

namespace {

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

std::string LabelValue(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void AppendHeader(std::string_view name, std::string_view type, std::string_view help,
                  std::string* out) {
  *out += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
  *out += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
}

void AppendSample(std::string_view name, std::string_view labels, double value, std::string* out) {
  *out += std::string(name);
  if (!labels.empty()) *out += "{" + std::string(labels) + "}";
  *out += " " + Number(value) + "\n";
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double value) {
  size_t i = 0;
  while (i < bounds_.size() && value > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::Render(std::string_view name, std::string_view help, std::string* out) const {
  AppendHeader(name, "histogram", help, out);
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    AppendSample(bucket, "le=\"" + Number(bounds_[i]) + "\"", static_cast<double>(cumulative), out);
  }
  AppendSample(bucket, "le=\"+Inf\"", static_cast<double>(count_), out);
  AppendSample(std::string(name) + "_sum", "", sum_, out);
  AppendSample(std::string(name) + "_count", "", static_cast<double>(count_), out);
}

Metrics::Metrics()
    : ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}),
      tpot_({0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 1}),
      duration_({0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}) {}

void Metrics::CountRequest(std::string_view endpoint, int http_status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{std::string(endpoint), http_status}];
}

void Metrics::AddTokens(int64_t prompt, int64_t completion) {
  std::lock_guard<std::mutex> lock(mu_);
  prompt_tokens_ += static_cast<uint64_t>(std::max<int64_t>(prompt, 0));
  completion_tokens_ += static_cast<uint64_t>(std::max<int64_t>(completion, 0));
}

void Metrics::ObserveTimeToFirstToken(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ttft_.Observe(seconds);
}

void Metrics::ObserveTimePerOutputToken(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  tpot_.Observe(seconds);
}

void Metrics::ObserveRequestDuration(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  duration_.Observe(seconds);
}

std::string Metrics::Render() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out;
  AppendHeader("hearth_requests_total", "counter", "HTTP requests by endpoint and status code.",
               &out);
  for (const auto& [key, n] : requests_) {
    AppendSample("hearth_requests_total",
                 "endpoint=\"" + LabelValue(key.first) + "\",code=\"" + std::to_string(key.second) +
                     "\"",
                 static_cast<double>(n), &out);
  }
  AppendHeader("hearth_prompt_tokens_total", "counter", "Prompt tokens processed.", &out);
  AppendSample("hearth_prompt_tokens_total", "", static_cast<double>(prompt_tokens_), &out);
  AppendHeader("hearth_completion_tokens_total", "counter", "Tokens generated.", &out);
  AppendSample("hearth_completion_tokens_total", "", static_cast<double>(completion_tokens_), &out);
  ttft_.Render("hearth_time_to_first_token_seconds",
               "Time from the request's arrival to its first generated token.", &out);
  tpot_.Render("hearth_time_per_output_token_seconds",
               "Decode time per generated token after the first.", &out);
  duration_.Render("hearth_request_duration_seconds", "Whole inference request time.", &out);
  return out;
}

}  // namespace hearth::server
