// The HTTP layer against a scripted ModelHost (fake_host.h), through real sockets: every
// endpoint's shape, SSE and NDJSON framing, errors and their status codes, auth, CORS, limits,
// client disconnects, metrics, health and graceful shutdown.
#include "server/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "backends/fake_providers.h"
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "fake_host.h"
#include "server/router_front.h"

namespace hearth::server {
namespace {

using nlohmann::json;
using testing::FakeHost;

json Chat(const std::string& content, bool stream = false) {
  return {{"model", "tiny"},
          {"messages", json::array({{{"role", "user"}, {"content", content}}})},
          {"stream", stream}};
}

// Splits an SSE body into its data payloads, checking the framing of each event.
std::vector<std::string> SseData(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t end = body.find("\n\n", pos);
    EXPECT_NE(end, std::string::npos) << "unterminated event at " << pos << ": " << body;
    if (end == std::string::npos) break;
    const std::string event = body.substr(pos, end - pos);
    pos = end + 2;
    if (event.rfind(":", 0) == 0) continue;  // comment (ping)
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
    out.push_back(event.substr(6));
  }
  return out;
}

class ServerTest : public ::testing::Test {
 protected:
  void Start(ServerOptions o = {}) {
    o.host = "127.0.0.1";
    o.port = 0;
    o.log_line = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.push_back(line);
    };
    server_ = std::make_unique<Server>(o, &host_, router_.get());
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(20, 0);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  httplib::Result Post(const std::string& path, const json& body, httplib::Headers h = {}) {
    return client_->Post(path.c_str(), h, body.dump(), "application/json");
  }
  std::vector<std::string> Log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }

  FakeHost host_;
  std::unique_ptr<RouterFront> router_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

TEST_F(ServerTest, HealthIs503UntilTheModelIsReady) {
  host_.ready = false;
  Start();
  auto r = client_->Get("/health");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(json::parse(r->body)["status"], "loading");
  host_.ready = true;
  r = client_->Get("/health");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["status"], "ok");
}

TEST_F(ServerTest, ChatCompletionNonStreaming) {
  Start();
  auto r = Post("/v1/chat/completions", Chat("hi"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello there");
  EXPECT_EQ(j["usage"]["prompt_tokens"], 7);
  EXPECT_FALSE(r->get_header_value("X-Request-Id").empty());
  EXPECT_EQ(host_.model("tiny").bodies.back()["messages"][0]["content"], "hi");
}

TEST_F(ServerTest, ChatCompletionStreamsSseEndingWithDone) {
  Start();
  json body = Chat("hi", true);
  body["stream_options"] = {{"include_usage", true}};
  auto r = Post("/v1/chat/completions", body);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
  const std::vector<std::string> data = SseData(r->body);
  ASSERT_GE(data.size(), 4u);
  EXPECT_EQ(data.back(), "[DONE]");
  std::string text;
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    const json c = json::parse(data[i]);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    if (!c["choices"].empty()) text += c["choices"][0]["delta"].value("content", "");
  }
  EXPECT_EQ(text, "Hello there");
  const json usage_chunk = json::parse(data[data.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_EQ(usage_chunk["usage"]["completion_tokens"], 2);
}

TEST_F(ServerTest, LegacyCompletionsUseTheRawPromptPath) {
  Start();
  auto r = Post("/v1/completions", {{"model", "tiny"}, {"prompt", "Once"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["choices"][0]["text"], "Hello there");
  r = Post("/v1/completions", {{"model", "tiny"}, {"prompt", "Once"}, {"stream", true}});
  const std::vector<std::string> data = SseData(r->body);
  ASSERT_GE(data.size(), 3u);
  EXPECT_EQ(json::parse(data[0])["choices"][0]["text"], "Hello");
  EXPECT_EQ(data.back(), "[DONE]");
}

TEST_F(ServerTest, ModelsListAndOneModel) {
  Start();
  auto r = client_->Get("/v1/models");
  ASSERT_TRUE(r);
  const json j = json::parse(r->body);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 3u);
  EXPECT_EQ(j["data"][0]["object"], "model");
  r = client_->Get("/v1/models/tiny");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body)["id"], "tiny");
  r = client_->Get("/v1/models/nope");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "not_found_error");
}

TEST_F(ServerTest, MalformedJsonNamesTheByteOffset) {
  Start();
  auto r = client_->Post("/v1/chat/completions", "{\"model\": tiny}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  const json e = json::parse(r->body)["error"];
  EXPECT_EQ(e["type"], "invalid_request_error");
  EXPECT_NE(e["message"].get<std::string>().find("at byte 12"), std::string::npos) << e;
}

TEST_F(ServerTest, WrongTypesAreRejectedWithTheParam) {
  Start();
  auto r = Post("/v1/chat/completions", {{"model", "tiny"}, {"messages", "hi"}});
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "messages");
  r = Post("/v1/chat/completions", {{"model", 3}, {"messages", json::array()}});
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "model");
  r = client_->Post("/v1/chat/completions", "[1,2]", "application/json");
  EXPECT_EQ(r->status, 400);
  r = Post("/v1/chat/completions", Chat("bad-field"));
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["message"], "temperature must be a number");
  r = Post("/v1/chat/completions", Chat("bad-field", true));
  EXPECT_EQ(r->status, 400) << "an error before the first chunk keeps its HTTP status";
}

