#include "backends/sse.h"

namespace hearth::backends {

bool LineSplitter::Feed(std::string_view chunk, const OnLine& on_line) {
  if (!status_.ok()) return false;
  size_t start = 0;
  for (size_t i = 0; i < chunk.size(); ++i) {
    char c = chunk[i];
    if (c == '\n' && last_was_cr_ && i == start && pending_.empty()) {
      // The "\n" of a "\r\n" split across two chunks: already delivered at the "\r".
      last_was_cr_ = false;
      start = i + 1;
      continue;
    }
    last_was_cr_ = false;
    if (c != '\n' && c != '\r') continue;
    std::string_view piece = chunk.substr(start, i - start);
    bool keep_going;
    if (pending_.empty()) {
      keep_going = on_line(piece);
    } else {
      pending_.append(piece);
      std::string line = std::move(pending_);
      pending_.clear();
      keep_going = on_line(line);
    }
    if (c == '\r') {
      if (i + 1 < chunk.size() && chunk[i + 1] == '\n') {
        ++i;
      } else if (i + 1 == chunk.size()) {
        last_was_cr_ = true;
      }
    }
    start = i + 1;
    if (!keep_going) return false;
  }
  if (start < chunk.size()) {
    if (pending_.size() + (chunk.size() - start) > max_line_) {
      status_ = DataLossError("stream line longer than " + std::to_string(max_line_) + " bytes");
      return false;
    }
    pending_.append(chunk.substr(start));
  }
  return true;
}

bool LineSplitter::Finish(const OnLine& on_line) {
  if (!status_.ok()) return false;
  if (pending_.empty()) return true;
  std::string line = std::move(pending_);
  pending_.clear();
  return on_line(line);
}

bool SseParser::Feed(std::string_view chunk, const OnEvent& on_event) {
  return lines_.Feed(chunk, [&](std::string_view line) { return OnLine(line, on_event); });
}

bool SseParser::Finish(const OnEvent& on_event) {
  if (!lines_.Finish([&](std::string_view line) { return OnLine(line, on_event); })) return false;
  return Dispatch(on_event);
}

bool SseParser::OnLine(std::string_view line, const OnEvent& on_event) {
  if (line.empty()) return Dispatch(on_event);
  if (line.front() == ':') return true;  // comment / keep-alive ping
  std::string_view field = line, value;
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) current_.data.push_back('\n');
    current_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    current_.event.assign(value);
  }  // "id", "retry" and unknown fields are ignored.
  return true;
}

bool SseParser::Dispatch(const OnEvent& on_event) {
  if (!has_data_ && current_.event.empty()) return true;
  SseEvent event = std::move(current_);
  current_ = SseEvent();
  has_data_ = false;
  return on_event(event);
}

}  // namespace hearth::backends
