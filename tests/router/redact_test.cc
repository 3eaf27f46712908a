// Redaction round trip: placeholders out, originals back, also when a placeholder is split over
// stream chunks at every possible byte.
#include "router/redact.h"

#include <gtest/gtest.h>

#include "router/policy.h"

namespace hearth::router {
namespace {

using nlohmann::json;

Features FeaturesOf(const json& body) {
  auto detector = Detector::Create({});
  auto f = ExtractFeatures(body, {}, Environment{}, DefaultPolicy(), *detector);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  return std::move(f).value();
}

const json kBody = {
    {"model", "auto"},
    {"messages",
     {{{"role", "system"}, {"content", "You write polite emails."}},
      {{"role", "user"},
       {"content",
        {{{"type", "text"}, {"text", "Write to jane.doe@example.com and bob@example.org; cc jane.doe@example.com."}},
         {{"type", "text"}, {"text", "Sign with my number +44 20 7946 0958."}}}}}}}};

TEST(RedactTest, StablePlaceholdersInEveryPart) {
  Features f = FeaturesOf(kBody);
  Redaction r = Redact(kBody, f);
  const json& parts = r.body["messages"][1]["content"];
  EXPECT_EQ(parts[0]["text"], "Write to [EMAIL_1] and [EMAIL_2]; cc [EMAIL_1].");
  EXPECT_EQ(parts[1]["text"], "Sign with my number [PHONE_1].");
  EXPECT_EQ(r.body["messages"][0]["content"], "You write polite emails.");
  EXPECT_EQ(r.counts.at("email"), 3);
  EXPECT_EQ(r.counts.at("phone"), 1);
  EXPECT_EQ(r.map.size(), 3u);
  const std::string sent = r.body.dump();
  EXPECT_EQ(sent.find("jane.doe"), std::string::npos);
  EXPECT_EQ(sent.find("7946"), std::string::npos);
}

TEST(RedactTest, RestoreResponse) {
  Redaction r = Redact(kBody, FeaturesOf(kBody));
  json resp = {{"choices", {{{"index", 0}, {"message", {{"role", "assistant"},
      {"content", "Dear [EMAIL_1], call [PHONE_1]. Not a placeholder: [EMAIL_9] [x]"}}}}}}};
  RestoreResponse(resp, r.map);
  EXPECT_EQ(resp["choices"][0]["message"]["content"],
            "Dear jane.doe@example.com, call +44 20 7946 0958. Not a placeholder: [EMAIL_9] [x]");
}

TEST(RedactTest, StreamSplitAtEveryByte) {
  PlaceholderMap map;
  map.PlaceholderFor("email", "a@b.example");
  map.PlaceholderFor("credit_card", "4111 1111 1111 1111");
  const std::string answer = "To [EMAIL_1] charge [CREDIT_CARD_1]; [[EMAIL_1]] and [EMAIL_";
  const std::string expected = "To a@b.example charge 4111 1111 1111 1111; [a@b.example] and [EMAIL_";
  for (size_t cut1 = 0; cut1 <= answer.size(); ++cut1) {
    for (size_t cut2 = cut1; cut2 <= answer.size(); cut2 += 3) {
      StreamRestorer s(&map);
      std::string out = s.Push(answer.substr(0, cut1));
      EXPECT_LE(s.held(), map.max_placeholder_size());
      out += s.Push(answer.substr(cut1, cut2 - cut1));
      out += s.Push(answer.substr(cut2));
      out += s.Finish();
      ASSERT_EQ(out, expected) << cut1 << "," << cut2;
    }
  }
}

TEST(RedactTest, StreamHoldsOnlyAPossiblePrefix) {
  PlaceholderMap map;
  map.PlaceholderFor("email", "a@b.example");
  StreamRestorer s(&map);
  EXPECT_EQ(s.Push("see [EM"), "see ");
  EXPECT_EQ(s.held(), 3u);
  EXPECT_EQ(s.Push("X"), "[EMX");  // no placeholder starts "[EMX": released at once
  EXPECT_EQ(s.held(), 0u);
  EXPECT_EQ(s.Push("[1"), "[1");
}

TEST(RedactTest, ChunkRestorerFlushesOnFinish) {
  PlaceholderMap map;
  map.PlaceholderFor("phone", "+1 415 555 2671");
  ChunkRestorer r(&map);
  json c1 = {{"choices", {{{"index", 0}, {"delta", {{"content", "call [PHO"}}}, {"finish_reason", nullptr}}}}};
  json c2 = {{"choices", {{{"index", 0}, {"delta", {{"content", "NE_1] or [PH"}}}, {"finish_reason", nullptr}}}}};
  json c3 = {{"choices", {{{"index", 0}, {"delta", json::object()}, {"finish_reason", "stop"}}}}};
  r.Restore(c1);
  r.Restore(c2);
  r.Restore(c3);
  EXPECT_EQ(c1["choices"][0]["delta"]["content"], "call ");
  EXPECT_EQ(c2["choices"][0]["delta"]["content"], "+1 415 555 2671 or ");
  EXPECT_EQ(c3["choices"][0]["delta"]["content"], "[PH");
}

}  // namespace
}  // namespace hearth::router
