// The Gemma 4 31B-it chat templates, translated statement by statement:
//   <bos><|turn>system\n[<|think|>\n][system text][<|tool>declaration...<tool|>...]<turn|>\n
//   <|turn>user\n{content}<turn|>\n
//   <|turn>model\n[<|channel>thought\n...<channel|>][<|tool_call>call:f{a:1}<tool_call|>]{content}
//   ...<|turn>model\n[<|channel>thought\n<channel|>  (generation prompt; the empty thought channel
//   only when thinking is off)]
// The plain revision (kGemma4) folds OpenAI role:"tool" messages into the preceding model turn as
// <|tool_response>response:NAME{value:...}<tool_response|>; the interleaved revision renders them as
// ordinary <|turn>tool turns.
#include <string_view>

#include "chat/templates.h"

namespace hearth::chat::internal {
namespace {

Value Get(const Value& v, std::string_view key) {
  const Value* found = v.Find(key);
  return found ? *found : Value();
}

std::string RoleOf(const Value& message) {
  const std::string role = Str(Get(message, "role"));
  return role == "assistant" ? "model" : role;
}

// The system turn, rendered when thinking is on, tools are given or the first message is a system
// or developer message. Sets *first to the index of the first message of the main loop.
Status RenderSystemTurn(const TemplateContext& ctx, bool interleaved, std::string* prev,
                        size_t* first, std::string* out) {
  *first = 0;
  const Value m0 = At(ctx.messages, 0);
  auto first_is_system = [&]() -> Result<bool> {
    ASSIGN_OR_RETURN(Value role, Item(m0, "role"));
    return IsString(role) && (role.text() == "system" || role.text() == "developer");
  };
  bool open = ctx.enable_thinking || Truthy(ctx.tools);  // `or` short-circuits messages[0]
  if (!open) {
    ASSIGN_OR_RETURN(open, first_is_system());
  }
  if (!open) return Status::Ok();
  *out += "<|turn>system\n";
  if (ctx.enable_thinking) {
    *out += "<|think|>\n";
    *prev = "think";
  }
  ASSIGN_OR_RETURN(bool has_system, first_is_system());
  if (has_system) {
    *out += Strip(Str(Get(m0, "content")));  // `messages[0]['content'] | trim`: str() of parts too
    *first = 1;
  }
  if (Truthy(ctx.tools)) {
    ASSIGN_OR_RETURN(Value::List tools, Iterate(ctx.tools, "tools"));
    for (const Value& tool : tools) {
      std::string declaration;
      TRY(FormatFunctionDeclaration(tool, interleaved, &declaration));
      *out += "<|tool>" + Strip(declaration) + "<tool|>";
    }
    *prev = "tool";
  }
  *out += "<turn|>\n";
  return Status::Ok();
}

// `<|tool_call>call:NAME{k:v,...}<tool_call|>` for each tool call.
Status RenderToolCalls(const Value& tool_calls, std::string* out) {
  ASSIGN_OR_RETURN(Value::List calls, Iterate(tool_calls, "tool_calls"));
  for (const Value& call : calls) {
    ASSIGN_OR_RETURN(Value function, Item(call, "function"));
    ASSIGN_OR_RETURN(Value name, Item(function, "name"));
    *out += "<|tool_call>call:" + Str(name) + "{";
    const Value arguments = Get(function, "arguments");
    if (IsMapping(arguments)) {
      ASSIGN_OR_RETURN(Value::Dict sorted, DictSort(arguments, "tool call arguments"));
      for (size_t i = 0; i < sorted.size(); ++i) {
        if (i > 0) out->push_back(',');
        *out += sorted[i].first + ":";
        TRY(FormatArgument(sorted[i].second, false, out));
      }
    } else if (IsString(arguments)) {
      *out += arguments.text();
    }
    *out += "}<tool_call|>";
  }
  return Status::Ok();
}

// The message content: strings and text parts trimmed (model text also loses thought channels),
// media parts become placeholders and set prev_message_type.
Status RenderContent(const Value& message, bool is_model, std::string* prev, std::string* out) {
  const Value content = Get(message, "content");
  if (IsString(content)) {
    *out += is_model ? StripThinking(content.text()) : Strip(content.text());
    return Status::Ok();
  }
  if (!IsSequence(content)) return Status::Ok();
  ASSIGN_OR_RETURN(Value::List items, Iterate(content, "content"));
  for (const Value& item : items) {
    ASSIGN_OR_RETURN(Value type_value, Item(item, "type"));
    const std::string type = IsString(type_value) ? type_value.text() : "";
    if (type == "text") {
      const std::string text = Str(Get(item, "text"));
      *out += is_model ? StripThinking(text) : Strip(text);
    } else if (type == "image" || type == "audio" || type == "video") {
      *out += "<|" + type + "|>";
      *prev = type;
    }
  }
  return Status::Ok();
}

// OpenAI role:"tool" messages right after a model turn with tool calls (kGemma4 only).
Status RenderFollowingToolResponses(const Value::List& messages, size_t index, const Value& message,
                                    bool* flag, std::string* prev, std::string* out) {
  ASSIGN_OR_RETURN(Value::List calls, Iterate(Get(message, "tool_calls"), "tool_calls"));
  for (size_t k = index + 1; k < messages.size(); ++k) {
    const Value& follow = messages[k];
    if (Str(Get(follow, "role")) != "tool") break;
    // `follow.get('name') | default('unknown')`: .get gives None, never Undefined, when absent.
    const Value* name_ptr = follow.Find("name");
    Value name = name_ptr ? *name_ptr : Value::None();
    const Value* id_ptr = follow.Find("tool_call_id");
    for (const Value& call : calls) {
      const Value* call_id = call.Find("id");
      const bool same = (call_id == nullptr || call_id->is_none())
                            ? (id_ptr == nullptr || id_ptr->is_none())
                            : (id_ptr != nullptr && id_ptr->is_str() && call_id->is_str() &&
                               id_ptr->text() == call_id->text());
      if (same) {
        ASSIGN_OR_RETURN(Value function, Item(call, "function"));
        ASSIGN_OR_RETURN(name, Item(function, "name"));
      }
    }
    const Value* body_ptr = follow.Find("content");
    const Value body = body_ptr ? *body_ptr : Value::None();
    if (IsString(body)) {
      TRY(FormatToolResponseBlock(name, body, out));
    } else if (IsSequence(body)) {  // only the text parts, concatenated untrimmed
      std::string text;
      ASSIGN_OR_RETURN(Value::List parts, Iterate(body, "tool content"));
      for (const Value& part : parts) {
        const Value* type = part.Find("type");
        if (type && type->is_str() && type->text() == "text") text += Str(Get(part, "text"));
      }
      TRY(FormatToolResponseBlock(name, Value::Str(text), out));
    } else {
      TRY(FormatToolResponseBlock(name, body, out));
    }
    *flag = true;
    *prev = "tool_response";
  }
  return Status::Ok();
}

Status RenderPlainLoop(const Value::List& messages, std::string* prev, std::string* out) {
  int last_user = -1;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (Str(Get(messages[i], "role")) == "user") last_user = static_cast<int>(i);
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const Value& message = messages[i];
    if (Str(Get(message, "role")) == "tool") continue;
    prev->clear();
    const std::string role = RoleOf(message);
    // A model message right after an assistant message (tool messages skipped) continues its turn.
    std::string prev_role;
    for (size_t j = i; j-- > 0;) {
      const std::string r = Str(Get(messages[j], "role"));
      if (r != "tool") {
        prev_role = r;
        break;
      }
    }
    if (!(role == "model" && prev_role == "assistant")) *out += "<|turn>" + role + "\n";

    // `message.get('reasoning') or message.get('reasoning_content')`
    Value thinking = Get(message, "reasoning");
    if (!Truthy(thinking)) thinking = Get(message, "reasoning_content");
    const Value tool_calls = Get(message, "tool_calls");
    if (Truthy(thinking) && static_cast<int>(i) > last_user && Truthy(tool_calls)) {
      *out += "<|channel>thought\n" + Str(thinking) + "\n<channel|>";
    }
    if (Truthy(tool_calls)) {
      TRY(RenderToolCalls(tool_calls, out));
      *prev = "tool_call";
    }
    bool responses_out = false;
    if (Truthy(tool_calls)) {
      TRY(RenderFollowingToolResponses(messages, i, message, &responses_out, prev, out));
    }
    TRY(RenderContent(message, role == "model", prev, out));
    if (*prev == "tool_call" && !responses_out) {
      *out += "<|tool_response>";
    } else if (!(responses_out && !Truthy(Get(message, "content")))) {
      *out += "<turn|>\n";
    }
  }
  return Status::Ok();
}

Status RenderInterleavedLoop(const Value::List& messages, std::string* prev, std::string* out) {
  int last_user = -1;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (Str(Get(messages[i], "role")) == "user") last_user = static_cast<int>(i);
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    const Value& message = messages[i];
    const std::string role = RoleOf(message);
    const Value tool_calls = Get(message, "tool_calls");
    if (!(*prev == "tool_response" && Truthy(tool_calls))) *out += "<|turn>" + role + "\n";
    prev->clear();
    if (Truthy(tool_calls)) {
      const Value reasoning = Get(message, "reasoning_content");
      if (Truthy(reasoning) && static_cast<int>(i) > last_user) {
        *out += "<|channel>thought\n" + Str(reasoning) + "<channel|>";
      }
      TRY(RenderToolCalls(tool_calls, out));
      *prev = "tool_call";
    }
    // (The legacy `tool_responses` field is not part of our message mapping.)
    TRY(RenderContent(message, role == "model", prev, out));
    *out += "<turn|>\n";
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> RenderGemma4(const TemplateContext& ctx, bool interleaved) {
  std::string out = ctx.bos_token;
  std::string prev;  // ns.prev_message_type; "" is None
  size_t first = 0;
  TRY(RenderSystemTurn(ctx, interleaved, &prev, &first, &out));
  Value::List messages;
  if (ctx.messages.is_list() && first < ctx.messages.list().size()) {
    messages.assign(ctx.messages.list().begin() + first, ctx.messages.list().end());
  }
  if (interleaved) {
    TRY(RenderInterleavedLoop(messages, &prev, &out));
  } else {
    TRY(RenderPlainLoop(messages, &prev, &out));
  }
  if (ctx.add_generation_prompt) {
    if (interleaved) {
      if (prev != "tool_response") out += "<|turn>model\n";
      if (!ctx.enable_thinking) out += "<|channel>thought\n<channel|>";
    } else if (prev != "tool_response" && prev != "tool_call") {
      out += "<|turn>model\n";
      if (!ctx.enable_thinking) out += "<|channel>thought\n<channel|>";
    }
  }
  return out;
}

}  // namespace hearth::chat::internal
