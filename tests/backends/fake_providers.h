// Loopback fake providers for tests: cpp-httplib servers on 127.0.0.1 (ephemeral ports) that speak
// the OpenAI Chat Completions, Anthropic Messages and Gemini generateContent wire formats,
// streaming and not, record every request they receive, and can misbehave on demand.
//
// Replies: with no reply text set, the fake echoes "Echo: <last user text>" (so a redaction round
// trip can be observed end to end); streamed replies are cut into pieces of chunk_chars bytes.
// Link the `hearth_fake_providers` library.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace httplib {
class Server;
}

namespace hearth::fakes {

enum class Wire { kOpenAi, kAnthropic, kGemini };

enum class Fault {
  kNone,
  kDown,              // the server is stopped: connection refused on its port
  kSlow,              // waits slow_ms before answering (beyond a client's timeout)
  kRateLimited,       // 429 with Retry-After: retry_after_s and the provider's error body
  kServerError,       // 500 with the provider's error body
  kCutStream,         // sends about half the reply, then closes the connection
  kMalformedJson,     // 200 with a JSON body (or stream event) that does not parse
  kWrongContentType,  // 200 text/html
};

struct RecordedRequest {
  std::string method;
  std::string target;  // path and query as received
  std::string path;
  std::multimap<std::string, std::string> headers;
  std::string body;    // the exact body bytes received
  std::string raw;     // request line + headers + blank line + body, rebuilt from what was parsed
};

class FakeProvider {
 public:
  explicit FakeProvider(Wire wire);
  ~FakeProvider();
  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  // Base URL for a BackendConfig: ".../v1" (OpenAI, Anthropic) or ".../v1beta" (Gemini).
  std::string base_url() const;
  int port() const { return port_; }
  Wire wire() const { return wire_; }

  // `count` requests get the fault, then the fake behaves again (-1 = every request).
  // kDown stops the server for good.
  void SetFault(Fault fault, int count = -1);
  void SetReplyText(std::string text);  // "" = echo the last user text
  void SetChunkChars(size_t n);
  void SetChunkDelayMs(int ms);         // pause between streamed pieces
  void SetUsage(int64_t prompt_tokens, int64_t completion_tokens);
  void SetSlowMs(int ms);
  void SetRetryAfterSeconds(int seconds);
  void SetRateLimitMessage(std::string message);  // the 429 error message
  // Streamed requests get exactly these bytes (each string written as one piece) instead of the
  // generated events; empty = generated. For provider events the fake does not generate.
  void SetRawStream(std::vector<std::string> pieces);

  std::vector<RecordedRequest> requests() const;
  size_t request_count() const;
  std::string AllReceivedBytes() const;  // every request's raw bytes, concatenated
  void Stop();

  struct State;  // shared with handler threads

 private:
  Wire wire_;
  int port_ = 0;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::shared_ptr<State> state_;
  std::once_flag stopped_;
};

// A loopback port with nothing listening (connection refused).
int UnusedLoopbackPort();

}  // namespace hearth::fakes
