// ExtractFeatures on malformed and unusual requests: a clear error or a sane value, never a
// crash or an exception; and the individual features on small requests.
#include <gtest/gtest.h>

#include "router/policy.h"

namespace hearth::router {
namespace {

using nlohmann::json;

Result<Features> Extract(const json& body, RequestMeta meta = {}) {
  static const Detector* detector = new Detector(std::move(Detector::Create({}).value()));
  Environment env;
  env.local_context_tokens = 1000;
  return ExtractFeatures(body, meta, env, DefaultPolicy(), *detector);
}

TEST(FeaturesTest, MalformedBodiesAreErrorsNotCrashes) {
  const json bad[] = {
      json(nullptr), json::array(), json{{"model", "auto"}},
      json{{"messages", "hello"}}, json{{"messages", {1, 2}}},
      json{{"messages", {{{"role", "user"}, {"content", 42}}}}},
      json{{"messages", {{{"role", "user"}, {"content", {7}}}}}},
      json{{"model", 7}, {"messages", json::array()}},
      json{{"stream", "yes"}, {"messages", json::array()}},
  };
  for (const json& b : bad) {
    auto f = Extract(b);
    EXPECT_FALSE(f.ok()) << b.dump();
    if (!f.ok()) {
      EXPECT_EQ(f.status().code(), StatusCode::kInvalidArgument) << b.dump();
    }
  }
  // Odd but valid shapes are accepted.
  const json odd[] = {
      json{{"messages", json::array()}},
      json{{"messages", {{{"role", "assistant"}, {"content", nullptr}}}}},
      json{{"messages", {{{"role", "user"}, {"content", {{{"type", 5}, {"text", 3}}}}}}}},
      json{{"messages", {{{"role", "assistant"}, {"tool_calls", {{{"function", 1}}, 2}}}}}},
      json{{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", "many"}},
  };
  for (const json& b : odd) EXPECT_TRUE(Extract(b).ok()) << b.dump();
}

TEST(FeaturesTest, BadHeadersAreErrors) {
  const json body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}};
  RequestMeta m;
  m.SetHeader("X-Hearth-Latency-Budget-Ms", "fast");
  auto f = Extract(body, m);
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("X-Hearth-Latency-Budget-Ms"), std::string::npos);
  m.SetHeader("X-Hearth-Latency-Budget-Ms", "250");
  f = Extract(body, m);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f->latency_budget_ms, 250);
}

TEST(FeaturesTest, TokensModalitiesAndToolArguments) {
  json body = json::parse(R"({"max_tokens": 100, "messages": [
      {"role": "user", "content": [{"type": "text", "text": ""},
                                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]},
      {"role": "assistant", "tool_calls": [{"type": "function",
          "function": {"name": "mail", "arguments": "{\"to\":\"a.b@example.com\"}"}}]}]})");
  body["messages"][0]["content"][0]["text"] = std::string(400, 'a');
  auto f = Extract(body);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  // 400 bytes / 4 + 256 for the image + 4 per message x 2.
  EXPECT_EQ(f->prompt_tokens, 100 + 256 + 8);
  EXPECT_EQ(f->output_tokens, 100);
  EXPECT_TRUE(f->context_fits);
  EXPECT_TRUE(f->modalities.image);
  EXPECT_FALSE(f->modalities.audio);
  EXPECT_EQ(f->entity_counts.at("email"), 1);
  EXPECT_EQ(f->texts.back().pointer, "/messages/1/tool_calls/0/function/arguments");
  EXPECT_EQ(f->sensitivity(), Sensitivity::kConfidential);
}

}  // namespace
}  // namespace hearth::router
