// The Ollama <-> OpenAI translation and the small parsers beside it, without a server.
#include "server/ollama_api.h"

#include <gtest/gtest.h>

#include "server/http_util.h"

namespace hearth::server {
namespace {

using nlohmann::json;

TEST(KeepAlive, NumbersAndGoDurations) {
  EXPECT_EQ(*ParseKeepAlive(json(300)), 300);
  EXPECT_EQ(*ParseKeepAlive(json("5m")), 300);
  EXPECT_EQ(*ParseKeepAlive(json("1h30m")), 5400);
  EXPECT_DOUBLE_EQ(*ParseKeepAlive(json("250ms")), 0.25);
  EXPECT_EQ(*ParseKeepAlive(json("0")), 0);
  EXPECT_EQ(*ParseKeepAlive(json("-1")), -1);
  EXPECT_EQ(*ParseKeepAlive(json("-5m")), -1);
  EXPECT_EQ(*ParseKeepAlive(json(-3)), -1);
  EXPECT_FALSE(ParseKeepAlive(json("5 minutes")).ok());
  EXPECT_FALSE(ParseKeepAlive(json("m")).ok());
  EXPECT_FALSE(ParseKeepAlive(json(true)).ok());
}

TEST(Base64, SniffsAndRejects) {
  EXPECT_EQ(*SniffBase64MediaType("iVBORw0KGgo="), "image/png");
  EXPECT_EQ(*SniffBase64MediaType("/9j/4AAQSkZJRg=="), "image/jpeg");
  EXPECT_EQ(*SniffBase64MediaType("UklGRiQAAABXQVZFZm10"), "audio/wav");
  EXPECT_EQ(*SniffBase64MediaType("aGVsbG8="), "application/octet-stream");
  Result<std::string> bad = SniffBase64MediaType("aGVs*G8=");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("offset 4"), std::string::npos);
  EXPECT_FALSE(SniffBase64MediaType("aGVsb").ok());
  EXPECT_FALSE(SniffBase64MediaType("").ok());
}

TEST(JsonBody, OffsetInTheError) {
  Result<json> r = ParseJsonBody("{\"a\": [1, 2,, 3]}");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("at byte 13"), std::string::npos) << r.status().message();
  EXPECT_FALSE(ParseJsonBody("").ok());
}

TEST(OllamaChat, TranslatesOptionsFormatAndThink) {
  const json body = {{"model", "gemma3:latest"},
                     {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                     {"options", {{"temperature", 0.2}, {"top_k", 40}, {"min_p", 0.05},
                                  {"num_predict", -1}, {"stop", json::array({"\n"})},
                                  {"repeat_penalty", 1.1}, {"num_ctx", 2048}}},
                     {"format", {{"type", "object"}}},
                     {"think", false},
                     {"stream", false},
                     {"keep_alive", "1m"}};
  Result<OllamaCall> c = TranslateOllamaChat(body);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->model, "gemma3");
  EXPECT_FALSE(c->stream);
  EXPECT_EQ(*c->keep_alive_s, 60);
  EXPECT_EQ(c->num_ctx, 2048);
  const json& o = c->openai_body;
  EXPECT_EQ(o["temperature"], 0.2);
  EXPECT_EQ(o["top_k"], 40);
  EXPECT_FALSE(o.contains("max_tokens")) << "num_predict -1 means no limit";
  EXPECT_EQ(o["stop"][0], "\n");
  EXPECT_EQ(o["repeat_penalty"], 1.1);
  EXPECT_EQ(o["response_format"]["type"], "json_schema");
  EXPECT_EQ(o["response_format"]["json_schema"]["schema"]["type"], "object");
  EXPECT_EQ(o["chat_template_kwargs"]["enable_thinking"], false);
  EXPECT_FALSE(o.contains("stream_options"));
}

