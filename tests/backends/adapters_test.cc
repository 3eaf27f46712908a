// Each adapter against its loopback fake: the request translation is checked on the bytes the
// fake received, the reply and stream translation on exact OpenAI shapes, and the egress record on
// the SHA-256 of the received body.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "backends/adapters.h"
#include "backends/audit_observer.h"
#include "backends/openai_shapes.h"
#include "ledger/audit.h"
#include "test_util.h"

namespace hearth::backends {
namespace {

using nlohmann::json;
using fakes::FakeProvider;
using fakes::Wire;

constexpr char kKeyEnv[] = "HEARTH_TEST_FAKE_KEY";
constexpr char kKey[] = "sk-test-0123456789abcdef";

std::string Header(const fakes::RecordedRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  }
  return "<absent>";
}

std::unique_ptr<Backend> Make(const FakeProvider& fake, EgressLog& log, const std::string& model) {
  setenv(kKeyEnv, kKey, 1);
  BackendConfig c = ConfigFor(fake, "fake", model);
  c.api_key_env = kKeyEnv;
  Result<std::unique_ptr<Backend>> b = CreateBackend(c, NetworkOptions{false, log.observer()});
  CHECK(b.ok()) << b.status().ToString();
  return std::move(b).value();
}

// Strips what legitimately varies between runs.
json Normalised(json chunk) {
  chunk.erase("created");
  return chunk;
}

std::vector<json> Collect(Backend& backend, const ChatRequest& request, Result<ChatResult>* result) {
  std::vector<json> chunks;
  ChunkCallback cb = [&](const json& c) {
    chunks.push_back(Normalised(c));
    return true;
  };
  *result = backend.Complete(request, &cb);
  return chunks;
}

TEST(OpenAiAdapter, NonStreamingPassThroughWithConfiguredModel) {
  FakeProvider fake(Wire::kOpenAi);
  EgressLog log;
  auto backend = Make(fake, log, "gpt-test");
  ChatRequest req;
  req.body = SimpleBody("hello there");
  req.body["temperature"] = 0.25;
  req.body["stream"] = false;
  req.request_id = "req-1";
  req.redacted_entity_types = {"EMAIL"};
  Result<ChatResult> r = backend->Complete(req, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();

  ASSERT_EQ(fake.request_count(), 1u);
  fakes::RecordedRequest got = fake.requests()[0];
  EXPECT_EQ(got.method, "POST");
  EXPECT_EQ(got.target, "/v1/chat/completions");
  EXPECT_EQ(Header(got, "Authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(Header(got, "Content-Type"), "application/json");
  json sent = SimpleBody("hello there");
  sent["model"] = "gpt-test";
  sent["temperature"] = 0.25;
  EXPECT_EQ(json::parse(got.body), sent);
  EXPECT_EQ(got.body, sent.dump()) << "exact bytes";

  json expected = json::parse(R"({"id":"chatcmpl-fake","object":"chat.completion","created":1700000000,
    "model":"gpt-test","choices":[{"index":0,"message":{"role":"assistant","content":"Echo: hello there"},
    "finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}})");
  EXPECT_EQ(r->response, expected);
  EXPECT_EQ(r->usage.prompt_tokens, 11);
  EXPECT_EQ(r->usage.completion_tokens, 7);
  EXPECT_EQ(r->backend, "fake");
  EXPECT_EQ(r->model, "gpt-test");
  EXPECT_GT(r->latency_ms, 0);

  auto records = log.records();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].sha256_hex, ledger::Sha256Hex(got.body));
  EXPECT_EQ(records[0].bytes, static_cast<int64_t>(got.body.size()));
  EXPECT_EQ(records[0].host, "127.0.0.1");
  EXPECT_EQ(records[0].backend, "fake");
  EXPECT_EQ(records[0].request_id, "req-1");
  EXPECT_EQ(records[0].redacted_entity_types, std::vector<std::string>{"EMAIL"});
  EXPECT_EQ(records[0].url.find(kKey), std::string::npos);
}

TEST(OpenAiAdapter, StreamingForwardsChunksAndAsksForUsage) {
  FakeProvider fake(Wire::kOpenAi);
  fake.SetChunkChars(5);
  EgressLog log;
  auto backend = Make(fake, log, "gpt-test");
  ChatRequest req;
  req.body = SimpleBody("abc");
  Result<ChatResult> r = InternalError("unset");
  std::vector<json> chunks = Collect(*backend, req, &r);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  json sent = json::parse(fake.requests()[0].body);
  EXPECT_EQ(sent["stream"], true);
  EXPECT_EQ(sent["stream_options"], json({{"include_usage", true}}));
  EXPECT_EQ(Header(fake.requests()[0], "Accept"), "text/event-stream");
  // "Echo: abc" in pieces of 5; the client did not ask for usage, so no usage chunk reaches it.
  auto chunk = [](json delta, json finish) {
    return json{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"model", "gpt-test"},
                {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
  };
  std::vector<json> expected = {chunk({{"role", "assistant"}, {"content", ""}}, nullptr),
                                chunk({{"content", "Echo:"}}, nullptr),
                                chunk({{"content", " abc"}}, nullptr),
                                chunk(json::object(), "stop")};
  EXPECT_EQ(chunks, expected);
  EXPECT_EQ(r->usage.prompt_tokens, 11);
  EXPECT_EQ(r->usage.completion_tokens, 7);
  EXPECT_EQ(r->response["choices"][0]["message"]["content"], "Echo: abc");
  EXPECT_EQ(r->response["choices"][0]["finish_reason"], "stop");
  EXPECT_GE(r->ttft_ms, 0);

  req.body["stream_options"] = {{"include_usage", true}};
  chunks = Collect(*backend, req, &r);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(chunks.size(), 5u);
  EXPECT_EQ(chunks.back(), Normalised(json::parse(R"({"id":"chatcmpl-fake","object":"chat.completion.chunk",
      "model":"gpt-test","choices":[],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}})")));
  ASSERT_EQ(log.records().size(), 2u);
  EXPECT_EQ(log.records()[1].sha256_hex, ledger::Sha256Hex(fake.requests()[1].body));
}

TEST(AnthropicAdapter, NonStreamingTranslation) {
  FakeProvider fake(Wire::kAnthropic);
  EgressLog log;
  auto backend = Make(fake, log, "claude-test");
  ChatRequest req;
  req.body = SimpleBody("hi");
  req.body["max_completion_tokens"] = 50;
  Result<ChatResult> r = backend->Complete(req, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  fakes::RecordedRequest got = fake.requests()[0];
  EXPECT_EQ(got.target, "/v1/messages");
  EXPECT_EQ(Header(got, "x-api-key"), kKey);
  EXPECT_EQ(Header(got, "anthropic-version"), "2023-06-01");
  EXPECT_EQ(Header(got, "Authorization"), "<absent>");
  EXPECT_EQ(json::parse(got.body), json::parse(R"({"model":"claude-test","max_tokens":50,
      "system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]})"));
  json response = r->response;
  response.erase("created");
  EXPECT_EQ(response, json::parse(R"({"id":"msg_fake","object":"chat.completion","model":"claude-test",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Echo: hi"},"finish_reason":"stop"}],
      "usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}})"));
  EXPECT_EQ(log.records().at(0).sha256_hex, ledger::Sha256Hex(got.body));
}

TEST(AnthropicAdapter, StreamEventsBecomeOpenAiChunks) {
  FakeProvider fake(Wire::kAnthropic);
  fake.SetChunkChars(3);
  EgressLog log;
  auto backend = Make(fake, log, "claude-test");
  ChatRequest req;
  req.body = SimpleBody("xyz");
  req.body["stream_options"] = {{"include_usage", true}};
  Result<ChatResult> r = InternalError("unset");
  std::vector<json> chunks = Collect(*backend, req, &r);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(json::parse(fake.requests()[0].body)["stream"], true);
  auto chunk = [](json delta, json finish) {
    return json{{"id", "msg_fake"}, {"object", "chat.completion.chunk"}, {"model", "claude-test"},
                {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
  };
  std::vector<json> expected = {
      chunk({{"role", "assistant"}, {"content", ""}}, nullptr),
      chunk({{"content", "Ech"}}, nullptr), chunk({{"content", "o: "}}, nullptr),
      chunk({{"content", "xyz"}}, nullptr), chunk(json::object(), "stop"),
      json{{"id", "msg_fake"}, {"object", "chat.completion.chunk"}, {"model", "claude-test"},
           {"choices", json::array()},
           {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 7}, {"total_tokens", 18}}}}};
  EXPECT_EQ(chunks, expected);
  EXPECT_EQ(r->response["choices"][0]["message"]["content"], "Echo: xyz");
  EXPECT_EQ(r->usage.completion_tokens, 7);
}

TEST(GeminiAdapter, NonStreamingTranslation) {
  FakeProvider fake(Wire::kGemini);
  EgressLog log;
  auto backend = Make(fake, log, "gemini-test");
  ChatRequest req;
  req.body = SimpleBody("hola");
  req.body["max_tokens"] = 20;
  Result<ChatResult> r = backend->Complete(req, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  fakes::RecordedRequest got = fake.requests()[0];
  EXPECT_EQ(got.target, "/v1beta/models/gemini-test:generateContent");
  EXPECT_EQ(Header(got, "x-goog-api-key"), kKey);
  EXPECT_EQ(got.target.find(kKey), std::string::npos) << "the key never goes in the URL";
  EXPECT_EQ(json::parse(got.body), json::parse(R"({"contents":[{"role":"user","parts":[{"text":"hola"}]}],
      "systemInstruction":{"parts":[{"text":"be brief"}]},"generationConfig":{"maxOutputTokens":20}})"));
  json response = r->response;
  response.erase("created");
  EXPECT_EQ(response, json::parse(R"({"id":"fake-response","object":"chat.completion","model":"gemini-test",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Echo: hola"},"finish_reason":"stop"}],
      "usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}})"));
}

TEST(GeminiAdapter, SseStreamWithCrLfFraming) {
  FakeProvider fake(Wire::kGemini);
  fake.SetChunkChars(4);
  EgressLog log;
  auto backend = Make(fake, log, "gemini-test");
  ChatRequest req;
  req.body = SimpleBody("ok");
  req.body["stream_options"] = {{"include_usage", true}};
  Result<ChatResult> r = InternalError("unset");
  std::vector<json> chunks = Collect(*backend, req, &r);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(fake.requests()[0].target, "/v1beta/models/gemini-test:streamGenerateContent?alt=sse");
  auto chunk = [](json delta, json finish) {
    return json{{"id", "fake-response"}, {"object", "chat.completion.chunk"}, {"model", "gemini-test"},
                {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
  };
  // "Echo: ok" in pieces of 4: "Echo", ": ok" (the last event carries finishReason and usage).
  std::vector<json> expected = {
      chunk({{"role", "assistant"}, {"content", ""}}, nullptr),
      chunk({{"content", "Echo"}}, nullptr), chunk({{"content", ": ok"}}, nullptr),
      chunk(json::object(), "stop"),
      json{{"id", "fake-response"}, {"object", "chat.completion.chunk"}, {"model", "gemini-test"},
           {"choices", json::array()},
           {"usage", {{"prompt_tokens", 11}, {"completion_tokens", 7}, {"total_tokens", 18}}}}};
  EXPECT_EQ(chunks, expected);
  EXPECT_EQ(r->response["choices"][0]["message"]["content"], "Echo: ok");
}

TEST(Egress, ObserverSeesExactlyTheBytesEachFakeReceived) {
  for (Wire wire : {Wire::kOpenAi, Wire::kAnthropic, Wire::kGemini}) {
    FakeProvider fake(wire);
    EgressLog log;
    auto backend = Make(fake, log, "m");
    for (int i = 0; i < 3; ++i) {
      ChatRequest req;
      req.body = SimpleBody("message number " + std::to_string(i) + " \xC3\xA9\xE2\x82\xAC");
      Result<ChatResult> r = InternalError("unset");
      if (i % 2 == 0) {
        r = backend->Complete(req, nullptr);
      } else {
        Collect(*backend, req, &r);
      }
      ASSERT_TRUE(r.ok()) << r.status().ToString();
    }
    auto received = fake.requests();
    auto records = log.records();
    ASSERT_EQ(received.size(), 3u);
    ASSERT_EQ(records.size(), 3u);
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(records[i].sha256_hex, ledger::Sha256Hex(received[i].body));
      EXPECT_EQ(records[i].bytes, static_cast<int64_t>(received[i].body.size()));
    }
  }
}

TEST(Egress, RefusingObserverStopsTheSend) {
  FakeProvider fake(Wire::kOpenAi);
  EgressLog log;
  log.set_refuse(true);
  auto backend = Make(fake, log, "m");
  ChatRequest req;
  req.body = SimpleBody("must not leave");
  Result<ChatResult> r = backend->Complete(req, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
  EXPECT_EQ(fake.AllReceivedBytes().find("must not leave"), std::string::npos);
}

TEST(Keys, MissingKeyVariableIsAClearErrorAndKeysNeverAppearInErrors) {
  FakeProvider fake(Wire::kOpenAi);
  EgressLog log;
  BackendConfig c = ConfigFor(fake, "k", "m");
  c.api_key_env = "HEARTH_TEST_UNSET_VARIABLE";
  unsetenv("HEARTH_TEST_UNSET_VARIABLE");
  Result<std::unique_ptr<Backend>> b = CreateBackend(c, NetworkOptions{false, log.observer()});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(b.status().message().find("HEARTH_TEST_UNSET_VARIABLE"), std::string::npos);

  // A provider that echoes the key in its error body: the key is scrubbed from the Status.
  auto backend = Make(fake, log, "m");
  fake.SetFault(fakes::Fault::kServerError);
  fake.SetReplyText("");
  ChatRequest req;
  req.body = SimpleBody(std::string("my key is ") + kKey);
  Result<ChatResult> r = backend->Complete(req, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find(kKey), std::string::npos) << r.status().message();
}

TEST(Health, ProbesTheHealthPath) {
  FakeProvider fake(Wire::kOpenAi);
  EgressLog log;
  BackendConfig c = ConfigFor(fake, "h", "m", Tier::kPrivate);
  c.health_path = "/models";
  auto backend = std::move(CreateBackend(c, NetworkOptions{false, log.observer()})).value();
  EXPECT_TRUE(backend->Health().ok());
  ASSERT_EQ(fake.request_count(), 1u);
  EXPECT_EQ(fake.requests()[0].method, "GET");
  EXPECT_EQ(fake.requests()[0].target, "/v1/models");
  EXPECT_TRUE(log.records().empty()) << "a GET carries no content: no egress record";
  fake.SetFault(fakes::Fault::kServerError, 1);
  EXPECT_EQ(backend->Health().code(), StatusCode::kUnavailable);
  fake.Stop();
  EXPECT_EQ(backend->Health().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace hearth::backends

namespace hearth::backends {
namespace {

TEST(AuditingObserver, EveryEgressIsChainedInTheAuditLog) {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("hearth_egress_audit_" + std::to_string(::getpid()) + ".jsonl")).string();
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".head");
  {
    auto audit = std::move(ledger::AuditLog::Open(path)).value();
    fakes::FakeProvider fake(fakes::Wire::kAnthropic);
    auto backend = std::move(CreateBackend(ConfigFor(fake, "claude", "m"),
                                           NetworkOptions{false, AuditingObserver(audit.get())})).value();
    for (int i = 0; i < 3; ++i) {
      ChatRequest req;
      req.body = SimpleBody("[EMAIL_1] wrote " + std::to_string(i));
      req.redacted_entity_types = {"EMAIL"};
      req.request_id = "r" + std::to_string(i);
      ASSERT_TRUE(backend->Complete(req, nullptr).ok());
    }
    Result<ledger::VerifyReport> report = ledger::Verify(path);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->ok) << report->detail;
    EXPECT_EQ(report->records, 3);
    std::ifstream in(path);
    std::string line;
    auto received = fake.requests();
    for (size_t i = 0; std::getline(in, line); ++i) {
      nlohmann::json r = nlohmann::json::parse(line);
      EXPECT_EQ(r["sha256"], ledger::Sha256Hex(received.at(i).body));
      EXPECT_EQ(r["host"], "127.0.0.1");
      EXPECT_EQ(r["backend"], "claude");
      EXPECT_EQ(r["entities"], nlohmann::json::array({"EMAIL"}));
      EXPECT_EQ(r["request_id"], "r" + std::to_string(i));
    }
  }
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".head");
}

TEST(AuditingObserver, UnwritableAuditLogRefusesTheSend) {
  // /dev/full accepts the open and fails every write (ENOSPC).
  Result<std::unique_ptr<ledger::AuditLog>> audit = ledger::AuditLog::Open("/dev/full", {false});
  if (!audit.ok()) GTEST_SKIP() << "/dev/full unusable here: " << audit.status().ToString();
  fakes::FakeProvider fake(fakes::Wire::kOpenAi);
  auto backend = std::move(CreateBackend(ConfigFor(fake, "o", "m"),
                                         NetworkOptions{false, AuditingObserver(audit->get())})).value();
  ChatRequest req;
  req.body = SimpleBody("unaudited bytes must not leave");
  Result<ChatResult> r = backend->Complete(req, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
  EXPECT_EQ(fake.AllReceivedBytes().find("unaudited bytes"), std::string::npos);
}

}  // namespace
}  // namespace hearth::backends

namespace hearth::backends {
namespace {

TEST(Egress, ThrowingObserverRefusesTheSendWithoutCrashing) {
  fakes::FakeProvider fake(fakes::Wire::kOpenAi);
  EgressObserver throwing = [](const EgressRecord&) -> Status { throw std::runtime_error("boom"); };
  auto backend = std::move(CreateBackend(ConfigFor(fake, "o", "m"), NetworkOptions{false, throwing})).value();
  ChatRequest req;
  req.body = SimpleBody("never sent");
  Result<ChatResult> r = backend->Complete(req, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_EQ(fake.AllReceivedBytes().find("never sent"), std::string::npos);
}

TEST(Streaming, ThrowingChunkCallbackFailsCleanly) {
  fakes::FakeProvider fake(fakes::Wire::kOpenAi);
  EgressLog log;
  auto backend = std::move(CreateBackend(ConfigFor(fake, "o", "m"), NetworkOptions{false, log.observer()})).value();
  ChatRequest req;
  req.body = SimpleBody("x");
  ChunkCallback cb = [](const nlohmann::json&) -> bool { throw std::runtime_error("client bug"); };
  Result<ChatResult> r = backend->Complete(req, &cb);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal) << r.status().ToString();
}

TEST(Concurrency, ManyThreadsShareOneBackend) {
  fakes::FakeProvider fake(fakes::Wire::kGemini);
  EgressLog log;
  auto backend = std::move(CreateBackend(ConfigFor(fake, "g", "m"), NetworkOptions{false, log.observer()})).value();
  constexpr int kThreads = 6, kEach = 5;
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        ChatRequest req;
        std::string text = "t" + std::to_string(t) + "i" + std::to_string(i);
        req.body = SimpleBody(text);
        std::string streamed;
        ChunkCallback cb = [&](const nlohmann::json& c) {
          if (!c["choices"].empty()) streamed += c["choices"][0]["delta"].value("content", "");
          return true;
        };
        Result<ChatResult> r = backend->Complete(req, i % 2 ? &cb : nullptr);
        if (r.ok() && r->response["choices"][0]["message"]["content"] == "Echo: " + text &&
            (i % 2 == 0 || streamed == "Echo: " + text)) {
          ++ok;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
  EXPECT_EQ(log.records().size(), static_cast<size_t>(kThreads * kEach));
}

}  // namespace
}  // namespace hearth::backends

namespace hearth::backends {
namespace {

TEST(Headers, CallerHeadersNeverCarryCredentialsOrInjectLines) {
  fakes::FakeProvider fake(fakes::Wire::kOpenAi);
  EgressLog log;
  auto backend = Make(fake, log, "m");
  ChatRequest req;
  req.body = SimpleBody("x");
  req.headers = {{"authorization", "Bearer client-own-hearth-key"}, {"Cookie", "session=1"},
                 {"X-Request-Id", "abc"}};
  ASSERT_TRUE(backend->Complete(req, nullptr).ok());
  fakes::RecordedRequest got = fake.requests().at(0);
  EXPECT_EQ(Header(got, "Authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(fake.AllReceivedBytes().find("client-own-hearth-key"), std::string::npos);
  EXPECT_EQ(Header(got, "Cookie"), "<absent>");
  EXPECT_EQ(Header(got, "X-Request-Id"), "abc");
  req.headers = {{"X-Evil", "a\r\nX-Injected: 1"}};
  Result<ChatResult> r = backend->Complete(req, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fake.request_count(), 1u);
}

}  // namespace
}  // namespace hearth::backends

namespace hearth::backends {
namespace {

TEST(Errors, OpenAiQuotaExhaustedIsNotRetryable) {
  fakes::FakeProvider fake(fakes::Wire::kOpenAi);
  fake.SetRateLimitMessage("You exceeded your current quota (insufficient_quota)");
  fake.SetFault(fakes::Fault::kRateLimited);
  EgressLog log;
  auto backend = Make(fake, log, "m");
  ChatRequest req;
  req.body = SimpleBody("x");
  Result<ChatResult> r = backend->Complete(req, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_FALSE(IsRetryable(r.status()));
}

}  // namespace
}  // namespace hearth::backends