TEST_F(ServerTest, BodyOverTheLimitIs413) {
  ServerOptions o;
  o.max_body_bytes = 1 << 20;
  Start(o);
  const std::string big(50 << 20, 'x');
  auto r = client_->Post("/v1/chat/completions", big, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(json::parse(r->body)["error"]["message"].get<std::string>().find("limit"),
            std::string::npos);
  // Unharmed.
  EXPECT_EQ(client_->Get("/health")->status, 200);
  // JSON sent as a form (curl -d without a content type) over httplib's 8 KiB form limit: the
  // error says what to do instead of blaming --max-body-mb.
  json body = Chat(std::string(20000, 'a'));
  r = client_->Post("/v1/chat/completions", body.dump(), "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(json::parse(r->body)["error"]["message"].get<std::string>().find("application/json"),
            std::string::npos) << r->body;
}

TEST_F(ServerTest, UnknownModelIs404AndTooBigIs503) {
  Start();
  json body = Chat("hi");
  body["model"] = "nope";
  auto r = Post("/v1/chat/completions", body);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "model");
  body["model"] = "huge";
  r = Post("/v1/chat/completions", body);
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("80 GiB"), std::string::npos);
}

TEST_F(ServerTest, QueueFullIs503WithRetryAfter) {
  Start();
  for (bool stream : {false, true}) {
    auto r = Post("/v1/chat/completions", Chat("queue-full", stream));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(r->get_header_value("Retry-After"), "1");
    EXPECT_EQ(json::parse(r->body)["error"]["type"], "unavailable_error");
  }
}

TEST_F(ServerTest, RemoteMediaUrlsAreRefused) {
  Start();
  json body = Chat("hi");
  body["messages"][0]["content"] = json::array(
      {{{"type", "text"}, {"text", "what is this"}},
       {{"type", "image_url"}, {"image_url", {{"url", "https://example.com/cat.png"}}}}});
  auto r = Post("/v1/chat/completions", body);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(json::parse(r->body)["error"]["param"], "messages[0].content[1].image_url.url");
  EXPECT_TRUE(host_.model("tiny").bodies.empty()) << "nothing reached the model";
}

TEST_F(ServerTest, TooManyMediaParts) {
  ServerOptions o;
  o.max_media_parts = 1;
  Start(o);
  json body = Chat("hi");
  json part = {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,iVBORw0KGgo="}}}};
  body["messages"][0]["content"] = json::array({part, part});
  auto r = Post("/v1/chat/completions", body);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("at most 1"), std::string::npos);
}

