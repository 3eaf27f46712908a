#include "server/tool_calls.h"

#include <cctype>
#include <cstdlib>

namespace hearth::server {

namespace {

constexpr std::string_view kQuote = "<|\"|>";
constexpr std::string_view kOpen = "<|tool_call>";
constexpr std::string_view kClose = "<tool_call|>";

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  ::hearth::Result<nlohmann::json> Value() {
    SkipBlank();
    if (Starts(kQuote)) {
      pos_ += kQuote.size();
      const size_t end = s_.find(kQuote, pos_);
      if (end == std::string_view::npos) return Error("unterminated string");
      std::string v(s_.substr(pos_, end - pos_));
      pos_ = end + kQuote.size();
      return nlohmann::json(v);
    }
    if (pos_ >= s_.size()) return Error("a value is missing");
    const char c = s_[pos_];
    if (c == '{') return Object();
    if (c == '[') return Array();
    // A bare word: true, false, null/None, or a number.
    const size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != '}' && s_[pos_] != ']') ++pos_;
    std::string word(s_.substr(start, pos_ - start));
    while (!word.empty() && std::isspace(static_cast<unsigned char>(word.back()))) word.pop_back();
    if (word == "true") return nlohmann::json(true);
    if (word == "false") return nlohmann::json(false);
    if (word == "null" || word == "None") return nlohmann::json(nullptr);
    nlohmann::json num = nlohmann::json::parse(word, nullptr, false);
    if (!num.is_discarded() && num.is_number()) return num;
    return Error("'" + word + "' is not a value", start);
  }

  ::hearth::Result<nlohmann::json> Object() {
    ++pos_;  // '{'
    nlohmann::json obj = nlohmann::json::object();
    SkipBlank();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return obj;
    }
    for (;;) {
      SkipBlank();
      std::string key;
      if (Starts(kQuote)) {
        pos_ += kQuote.size();
        const size_t end = s_.find(kQuote, pos_);
        if (end == std::string_view::npos) return Error("unterminated key");
        key = std::string(s_.substr(pos_, end - pos_));
        pos_ = end + kQuote.size();
      } else {
        const size_t start = pos_;
        while (pos_ < s_.size() && s_[pos_] != ':' && s_[pos_] != '}' && s_[pos_] != ',') ++pos_;
        key = std::string(s_.substr(start, pos_ - start));
        if (key.empty()) return Error("a key is missing");
      }
      SkipBlank();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Error("':' expected after key '" + key + "'");
      ++pos_;
      ASSIGN_OR_RETURN(obj[key], Value());
      SkipBlank();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return obj;
      }
      return Error("',' or '}' expected");
    }
  }

  ::hearth::Result<nlohmann::json> Array() {
    ++pos_;  // '['
    nlohmann::json arr = nlohmann::json::array();
    SkipBlank();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return arr;
    }
    for (;;) {
      ASSIGN_OR_RETURN(nlohmann::json v, Value());
      arr.push_back(std::move(v));
      SkipBlank();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return arr;
      }
      return Error("',' or ']' expected");
    }
  }

  bool AtEnd() {
    SkipBlank();
    return pos_ == s_.size();
  }
  size_t pos() const { return pos_; }

 private:
  bool Starts(std::string_view t) const { return s_.substr(pos_, t.size()) == t; }
  void SkipBlank() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  Status Error(const std::string& what, size_t at = std::string::npos) const {
    return InvalidArgumentError("tool call: " + what + " at offset " +
                                std::to_string(at == std::string::npos ? pos_ : at));
  }
  std::string_view s_;
  size_t pos_ = 0;
};

size_t PartialSuffix(const std::string& s, std::string_view marker) {
  for (size_t len = std::min(s.size(), marker.size() - 1); len > 0; --len)
    if (s.compare(s.size() - len, len, marker.data(), len) == 0) return len;
  return 0;
}

}  // namespace

Result<ParsedToolCall> ParseToolCall(std::string_view text) {
  if (text.substr(0, 5) != "call:") return InvalidArgumentError("tool call: missing 'call:'");
  const size_t brace = text.find('{', 5);
  if (brace == std::string_view::npos) return InvalidArgumentError("tool call: missing arguments");
  ParsedToolCall call;
  call.name = std::string(text.substr(5, brace - 5));
  while (!call.name.empty() && std::isspace(static_cast<unsigned char>(call.name.back())))
    call.name.pop_back();
  if (call.name.empty()) return InvalidArgumentError("tool call: missing function name");
  Parser p(text.substr(brace));
  ASSIGN_OR_RETURN(call.arguments, p.Object());
  if (!p.AtEnd()) return InvalidArgumentError("tool call: text after the arguments");
  return call;
}

std::string ToolCallFilter::Push(const std::string& text) {
  held_ += text;
  if (in_calls_) return "";
  const size_t at = held_.find(kOpen);
  if (at != std::string::npos) {
    in_calls_ = true;
    std::string show = held_.substr(0, at);
    held_.erase(0, at);
    return show;
  }
  const size_t hold = PartialSuffix(held_, kOpen);
  std::string show = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return show;
}

ToolCallFilter::Result ToolCallFilter::Finish() {
  Result r;
  size_t pos = 0;
  while (pos < held_.size()) {
    const size_t open = held_.find(kOpen, pos);
    if (open == std::string::npos) {
      r.rest += held_.substr(pos);
      break;
    }
    r.rest += held_.substr(pos, open - pos);
    const size_t body = open + kOpen.size();
    const size_t close = held_.find(kClose, body);
    if (close == std::string::npos) {  // cut off: the body is all there is
      r.calls.push_back(held_.substr(body));
      break;
    }
    r.calls.push_back(held_.substr(body, close - body));
    pos = close + kClose.size();
  }
  held_.clear();
  return r;
}

}  // namespace hearth::server
