// Internal: the hand-translated chat templates. Each works on the values the Jinja template would
// see (template_input.h builds them from chat::Message) and mirrors the template statement by
// statement; comments quote the template where the translation is not obvious.
#pragma once

#include <string>

#include "chat/py_value.h"
#include "core/status.h"

namespace hearth::chat::internal {

// The variables a chat template is rendered with (transformers' apply_chat_template names).
struct TemplateContext {
  Value messages;  // list of message dicts
  Value tools;     // None, or the parsed tools JSON
  bool add_generation_prompt = true;
  bool enable_thinking = false;
  std::string bos_token;
};

// Gemma 3 tokenizer_config.json chat_template.
Result<std::string> RenderGemma3(const TemplateContext& ctx);

// Gemma 4 31B-it templates: chat-template-31B-it.jinja (interleaved = false) and
// chat-template-31B-it-interleaved.jinja (interleaved = true).
Result<std::string> RenderGemma4(const TemplateContext& ctx, bool interleaved);

// Gemma 4 macros shared by both revisions (gemma4_tools.cc).
// format_argument(argument, escape_keys): values in the <|"|>-quoted Gemma 4 notation.
Status FormatArgument(const Value& argument, bool escape_keys, std::string* out);
// format_function_declaration(tool_data), including format_parameters, which differs between the
// two revisions in where nullable/properties/items go and how commas are placed.
Status FormatFunctionDeclaration(const Value& tool, bool interleaved, std::string* out);
// format_tool_response_block(tool_name, response) of the kGemma4 template.
Status FormatToolResponseBlock(const Value& tool_name, const Value& response, std::string* out);
// strip_thinking(text): drops <|channel>...<channel|> spans, then trims.
std::string StripThinking(const std::string& text);

}  // namespace hearth::chat::internal
