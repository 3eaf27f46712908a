// EngineModel: the local model behind the OpenAI shapes — validation of every field, the chat
// template, the response and chunk shapes, logprobs, n, stop, context errors — and the
// ModelManager's on-demand loading, naming and memory refusal.
#include "server/engine_model.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>
#include <mutex>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "engine/generate.h"
#include "engine/session.h"
#include "server/model_manager.h"
#include "server/reasoning.h"
#include "server/tool_calls.h"
#include "chat/chat.h"
#include "media/media.h"
#include "mm/projector.h"
#include "engine/json_prefix.h"
#include "tools/testmodel.h"

namespace hearth::server {
namespace {

using nlohmann::json;

std::string ModelPath(const std::string& variant) {
  const std::string dir = std::string(HEARTH_BINARY_DIR) + "/testmodels-unit/served";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + variant + ".gguf";
  if (!std::filesystem::exists(path)) {
    testmodel::Options o;
    o.variant = variant;
    o.type = "q8_0";
    Status s = testmodel::Write(o, path);
    CHECK(s.ok()) << s.ToString();
  }
  return path;
}

std::shared_ptr<EngineModel> Loaded(const std::string& variant = "g4-12b") {
  static std::map<std::string, std::shared_ptr<EngineModel>> cache;
  auto& m = cache[variant];
  if (!m) {
    EngineModelOptions o;
    o.name = variant;
    o.path = ModelPath(variant);
    o.threads = 2;
    o.scheduler = {.parallel = 4, .max_queue = 8, .n_ctx = 256, .n_batch = 64};
    auto r = EngineModel::Load(o);
    CHECK(r.ok()) << r.status().ToString();
    m = *r;
  }
  return m;
}

Result<backends::ChatResult> Chat(const json& body, std::vector<json>* chunks = nullptr) {
  backends::ChatRequest req;
  req.body = body;
  if (!chunks) return Loaded()->Complete(req, nullptr);
  backends::ChunkCallback cb = [chunks](const json& c) {
    chunks->push_back(c);
    return true;
  };
  return Loaded()->Complete(req, &cb);
}

json Hello() {
  return {{"model", "g4-12b"},
          {"messages", json::array({{{"role", "user"}, {"content", "Hello there"}}})},
          {"temperature", 0},
          {"max_tokens", 6}};
}

std::string ErrorParam(const Status& s) {
  json e = backends::OpenAiErrorJson(s);
  return e["error"]["param"].is_string() ? e["error"]["param"].get<std::string>() : "";
}

TEST(EngineModel, ChatCompletionShape) {
  auto r = Chat(Hello());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& j = r->response;
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "g4-12b");
  EXPECT_EQ(j["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  ASSERT_EQ(j["choices"].size(), 1u);
  EXPECT_EQ(j["choices"][0]["message"]["role"], "assistant");
  EXPECT_TRUE(j["choices"][0]["message"]["content"].is_string());
  EXPECT_TRUE(j["choices"][0]["logprobs"].is_null());
  const std::string fr = j["choices"][0]["finish_reason"];
  EXPECT_TRUE(fr == "length" || fr == "stop") << fr;
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 3);
  EXPECT_LE(j["usage"]["completion_tokens"].get<int>(), 6);
  EXPECT_EQ(j["usage"]["total_tokens"].get<int>(),
            j["usage"]["prompt_tokens"].get<int>() + j["usage"]["completion_tokens"].get<int>());
  EXPECT_TRUE(j["usage"]["prompt_tokens_details"]["cached_tokens"].is_number_integer());
  EXPECT_TRUE(j["x_timings"]["decode_ms"].is_number());
  EXPECT_LE(j["x_confidence"]["mean_logprob"].get<double>(), 0.0);
  EXPECT_GE(j["x_confidence"]["mean_entropy"].get<double>(), 0.0);
  EXPECT_EQ(j["x_confidence"]["tokens"], j["usage"]["completion_tokens"]);
  EXPECT_EQ(r->usage.prompt_tokens, j["usage"]["prompt_tokens"].get<int64_t>());
}

// The prompt is the chat template's rendering, and greedy output equals a lone session's on it.
TEST(EngineModel, GreedyAnswerMatchesALoneSession) {
  auto m = Loaded();
  json body = Hello();
  auto r = Chat(body);
  ASSERT_TRUE(r.ok());
  const auto& lm = m->loaded();
  ThreadPool pool(2);
  auto s = engine::Session::Create(*lm.model, {.n_ctx = 256, .n_batch = 64}, pool);
  ASSERT_TRUE(s.ok());
  // The Gemma 4 template with thinking off opens the model turn with an empty thought channel.
  std::vector<int32_t> ids = {lm.tokenizer->bos_id()};
  auto rest = lm.tokenizer->Encode(
      "<|turn>user\nHello there<turn|>\n<|turn>model\n<|channel>thought\n<channel|>", true);
  ids.insert(ids.end(), rest.begin(), rest.end());
  EXPECT_EQ(r->usage.prompt_tokens, static_cast<int64_t>(ids.size()));
  engine::GenerateOptions g;
  g.max_tokens = 6;
  g.sampling.temperature = 0;
  auto want = engine::Generate(**s, *lm.tokenizer, ids, g);
  ASSERT_TRUE(want.ok());
  // The answer proper: the thought-channel markers the random model emits are split off.
  ReasoningSplitter split;
  const std::string content = split.Push(want->text).content + split.Flush().content;
  EXPECT_EQ(r->response["choices"][0]["message"]["content"], content);
}

TEST(EngineModel, StreamingChunksAddUpToTheAnswer) {
  std::vector<json> chunks;
  json body = Hello();
  body["stream"] = true;
  body["stream_options"] = {{"include_usage", true}};
  auto r = Chat(body, &chunks);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_GE(chunks.size(), 3u);
  EXPECT_EQ(chunks.front()["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  for (size_t i = 0; i + 1 < chunks.size(); ++i) {
    EXPECT_EQ(chunks[i]["object"], "chat.completion.chunk");
    EXPECT_EQ(chunks[i]["id"], chunks.front()["id"]);
    const json& d = chunks[i]["choices"][0]["delta"];
    if (d.contains("content")) text += d["content"].get<std::string>();
  }
  const json& finish = chunks[chunks.size() - 2];
  EXPECT_FALSE(finish["choices"][0]["finish_reason"].is_null());
  const json& usage = chunks.back();
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], r->usage.completion_tokens);
  EXPECT_EQ(text, r->response["choices"][0]["message"]["content"]);
  // Same as the non-streamed greedy answer.
  auto plain = Chat(Hello());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(text, plain->response["choices"][0]["message"]["content"]);
}

TEST(EngineModel, LogprobsAndNChoices) {
  json body = Hello();
  body["logprobs"] = true;
  body["top_logprobs"] = 3;
  body["n"] = 2;
  body["temperature"] = 0.9;
  body["seed"] = 7;
  auto r = Chat(body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->response["choices"].size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const json& c = r->response["choices"][i];
    EXPECT_EQ(c["index"], i);
    const json& content = c["logprobs"]["content"];
    ASSERT_GE(content.size(), 1u);
    for (const json& t : content) {
      EXPECT_LE(t["logprob"].get<double>(), 0.0);
      EXPECT_EQ(t["top_logprobs"].size(), 3u);
      EXPECT_GE(t["top_logprobs"][0]["logprob"].get<double>(), t["logprob"].get<double>() - 1e-6);
      EXPECT_TRUE(t["bytes"].is_array());
    }
  }
  // The same seed gives the same answers.
  auto again = Chat(body);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->response["choices"][0]["message"], r->response["choices"][0]["message"]);
  EXPECT_EQ(again->response["choices"][1]["message"], r->response["choices"][1]["message"]);
}

