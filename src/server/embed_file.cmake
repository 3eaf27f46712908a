# cmake -DINPUT=<file> -DOUTPUT=<file.cc> -P embed_file.cmake
# Writes a .cc defining hearth::server::ChatPageHtml() over INPUT's bytes (as a byte array, so no
# content of the page can end a string literal early). When INPUT does not exist the page is a
# short placeholder that points at the API.
if(EXISTS "${INPUT}")
  file(READ "${INPUT}" hex HEX)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" bytes "${bytes}")
else()
  set(placeholder "<!doctype html><meta charset=utf-8><title>hearth</title><p>hearth is running. The chat page was not built into this binary; the OpenAI API is at /v1 and the Ollama API at /api.</p>")
  string(HEX "${placeholder}" hex)
  string(LENGTH "${hex}" hex_len)
  math(EXPR size "${hex_len} / 2")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
endif()
file(WRITE "${OUTPUT}.tmp" "// Generated from src/server/chat_page.html by embed_file.cmake. Do not edit.
#include \"server/chat_page.h\"

namespace hearth::server {
namespace {
const unsigned char kPage[${size} + 1] = {
${bytes} 0};
}  // namespace

std::string_view ChatPageHtml() { return {reinterpret_cast<const char*>(kPage), ${size}}; }

}  // namespace hearth::server
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
