// Provider stream events the generated fake replies do not cover (tool calls, in-stream errors,
// pings, usage on a content chunk), replayed byte for byte and checked as exact OpenAI chunks.
#include <gtest/gtest.h>

#include "test_util.h"

namespace hearth::backends {
namespace {

using nlohmann::json;
using fakes::FakeProvider;
using fakes::Wire;

struct StreamRun {
  Result<ChatResult> result = InternalError("unset");
  std::vector<json> chunks;
};

StreamRun Stream(FakeProvider& fake, std::vector<std::string> events, json body = SimpleBody("x")) {
  fake.SetRawStream(std::move(events));
  EgressLog log;
  auto backend = std::move(CreateBackend(ConfigFor(fake, "f", "m"), NetworkOptions{false, log.observer()})).value();
  StreamRun run;
  ChunkCallback cb = [&](const json& c) {
    json n = c;
    n.erase("created");
    run.chunks.push_back(n);
    return true;
  };
  ChatRequest req;
  req.body = std::move(body);
  run.result = backend->Complete(req, &cb);
  return run;
}

std::string Event(const char* name, const char* data) {
  return std::string("event: ") + name + "\ndata: " + data + "\n\n";
}

json Chunk(const std::string& id, const std::string& model, json delta, json finish = nullptr) {
  return {{"id", id}, {"object", "chat.completion.chunk"}, {"model", model},
          {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
}

TEST(AnthropicStreamEvents, ToolUseBlocksBecomeToolCallDeltas) {
  FakeProvider fake(Wire::kAnthropic);
  StreamRun run = Stream(fake, {
      Event("message_start", R"({"type":"message_start","message":{"id":"msg_t","model":"claude-t","usage":{"input_tokens":9}}})"),
      Event("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"),
      Event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}})"),
      Event("content_block_stop", R"({"type":"content_block_stop","index":0})"),
      Event("content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"weather","input":{}}})"),
      Event("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}})"),
      Event("content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Oslo\"}"}})"),
      Event("content_block_stop", R"({"type":"content_block_stop","index":1})"),
      Event("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":21}})"),
      Event("message_stop", R"({"type":"message_stop"})")});
  ASSERT_TRUE(run.result.ok()) << run.result.status().ToString();
  std::vector<json> expected = {
      Chunk("msg_t", "claude-t", {{"role", "assistant"}, {"content", ""}}),
      Chunk("msg_t", "claude-t", {{"content", "Checking."}}),
      Chunk("msg_t", "claude-t", {{"tool_calls", json::array({{{"index", 0}, {"id", "toolu_1"}, {"type", "function"},
                                                               {"function", {{"name", "weather"}, {"arguments", ""}}}}})}}),
      Chunk("msg_t", "claude-t", {{"tool_calls", json::array({{{"index", 0}, {"function", {{"arguments", "{\"city\":"}}}}})}}),
      Chunk("msg_t", "claude-t", {{"tool_calls", json::array({{{"index", 0}, {"function", {{"arguments", "\"Oslo\"}"}}}}})}}),
      Chunk("msg_t", "claude-t", json::object(), "tool_calls")};
  EXPECT_EQ(run.chunks, expected);
  const json& message = run.result->response["choices"][0]["message"];
  EXPECT_EQ(message["content"], "Checking.");
  EXPECT_EQ(message["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Oslo\"}");
  EXPECT_EQ(message["tool_calls"][0]["id"], "toolu_1");
  EXPECT_EQ(run.result->usage.prompt_tokens, 9);
  EXPECT_EQ(run.result->usage.completion_tokens, 21);
}

TEST(AnthropicStreamEvents, OverloadedErrorMidStreamIsUnavailable) {
  FakeProvider fake(Wire::kAnthropic);
  StreamRun run = Stream(fake, {
      Event("message_start", R"({"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}})"),
      Event("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}})"),
      Event("error", R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})")});
  ASSERT_FALSE(run.result.ok());
  EXPECT_EQ(run.result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(run.result.status().message().find("Overloaded"), std::string::npos);
  EXPECT_EQ(run.chunks.size(), 2u);
}

