#include "chat/chat.h"

#include "chat/template_input.h"
#include "chat/templates.h"

namespace hearth::chat {

std::string_view FamilyName(Family family) {
  switch (family) {
    case Family::kGemma3:
      return "gemma3";
    case Family::kGemma4:
      return "gemma4";
    case Family::kGemma4Interleaved:
      return "gemma4-interleaved";
  }
  return "unknown";
}

Result<Family> DetectFamily(std::string_view template_text) {
  if (template_text.find("<|turn>") != std::string_view::npos) {
    // The interleaved revision tracks `ns.last_user_message` and has no format_tool_response_block.
    const bool interleaved =
        template_text.find("last_user_message") != std::string_view::npos &&
        template_text.find("format_tool_response_block") == std::string_view::npos;
    return interleaved ? Family::kGemma4Interleaved : Family::kGemma4;
  }
  if (template_text.find("<start_of_turn>") != std::string_view::npos) return Family::kGemma3;
  constexpr size_t kShown = 80;
  std::string start(template_text.substr(0, kShown));
  for (char& c : start) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return UnimplementedError(
      "chat template is not a Gemma template (neither '<|turn>' nor '<start_of_turn>' occurs in its " +
      std::to_string(template_text.size()) + " bytes; it begins: \"" + start +
      (template_text.size() > kShown ? "...\")" : "\")"));
}

Message Message::Text(std::string role, std::string text) {
  Message m;
  m.role = std::move(role);
  m.content_form = ContentForm::kString;
  m.text = std::move(text);
  return m;
}

Message Message::Parts(std::string role, std::vector<Part> parts) {
  Message m;
  m.role = std::move(role);
  m.content_form = ContentForm::kParts;
  m.parts = std::move(parts);
  return m;
}

Result<std::string> Render(Family family, const std::vector<Message>& messages,
                           const Options& options) {
  ASSIGN_OR_RETURN(internal::TemplateContext ctx, internal::BuildTemplateContext(messages, options));
  Result<std::string> out = family == Family::kGemma3
                                ? internal::RenderGemma3(ctx)
                                : internal::RenderGemma4(ctx, family == Family::kGemma4Interleaved);
  if (!out.ok()) {
    return out.status().WithContext("rendering the " + std::string(FamilyName(family)) + " chat template");
  }
  return out;
}

std::string_view ImageMarker(Family family) {
  return family == Family::kGemma3 ? "<start_of_image>" : "<|image|>";
}

std::string_view AudioMarker(Family family) { return family == Family::kGemma3 ? "" : "<|audio|>"; }

std::string_view VideoMarker(Family family) { return family == Family::kGemma3 ? "" : "<|video|>"; }

}  // namespace hearth::chat