TEST_F(ServerTest, BearerAuth) {
  ServerOptions o;
  o.api_key = "sekret";
  Start(o);
  auto r = Post("/v1/chat/completions", Chat("hi"));
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "authentication_error");
  r = Post("/v1/chat/completions", Chat("hi"), {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(r->status, 401);
  r = Post("/v1/chat/completions", Chat("hi"), {{"Authorization", "Bearer sekret"}});
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(client_->Get("/health")->status, 200) << "health needs no key";
  EXPECT_EQ(client_->Get("/metrics")->status, 401);
}

TEST_F(ServerTest, CorsAllowList) {
  ServerOptions o;
  o.cors_origins = {"http://app.example"};
  Start(o);
  auto r = client_->Get("/v1/models", {{"Origin", "http://app.example"}});
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "http://app.example");
  r = client_->Get("/v1/models", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "");
  r = client_->Options("/v1/chat/completions",
                       {{"Origin", "http://app.example"},
                        {"Access-Control-Request-Method", "POST"},
                        {"Access-Control-Request-Headers", "authorization, content-type"}});
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Headers"), "authorization, content-type");
  r = client_->Options("/v1/chat/completions", {{"Origin", "http://evil.example"}});
  EXPECT_EQ(r->status, 403);
  // The page served by this server may call it from its own origin.
  const std::string self = "http://127.0.0.1:" + std::to_string(server_->port());
  r = client_->Get("/v1/models", {{"Origin", self}});
  EXPECT_EQ(r->status, 200);
}

// Opens a socket, sends `request`, reads until `want` bytes came, then closes without reading on.
std::string ReadSomeThenClose(int port, const std::string& request, size_t want) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "";
  (void)!write(fd, request.data(), request.size());
  std::string got;
  char buf[4096];
  while (got.size() < want) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return got;
}

std::string HttpPost(const std::string& path, const std::string& body) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

