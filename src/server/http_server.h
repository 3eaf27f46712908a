// hearth's HTTP server: the OpenAI API (/v1/chat/completions, /v1/completions, /v1/models), the
// Ollama API (/api/chat, /api/generate, /api/tags, /api/show, /api/ps, /api/version), /health,
// /metrics and the chat page at /, over cpp-httplib, in front of a ModelHost (and, with a policy,
// the router).
//
// Every request gets an id (X-Request-Id) and one access-log line on stderr (method, path, status,
// milliseconds, bytes, id; never prompt content). Streams run the model on their own thread and
// hand chunks to the HTTP thread through a queue; when a write to the client fails the chunk
// callback returns false, so the engine drops that sequence at once. Shutdown stops taking
// requests, lets the running ones finish up to a grace period, then cancels what is left, each
// stream ending with an error event rather than being cut mid-chunk.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "server/model_host.h"

namespace hearth::server {

class RouterFront;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                        // 0: any free port; Server::port() tells which
  std::string api_key;                    // "": no authentication
  std::vector<std::string> cors_origins;  // exact origins allowed to call from a browser; "*" any
  int64_t max_body_bytes = 32ll << 20;    // larger bodies get 413
  int max_media_parts = 16;               // images + audio + video parts per request
  double request_timeout_s = 600;         // an inference request is cancelled after this; 0: none
  int threads = 64;                       // HTTP worker threads (each open request holds one)
  double shutdown_grace_s = 15;           // how long Shutdown() lets running requests finish
  double stream_ping_s = 10;              // SSE comment sent when a stream is idle this long
  // Where access-log lines go (one JSON object per line); null: stderr.
  std::function<void(const std::string& line)> log_line;
};

class Server {
 public:
  // `host` must outlive the server; `router` (may be null) too. With a router,
  // /v1/chat/completions goes through it; everything else talks to `host` directly.
  Server(ServerOptions options, ModelHost* host, RouterFront* router = nullptr);
  ~Server();  // Shutdown()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and starts serving on background threads. kUnavailable when the address cannot be bound.
  Status Start();
  int port() const;  // the bound port (after Start)

  // Graceful stop (idempotent, thread-safe): new requests get 503, running ones get
  // shutdown_grace_s to finish, then are cancelled; returns when the server has stopped.
  void Shutdown();
  // Blocks until the server has stopped.
  void Wait();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hearth::server
