// The chat page served at GET /: src/server/chat_page.html, embedded in the binary at build time
// (a generated .cc), so the server needs no files beside it and the page needs no network.
#pragma once

#include <string_view>

namespace hearth::server {

std::string_view ChatPageHtml();

}  // namespace hearth::server