TEST_F(ServerTest, ClientDisconnectCancelsTheStream) {
  Start();
  const std::string got = ReadSomeThenClose(
      server_->port(), HttpPost("/v1/chat/completions", Chat("slow", true).dump()), 400);
  ASSERT_NE(got.find("200 OK"), std::string::npos) << got;
  auto& m = host_.model("tiny");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (m.cancelled_by_callback + m.cancelled_by_flag == 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(m.cancelled_by_callback + m.cancelled_by_flag, 1) << "the engine was told to stop";
  EXPECT_EQ(m.finished, 1);
  // Stopped well before its 60 chunks x 20 ms.
  EXPECT_EQ(client_->Get("/health")->status, 200);
}

TEST_F(ServerTest, OllamaDisconnectCancelsToo) {
  Start();
  const json body = {{"model", "tiny"},
                     {"messages", json::array({{{"role", "user"}, {"content", "slow"}}})}};
  ReadSomeThenClose(server_->port(), HttpPost("/api/chat", body.dump()), 300);
  auto& m = host_.model("tiny");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (m.finished == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(m.cancelled_by_callback + m.cancelled_by_flag, 1);
}

TEST_F(ServerTest, TimeoutIs504) {
  ServerOptions o;
  o.request_timeout_s = 0.3;
  Start(o);
  auto r = Post("/v1/chat/completions", Chat("block"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 504);
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "timeout_error");
  EXPECT_NE(r->body.find("limit of 0.3 s"), std::string::npos) << r->body;
}

bool MetricLineOk(const std::string& line) {
  static const std::regex kSample(
      R"(^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$)");
  static const std::regex kComment(R"(^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$)");
  return std::regex_match(line, kSample) || std::regex_match(line, kComment);
}

TEST_F(ServerTest, MetricsAreValidPrometheusText) {
  Start();
  ASSERT_EQ(Post("/v1/chat/completions", Chat("hi"))->status, 200);
  ASSERT_EQ(Post("/v1/chat/completions", Chat("hi", true))->status, 200);
  Post("/v1/chat/completions", Chat("queue-full"));
  // A request is counted when its access-log line is written, just after its response: the
  // client can ask for /metrics on another connection a moment before that.
  httplib::Result r = client_->Get("/metrics");
  auto counted = [](const std::string& t) {
    return t.find("code=\"503\"} 1") != std::string::npos &&
           t.find("code=\"200\"} 2") != std::string::npos;
  };
  for (int i = 0; i < 200 && r && !counted(r->body); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    r = client_->Get("/metrics");
  }
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  std::istringstream in(r->body);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_TRUE(MetricLineOk(line)) << "bad line: " << line;
  }
  EXPECT_GT(lines, 30);
  const std::string& t = r->body;
  EXPECT_NE(t.find("hearth_requests_total{endpoint=\"/v1/chat/completions\",code=\"200\"} 2"),
            std::string::npos) << t;
  EXPECT_NE(t.find("hearth_requests_total{endpoint=\"/v1/chat/completions\",code=\"503\"} 1"),
            std::string::npos);
  EXPECT_NE(t.find("hearth_prompt_tokens_total 14"), std::string::npos);
  EXPECT_NE(t.find("hearth_completion_tokens_total 4"), std::string::npos);
  EXPECT_NE(t.find("hearth_time_to_first_token_seconds_count 2"), std::string::npos);
  EXPECT_NE(t.find("hearth_kv_cells_total{model=\"tiny\"} 4096"), std::string::npos);
  EXPECT_NE(t.find("hearth_model_load_seconds{model=\"tiny\"} 0.25"), std::string::npos);
  EXPECT_NE(t.find("hearth_requests_queued 0"), std::string::npos);
}

TEST_F(ServerTest, AccessLogHasNoPromptContent) {
  Start();
  ASSERT_EQ(Post("/v1/chat/completions", Chat("my secret diagnosis"))->status, 200);
  server_->Shutdown();
  const std::vector<std::string> log = Log();
  ASSERT_FALSE(log.empty());
  const json line = json::parse(log.back());
  EXPECT_EQ(line["method"], "POST");
  EXPECT_EQ(line["path"], "/v1/chat/completions");
  EXPECT_EQ(line["status"], 200);
  EXPECT_GT(line["bytes"].get<int>(), 0);
  EXPECT_TRUE(line["request_id"].get<std::string>().rfind("req-", 0) == 0);
  for (const std::string& l : log) EXPECT_EQ(l.find("secret"), std::string::npos) << l;
}

TEST_F(ServerTest, UnknownPathIsAnOpenAiShaped404) {
  Start();
  auto r = client_->Get("/v2/nothing");
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(json::parse(r->body)["error"]["type"], "not_found_error");
}

TEST_F(ServerTest, ShutdownLetsRunningStreamsFinish) {
  ServerOptions o;
  o.shutdown_grace_s = 10;
  Start(o);
  auto pending = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(20, 0);
    return c.Post("/v1/chat/completions", Chat("slow", true).dump(), "application/json");
  });
  while (host_.model("tiny").active == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server_->Shutdown();
  auto r = pending.get();
  ASSERT_TRUE(r);
  const std::vector<std::string> data = SseData(r->body);
  ASSERT_FALSE(data.empty());
  EXPECT_EQ(data.back(), "[DONE]") << "the stream ran to its end";
  EXPECT_EQ(host_.model("tiny").cancelled_by_flag, 0);
  // Not serving any more.
  httplib::Client c("127.0.0.1", server_->port());
  EXPECT_FALSE(c.Get("/health"));
}

TEST_F(ServerTest, ShutdownPastTheGraceEndsStreamsWithAnErrorEvent) {
  ServerOptions o;
  o.shutdown_grace_s = 0.2;
  Start(o);
  auto pending = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", server_->port());
    c.set_read_timeout(20, 0);
    return c.Post("/v1/chat/completions", Chat("block", true).dump(), "application/json");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // A model that blocks before its first chunk: after 1 s the stream is committed (200).
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  server_->Shutdown();
  auto r = pending.get();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  const std::vector<std::string> data = SseData(r->body);
  ASSERT_FALSE(data.empty());
  const json last = json::parse(data.back());
  EXPECT_NE(last["error"]["message"].get<std::string>().find("shutting down"), std::string::npos);
  EXPECT_EQ(host_.model("tiny").cancelled_by_flag, 1);
}

