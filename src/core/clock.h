// The few time conversions every layer needs: elapsed milliseconds on the steady clock (timings,
// latencies) and the Unix time in seconds (API `created` fields, expiry times).
#pragma once

#include <chrono>
#include <cstdint>

namespace hearth {

inline double MsBetween(std::chrono::steady_clock::time_point a,
                        std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

inline double MsSince(std::chrono::steady_clock::time_point t0) {
  return MsBetween(t0, std::chrono::steady_clock::now());
}

inline int64_t UnixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace hearth
