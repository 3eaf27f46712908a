// Pure translations between OpenAI shapes and the Anthropic / Gemini wire formats, and the error
// helpers, checked against exact expected JSON.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backends/adapters.h"
#include "backends/http_client.h"

namespace hearth::backends {
namespace {

using nlohmann::json;

const char kPng[] = "data:image/png;base64,iVBORw0KGgo=";

json MultimodalToolRequest() {
  return json::parse(R"({
    "model": "x", "temperature": 1.5, "top_p": 0.9, "max_tokens": 77, "stop": "END",
    "messages": [
      {"role": "system", "content": "rule one"},
      {"role": "developer", "content": [{"type": "text", "text": "rule two"}]},
      {"role": "user", "content": [{"type": "text", "text": "what is this?"},
                                   {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}}]},
      {"role": "assistant", "content": null,
       "tool_calls": [{"id": "call_1", "type": "function",
                       "function": {"name": "lookup", "arguments": "{\"q\":\"png\"}"}}]},
      {"role": "tool", "tool_call_id": "call_1", "content": "a PNG header"},
      {"role": "user", "content": "thanks"}
    ],
    "tools": [{"type": "function", "function": {"name": "lookup", "description": "search",
               "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
    "tool_choice": "required"
  })");
}

TEST(AnthropicTranslate, RequestWithSystemImageToolsAndMerging) {
  Result<json> out = AnthropicRequestFromOpenAi(MultimodalToolRequest(), "claude-test", 4096, true);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  json expected = json::parse(R"({
    "model": "claude-test", "max_tokens": 77, "system": "rule one\n\nrule two",
    "temperature": 1.0, "top_p": 0.9, "stop_sequences": ["END"], "stream": true,
    "messages": [
      {"role": "user", "content": [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}]},
      {"role": "assistant", "content": [
        {"type": "tool_use", "id": "call_1", "name": "lookup", "input": {"q": "png"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "call_1", "content": "a PNG header"},
        {"type": "text", "text": "thanks"}]}
    ],
    "tools": [{"name": "lookup", "description": "search",
               "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}],
    "tool_choice": {"type": "any"}
  })");
  EXPECT_EQ(*out, expected) << out->dump(2);
}

TEST(AnthropicTranslate, DefaultMaxTokensAndRejectsAudio) {
  json body = {{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}};
  Result<json> out = AnthropicRequestFromOpenAi(body, "m", 1234, false);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["max_tokens"], 1234);
  EXPECT_FALSE(out->contains("stream"));
  body["messages"][0]["content"] = json::parse(
      R"([{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}])");
  Result<json> audio = AnthropicRequestFromOpenAi(body, "m", 1234, false);
  ASSERT_FALSE(audio.ok());
  EXPECT_EQ(audio.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(audio.status().message().find("messages[0].content"), std::string::npos);
  EXPECT_FALSE(AnthropicRequestFromOpenAi(json{{"messages", json::array()}}, "m", 1, false).ok());
}

TEST(AnthropicTranslate, ReplyWithThinkingToolUseAndUsage) {
  json reply = json::parse(R"({
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-test",
    "content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "tu_1", "name": "lookup", "input": {"q": "x"}}],
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 3}})");
  Result<json> out = OpenAiFromAnthropicReply(reply);
  ASSERT_TRUE(out.ok());
  json got = *out;
  got.erase("created");
  json expected = json::parse(R"({
    "id": "msg_1", "object": "chat.completion", "model": "claude-test",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
      "role": "assistant", "content": "Let me look.", "reasoning_content": "hmm",
      "tool_calls": [{"id": "tu_1", "type": "function",
                      "function": {"name": "lookup", "arguments": "{\"q\":\"x\"}"}}]}}],
    "usage": {"prompt_tokens": 15, "completion_tokens": 3, "total_tokens": 18}})");
  EXPECT_EQ(got, expected) << got.dump(2);
  reply["stop_reason"] = "max_tokens";
  reply["content"] = json::array({{{"type", "text"}, {"text", "cut"}}});
  EXPECT_EQ((*OpenAiFromAnthropicReply(reply))["choices"][0]["finish_reason"], "length");
}