TEST_F(ServerTest, APortInUseIsAnError) {
  Start();
  ServerOptions o;
  o.host = "127.0.0.1";
  o.port = server_->port();
  Server second(o, &host_);
  const Status s = second.Start();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find(std::to_string(o.port)), std::string::npos);
}

TEST_F(ServerTest, ChatPageAtRoot) {
  Start();
  auto r = client_->Get("/");
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/html; charset=utf-8");
  std::ifstream page(std::string(HEARTH_SOURCE_DIR) + "/src/server/chat_page.html",
                     std::ios::binary);
  if (page) {
    std::stringstream want;
    want << page.rdbuf();
    EXPECT_EQ(r->body, want.str()) << "the embedded page is the file's bytes";
  } else {
    EXPECT_NE(r->body.find("hearth"), std::string::npos);
  }
}

// ---- Ollama ----------------------------------------------------------------------------------

TEST_F(ServerTest, OllamaChatNonStreaming) {
  Start();
  auto r = Post("/api/chat", {{"model", "tiny:latest"},
                              {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})},
                              {"stream", false},
                              {"options", {{"temperature", 0}, {"num_predict", 5}, {"seed", 1}}}});
  ASSERT_EQ(r->status, 200) << r->body;
  const json j = json::parse(r->body);
  EXPECT_EQ(j["message"]["role"], "assistant");
  EXPECT_EQ(j["message"]["content"], "Hello there");
  EXPECT_EQ(j["done"], true);
  EXPECT_EQ(j["done_reason"], "stop");
  EXPECT_EQ(j["prompt_eval_count"], 7);
  EXPECT_EQ(j["eval_count"], 2);
  EXPECT_EQ(j["eval_duration"], 3000000);
  EXPECT_EQ(j["prompt_eval_duration"], 2000000);
  EXPECT_GT(j["total_duration"].get<int64_t>(), 0);
  const json sent = host_.model("tiny").bodies.back();
  EXPECT_EQ(sent["temperature"], 0);
  EXPECT_EQ(sent["max_tokens"], 5);
  EXPECT_EQ(sent["seed"], 1);
}