TEST(EngineModel, StopStringEndsTheAnswer) {
  json body = Hello();
  body["max_tokens"] = 12;
  auto free_run = Chat(body);
  ASSERT_TRUE(free_run.ok());
  const std::string text = free_run->response["choices"][0]["message"]["content"];
  ASSERT_GE(text.size(), 4u) << "the greedy answer is too short to cut: '" << text << "'";
  body["stop"] = json::array({text.substr(2, 2)});
  auto cut = Chat(body);
  ASSERT_TRUE(cut.ok());
  const std::string got = cut->response["choices"][0]["message"]["content"];
  EXPECT_EQ(got, text.substr(0, text.find(text.substr(2, 2))));
  EXPECT_EQ(cut->response["choices"][0]["finish_reason"], "stop");
}

// Every unsupported or ill-typed field is an error naming it; nothing is ignored.
TEST(EngineModel, BadFieldsAreNamed) {
  struct Case {
    const char* key;
    json value;
    const char* param;
  };
  const std::vector<Case> cases = {
      {"temperature", 3, "temperature"},
      {"temperature", "hot", "temperature"},
      {"top_p", -0.1, "top_p"},
      {"max_tokens", 0, "max_tokens"},
      {"max_tokens", 2.5, "max_tokens"},
      {"n", 100, "n"},
      {"stop", 5, "stop"},
      {"stop", json::array({""}), "stop"},
      {"seed", "x", "seed"},
      {"logit_bias", {{"99999999", 1}}, "logit_bias"},
      {"tools", json::array({{{"type", "function"}}}), "tools[0]"},
      {"tools", "none", "tools"},
      {"tool_choice", "required", "tool_choice"},
      {"response_format", {{"type", "json_schema"}}, "response_format"},
      {"response_format", {{"type", "yaml"}}, "response_format"},
      {"frobnicate", true, "frobnicate"},
      {"stream_options", {{"include_usage", true}}, "stream_options"},
      {"top_logprobs", 2, "top_logprobs"},
  };
  for (const Case& c : cases) {
    json body = Hello();
    body[c.key] = c.value;
    auto r = Chat(body);
    ASSERT_FALSE(r.ok()) << c.key << "=" << c.value.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
    EXPECT_EQ(ErrorParam(r.status()), c.param) << r.status().ToString();
  }
  json media = Hello();
  media["messages"][0]["content"] = json::array(
      {{{"type", "text"}, {"text", "what is this?"}},
       {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,AAAA"}}}}});
  auto r = Chat(media);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(ErrorParam(r.status()), "messages[0].content[1]");
  json role = Hello();
  role["messages"][0]["role"] = "wizard";
  EXPECT_EQ(ErrorParam(Chat(role).status()), "messages[0].role");
  json none = Hello();
  none.erase("messages");
  EXPECT_EQ(ErrorParam(Chat(none).status()), "messages");
}

TEST(EngineModel, PromptLongerThanTheContextNamesBothNumbers) {
  json body = Hello();
  std::string long_text;
  for (int i = 0; i < 400; ++i) long_text += "word ";
  body["messages"][0]["content"] = long_text;
  auto r = Chat(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("256"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("tokens"), std::string::npos);
}

TEST(EngineModel, TextCompletion) {
  backends::ChatRequest req;
  req.body = {{"model", "g4-12b"}, {"prompt", "Once upon a time"}, {"max_tokens", 5},
              {"temperature", 0}, {"logprobs", 2}, {"echo", true}};
  auto r = Loaded()->CompleteText(req, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& j = r->response;
  EXPECT_EQ(j["object"], "text_completion");
  const std::string text = j["choices"][0]["text"];
  EXPECT_EQ(text.rfind("Once upon a time", 0), 0u);
  EXPECT_EQ(j["choices"][0]["logprobs"]["tokens"].size(),
            j["choices"][0]["logprobs"]["token_logprobs"].size());
  req.body["suffix"] = "x";
  EXPECT_EQ(ErrorParam(Loaded()->CompleteText(req, nullptr).status()), "suffix");
}

TEST(EngineModel, ClientGoneCancels) {
  json body = Hello();
  body["stream"] = true;
  body["max_tokens"] = 200;
  body["temperature"] = 0.8;
  backends::ChatRequest req;
  req.body = body;
  int seen = 0;
  backends::ChunkCallback cb = [&](const json&) { return ++seen < 3; };
  auto r = Loaded()->Complete(req, &cb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  // The slot is free again.
  EXPECT_EQ(Loaded()->load().active, 0);
  EXPECT_TRUE(Chat(Hello()).ok());
}

TEST(ModelManager, LoadsByNameAndRefusesWhatDoesNotFit) {
  const std::string dir = std::string(HEARTH_BINARY_DIR) + "/testmodels-unit/modelsdir";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(ModelPath("g3-1b"), dir + "/small.gguf",
                             std::filesystem::copy_options::overwrite_existing);
  {
    std::ofstream bad(dir + "/broken.gguf");
    bad << "not a gguf";
  }
  ModelManagerOptions o;
  o.models_dir = dir;
  o.n_ctx = 128;
  o.parallel = 2;
  o.threads = 2;
  auto host = CreateModelManager(o);
  ASSERT_TRUE(host.ok()) << host.status().ToString();
  EXPECT_TRUE((*host)->Ready());
  auto list = (*host)->List();
  ASSERT_EQ(list.size(), 1u);  // the broken file is skipped
  EXPECT_EQ(list[0].name, "small");
  EXPECT_EQ(list[0].family, "gemma3");
  EXPECT_FALSE(list[0].quantization.empty());
  EXPECT_TRUE((*host)->Running().empty());

  auto missing = (*host)->Acquire("nope", std::nullopt);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("small"), std::string::npos);

  auto m = (*host)->Acquire("small:latest", 60.0);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)->info().n_ctx, 128);
  ASSERT_EQ((*host)->Running().size(), 1u);
  EXPECT_GT((*host)->Running()[0].expires_unix, 0);
  m->reset();
  ASSERT_TRUE((*host)->Unload("small").ok());
  EXPECT_TRUE((*host)->Running().empty());

  ModelManagerOptions tight = o;
  tight.max_memory_bytes = 1 << 20;  // 1 MiB: nothing fits
  auto host2 = CreateModelManager(tight);
  ASSERT_TRUE(host2.ok());
  auto refused = (*host2)->Acquire("small", std::nullopt);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("does not fit"), std::string::npos);
}

TEST(ModelManager, DefaultModelLoadsInTheBackground) {
  ModelManagerOptions o;
  o.model_path = ModelPath("g3-1b");
  o.n_ctx = 64;
  o.parallel = 1;
  o.threads = 1;
  auto host = CreateModelManager(o);
  ASSERT_TRUE(host.ok());
  for (int i = 0; i < 200 && !(*host)->Ready(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE((*host)->Ready());
  EXPECT_EQ((*host)->DefaultModel(), "g3-1b");
  auto m = (*host)->Acquire("", std::nullopt);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*m)->name(), "g3-1b");

  ModelManagerOptions bad;
  bad.model_path = "/nonexistent/model.gguf";
  auto h = CreateModelManager(bad);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("/nonexistent/model.gguf"), std::string::npos);
}

}  // namespace
}  // namespace hearth::server

