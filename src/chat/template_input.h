// Internal: builds the variables a chat template is rendered with from chat::Message and
// chat::Options (the mapping is documented in chat/chat.h), validating the text as UTF-8 on the way
// since Jinja only ever sees valid Unicode strings.
#pragma once

#include <vector>

#include "chat/chat.h"
#include "chat/templates.h"
#include "core/status.h"

namespace hearth::chat::internal {

Result<TemplateContext> BuildTemplateContext(const std::vector<Message>& messages,
                                             const Options& options);

}  // namespace hearth::chat::internal
