// Server metrics in the Prometheus text exposition format (version 0.0.4): request counts by
// endpoint and status, tokens in and out, latency histograms (time to first token, time per
// output token, whole request). Gauges that belong to other objects (models, router) are appended
// by the caller at render time. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void Observe(double value);
  // `# TYPE` line plus buckets, _sum and _count.
  void Render(std::string_view name, std::string_view help, std::string* out) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // one per bound, plus +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  Metrics();
  void CountRequest(std::string_view endpoint, int http_status);
  void AddTokens(int64_t prompt, int64_t completion);
  void ObserveTimeToFirstToken(double seconds);
  void ObserveTimePerOutputToken(double seconds);
  void ObserveRequestDuration(double seconds);
  // Everything this object holds, as Prometheus text.
  std::string Render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  uint64_t prompt_tokens_ = 0;
  uint64_t completion_tokens_ = 0;
  Histogram ttft_;
  Histogram tpot_;
  Histogram duration_;
};

// Helpers for the gauges the caller appends.
void AppendHeader(std::string_view name, std::string_view type, std::string_view help,
                  std::string* out);
void AppendSample(std::string_view name, std::string_view labels, double value, std::string* out);
// A label value with \, " and newline escaped.
std::string LabelValue(std::string_view value);

}  // namespace hearth::server