namespace hearth::server {
namespace {

ReasoningSplitter::Piece Feed(const std::vector<std::string>& pieces) {
  ReasoningSplitter s;
  ReasoningSplitter::Piece all;
  for (const auto& p : pieces) {
    auto got = s.Push(p);
    all.content += got.content;
    all.reasoning += got.reasoning;
  }
  auto rest = s.Flush();
  all.content += rest.content;
  all.reasoning += rest.reasoning;
  return all;
}

TEST(ReasoningSplitter, ThoughtChannelGoesToReasoning) {
  auto p = Feed({"<|channel>thought\nLet me think.<channel|>The answer is 4."});
  EXPECT_EQ(p.reasoning, "Let me think.");
  EXPECT_EQ(p.content, "The answer is 4.");
  // Split anywhere, even inside the markers, the result is the same.
  const std::string text = "<|channel>thought\nA<b<channel|>Answer <x> done";
  for (size_t cut = 1; cut < text.size(); ++cut) {
    auto q = Feed({text.substr(0, cut), text.substr(cut)});
    EXPECT_EQ(q.reasoning, "A<b") << cut;
    EXPECT_EQ(q.content, "Answer <x> done") << cut;
  }
}

TEST(ReasoningSplitter, EmptyChannelsAndStrayMarkersLeaveNothing) {
  EXPECT_EQ(Feed({"<|channel>thought\n<channel|>Hi"}).content, "Hi");
  EXPECT_EQ(Feed({"<|channel><channel|>Hi"}).content, "Hi");
  EXPECT_EQ(Feed({"<channel|><channel|>Hi<channel|>"}).content, "Hi");
  EXPECT_EQ(Feed({"a <|chan"}).content, "a <|chan");  // a cut-off prefix is text after all
  auto cut = Feed({"<|channel>thought\nstill thinking"});
  EXPECT_EQ(cut.reasoning, "still thinking");
  EXPECT_EQ(cut.content, "");
}

}  // namespace
}  // namespace hearth::server