TEST(GeminiTranslate, RequestWithSystemImageAudioToolsAndConfig) {
  json body = MultimodalToolRequest();
  body["messages"][2]["content"].push_back(
      {{"type", "input_audio"}, {"input_audio", {{"data", "SUQz"}, {"format", "mp3"}}}});
  body["response_format"] = {{"type", "json_object"}};
  body["seed"] = 42;
  Result<json> out = GeminiRequestFromOpenAi(body, 0);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  json expected = json::parse(R"({
    "systemInstruction": {"parts": [{"text": "rule one\n\nrule two"}]},
    "contents": [
      {"role": "user", "parts": [{"text": "what is this?"},
                                 {"inline_data": {"mime_type": "image/png", "data": "iVBORw0KGgo="}},
                                 {"inline_data": {"mime_type": "audio/mp3", "data": "SUQz"}}]},
      {"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {"q": "png"}}}]},
      {"role": "user", "parts": [{"functionResponse": {"name": "lookup", "response": {"content": "a PNG header"}}},
                                 {"text": "thanks"}]}
    ],
    "generationConfig": {"temperature": 1.5, "topP": 0.9, "seed": 42, "maxOutputTokens": 77,
                         "stopSequences": ["END"], "responseMimeType": "application/json"},
    "tools": [{"functionDeclarations": [{"name": "lookup", "description": "search",
               "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}]}],
    "toolConfig": {"functionCallingConfig": {"mode": "ANY"}}
  })");
  EXPECT_EQ(*out, expected) << out->dump(2);
}

TEST(GeminiTranslate, RemoteImageUrlIsRejectedClearly) {
  json body = {{"messages", json::array({{{"role", "user"},
                                          {"content", json::array({{{"type", "image_url"},
                                                                    {"image_url", {{"url", "https://x/y.png"}}}}})}}})}};
  Result<json> out = GeminiRequestFromOpenAi(body, 0);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(out.status().message().find("inline"), std::string::npos);
}

TEST(GeminiTranslate, ReplyFinishReasonsUsageAndFunctionCalls) {
  json reply = json::parse(R"({
    "candidates": [{"content": {"role": "model", "parts": [{"text": "thinking...", "thought": true},
                                                           {"text": "Hi"}]},
                    "finishReason": "MAX_TOKENS"}],
    "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 2, "thoughtsTokenCount": 3},
    "modelVersion": "gemini-test", "responseId": "r1"})");
  Result<json> out = OpenAiFromGeminiReply(reply, "fallback");
  ASSERT_TRUE(out.ok());
  json got = *out;
  got.erase("created");
  json expected = json::parse(R"({
    "id": "r1", "object": "chat.completion", "model": "gemini-test",
    "choices": [{"index": 0, "finish_reason": "length",
                 "message": {"role": "assistant", "content": "Hi", "reasoning_content": "thinking..."}}],
    "usage": {"prompt_tokens": 4, "completion_tokens": 5, "total_tokens": 9}})");
  EXPECT_EQ(got, expected) << got.dump(2);
  reply["candidates"][0]["finishReason"] = "SAFETY";
  EXPECT_EQ((*OpenAiFromGeminiReply(reply, ""))["choices"][0]["finish_reason"], "content_filter");
  reply["candidates"][0]["content"]["parts"] = json::parse(R"([{"functionCall":{"name":"f","args":{"a":1}}}])");
  json calls = *OpenAiFromGeminiReply(reply, "");
  EXPECT_EQ(calls["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(calls["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"], "{\"a\":1}");
  EXPECT_TRUE(calls["choices"][0]["message"]["content"].is_null());
  json blocked = {{"promptFeedback", {{"blockReason", "SAFETY"}}}};
  EXPECT_EQ((*OpenAiFromGeminiReply(blocked, ""))["choices"][0]["finish_reason"], "content_filter");
  EXPECT_EQ(OpenAiFromGeminiReply(json::object(), "").status().code(), StatusCode::kUnavailable);
}

TEST(Errors, HttpCodesMapToStatusCodes) {
  EXPECT_EQ(StatusForHttp(400, "m", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusForHttp(401, "m", {}).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusForHttp(403, "m", {}).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(StatusForHttp(404, "m", {}).code(), StatusCode::kNotFound);
  EXPECT_EQ(StatusForHttp(408, "m", {}).code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusForHttp(422, "m", {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusForHttp(500, "m", {}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(StatusForHttp(529, "m", {}).code(), StatusCode::kUnavailable);
  Status limited = StatusForHttp(429, "slow down", 2500);
  EXPECT_EQ(limited.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(RetryAfterMs(limited), 2500);
  EXPECT_EQ(RetryAfterMs(limited.WithContext("backend x")), 2500);
  EXPECT_EQ(RetryAfterMs(StatusForHttp(429, "no header", std::nullopt)), std::nullopt);
  EXPECT_TRUE(IsRetryable(limited));
  EXPECT_FALSE(IsRetryable(StatusForHttp(400, "m", {})));
}

TEST(Errors, OpenAiErrorShape) {
  json e = OpenAiErrorJson(RateLimitedError("HTTP 429: too many", 1000));
  EXPECT_EQ(e["error"]["type"], "rate_limit_error");
  EXPECT_EQ(e["error"]["code"], "RESOURCE_EXHAUSTED");
  EXPECT_TRUE(e["error"]["param"].is_null());
  EXPECT_EQ(OpenAiErrorJson(InvalidArgumentError("x"))["error"]["type"], "invalid_request_error");
  EXPECT_EQ(OpenAiErrorJson(UnavailableError("x"))["error"]["type"], "api_error");
  EXPECT_EQ(OpenAiErrorJson(PermissionDeniedError("x"))["error"]["message"], "x");
}

TEST(Errors, MessagesFromProviderBodies) {
  EXPECT_EQ(ErrorMessageFromBody(R"({"error":{"message":"openai says"}})"), "openai says");
  EXPECT_EQ(ErrorMessageFromBody(R"({"type":"error","error":{"type":"x","message":"anthropic says"}})"), "anthropic says");
  EXPECT_EQ(ErrorMessageFromBody(R"([{"error":{"code":429,"message":"gemini says"}}])"), "gemini says");
  EXPECT_EQ(ErrorMessageFromBody(R"({"error":"plain"})"), "plain");
  EXPECT_EQ(ErrorMessageFromBody("<html>bad gateway</html>"), "<html>bad gateway</html>");
  EXPECT_EQ(ErrorMessageFromBody(std::string(2000, 'x')).size(), 503u);
}

TEST(HttpHelpers, HostRetryAfterAndSecretScrubbing) {
  EXPECT_EQ(UrlHost("https://api.openai.com/v1/chat"), "api.openai.com");
  EXPECT_EQ(UrlHost("http://user:pw@127.0.0.1:8080/x?y"), "127.0.0.1");
  EXPECT_EQ(UrlHost("http://[::1]:9000/v1"), "[::1]");
  EXPECT_EQ(ParseRetryAfter("3"), 3000);
  EXPECT_EQ(ParseRetryAfter(" 1.5 "), 1500);
  EXPECT_EQ(ParseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT"), 0);  // in the past
  EXPECT_EQ(ParseRetryAfter("soon"), std::nullopt);
  EXPECT_EQ(RedactSecrets("key sk-abcdef123 leaked; sk-abcdef123 again", {"sk-abcdef123"}),
            "key [REDACTED] leaked; [REDACTED] again");
  EXPECT_EQ(RedactSecrets("abc", {"ab"}), "abc") << "secrets shorter than 4 bytes are not scrubbed";
}

TEST(DataUrls, Parse) {
  Result<DataUrl> d = ParseDataUrl(kPng);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->media_type, "image/png");
  EXPECT_EQ(d->base64, "iVBORw0KGgo=");
  EXPECT_FALSE(ParseDataUrl("data:image/png,raw").ok());
  EXPECT_FALSE(ParseDataUrl("https://x").ok());
}

}  // namespace
}  // namespace hearth::backends

namespace hearth::backends {
namespace {

TEST(HttpHelpers, DescribeForLogHidesSecretsAndContent) {
  HttpRequest r;
  r.url = "https://generativelanguage.googleapis.com/v1beta/models/g:generateContent?key=AIzaSECRETKEY";
  r.headers = {{"x-goog-api-key", "AIzaSECRETKEY"}, {"Authorization", "Bearer sk-secret-1234"},
               {"Accept", "application/json"}};
  r.secrets = {"AIzaSECRETKEY", "sk-secret-1234"};
  r.body = "{\"contents\":\"my patient's name is John Smith\"}";
  std::string line = DescribeForLog(r);
  EXPECT_EQ(line.find("SECRET"), std::string::npos) << line;
  EXPECT_EQ(line.find("sk-secret"), std::string::npos) << line;
  EXPECT_EQ(line.find("John Smith"), std::string::npos) << line;
  EXPECT_NE(line.find("POST generativelanguage.googleapis.com /v1beta/models/g:generateContent"), std::string::npos) << line;
  EXPECT_NE(line.find("Accept=application/json"), std::string::npos) << line;
  EXPECT_NE(line.find("x-goog-api-key=<redacted>"), std::string::npos) << line;
  EXPECT_NE(line.find("body 46 bytes sha256 "), std::string::npos) << line;
}

}  // namespace
}  // namespace hearth::backends