TEST(OllamaChat, StreamingAsksForUsage) {
  Result<OllamaCall> c = TranslateOllamaChat(
      {{"model", "m"}, {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->stream);
  EXPECT_EQ(c->openai_body["stream_options"]["include_usage"], true);
}

TEST(OllamaChat, RejectsWhatItCannotHonour) {
  auto msg = [](const json& body) {
    Result<OllamaCall> c = TranslateOllamaChat(body);
    return c.ok() ? std::string("ok") : c.status().message();
  };
  const json m = json::array({{{"role", "user"}, {"content", "hi"}}});
  EXPECT_NE(msg({{"messages", m}, {"options", {{"foo", 1}}}}).find("unknown options: foo"),
            std::string::npos);
  EXPECT_NE(msg({{"messages", m}, {"options", {{"num_gpu", 1}}}}).find("not supported by hearth: num_gpu"),
            std::string::npos);
  EXPECT_NE(msg({{"messages", m}, {"options", {{"top_k", 1.5}}}}).find("options.top_k must be an integer"),
            std::string::npos);
  EXPECT_NE(msg({{"messages", m}, {"format", "yaml"}}).find("format"), std::string::npos);
  EXPECT_NE(msg({{"messages", m}, {"bogus", 1}}).find("bogus"), std::string::npos);
  EXPECT_NE(msg({{"messages", "hi"}}).find("messages must be an array"), std::string::npos);
  EXPECT_NE(msg({{"messages", json::array({{{"content", "x"}}})}}).find("messages[0].role"),
            std::string::npos);
}

TEST(OllamaChat, EmptyMessagesLoadOrUnload) {
  Result<OllamaCall> c = TranslateOllamaChat({{"model", "m"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, OllamaCall::Kind::kLoad);
  c = TranslateOllamaChat({{"model", "m"}, {"messages", json::array()}, {"keep_alive", 0}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, OllamaCall::Kind::kUnload);
}

TEST(OllamaChat, ToolCallsRoundTrip) {
  const json body = {
      {"model", "m"},
      {"messages",
       json::array({{{"role", "user"}, {"content", "weather?"}},
                    {{"role", "assistant"}, {"content", ""},
                     {"tool_calls", json::array({{{"function", {{"name", "get_weather"},
                                                               {"arguments", {{"city", "Oslo"}}}}}}})}},
                    {{"role", "tool"}, {"content", "cold"}, {"tool_name", "get_weather"}}})}};
  Result<OllamaCall> c = TranslateOllamaChat(body);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const json& msgs = c->openai_body["messages"];
  EXPECT_EQ(msgs[1]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Oslo\"}");
  EXPECT_EQ(msgs[2]["tool_call_id"], msgs[1]["tool_calls"][0]["id"]);

  // And back: streamed fragments gathered into one Ollama tool call on the final object.
  OllamaStreamTranslator t(*c);
  auto chunk = [](const json& delta, const json& finish) {
    return json{{"model", "m"},
                {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
  };
  EXPECT_TRUE(t.Feed(chunk({{"role", "assistant"}}, nullptr)).empty());
  t.Feed(chunk({{"tool_calls", json::array({{{"index", 0}, {"id", "x"},
                                             {"function", {{"name", "get_weather"}, {"arguments", "{\"ci"}}}}})}},
               nullptr));
  t.Feed(chunk({{"tool_calls", json::array({{{"index", 0}, {"function", {{"arguments", "ty\":\"Oslo\"}"}}}}})}},
               "tool_calls"));
  const json last = t.Finish(1000);
  EXPECT_EQ(last["done"], true);
  EXPECT_EQ(last["message"]["tool_calls"][0]["function"]["arguments"]["city"], "Oslo");
  EXPECT_EQ(last["total_duration"], 1000);
}

TEST(OllamaGenerate, RawAndUnsupportedFields) {
  Result<OllamaCall> c = TranslateOllamaGenerate({{"model", "m"}, {"prompt", "p"}, {"raw", true}});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->text_completion);
  EXPECT_EQ(c->openai_body["prompt"], "p");
  EXPECT_FALSE(TranslateOllamaGenerate({{"prompt", "p"}, {"suffix", "s"}}).ok());
  EXPECT_FALSE(TranslateOllamaGenerate({{"prompt", "p"}, {"context", {1, 2}}}).ok());
  EXPECT_FALSE(TranslateOllamaGenerate({{"prompt", "p"}, {"template", "{{.Prompt}}"}}).ok());
  EXPECT_FALSE(TranslateOllamaGenerate({{"prompt", "p"}, {"raw", true}, {"images", {"iVBORw0KGgo="}}}).ok());
}

TEST(OllamaResponse, StatsFromTimings) {
  OllamaCall call;
  call.chat = false;
  const json r = {{"model", "m"},
                  {"choices", json::array({{{"index", 0}, {"text", "abc"}, {"finish_reason", "length"}}})},
                  {"usage", {{"prompt_tokens", 5}, {"completion_tokens", 3}}},
                  {"x_timings", {{"load_ms", 1.5}, {"prompt_ms", 2}, {"decode_ms", 4}}}};
  OllamaStats s;
  s.total_ns = 99;
  const json o = OllamaFromResponse(call, r, s);
  EXPECT_EQ(o["response"], "abc");
  EXPECT_EQ(o["done_reason"], "length");
  EXPECT_EQ(o["load_duration"], 1500000);
  EXPECT_EQ(o["prompt_eval_duration"], 2000000);
  EXPECT_EQ(o["eval_duration"], 4000000);
  EXPECT_EQ(o["eval_count"], 3);
  EXPECT_EQ(o["total_duration"], 99);
  call.acquire_ns = 7000000;  // the server loaded the model for this request
  EXPECT_EQ(OllamaFromResponse(call, r, s)["load_duration"], 7000000);
}

}  // namespace
}  // namespace hearth::server