TEST(OpenAiStreamEvents, PingsUsageOnContentChunkAndNoDoneAfterFinish) {
  FakeProvider fake(Wire::kOpenAi);
  json body = SimpleBody("x");
  body["stream_options"] = {{"include_usage", true}};
  StreamRun run = Stream(fake, {
      ": ping\n\n",
      "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"A\"},\"finish_reason\":null}]}\n\n",
      // Usage riding on the finishing chunk (seen from some servers), then no [DONE].
      "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}],"
      "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,\"total_tokens\":4}}\n\n"}, body);
  ASSERT_TRUE(run.result.ok()) << run.result.status().ToString();
  ASSERT_EQ(run.chunks.size(), 2u);
  EXPECT_EQ(run.chunks[1]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(run.chunks[1]["usage"]["prompt_tokens"], 3) << "the client asked for usage: kept";
  EXPECT_EQ(run.result->usage.prompt_tokens, 3);
  EXPECT_EQ(run.result->usage.completion_tokens, 1);
  EXPECT_EQ(run.result->response["choices"][0]["finish_reason"], "length");
}

TEST(OpenAiStreamEvents, ErrorObjectInStreamAndNoEndMarker) {
  FakeProvider fake(Wire::kOpenAi);
  StreamRun run = Stream(fake, {"data: {\"error\":{\"message\":\"model crashed\",\"code\":500}}\n\n"});
  ASSERT_FALSE(run.result.ok());
  EXPECT_EQ(run.result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(run.result.status().message().find("model crashed"), std::string::npos);

  run = Stream(fake, {"data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"A\"},\"finish_reason\":null}]}\n\n"});
  ASSERT_FALSE(run.result.ok()) << "a stream that just stops is not complete";
  EXPECT_EQ(run.result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(run.result.status().message().find("end marker"), std::string::npos);
}

TEST(GeminiStreamEvents, FunctionCallAndErrorEvents) {
  FakeProvider fake(Wire::kGemini);
  StreamRun run = Stream(fake, {
      "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":\"lookup\",\"args\":{\"q\":1}}}]},"
      "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":2},\"responseId\":\"g1\"}\r\n\r\n"});
  ASSERT_TRUE(run.result.ok()) << run.result.status().ToString();
  std::vector<json> expected = {
      Chunk("g1", "m", {{"role", "assistant"}, {"content", ""}}),
      Chunk("g1", "m", {{"tool_calls", json::array({{{"index", 0}, {"id", "call_0"}, {"type", "function"},
                                                     {"function", {{"name", "lookup"}, {"arguments", "{\"q\":1}"}}}}})}}),
      Chunk("g1", "m", json::object(), "tool_calls")};
  EXPECT_EQ(run.chunks, expected);
  EXPECT_EQ(run.result->usage.prompt_tokens, 5);

  run = Stream(fake, {"data: {\"error\":{\"code\":429,\"message\":\"quota\",\"status\":\"RESOURCE_EXHAUSTED\"}}\n\n"});
  ASSERT_FALSE(run.result.ok());
  EXPECT_EQ(run.result.status().code(), StatusCode::kResourceExhausted);
}

TEST(StreamEvents, OddShapesFailCleanlyNeverThrow) {
  FakeProvider fake(Wire::kAnthropic);
  // A field of the wrong type inside an otherwise valid event.
  StreamRun run = Stream(fake, {Event("message_start", R"({"type":"message_start","message":{"id":42,"model":["x"]}})")});
  ASSERT_FALSE(run.result.ok());
  EXPECT_EQ(run.result.status().code(), StatusCode::kUnavailable) << run.result.status().ToString();
  FakeProvider g(Wire::kGemini);
  run = Stream(g, {"data: [1,2,3]\n\n"});
  ASSERT_FALSE(run.result.ok());
  EXPECT_EQ(run.result.status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace hearth::backends
