#include "chat/template_input.h"

#include <string>
#include <string_view>

#include "chat/value_json.h"

namespace hearth::chat::internal {
namespace {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    char32_t min = 0;
    char32_t cp = 0;
    if (b < 0x80) {
      ++i;
      continue;
    } else if ((b >> 5) == 0x6) {
      n = 2, min = 0x80, cp = b & 0x1F;
    } else if ((b >> 4) == 0xE) {
      n = 3, min = 0x800, cp = b & 0x0F;
    } else if ((b >> 3) == 0x1E) {
      n = 4, min = 0x10000, cp = b & 0x07;
    } else {
      return false;
    }
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

Status CheckText(std::string_view text, size_t message, std::string_view field) {
  if (IsValidUtf8(text)) return Status::Ok();
  return InvalidArgumentError("message " + std::to_string(message) + ": " + std::string(field) +
                              " is not valid UTF-8");
}

Value Text(std::string s) { return Value::Str(std::move(s)); }

Result<Value> ContentValue(const Message& m, size_t index) {
  switch (m.content_form) {
    case ContentForm::kString:
      TRY(CheckText(m.text, index, "content"));
      return Text(m.text);
    case ContentForm::kNull:
      return Value::None();
    case ContentForm::kParts:
      break;
  }
  Value::List parts;
  for (const Part& part : m.parts) {
    switch (part.kind) {
      case Part::Kind::kText:
        TRY(CheckText(part.text, index, "text part"));
        parts.push_back(Value::MakeDict({{"type", Text("text")}, {"text", Text(part.text)}}));
        break;
      case Part::Kind::kImage:
        parts.push_back(Value::MakeDict({{"type", Text("image")}}));
        break;
      case Part::Kind::kAudio:
        parts.push_back(Value::MakeDict({{"type", Text("audio")}}));
        break;
      case Part::Kind::kVideo:
        parts.push_back(Value::MakeDict({{"type", Text("video")}}));
        break;
    }
  }
  return Value::MakeList(std::move(parts));
}

Result<Value> ToolCallValue(const ToolCall& call, size_t index) {
  TRY(CheckText(call.name, index, "tool call name"));
  TRY(CheckText(call.arguments_json, index, "tool call arguments"));
  // Arguments that are a JSON object are given to the template as an object; anything else
  // (invalid JSON, an array, a number) as the raw text.
  Value arguments = Text(call.arguments_json);
  Result<Value> parsed = ParseJson(call.arguments_json, "arguments");
  if (parsed.ok() && parsed->is_dict()) arguments = std::move(parsed).value();
  Value::Dict fields;
  if (call.id) {
    TRY(CheckText(*call.id, index, "tool call id"));
    fields.emplace_back("id", Text(*call.id));
  }
  fields.emplace_back("type", Text("function"));
  fields.emplace_back("function", Value::MakeDict({{"name", Text(call.name)},
                                                   {"arguments", std::move(arguments)}}));
  return Value::MakeDict(std::move(fields));
}

Result<Value> MessageValue(const Message& m, size_t index) {
  TRY(CheckText(m.role, index, "role"));
  Value::Dict fields;
  fields.emplace_back("role", Text(m.role));
  ASSIGN_OR_RETURN(Value content, ContentValue(m, index));
  fields.emplace_back("content", std::move(content));
  if (!m.reasoning.empty()) {
    TRY(CheckText(m.reasoning, index, "reasoning"));
    fields.emplace_back("reasoning_content", Text(m.reasoning));
  }
  if (!m.tool_calls.empty()) {
    Value::List calls;
    for (const ToolCall& call : m.tool_calls) {
      ASSIGN_OR_RETURN(Value v, ToolCallValue(call, index));
      calls.push_back(std::move(v));
    }
    fields.emplace_back("tool_calls", Value::MakeList(std::move(calls)));
  }
  if (m.tool_call_id) {
    TRY(CheckText(*m.tool_call_id, index, "tool_call_id"));
    fields.emplace_back("tool_call_id", Text(*m.tool_call_id));
  }
  if (m.tool_name) {
    TRY(CheckText(*m.tool_name, index, "name"));
    fields.emplace_back("name", Text(*m.tool_name));
  }
  return Value::MakeDict(std::move(fields));
}

}  // namespace

Result<TemplateContext> BuildTemplateContext(const std::vector<Message>& messages,
                                             const Options& options) {
  TemplateContext ctx;
  Value::List list;
  for (size_t i = 0; i < messages.size(); ++i) {
    ASSIGN_OR_RETURN(Value v, MessageValue(messages[i], i));
    list.push_back(std::move(v));
  }
  ctx.messages = Value::MakeList(std::move(list));
  ctx.tools = Value::None();
  if (!options.tools_json.empty()) {
    ASSIGN_OR_RETURN(ctx.tools, ParseJson(options.tools_json, "tools_json"));
  }
  if (!IsValidUtf8(options.bos_text)) return InvalidArgumentError("bos_text is not valid UTF-8");
  ctx.bos_token = options.bos_text;
  ctx.add_generation_prompt = options.add_generation_prompt;
  ctx.enable_thinking = options.enable_thinking;
  return ctx;
}

}  // namespace hearth::chat::internal
