#include "fake_providers.h"

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

namespace hearth::fakes {

using nlohmann::json;

struct FakeProvider::State {
  Wire wire;
  mutable std::mutex mu;
  std::vector<RecordedRequest> requests;
  Fault fault = Fault::kNone;
  int fault_count = -1;
  std::string reply_text;
  size_t chunk_chars = 4;
  int chunk_delay_ms = 0;
  int64_t prompt_tokens = 11;
  int64_t completion_tokens = 7;
  int slow_ms = 3000;
  int retry_after_s = 1;
  std::vector<std::string> raw_stream;
  std::string rate_limit_message = "rate limit reached (fake)";
  std::atomic<bool> stopping{false};

  // The fault for this request (consumes one of `fault_count`).
  Fault TakeFault() {
    std::lock_guard<std::mutex> lock(mu);
    if (fault == Fault::kNone || fault_count == 0) return Fault::kNone;
    if (fault_count > 0) --fault_count;
    return fault;
  }
  void SleepMs(int ms) const {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!stopping.load() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
};

namespace {

constexpr int64_t kCreated = 1700000000;

std::string TextOf(const json& content) {
  if (content.is_string()) return content;
  std::string out;
  if (content.is_array()) {
    for (const json& p : content) {
      if (p.is_object() && p.contains("text") && p["text"].is_string()) out += p["text"].get<std::string>();
    }
  }
  return out;
}

// The text of the last user turn, in each wire format.
std::string LastUserText(Wire wire, const json& body) {
  if (!body.is_object()) return "";
  if (wire == Wire::kGemini) {
    const json& contents = body.value("contents", json::array());
    for (auto it = contents.rbegin(); it != contents.rend(); ++it) {
      if (it->value("role", "") == "user") return TextOf(it->value("parts", json::array()));
    }
    return "";
  }
  const json& messages = body.value("messages", json::array());
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (it->value("role", "") == "user") return TextOf((*it).value("content", json()));
  }
  return "";
}

std::vector<std::string> Pieces(const std::string& text, size_t n) {
  std::vector<std::string> out;
  if (n == 0) n = 1;
  size_t i = 0;
  while (i < text.size()) {
    size_t end = std::min(text.size(), i + n);
    // Never split a UTF-8 sequence: providers send whole characters.
    while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
    out.push_back(text.substr(i, end - i));
    i = end;
  }
  return out;
}

json ErrorBody(Wire wire, int code, const std::string& message) {
  if (wire == Wire::kAnthropic) {
    return {{"type", "error"},
            {"error", {{"type", code == 429 ? "rate_limit_error" : "api_error"}, {"message", message}}}};
  }
  if (wire == Wire::kGemini) {
    return {{"error", {{"code", code}, {"message", message},
                       {"status", code == 429 ? "RESOURCE_EXHAUSTED" : "INTERNAL"}}}};
  }
  return {{"error", {{"message", message}, {"type", code == 429 ? "rate_limit_error" : "server_error"},
                     {"param", nullptr}, {"code", code == 429 ? "rate_limit_exceeded" : "server_error"}}}};
}

json FullReply(Wire wire, const std::string& model, const std::string& text, int64_t p, int64_t c) {
  switch (wire) {
    case Wire::kOpenAi:
      return {{"id", "chatcmpl-fake"}, {"object", "chat.completion"}, {"created", kCreated},
              {"model", model},
              {"choices", json::array({{{"index", 0},
                                        {"message", {{"role", "assistant"}, {"content", text}}},
                                        {"finish_reason", "stop"}}})},
              {"usage", {{"prompt_tokens", p}, {"completion_tokens", c}, {"total_tokens", p + c}}}};
    case Wire::kAnthropic:
      return {{"id", "msg_fake"}, {"type", "message"}, {"role", "assistant"}, {"model", model},
              {"content", json::array({{{"type", "text"}, {"text", text}}})},
              {"stop_reason", "end_turn"}, {"stop_sequence", nullptr},
              {"usage", {{"input_tokens", p}, {"output_tokens", c}}}};
    case Wire::kGemini:
      return {{"candidates", json::array({{{"content", {{"parts", json::array({{{"text", text}}})},
                                                         {"role", "model"}}},
                                            {"finishReason", "STOP"}, {"index", 0}}})},
              {"usageMetadata", {{"promptTokenCount", p}, {"candidatesTokenCount", c},
                                 {"totalTokenCount", p + c}}},
              {"modelVersion", model}, {"responseId", "fake-response"}};
  }
  return {};
}

// The SSE events of a streamed reply, each already framed ("...\n\n").
std::vector<std::string> StreamEvents(Wire wire, const std::string& model, const std::string& text,
                                      size_t chunk_chars, int64_t p, int64_t c, bool include_usage) {
  std::vector<std::string> events;
  auto data = [](const json& j) { return "data: " + j.dump() + "\n\n"; };
  auto named = [](const char* name, const json& j) {
    return std::string("event: ") + name + "\ndata: " + j.dump() + "\n\n";
  };
  std::vector<std::string> pieces = Pieces(text, chunk_chars);
  if (wire == Wire::kOpenAi) {
    auto chunk = [&](json delta, json finish) {
      return json{{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", kCreated},
                  {"model", model},
                  {"choices", json::array({{{"index", 0}, {"delta", delta}, {"finish_reason", finish}}})}};
    };
    events.push_back(data(chunk({{"role", "assistant"}, {"content", ""}}, nullptr)));
    for (const std::string& piece : pieces) events.push_back(data(chunk({{"content", piece}}, nullptr)));
    events.push_back(data(chunk(json::object(), "stop")));
    if (include_usage) {
      events.push_back(data({{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"},
                             {"created", kCreated}, {"model", model}, {"choices", json::array()},
                             {"usage", {{"prompt_tokens", p}, {"completion_tokens", c},
                                        {"total_tokens", p + c}}}}));
    }
    events.push_back("data: [DONE]\n\n");
  } else if (wire == Wire::kAnthropic) {
    events.push_back(named("message_start",
                           {{"type", "message_start"},
                            {"message", {{"id", "msg_fake"}, {"type", "message"}, {"role", "assistant"},
                                         {"model", model}, {"content", json::array()},
                                         {"stop_reason", nullptr},
                                         {"usage", {{"input_tokens", p}, {"output_tokens", 1}}}}}}));
    events.push_back(named("content_block_start",
                           {{"type", "content_block_start"}, {"index", 0},
                            {"content_block", {{"type", "text"}, {"text", ""}}}}));
    events.push_back(named("ping", {{"type", "ping"}}));
    for (const std::string& piece : pieces) {
      events.push_back(named("content_block_delta",
                             {{"type", "content_block_delta"}, {"index", 0},
                              {"delta", {{"type", "text_delta"}, {"text", piece}}}}));
    }
    events.push_back(named("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
    events.push_back(named("message_delta",
                           {{"type", "message_delta"},
                            {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                            {"usage", {{"output_tokens", c}}}}));
    events.push_back(named("message_stop", {{"type", "message_stop"}}));
  } else {
    for (size_t i = 0; i < pieces.size(); ++i) {
      json candidate = {{"content", {{"parts", json::array({{{"text", pieces[i]}}})}, {"role", "model"}}},
                        {"index", 0}};
      json event = {{"candidates", json::array({candidate})}, {"modelVersion", model},
                    {"responseId", "fake-response"}};
      if (i + 1 == pieces.size()) {
        event["candidates"][0]["finishReason"] = "STOP";
        event["usageMetadata"] = {{"promptTokenCount", p}, {"candidatesTokenCount", c},
                                  {"totalTokenCount", p + c}};
      }
      events.push_back("data: " + event.dump() + "\r\n\r\n");  // Google frames with CRLF
    }
  }
  return events;
}

void Handle(FakeProvider::State& st, const httplib::Request& req, httplib::Response& res) {
  RecordedRequest rec;
  rec.method = req.method;
  rec.target = req.target;
  rec.path = req.path;
  rec.body = req.body;
  rec.raw = req.method + " " + req.target + " HTTP/1.1\r\n";
  for (const auto& [k, v] : req.headers) {
    rec.headers.emplace(k, v);
    rec.raw += k + ": " + v + "\r\n";
  }
  rec.raw += "\r\n" + req.body;
  std::string reply_text;
  size_t chunk_chars;
  int64_t p, c;
  int chunk_delay_ms;
  std::string rate_limit_message;
  int slow_ms, retry_after_s;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    st.requests.push_back(rec);
    rate_limit_message = st.rate_limit_message;
    slow_ms = st.slow_ms;
    retry_after_s = st.retry_after_s;
    reply_text = st.reply_text;
    chunk_chars = st.chunk_chars;
    p = st.prompt_tokens;
    c = st.completion_tokens;
    chunk_delay_ms = st.chunk_delay_ms;
  }
  Fault fault = st.TakeFault();
  if (req.method == "GET") {  // health probe: /v1/models or /v1beta/models
    if (fault == Fault::kServerError || fault == Fault::kRateLimited) {
      res.status = fault == Fault::kServerError ? 500 : 429;
      res.set_content(ErrorBody(st.wire, res.status, "probe failed").dump(), "application/json");
      return;
    }
    res.set_content(R"({"object":"list","data":[]})", "application/json");
    return;
  }
  json body = json::parse(req.body, nullptr, false);
  bool stream = st.wire == Wire::kGemini ? req.path.find(":streamGenerateContent") != std::string::npos
                                         : (body.is_object() && body.value("stream", false) == true);
  bool include_usage = body.is_object() && body.contains("stream_options") &&
                       body["stream_options"].value("include_usage", false) == true;
  std::string model = st.wire == Wire::kGemini ? "gemini-fake" : (body.is_object() ? body.value("model", "fake") : "fake");
  if (st.wire == Wire::kGemini) {
    size_t at = req.path.find("/models/");
    size_t colon = req.path.rfind(':');
    if (at != std::string::npos && colon != std::string::npos && colon > at + 8) {
      model = req.path.substr(at + 8, colon - at - 8);
    }
  }
  if (reply_text.empty()) reply_text = "Echo: " + LastUserText(st.wire, body);

  switch (fault) {
    case Fault::kSlow:
      st.SleepMs(slow_ms);
      break;
    case Fault::kRateLimited:
      res.status = 429;
      res.set_header("Retry-After", std::to_string(retry_after_s));
      res.set_content(ErrorBody(st.wire, 429, rate_limit_message).dump(), "application/json");
      return;
    case Fault::kServerError: {
      // Like providers that quote the credential they rejected, the message echoes the auth
      // header: clients must scrub it.
      std::string auth = req.get_header_value("Authorization") + req.get_header_value("x-api-key") +
                         req.get_header_value("x-goog-api-key");
      res.status = 500;
      res.set_content(ErrorBody(st.wire, 500, "internal error (fake); auth was " + auth).dump(),
                      "application/json");
      return;
    }
    case Fault::kWrongContentType:
      res.set_content("<html><body>captive portal</body></html>", "text/html");
      return;
    case Fault::kMalformedJson:
      if (!stream) {
        res.set_content(R"({"id": "broken", "choices": [ {"index": 0, "mess)", "application/json");
        return;
      }
      break;
    default:
      break;
  }

  if (!stream) {
    std::string full = FullReply(st.wire, model, reply_text, p, c).dump();
    if (fault == Fault::kCutStream) {
      auto half = std::make_shared<std::string>(full.substr(0, full.size() / 2));
      res.set_chunked_content_provider("application/json", [half](size_t, httplib::DataSink& sink) {
        sink.write(half->data(), half->size());
        return false;  // drop the connection mid-body
      });
      return;
    }
    res.set_content(full, "application/json");
    return;
  }
  std::vector<std::string> raw;
  {
    std::lock_guard<std::mutex> lock(st.mu);
    raw = st.raw_stream;
  }
  auto events = std::make_shared<std::vector<std::string>>(
      !raw.empty() ? raw : StreamEvents(st.wire, model, reply_text, chunk_chars, p, c, include_usage));
  if (fault == Fault::kMalformedJson) {
    (*events)[events->size() / 2] = "data: {\"choices\": [{\"delta\": {\"content\": \"x\"\n\n";
  }
  size_t cut_at = fault == Fault::kCutStream ? events->size() / 2 : events->size();
  auto next = std::make_shared<size_t>(0);
  FakeProvider::State* state = &st;
  res.set_chunked_content_provider(
      "text/event-stream", [events, next, cut_at, chunk_delay_ms, state](size_t, httplib::DataSink& sink) {
        if (*next >= cut_at) {
          if (cut_at < events->size()) return false;  // cut: close without the end marker
          sink.done();
          return true;
        }
        if (*next > 0 && chunk_delay_ms > 0) state->SleepMs(chunk_delay_ms);
        const std::string& e = (*events)[(*next)++];
        return sink.write(e.data(), e.size());
      });
}

}  // namespace

FakeProvider::FakeProvider(Wire wire) : wire_(wire), server_(std::make_unique<httplib::Server>()) {
  state_ = std::make_shared<State>();
  state_->wire = wire;
  std::shared_ptr<State> st = state_;
  auto handler = [st](const httplib::Request& req, httplib::Response& res) {
    try {
      Handle(*st, req, res);
    } catch (const std::exception& e) {  // a bug in the fake: say so in the reply
      res.status = 500;
      res.set_content(std::string("{\"error\":{\"message\":\"fake provider threw: ") + e.what() + "\"}}",
                      "application/json");
    }
  };
  server_->Post(R"(/.*)", handler);
  server_->Get(R"(/.*)", handler);
  port_ = server_->bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // httplib's stop() is a no-op until the accept loop runs: wait for it, so that a quick test's
  // destructor cannot leave the listener blocked in accept().
  while (port_ > 0 && !server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

FakeProvider::~FakeProvider() { Stop(); }

void FakeProvider::Stop() {
  std::call_once(stopped_, [this] {
    state_->stopping = true;
    server_->stop();
    if (thread_.joinable()) thread_.join();
  });
}

std::string FakeProvider::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + (wire_ == Wire::kGemini ? "/v1beta" : "/v1");
}

void FakeProvider::SetFault(Fault fault, int count) {
  if (fault == Fault::kDown) {
    Stop();
    return;
  }
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->fault = fault;
  state_->fault_count = count;
}

void FakeProvider::SetReplyText(std::string text) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->reply_text = std::move(text);
}
void FakeProvider::SetChunkChars(size_t n) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->chunk_chars = n;
}
void FakeProvider::SetChunkDelayMs(int ms) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->chunk_delay_ms = ms;
}
void FakeProvider::SetUsage(int64_t prompt_tokens, int64_t completion_tokens) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->prompt_tokens = prompt_tokens;
  state_->completion_tokens = completion_tokens;
}
void FakeProvider::SetSlowMs(int ms) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->slow_ms = ms;
}
void FakeProvider::SetRetryAfterSeconds(int seconds) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->retry_after_s = seconds;
}

void FakeProvider::SetRateLimitMessage(std::string message) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->rate_limit_message = std::move(message);
}

void FakeProvider::SetRawStream(std::vector<std::string> pieces) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->raw_stream = std::move(pieces);
}

std::vector<RecordedRequest> FakeProvider::requests() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->requests;
}
size_t FakeProvider::request_count() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->requests.size();
}
std::string FakeProvider::AllReceivedBytes() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::string all;
  for (const RecordedRequest& r : state_->requests) all += r.raw;
  return all;
}

int UnusedLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  if (fd >= 0) ::close(fd);  // never listened: connecting is refused
  return port;
}

}  // namespace hearth::fakes
