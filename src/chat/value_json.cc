#include "chat/value_json.h"

#include <exception>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace hearth::chat::internal {
namespace {

// nlohmann SAX consumer that builds a Value tree.
class ValueBuilder {
 public:
  using json = nlohmann::json;

  bool null() { return Add(Value::None()); }
  bool boolean(bool b) { return Add(Value::Bool(b)); }
  bool number_integer(json::number_integer_t v) { return Add(Value::Int(std::to_string(v))); }
  bool number_unsigned(json::number_unsigned_t v) { return Add(Value::Int(std::to_string(v))); }
  bool number_float(json::number_float_t v, const std::string& lexeme) {
    // An integer too large for 64 bits arrives here; Python keeps it as an exact int.
    if (lexeme.find_first_of(".eE") == std::string::npos) return Add(Value::Int(lexeme));
    return Add(Value::Float(v));
  }
  bool string(std::string& s) { return Add(Value::Str(std::move(s))); }
  bool binary(json::binary_t&) { return Fail("binary values are not JSON"); }
  bool start_object(std::size_t) { return Open(/*is_object=*/true); }
  bool key(std::string& k) {
    frames_.back().key = std::move(k);
    return true;
  }
  bool end_object() { return Close(); }
  bool start_array(std::size_t) { return Open(/*is_object=*/false); }
  bool end_array() { return Close(); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    error_ = "invalid JSON at byte " + std::to_string(position) + ": " + ex.what();
    return false;
  }

  const std::string& error() const { return error_; }
  Value TakeResult() { return std::move(result_); }

 private:
  struct Frame {
    bool is_object = false;
    Value::List items;
    Value::Dict fields;
    std::string key;
  };

  bool Fail(std::string message) {
    error_ = std::move(message);
    return false;
  }
  bool Open(bool is_object) {
    if (static_cast<int>(frames_.size()) >= kMaxJsonDepth) {
      return Fail("JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    }
    frames_.push_back(Frame{is_object, {}, {}, {}});
    return true;
  }
  bool Close() {
    Frame frame = std::move(frames_.back());
    frames_.pop_back();
    return Add(frame.is_object ? Value::MakeDict(std::move(frame.fields))
                               : Value::MakeList(std::move(frame.items)));
  }
  bool Add(Value v) {
    if (frames_.empty()) {
      result_ = std::move(v);
      return true;
    }
    Frame& top = frames_.back();
    if (!top.is_object) {
      top.items.push_back(std::move(v));
      return true;
    }
    for (auto& [k, existing] : top.fields) {
      if (k == top.key) {  // Python dict: a repeated key keeps its place, takes the last value
        existing = std::move(v);
        return true;
      }
    }
    top.fields.emplace_back(std::move(top.key), std::move(v));
    return true;
  }

  std::vector<Frame> frames_;
  Value result_;
  std::string error_;
};

}  // namespace

Result<Value> ParseJson(std::string_view text, std::string_view what) {
  ValueBuilder builder;
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(text, &builder);
  } catch (const std::exception& e) {  // the library's exceptions stop here
    return InvalidArgumentError(std::string(what) + ": " + e.what());
  }
  if (!ok) {
    return InvalidArgumentError(std::string(what) + ": " +
                                (builder.error().empty() ? "invalid JSON" : builder.error()));
  }
  return builder.TakeResult();
}

}  // namespace hearth::chat::internal
