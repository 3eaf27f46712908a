// Chat prompts for Gemma 3 and Gemma 4: turns an OpenAI-style conversation into the exact prompt
// text the model's own chat template (tokenizer.chat_template) would produce.
//
// There is no general Jinja engine here. Each known template is translated by hand, feature for
// feature (whitespace control, trimming, system folding, thinking, tool declarations and their
// schema formatting, tool calls and responses, reasoning channels, media placeholders, generation
// prompt, errors), and tests/chat/ proves the translation byte for byte against jinja2 rendering the
// real template files with transformers' settings, on a corpus of conversations.
//
//   ASSIGN_OR_RETURN(chat::Family family, chat::DetectFamily(gguf_chat_template));
//   ASSIGN_OR_RETURN(std::string prompt, chat::Render(family, messages, options));
//   // prompt starts with options.bos_text; strip it if the tokenizer adds BOS itself (spec §8.3).
//
// Input mapping (what the template sees; tests/chat/render_reference.py applies the same mapping):
//   role              -> "role", passed through unchanged ("assistant" and "model" both work as
//                        the templates allow; any other role string is rendered as the template
//                        renders it)
//   content           -> "content": a string, a list of parts ({"type": "text", "text": ...} or
//                        {"type": "image"|"audio"|"video"}), or null
//   reasoning         -> "reasoning_content" when non-empty (both Gemma 4 templates read that key)
//   tool_calls        -> [{"id"?, "type": "function", "function": {"name", "arguments"}}]; the
//                        arguments are the parsed JSON object when arguments_json is a JSON object,
//                        otherwise the raw text (which the Gemma 4 templates print verbatim); JSON
//                        is read as Python's json.loads reads it, except that NaN, Infinity and
//                        numbers overflowing a double are invalid (as in nlohmann-json)
//   tool_call_id      -> "tool_call_id" when set;  tool_name -> "name" when set
//   Options.tools_json -> "tools" (parsed JSON; empty text means no tools)
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hearth::chat {

// Which hand-translated template renders the prompt.
enum class Family {
  kGemma3,             // Gemma 3 (and 1/2/3n): <start_of_turn>user / model, no system turn
  kGemma4,             // Gemma 4 31B-it template (chat-template-31B-it.jinja): OpenAI tool messages
  kGemma4Interleaved,  // Gemma 4 31B-it "interleaved" revision (reasoning between tool calls)
};

std::string_view FamilyName(Family family);

// Gemma 4 if the text contains "<|turn>" (the interleaved revision when it has the markers of that
// file, otherwise kGemma4, the newer revision); Gemma 3 if it contains "<start_of_turn>"; otherwise
// Unimplemented with the start of the text in the message. Exactness is proven for the three real
// template files in tests/; another revision of a Gemma 4 template renders like kGemma4.
[[nodiscard]] Result<Family> DetectFamily(std::string_view template_text);

struct Part {
  enum class Kind { kText, kImage, kAudio, kVideo };
  Kind kind = Kind::kText;
  std::string text;  // kText only
};

struct ToolCall {
  std::optional<std::string> id;  // OpenAI tool_calls[].id; the kGemma4 template matches tool
                                  // responses to calls by it
  std::string name;
  std::string arguments_json;     // OpenAI function.arguments (JSON text)
};

// What a message's content is; the templates treat a string, a list of parts and null differently.
enum class ContentForm { kString, kParts, kNull };

struct Message {
  std::string role;  // "system", "developer", "user", "assistant" (or "model"), "tool"
  ContentForm content_form = ContentForm::kString;
  std::string text;         // the content when content_form == kString
  std::vector<Part> parts;  // the content when content_form == kParts
  std::string reasoning;    // reasoning_content of an earlier assistant turn ("" = none)
  std::vector<ToolCall> tool_calls;
  std::optional<std::string> tool_call_id;  // on role "tool"
  std::optional<std::string> tool_name;     // on role "tool": OpenAI/legacy "name"

  static Message Text(std::string role, std::string text);
  static Message Parts(std::string role, std::vector<Part> parts);
};

struct Options {
  bool add_generation_prompt = true;
  bool enable_thinking = false;  // passed to the template as enable_thinking
  std::string tools_json;        // OpenAI "tools" array as JSON text; empty = no tools
  std::string bos_text = "<bos>";
};

// Renders `messages` exactly as `family`'s Jinja template does. Every error the template raises
// (Gemma 3's "Conversation roles must alternate user/assistant/user/assistant/...", subscripting a
// missing first message, an unusable tool schema, ...) is an InvalidArgument Status with the same
// meaning, as are invalid UTF-8 text and invalid tools_json.
[[nodiscard]] Result<std::string> Render(Family family, const std::vector<Message>& messages,
                                         const Options& options);

// The placeholder text the template writes for a media part, which the engine replaces with the
// media's embeddings (llama.cpp: begin marker + embeddings + end marker). Empty when the family's
// template drops that kind of part (Gemma 3 renders only images).
std::string_view ImageMarker(Family family);  // Gemma 3 "<start_of_image>", Gemma 4 "<|image|>"
std::string_view AudioMarker(Family family);  // Gemma 4 "<|audio|>"
std::string_view VideoMarker(Family family);  // Gemma 4 "<|video|>"

}  // namespace hearth::chat
