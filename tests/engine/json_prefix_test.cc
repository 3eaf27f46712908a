// JsonPrefix against the real parser: every prefix of a valid object is accepted, the first byte
// that breaks an invalid text is refused, and `complete` marks exactly the closed object.
#include "engine/json_prefix.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include <nlohmann/json.hpp>

namespace hearth::engine {
namespace {

bool AcceptsAll(const std::string& s, bool* complete = nullptr) {
  JsonPrefix p;
  if (!p.Feed(s)) return false;
  if (complete) *complete = p.complete();
  return true;
}

TEST(JsonPrefix, AcceptsEveryPrefixOfValidObjects) {
  const char* texts[] = {
      R"({})",
      R"({"a":1})",
      R"( { "a" : [1, -2.5e+3, 0, 0.25E-1, true, false, null, "x\"y\\u00e9\n"] , "b":{} } )",
      R"({"nested":{"deep":[[[]],[{}]]},"s":"caf\u00e9 ☕"})",
      "{\"k\":\"\xC3\xA9\"}",
  };
  for (const char* t : texts) {
    const std::string s = t;
    ASSERT_TRUE(nlohmann::json::accept(s)) << s;
    for (size_t n = 0; n <= s.size(); ++n) {
      bool done = false;
      ASSERT_TRUE(AcceptsAll(s.substr(0, n), &done)) << s.substr(0, n);
      const std::string trimmed = s.substr(0, s.find_last_not_of(' ') + 1);
      EXPECT_EQ(done, n >= trimmed.size()) << s.substr(0, n);
    }
  }
}

TEST(JsonPrefix, RefusesWhatNoObjectStartsWith) {
  const char* bad[] = {
      "[1]", "1", "\"s\"", "{a:1}", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":1e}",
      "{\"a\":-}", "{\"a\":tru3}", "{\"a\":nul}x", "{\"a\":1,}", "{,}", "{\"a\":[1,]}",
      "{\"a\":\"\\x\"}", "{\"a\":\"\\u12G4\"}", "{\"a\":\"line\nbreak\"}", "{} {}", "{}x",
      "{\"a\":1]", "{\"a\":[1}",
  };
  for (const char* t : bad) {
    EXPECT_FALSE(AcceptsAll(t)) << t;
    EXPECT_FALSE(nlohmann::json::accept(t) && t[0] == '{') << t;
  }
}

TEST(JsonPrefix, LimitsBlankRunsAndDepth) {
  EXPECT_TRUE(AcceptsAll("{" + std::string(JsonPrefix::kMaxBlank, ' ')));
  EXPECT_FALSE(AcceptsAll("{" + std::string(JsonPrefix::kMaxBlank + 1, ' ')));
  EXPECT_TRUE(AcceptsAll("{\"a\":\"" + std::string(500, ' ') + "\"}"));  // inside strings: text
  std::string deep = "{\"a\":";
  for (int i = 1; i < JsonPrefix::kMaxDepth; ++i) deep += "[";
  EXPECT_TRUE(AcceptsAll(deep));
  EXPECT_FALSE(AcceptsAll(deep + "["));
}

// Random byte strings: whenever JsonPrefix accepts a whole string that the real parser calls a
// complete object, it says complete; whenever it says complete, the parser agrees.
TEST(JsonPrefix, AgreesWithTheParserOnRandomTexts) {
  std::mt19937 rng(5);
  const std::string alphabet = "{}[]\":,0123456789-+.eEtrufalsn \\\"abc";
  int complete_seen = 0;
  for (int i = 0; i < 200000; ++i) {
    std::string s = "{";
    const int len = rng() % 12;
    for (int k = 0; k < len; ++k) s += alphabet[rng() % alphabet.size()];
    bool done = false;
    const bool ok = AcceptsAll(s, &done);
    const bool parses = nlohmann::json::accept(s);
    if (parses) EXPECT_TRUE(ok && done) << s;
    if (ok && done) {
      EXPECT_TRUE(parses) << s;
      ++complete_seen;
    }
  }
  EXPECT_GT(complete_seen, 100);
}

}  // namespace
}  // namespace hearth::engine
