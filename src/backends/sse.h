// Splitting a streamed HTTP body into lines and Server-Sent Events, robust to chunk boundaries
// anywhere (inside a line, between "\r" and "\n", inside a UTF-8 sequence).
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace hearth::backends {

// Feeds arbitrary byte chunks; calls `on_line` with each complete line, without its terminator
// ("\n", "\r\n" or "\r"). A line longer than max_line bytes is an error (a hostile or broken peer
// must not exhaust memory).
class LineSplitter {
 public:
  using OnLine = std::function<bool(std::string_view line)>;  // false = stop
  explicit LineSplitter(size_t max_line = 16u << 20) : max_line_(max_line) {}
  // Returns false when on_line asked to stop; status() says why when it was an error.
  bool Feed(std::string_view chunk, const OnLine& on_line);
  // End of input: delivers an unterminated last line, if any.
  bool Finish(const OnLine& on_line);
  const Status& status() const { return status_; }

 private:
  size_t max_line_;
  std::string pending_;
  bool last_was_cr_ = false;
  Status status_;
};

struct SseEvent {
  std::string event;  // "event:" field; "" when absent (the SSE default "message")
  std::string data;   // "data:" lines joined by "\n"
};

// SSE framing per the HTML standard: "field: value" lines, comments start with ':', a blank line
// dispatches the event (only when it has data or an event name).
class SseParser {
 public:
  using OnEvent = std::function<bool(const SseEvent& event)>;  // false = stop
  bool Feed(std::string_view chunk, const OnEvent& on_event);
  // End of input: dispatches a last event that lacked its blank line.
  bool Finish(const OnEvent& on_event);
  const Status& status() const { return lines_.status(); }

 private:
  bool OnLine(std::string_view line, const OnEvent& on_event);
  bool Dispatch(const OnEvent& on_event);

  LineSplitter lines_;
  SseEvent current_;
  bool has_data_ = false;
};

}  // namespace hearth::backends
