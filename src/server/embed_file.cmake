# cmake -DINPUT=<file> -DOUTPUT=<file.cc> -P embed_file.cmake
# Writes a .cc defining hearth::server::ChatPageHtml() over INPUT's bytes (as a byte array, so no
# content of the page can end a string literal early).
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_len)
math(EXPR size "${hex_len} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n" bytes "${bytes}")
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