namespace hearth::server {
namespace {

// JSON mode: whatever the (random) model prefers, the answer is a JSON object's text — complete
// and parseable when it stopped by itself, a valid prefix when max_tokens cut it.
TEST(EngineModel, JsonObjectModeGivesJson) {
  int complete = 0;
  for (int seed = 1; seed <= 6; ++seed) {
    json body = Hello();
    body["response_format"] = {{"type", "json_object"}};
    body["max_tokens"] = 48;
    body["temperature"] = 1.0;
    body["seed"] = seed;
    auto r = Chat(body);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const std::string text = r->response["choices"][0]["message"]["content"];
    engine::JsonPrefix p;
    EXPECT_TRUE(p.Feed(text)) << text;
    if (r->response["choices"][0]["finish_reason"] == "stop") {
      ++complete;
      auto parsed = json::parse(text, nullptr, false);
      EXPECT_FALSE(parsed.is_discarded()) << text;
      EXPECT_TRUE(parsed.is_object()) << text;
    }
  }
  EXPECT_GT(complete, 0);
}

}  // namespace
}  // namespace hearth::server

namespace hearth::server {
namespace {

TEST(ToolCalls, ParsesGemma4CallSyntax) {
  auto c = ParseToolCall(
      "call:get_weather{city:<|\"|>Paris, FR<|\"|>,days:3,metric:true,opts:{depth:-1.5,"
      "<|\"|>quoted key<|\"|>:null},tags:[<|\"|>a<|\"|>,2,[]]}");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "get_weather");
  EXPECT_EQ(c->arguments, json::parse(R"({"city":"Paris, FR","days":3,"metric":true,
      "opts":{"depth":-1.5,"quoted key":null},"tags":["a",2,[]]})"));
  EXPECT_TRUE(ParseToolCall("call:f{}").ok());
  for (const char* bad : {"f{}", "call:{}", "call:f{a}", "call:f{a:<|\"|>x}", "call:f{a:1",
                          "call:f{a:zz}", "call:f{a:1}junk"}) {
    auto r = ParseToolCall(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(ToolCalls, FilterHoldsCallsBackAndKeepsTheRest) {
  const std::string text =
      "Let me check.<|tool_call>call:a{x:1}<tool_call|><|tool_call>call:b{}<tool_call|>";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    ToolCallFilter f;
    std::string shown = f.Push(text.substr(0, cut));
    shown += f.Push(text.substr(cut));
    auto r = f.Finish();
    EXPECT_EQ(shown + r.rest, "Let me check.") << cut;
    ASSERT_EQ(r.calls.size(), 2u) << cut;
    EXPECT_EQ(r.calls[0], "call:a{x:1}");
    EXPECT_EQ(r.calls[1], "call:b{}");
  }
  ToolCallFilter plain;
  EXPECT_EQ(plain.Push("no calls <|tool"), "no calls ");
  EXPECT_EQ(plain.Finish().rest, "<|tool");
}

// Tools reach the prompt through the template, tool messages render, and a model that writes a
// call (forced here with a logit bias on the call marker) answers with tool_calls.
TEST(EngineModel, ToolsInAndToolCallsOut) {
  json body = Hello();
  body["tools"] = json::array({{{"type", "function"},
                                {"function", {{"name", "lookup"},
                                              {"description", "Look a word up"},
                                              {"parameters", {{"type", "object"},
                                                              {"properties", {{"word", {{"type", "string"}}}}}}}}}}});
  auto plain = Chat(Hello());
  auto with_tools = Chat(body);
  ASSERT_TRUE(with_tools.ok()) << with_tools.status().ToString();
  EXPECT_GT(with_tools->usage.prompt_tokens, plain->usage.prompt_tokens);  // declarations rendered

  // A conversation with an earlier call and its result.
  json convo = body;
  convo["messages"] = json::array(
      {{{"role", "user"}, {"content", "define cat"}},
       {{"role", "assistant"}, {"content", nullptr},
        {"tool_calls", json::array({{{"id", "call_1"}, {"type", "function"},
                                     {"function", {{"name", "lookup"},
                                                   {"arguments", "{\"word\":\"cat\"}"}}}}})}},
       {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "a small feline"}}});
  auto r = Chat(convo);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  // Force the call marker first: whatever follows, the answer is either parsed calls or text.
  const int32_t marker = Loaded()->loaded().tokenizer->Find("<|tool_call>");
  ASSERT_GE(marker, 0);
  json forced = body;
  forced["logit_bias"] = {{std::to_string(marker), 100}};
  forced["max_tokens"] = 3;
  auto f = Chat(forced);
  ASSERT_TRUE(f.ok());
  const json& msg = f->response["choices"][0]["message"];
  // The random model never closes a call in 3 tokens: the unparsable call comes back as text.
  ASSERT_TRUE(msg["content"].is_string());
  EXPECT_NE(msg["content"].get<std::string>().find("<|tool_call>"), std::string::npos);

  json none = body;
  none["tool_choice"] = "none";
  none["logit_bias"] = {{std::to_string(marker), 100}};
  auto n = Chat(none);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->response["choices"][0]["message"]["content"].get<std::string>().find("<|tool_call>"),
            std::string::npos);
}

}  // namespace
}  // namespace hearth::server

