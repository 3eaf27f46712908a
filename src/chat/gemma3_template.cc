// The Gemma 3 chat template (tokenizer_config.json of google/gemma-3-*-it), translated statement by
// statement:
//   <bos><start_of_turn>user\n[system text\n\n]{content}<end_of_turn>\n
//   <start_of_turn>model\n{content}<end_of_turn>\n ... [<start_of_turn>model\n]
// Roles must alternate user/model starting with user (after an optional leading system message);
// contents are trimmed, the system text is not; image parts become <start_of_image>, audio and
// video parts are dropped.
#include "chat/templates.h"

namespace hearth::chat::internal {
namespace {

constexpr std::string_view kAlternationError =
    "Conversation roles must alternate user/assistant/user/assistant/...";

Value Get(const Value& v, std::string_view key) {
  const Value* found = v.Find(key);
  return found ? *found : Value();
}

// The system message's text followed by a blank line, prepended to the first turn.
Result<std::string> FirstUserPrefix(const Value& system) {
  const Value content = Get(system, "content");
  Value text;
  if (IsString(content)) {
    text = content;
  } else {  // messages[0]['content'][0]['text']
    const Value first_part = content.is_list() ? At(content, 0) : Value();
    if (first_part.is_undefined()) {
      return InvalidArgumentError("Gemma 3 template: the system message's content has no first part (" +
                                  Repr(content) + ")");
    }
    ASSIGN_OR_RETURN(text, Item(first_part, "text"));
  }
  if (!IsString(text)) {  // `... + '\n\n'` needs a string
    return InvalidArgumentError("Gemma 3 template: the system message's text is " +
                                (text.is_undefined() ? std::string("missing") : Repr(text)) +
                                ", not a string");
  }
  return text.text() + "\n\n";
}

}  // namespace

Result<std::string> RenderGemma3(const TemplateContext& ctx) {
  std::string out = ctx.bos_token;
  ASSIGN_OR_RETURN(Value first_role, Item(At(ctx.messages, 0), "role"));
  std::string prefix;
  size_t first = 0;
  if (IsString(first_role) && first_role.text() == "system") {
    ASSIGN_OR_RETURN(prefix, FirstUserPrefix(ctx.messages.list()[0]));
    first = 1;
  }
  const Value::List& all = ctx.messages.list();
  for (size_t i = first; i < all.size(); ++i) {
    const Value& message = all[i];
    const size_t index = i - first;
    const std::string role = Str(Get(message, "role"));
    if ((role == "user") != (index % 2 == 0)) {
      return InvalidArgumentError(std::string(kAlternationError) + " (message " + std::to_string(i) +
                                  " has role '" + role + "')");
    }
    out += "<start_of_turn>" + (role == "assistant" ? std::string("model") : role) + "\n";
    if (index == 0) out += prefix;
    const Value content = Get(message, "content");
    if (IsString(content)) {
      out += Strip(content.text());
    } else if (content.is_list() || content.is_dict() || content.is_undefined()) {  // is iterable
      ASSIGN_OR_RETURN(Value::List items, Iterate(content, "content"));
      for (const Value& item : items) {
        ASSIGN_OR_RETURN(Value type, Item(item, "type"));
        if (IsString(type) && type.text() == "image") {
          out += "<start_of_image>";
        } else if (IsString(type) && type.text() == "text") {
          out += Strip(Str(Get(item, "text")));
        }
      }
    } else {
      return InvalidArgumentError("Invalid content type (message " + std::to_string(i) + ": " +
                                  Repr(content) + ")");
    }
    out += "<end_of_turn>\n";
  }
  if (ctx.add_generation_prompt) out += "<start_of_turn>model\n";
  return out;
}

}  // namespace hearth::chat::internal