TEST_F(ServerTest, OllamaChatStreamsNdjson) {
  Start();
  auto r = Post("/api/chat", {{"model", "tiny"},
                              {"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/x-ndjson");
  std::istringstream in(r->body);
  std::string line, text;
  std::vector<json> objects;
  while (std::getline(in, line)) objects.push_back(json::parse(line));
  ASSERT_EQ(objects.size(), 3u);
  for (size_t i = 0; i + 1 < objects.size(); ++i) {
    EXPECT_EQ(objects[i]["done"], false);
    text += objects[i]["message"]["content"].get<std::string>();
  }
  EXPECT_EQ(text, "Hello there");
  EXPECT_EQ(objects.back()["done"], true);
  EXPECT_EQ(objects.back()["eval_count"], 2);
}

TEST_F(ServerTest, OllamaGenerateRawAndTemplated) {
  Start();
  auto r = Post("/api/generate", {{"model", "tiny"}, {"prompt", "Once"}, {"raw", true},
                                  {"stream", false}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["response"], "Hello there");
  EXPECT_EQ(host_.model("tiny").bodies.back()["prompt"], "Once");
  r = Post("/api/generate", {{"model", "tiny"}, {"prompt", "Once"}, {"system", "Be brief"},
                             {"stream", false}, {"format", "json"}});
  ASSERT_EQ(r->status, 200) << r->body;
  const json sent = host_.model("tiny").bodies.back();
  EXPECT_EQ(sent["messages"][0]["role"], "system");
  EXPECT_EQ(sent["messages"][1]["content"], "Once");
  EXPECT_EQ(sent["response_format"]["type"], "json_object");
}

TEST_F(ServerTest, OllamaUnknownOptionsAreErrors) {
  Start();
  auto r = Post("/api/generate", {{"model", "tiny"}, {"prompt", "x"}, {"stream", false},
                                  {"options", {{"temprature", 1}, {"mirostat", 2}}}});
  EXPECT_EQ(r->status, 400);
  const std::string e = json::parse(r->body)["error"];
  EXPECT_NE(e.find("temprature"), std::string::npos) << e;
  r = Post("/api/chat", {{"model", "tiny"}, {"stream", false},
                         {"messages", json::array({{{"role", "user"}, {"content", "x"}}})},
                         {"options", {{"num_ctx", 100000}}}});
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("4096"), std::string::npos) << r->body;
}

TEST_F(ServerTest, OllamaImagesBecomeDataUris) {
  Start();
  auto r = Post("/api/chat", {{"model", "tiny"}, {"stream", false},
                              {"messages", json::array({{{"role", "user"}, {"content", "what"},
                                                         {"images", {"iVBORw0KGgoAAAA="}}}})}});
  ASSERT_EQ(r->status, 200) << r->body;
  const json content = host_.model("tiny").bodies.back()["messages"][0]["content"];
  ASSERT_EQ(content.size(), 2u);
  EXPECT_EQ(content[1]["image_url"]["url"], "data:image/png;base64,iVBORw0KGgoAAAA=");
  r = Post("/api/chat", {{"model", "tiny"}, {"stream", false},
                         {"messages", json::array({{{"role", "user"}, {"content", "what"},
                                                    {"images", {"not base64!"}}}})}});
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("images[0]"), std::string::npos);
}

TEST_F(ServerTest, OllamaLoadAndUnload) {
  Start();
  auto r = Post("/api/generate", {{"model", "other"}, {"keep_alive", "10m"}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["done_reason"], "load");
  EXPECT_EQ(host_.last_keep_alive, 600.0);
  r = Post("/api/chat", {{"model", "other"}, {"messages", json::array()}, {"keep_alive", 0}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["done_reason"], "unload");
  ASSERT_EQ(host_.unloaded.size(), 1u);
  EXPECT_EQ(host_.unloaded[0], "other");
  r = Post("/api/generate", {{"model", "other"}, {"prompt", ""}, {"keep_alive", "soon"}});
  EXPECT_EQ(r->status, 400);
}

TEST_F(ServerTest, OllamaTagsShowPsVersion) {
  Start();
  auto r = client_->Get("/api/tags");
  ASSERT_EQ(r->status, 200);
  json j = json::parse(r->body);
  ASSERT_EQ(j["models"].size(), 3u);
  EXPECT_EQ(j["models"][0]["details"]["format"], "gguf");
  r = Post("/api/show", {{"model", "tiny"}});
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  EXPECT_EQ(j["details"]["family"], "gemma3");
  EXPECT_TRUE(j.contains("template"));
  r = client_->Get("/api/ps");
  j = json::parse(r->body);
  ASSERT_EQ(j["models"].size(), 1u);
  EXPECT_EQ(j["models"][0]["name"], "tiny");
  r = client_->Get("/api/version");
  EXPECT_FALSE(json::parse(r->body)["version"].get<std::string>().empty());
  r = Post("/api/show", {{"model", "nope"}});
  EXPECT_EQ(r->status, 404);
  EXPECT_TRUE(json::parse(r->body)["error"].is_string());
}

// ---- the router in front ---------------------------------------------------------------------

TEST_F(ServerTest, WithAPolicyChatGoesThroughTheRouter) {
  const std::string policy = std::string(HEARTH_BINARY_DIR) + "/server_test_policy.toml";
  {
    std::ofstream f(policy);
    f << "offline = true\n[defaults]\naction = \"local\"\n";
  }
  RouterFrontOptions ro;
  ro.policy_path = policy;
  ro.health_interval_ms = 0;
  Result<std::unique_ptr<RouterFront>> front = RouterFront::Create(ro, &host_);
  ASSERT_TRUE(front.ok()) << front.status().ToString();
  router_ = std::move(front).value();
  Start();
  json body = Chat("hi");
  body["model"] = "auto";
  auto r = Post("/v1/chat/completions", body, {{"X-Hearth-Sensitivity", "confidential"}});
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello there");
  EXPECT_EQ(j["x_route"]["tier"], "device");
  r = Post("/v1/chat/completions", Chat("hi", true));
  ASSERT_EQ(r->status, 200) << r->body;
  const std::vector<std::string> data = SseData(r->body);
  ASSERT_GE(data.size(), 2u);
  EXPECT_TRUE(json::parse(data[0]).contains("x_route"));
  EXPECT_EQ(data.back(), "[DONE]");
  r = Post("/v1/chat/completions", body, {{"X-Hearth-Sensitivity", "bogus"}});
  EXPECT_EQ(r->status, 400) << r->body;
  r = client_->Get("/metrics");
  EXPECT_NE(r->body.find("hearth_router_requests_total{tier=\"device\",backend=\"local\"} 2"),
            std::string::npos) << r->body;
}

// Stage 2: a local answer the engine is unsure of (x_confidence below the policy's floor) goes to
// the cloud backend; a confident one stays.
TEST_F(ServerTest, AnUnsureLocalAnswerEscalates) {
  fakes::FakeProvider cloud(fakes::Wire::kOpenAi);
  ::setenv("HEARTH_TEST_CLOUD_KEY", "sk-test", 1);
  const std::string policy = std::string(HEARTH_BINARY_DIR) + "/server_test_policy_unsure.toml";
  {
    std::ofstream f(policy);
    f << "[[backend]]\nname = \"cloud-a\"\ntier = \"cloud\"\nkind = \"openai\"\nurl = \""
      << cloud.base_url() << "\"\nmodel = \"gpt-test\"\napi_key_env = \"HEARTH_TEST_CLOUD_KEY\"\n"
      << "[confidence]\nmin_mean_logprob = -1.0\nmax_mean_entropy = 5.0\nmin_tokens = 1\n"
      << "[[rule]]\nname = \"local-first\"\naction = \"local\"\nescalate_if_unsure = true\n"
      << "tier = \"cloud\"\n";
  }
  RouterFrontOptions ro;
  ro.policy_path = policy;
  ro.health_interval_ms = 0;
  ro.audit_path = std::string(HEARTH_BINARY_DIR) + "/server_test_unsure_audit.jsonl";
  Result<std::unique_ptr<RouterFront>> front = RouterFront::Create(ro, &host_);
  ASSERT_TRUE(front.ok()) << front.status().ToString();
  router_ = std::move(front).value();
  Start();

  host_.model("tiny").mean_logprob = -0.2;  // sure of itself: the local answer stands
  auto r = Post("/v1/chat/completions", Chat("hi"));
  ASSERT_EQ(r->status, 200) << r->body;
  json j = json::parse(r->body);
  EXPECT_EQ(j["x_route"]["tier"], "device");
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Hello there");

  host_.model("tiny").mean_logprob = -3.0;  // unsure: the cloud answers instead
  r = Post("/v1/chat/completions", Chat("hi"));
  ASSERT_EQ(r->status, 200) << r->body;
  j = json::parse(r->body);
  EXPECT_EQ(j["x_route"]["tier"], "cloud") << r->body;
  EXPECT_EQ(j["x_route"]["escalated_unsure"], true) << r->body;
  EXPECT_EQ(j["choices"][0]["message"]["content"], "Echo: hi");
  EXPECT_EQ(cloud.requests().size(), 1u);
}

}  // namespace
}  // namespace hearth::server