namespace hearth::server {
namespace {

std::string GoldenFile(const std::string& name) {
  return std::string(HEARTH_SOURCE_DIR) + "/tests/data/golden/" + name;
}

std::string Base64(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], t[v & 63]};
  }
  if (bytes.size() - i == 1) {
    const uint32_t v = uint8_t(bytes[i]) << 16;
    out += {t[v >> 18], t[(v >> 12) & 63], '=', '='};
  } else if (bytes.size() - i == 2) {
    const uint32_t v = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    out += {t[v >> 18], t[(v >> 12) & 63], t[(v >> 6) & 63], '='};
  }
  return out;
}

std::shared_ptr<EngineModel> Unified() {
  static std::shared_ptr<EngineModel> m;
  if (!m) {
    EngineModelOptions o;
    o.name = "u12b";
    o.path = GoldenFile("g4-u12b-tiny-q8_0.gguf");
    o.mmproj_path = GoldenFile("mmproj-g4-u12b-tiny-f16.gguf");
    o.threads = 2;
    o.scheduler = {.parallel = 2, .max_queue = 4, .n_ctx = 512, .n_batch = 256};
    auto r = EngineModel::Load(o);
    CHECK(r.ok()) << r.status().ToString();
    m = *r;
  }
  return m;
}

// An image and an audio clip sent inline reach the model as their projector's rows: the server's
// answer equals a session fed the same conversation through the projector by hand.
TEST(EngineModelMedia, ImageAndAudioPartsMatchAHandFedSession) {
  auto m = Unified();
  EXPECT_TRUE(m->info().vision);
  EXPECT_TRUE(m->info().audio);
  const json content = json::array(
      {{{"type", "image_url"},
        {"image_url", {{"url", "data:image/png;base64," + Base64(GoldenFile("image-300x200.png"))}}}},
       {{"type", "input_audio"},
        {"input_audio", {{"data", Base64(GoldenFile("tone-440hz-1s.wav"))}, {"format", "wav"}}}},
       {{"type", "text"}, {"text", "What is in this picture, and what do you hear?"}}});
  backends::ChatRequest req;
  req.body = {{"messages", json::array({{{"role", "user"}, {"content", content}}})},
              {"max_tokens", 4}, {"temperature", 0}, {"logprobs", true}};
  auto r = m->Complete(req, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  // By hand: decode, encode, render with placeholders, assemble, feed.
  const auto& lm = m->loaded();
  ThreadPool pool(2);
  auto proj = mm::Projector::Load(GoldenFile("mmproj-g4-u12b-tiny-f16.gguf"), lm.model->config());
  ASSERT_TRUE(proj.ok());
  auto img_bytes = media::ReadFile(GoldenFile("image-300x200.png"));
  auto img = media::DecodeImage(*img_bytes);
  auto wav_bytes = media::ReadFile(GoldenFile("tone-440hz-1s.wav"));
  auto wav = media::DecodeAudio(*wav_bytes);
  ASSERT_TRUE(img.ok() && wav.ok());
  std::vector<mm::Embeddings> media_rows;
  media_rows.push_back(*(*proj)->EncodeImage(img->width, img->height, img->rgb.data(), {}, pool));
  auto audio_rows = (*proj)->EncodeAudio(wav->samples, pool);
  ASSERT_TRUE(audio_rows.ok());
  for (auto& e : *audio_rows) media_rows.push_back(std::move(e));
  auto family = chat::DetectFamily(lm.tokenizer->vocab().chat_template);
  chat::Part image, audio, text;
  image.kind = chat::Part::Kind::kImage;
  audio.kind = chat::Part::Kind::kAudio;
  text.text = "What is in this picture, and what do you hear?";
  auto rendered = chat::Render(*family, {chat::Message::Parts("user", {image, audio, text})}, {});
  ASSERT_TRUE(rendered.ok());
  auto chunks = mm::AssemblePrompt(*rendered, *family, *lm.tokenizer, std::move(media_rows), true);
  ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
  auto s = engine::Session::Create(*lm.model, {.n_ctx = 512, .n_batch = 256}, pool);
  for (const auto& ch : *chunks) {
    if (ch.is_embd()) {
      ASSERT_TRUE((*s)->FeedEmbeddings(ch.embd.data.data(), ch.embd.n_tok, ch.embd.causal).ok());
    } else {
      ASSERT_TRUE((*s)->Feed(ch.ids).ok());
    }
  }
  EXPECT_EQ(r->usage.prompt_tokens, (*s)->n_past());
  engine::GenerateOptions g;
  g.max_tokens = 4;
  g.sampling.temperature = 0;
  auto want = engine::Generate(**s, *lm.tokenizer, {}, g);
  ASSERT_TRUE(want.ok());
  const json& lp = r->response["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(lp.size(), want->tokens.size());
  for (size_t i = 0; i < want->tokens.size(); ++i)
    EXPECT_NEAR(lp[i]["logprob"].get<double>(), want->tokens[i].logprob, 1e-5) << i;
}

TEST(EngineModelMedia, BadMediaIsNamed) {
  auto m = Unified();
  auto ask = [&](const json& part) {
    backends::ChatRequest req;
    req.body = {{"messages", json::array({{{"role", "user"},
                                           {"content", json::array({part, {{"type", "text"}, {"text", "?"}}})}}})},
                {"max_tokens", 1}};
    return m->Complete(req, nullptr).status();
  };
  Status remote = ask({{"type", "image_url"}, {"image_url", {{"url", "https://example.com/a.png"}}}});
  EXPECT_EQ(ErrorParam(remote), "messages[0].content[0].image_url.url");
  EXPECT_NE(remote.message().find("not fetched"), std::string::npos);
  Status b64 = ask({{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,@@@@"}}}});
  EXPECT_EQ(b64.code(), StatusCode::kInvalidArgument);
  Status corrupt = ask({{"type", "image_url"},
                        {"image_url", {{"url", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA"}}}});
  EXPECT_EQ(corrupt.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorParam(corrupt), "messages[0].content[0].image_url");
  Status not_audio = ask({{"type", "input_audio"}, {"input_audio", {{"data", "AAAA"}, {"format", "wav"}}}});
  EXPECT_EQ(not_audio.code(), StatusCode::kInvalidArgument);
  // A text-only model refuses media by name.
  backends::ChatRequest req;
  req.body = {{"messages", json::array({{{"role", "user"},
                                         {"content", json::array({{{"type", "image_url"},
                                                                   {"image_url", {{"url", "data:image/png;base64,AAAA"}}}}})}}})}};
  Status text_only = Loaded()->Complete(req, nullptr).status();
  EXPECT_NE(text_only.message().find("--mmproj"), std::string::npos) << text_only.ToString();
}

}  // namespace
}  // namespace hearth::server

namespace hearth::server {
namespace {

// --allow-remote-media: an http URL is fetched (here from a loopback server) and gives what the
// same image inline gives; without the flag it is refused; a 404 or an oversized reply is an error
// naming the part.
TEST(EngineModelMedia, RemoteMediaOnlyWhenAllowed) {
  httplib::Server srv;
  std::ifstream in(GoldenFile("image-300x200.png"), std::ios::binary);
  const std::string png((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  srv.Get("/img.png", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(png, "image/png");
  });
  const int port = srv.bind_to_any_port("127.0.0.1");
  std::thread t([&] { srv.listen_after_bind(); });
  const std::string base = "http://127.0.0.1:" + std::to_string(port);

  EngineModelOptions o;
  o.name = "u12b-remote";
  o.path = GoldenFile("g4-u12b-tiny-q8_0.gguf");
  o.mmproj_path = GoldenFile("mmproj-g4-u12b-tiny-f16.gguf");
  o.threads = 2;
  o.scheduler = {.parallel = 1, .max_queue = 2, .n_ctx = 256, .n_batch = 256};
  o.allow_remote_media = true;
  auto remote = EngineModel::Load(o);
  ASSERT_TRUE(remote.ok()) << remote.status().ToString();

  auto ask = [&](EngineModel& m, const std::string& url) {
    backends::ChatRequest req;
    req.body = {{"messages", json::array({{{"role", "user"},
                                           {"content", json::array({{{"type", "image_url"},
                                                                     {"image_url", {{"url", url}}}},
                                                                    {{"type", "text"}, {"text", "?"}}})}}})},
                {"max_tokens", 3}, {"temperature", 0}};
    return m.Complete(req, nullptr);
  };
  auto fetched = ask(**remote, base + "/img.png");
  ASSERT_TRUE(fetched.ok()) << fetched.status().ToString();
  auto inline_ = ask(**remote, "data:image/png;base64," + Base64(GoldenFile("image-300x200.png")));
  ASSERT_TRUE(inline_.ok());
  EXPECT_EQ(fetched->response["choices"][0]["message"], inline_->response["choices"][0]["message"]);
  EXPECT_EQ(fetched->usage.prompt_tokens, inline_->usage.prompt_tokens);

  auto missing = ask(**remote, base + "/nope.png");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("HTTP 404"), std::string::npos) << missing.status().ToString();
  EXPECT_EQ(ErrorParam(missing.status()), "messages[0].content[0].image_url.url");

  auto refused = ask(*Unified(), base + "/img.png");  // the default: never fetched
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--allow-remote-media"), std::string::npos);
  srv.stop();
  t.join();
}

}  // namespace
}  // namespace hearth::server
