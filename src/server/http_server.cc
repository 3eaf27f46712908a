#include "server/http_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <cmath>
#include <thread>

#include <nlohmann/json.hpp>

#include "backends/backend.h"
#include "router/request.h"
#include "router/router.h"
#include "server/chat_page.h"
#include "server/http_util.h"
#include "server/metrics.h"
#include "server/ollama_api.h"
#include "server/router_front.h"

#ifndef HEARTH_VERSION
#define HEARTH_VERSION "0.0.0"
#endif

namespace hearth::server {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Per-request facts for the access log. httplib runs pre-routing, the handler, the content
// provider and the logger of one request on the same thread, one request at a time.
struct RequestLog {
  bool valid = false;
  Clock::time_point start;
  std::string id;
  int64_t streamed_bytes = -1;  // -1: not a stream (use the body size)
};
thread_local RequestLog tl_request;

// Why a running request's cancel flag was raised.
enum class CancelReason : int { kNone = 0, kClientGone, kTimeout, kShutdown };

// The endpoints metrics are labelled with (anything else is "other", so that scanners cannot grow
// the label set without bound).
std::string_view EndpointLabel(const std::string& path) {
  static const char* kKnown[] = {"/",          "/health",         "/metrics",
                                 "/v1/chat/completions", "/v1/completions", "/v1/models",
                                 "/chat/completions", "/completions", "/models", "/api/chat",
                                 "/api/generate", "/api/tags", "/api/show", "/api/ps",
                                 "/api/version"};
  for (const char* k : kKnown) {
    if (path == k) return k;
  }
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models/{id}";
  return "other";
}

void SendJson(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(Dump(body), "application/json");
}

void SendError(httplib::Response& res, const HttpError& e) {
  if (e.retry_after_s) res.set_header("Retry-After", std::to_string(*e.retry_after_s));
  SendJson(res, e.http_status, e.body);
}

// Ollama's clients read {"error": "..."}; the HTTP status is the same table as OpenAI's.
void SendOllamaError(httplib::Response& res, const Status& s) {
  const HttpError e = MapError(s);
  if (e.retry_after_s) res.set_header("Retry-After", std::to_string(*e.retry_after_s));
  SendJson(res, e.http_status, OllamaErrorJson(s));
}

// Counts from a response or chunk: usage and x_timings (model_host.h).
struct Counts {
  int64_t prompt = 0;
  int64_t completion = 0;
  double decode_s = -1;
};
void ReadCounts(const json& o, Counts* c) {
  OllamaStats s;
  s.prompt_eval_count = c->prompt;
  s.eval_count = c->completion;
  s.eval_ns = c->decode_s < 0 ? -1 : static_cast<int64_t>(c->decode_s * 1e9);
  ReadStats(o, &s);
  c->prompt = s.prompt_eval_count;
  c->completion = s.eval_count;
  c->decode_s = s.eval_ns < 0 ? -1 : static_cast<double>(s.eval_ns) / 1e9;
}

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

// Checks what the server itself reads from an OpenAI body (the model validates every other
// field): its top-level types, remote media (refused: the server never fetches URLs on a client's
// behalf) and the number of media parts.
Status CheckOpenAiBody(const json& body, bool text, int max_media, std::string* param) {
  if (!body.is_object()) {
    return InvalidArgumentError("request body must be a JSON object, not " +
                                std::string(body.type_name()));
  }
  auto type_error = [&](const char* key, const char* want) {
    *param = key;
    return InvalidArgumentError(std::string(key) + " must be " + want + ", not " +
                                std::string(body[key].type_name()));
  };
  if (body.contains("model") && !body["model"].is_string()) return type_error("model", "a string");
  if (body.contains("stream") && !body["stream"].is_boolean() && !body["stream"].is_null()) {
    return type_error("stream", "a boolean");
  }
  if (body.contains("stream_options") && !body["stream_options"].is_object() &&
      !body["stream_options"].is_null()) {
    return type_error("stream_options", "an object");
  }
  if (text) {
    if (!body.contains("prompt")) {
      *param = "prompt";
      return InvalidArgumentError("prompt is required");
    }
    return Status::Ok();
  }
  if (!body.contains("messages")) {
    *param = "messages";
    return InvalidArgumentError("messages is required");
  }
  if (!body["messages"].is_array()) return type_error("messages", "an array");
  int media = 0;
  const json& messages = body["messages"];
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    if (!m.is_object() || !m.contains("content") || !m["content"].is_array()) continue;
    const json& parts = m["content"];
    for (size_t j = 0; j < parts.size(); ++j) {
      const json& p = parts[j];
      if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) continue;
      const std::string type = p["type"];
      if (type == "text") continue;
      ++media;
      const std::string at = "messages[" + std::to_string(i) + "].content[" + std::to_string(j) + "]";
      for (const char* key : {"image_url", "input_video", "video_url", "input_audio"}) {
        if (!p.contains(key)) continue;
        const json& v = p[key];
        const json url = v.is_string() ? v : v.is_object() ? v.value("url", json()) : json();
        if (!url.is_string()) continue;
        const std::string u = url;
        if (StartsWith(u, "http://") || StartsWith(u, "https://") || StartsWith(u, "file:")) {
          *param = at + "." + key + ".url";
          return InvalidArgumentError(
              *param + ": hearth does not fetch media from URLs (it never makes network requests "
                       "on a client's behalf); send the file inline as a data: URI "
                       "(data:image/png;base64,...)");
        }
      }
    }
  }
  if (media > max_media) {
    *param = "messages";
    return InvalidArgumentError("the request has " + std::to_string(media) +
                                " media parts; this server accepts at most " +
                                std::to_string(max_media) + " per request (--max-media)");
  }
  return Status::Ok();
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, ModelHost* h, RouterFront* r)
      : options(std::move(o)), host(h), router(r) {
    std::random_device rd;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%08x", rd());
    id_prefix = std::string("req-") + buf + "-";
  }

  // One running inference request, known to the watchdog (timeouts) and to Shutdown.
  struct Flight {
    std::atomic<bool> cancel{false};
    std::atomic<int> reason{0};
    Clock::time_point deadline = Clock::time_point::max();
    CancelReason why() const { return static_cast<CancelReason>(reason.load()); }
    // Raises the flag for `r` unless it was already raised for another reason.
    void Cancel(CancelReason r) {
      int none = 0;
      reason.compare_exchange_strong(none, static_cast<int>(r));
      cancel = true;
    }
  };

  // Registers a Flight for its lifetime and counts the request as active.
  class FlightGuard {
   public:
    explicit FlightGuard(Impl* impl) : impl_(impl), flight_(std::make_shared<Flight>()) {
      if (impl->options.request_timeout_s > 0) {
        flight_->deadline = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(
                                               impl->options.request_timeout_s * 1000));
      }
      std::lock_guard<std::mutex> lock(impl->flights_mu);
      impl->flights.insert(flight_);
      ++impl->active;
    }
    ~FlightGuard() {
      {
        std::lock_guard<std::mutex> lock(impl_->flights_mu);
        impl_->flights.erase(flight_);
        --impl_->active;
      }
      impl_->flights_cv.notify_all();
    }
    Flight& flight() { return *flight_; }

   private:
    Impl* impl_;
    std::shared_ptr<Flight> flight_;
  };

  // The status a cancelled request reports, by why it was cancelled.
  Status Explain(const Status& s, const Flight& f) const {
    if (s.ok()) return s;
    switch (f.why()) {
      case CancelReason::kTimeout: {
        char limit[32];
        std::snprintf(limit, sizeof limit, "%g", options.request_timeout_s);
        return DeadlineExceededError("the request took longer than the server's limit of " +
                                     std::string(limit) + " s (--timeout)");
      }
      case CancelReason::kShutdown:
        return UnavailableError("the server is shutting down; the request was cancelled");
      default: return s;
    }
  }

  // ---- streaming ----------------------------------------------------------------------------

  // Chunks travel from the model's thread to the HTTP thread through `out`.
  struct Stream {
    explicit Stream(Impl* impl) : guard(impl) {}
    FlightGuard guard;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::string> out;  // wire bytes not yet written
    bool started = false;         // a chunk came from the model
    bool committed = false;       // the 200 and headers are decided: errors become events
    bool finished = false;
    Status status;                // the model call's outcome, once finished
    Status chunk_error;           // a chunk that could not be translated
    Clock::time_point begin = Clock::now();
    double ttft_s = -1;
    Counts counts;
    std::thread worker;
  };

  struct StreamFormat {
    const char* content_type = "text/event-stream";
    bool pings = true;  // SSE comments while idle (NDJSON has no comment syntax)
    std::function<std::vector<std::string>(const json& chunk)> on_chunk;
    // Closing bytes: the terminator on success, an error event otherwise.
    std::function<std::vector<std::string>(const Status& status, double total_s)> on_finish;
    // The HTTP error when the call fails before its first chunk.
    std::function<void(httplib::Response& res, const Status& status)> send_error;
  };

  // OpenAI's SSE framing: one `data:` event per chunk, `[DONE]` at the end, or an error event
  // (the OpenAI SDKs raise it; without [DONE] the stream reads as cut short).
  static StreamFormat OpenAiSse() {
    StreamFormat f;
    f.on_chunk = [](const json& chunk) {
      return std::vector<std::string>{"data: " + Dump(chunk) + "\n\n"};
    };
    f.on_finish = [](const Status& s, double) {
      if (s.ok()) return std::vector<std::string>{"data: [DONE]\n\n"};
      return std::vector<std::string>{"data: " + Dump(MapError(s).body) + "\n\n"};
    };
    f.send_error = [](httplib::Response& r, const Status& s) { SendError(r, MapError(s)); };
    return f;
  }

  using StreamCall = std::function<Status(const backends::ChunkCallback& callback,
                                          const std::atomic<bool>* cancel)>;

  void StartStream(httplib::Response& res, StreamCall call, StreamFormat format) {
    auto st = std::make_shared<Stream>(this);
    auto fmt = std::make_shared<StreamFormat>(std::move(format));
    st->worker = std::thread([this, st, fmt, call = std::move(call)] {
      backends::ChunkCallback callback = [st, fmt](const json& chunk) -> bool {
        if (st->guard.flight().cancel) return false;
        std::vector<std::string> pieces;
        try {
          pieces = fmt->on_chunk(chunk);
        } catch (const std::exception& e) {
          // A chunk this server cannot translate: stop the model rather than throw through it.
          std::lock_guard<std::mutex> lock(st->mu);
          st->chunk_error = InternalError(std::string("cannot translate a chunk: ") + e.what());
          return false;
        }
        {
          std::lock_guard<std::mutex> lock(st->mu);
          if (!st->started) st->ttft_s = SecondsSince(st->begin);
          st->started = true;
          ReadCounts(chunk, &st->counts);
          for (std::string& p : pieces) st->out.push_back(std::move(p));
        }
        st->cv.notify_all();
        return !st->guard.flight().cancel;
      };
      Status s;
      // An exception must not escape this thread (it would end the process): it becomes the
      // stream's error like any other failure.
      try {
        s = Explain(call(callback, &st->guard.flight().cancel), st->guard.flight());
      } catch (const std::exception& e) {
        s = InternalError(std::string("internal error: ") + e.what());
      }
      {
        std::lock_guard<std::mutex> lock(st->mu);
        if (!st->chunk_error.ok()) s = st->chunk_error;
      }
      const double total = SecondsSince(st->begin);
      {
        std::lock_guard<std::mutex> lock(st->mu);
        st->status = s;
        if (st->started || st->committed || s.ok()) {
          for (std::string& p : fmt->on_finish(s, total)) st->out.push_back(std::move(p));
        }
        st->finished = true;
      }
      st->cv.notify_all();
      if (s.ok()) RecordCounts(st->counts, total, st->ttft_s);
    });

    // Answer with a real HTTP status when the call fails before streaming anything (a bad field,
    // a full queue); once the first chunk is out, the status is 200 and errors become events.
    {
      std::unique_lock<std::mutex> lock(st->mu);
      st->cv.wait_for(lock, std::chrono::seconds(1), [&] { return st->started || st->finished; });
      if (st->finished && !st->started && !st->status.ok()) {
        const Status s = st->status;
        lock.unlock();
        st->worker.join();
        fmt->send_error(res, s);
        return;
      }
      st->committed = true;
    }
    const double ping_s = options.stream_ping_s;
    res.status = 200;
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        fmt->content_type,
        [st, fmt, ping_s](size_t, httplib::DataSink& sink) -> bool {
          tl_request.streamed_bytes = std::max<int64_t>(tl_request.streamed_bytes, 0);
          std::unique_lock<std::mutex> lock(st->mu);
          for (;;) {
            if (!st->out.empty()) {
              std::deque<std::string> pieces;
              pieces.swap(st->out);
              lock.unlock();
              for (const std::string& p : pieces) {
                if (!sink.write(p.data(), p.size())) {
                  st->guard.flight().Cancel(CancelReason::kClientGone);
                  return false;
                }
                tl_request.streamed_bytes += static_cast<int64_t>(p.size());
              }
              lock.lock();
              continue;
            }
            if (st->finished) {
              lock.unlock();
              sink.done();
              return true;
            }
            const bool woke = st->cv.wait_for(
                lock, std::chrono::milliseconds(static_cast<int64_t>(ping_s * 1000)),
                [&] { return !st->out.empty() || st->finished; });
            if (!woke && fmt->pings) {
              // Keeps proxies from timing the connection out during a long prompt, and finds a
              // client that has gone before the first token.
              lock.unlock();
              static constexpr char kPing[] = ": ping\n\n";
              if (!sink.write(kPing, sizeof kPing - 1)) {
                st->guard.flight().Cancel(CancelReason::kClientGone);
                return false;
              }
              lock.lock();
            }
          }
        },
        [st](bool) {
          // Runs when the response is destroyed: the client may have gone without the provider
          // ever running; make the model stop, then wait for its thread.
          if (!st->finished) st->guard.flight().Cancel(CancelReason::kClientGone);
          if (st->worker.joinable()) st->worker.join();
        });
  }

  void RecordCounts(const Counts& c, double total_s, double ttft_s) {
    metrics.AddTokens(c.prompt, c.completion);
    metrics.ObserveRequestDuration(total_s);
    if (ttft_s < 0 && c.decode_s >= 0) ttft_s = std::max(0.0, total_s - c.decode_s);
    if (ttft_s >= 0 && c.completion > 0) metrics.ObserveTimeToFirstToken(ttft_s);
    if (c.completion > 1) {
      const double decode_s = c.decode_s >= 0 ? c.decode_s : std::max(0.0, total_s - ttft_s);
      metrics.ObserveTimePerOutputToken(decode_s / static_cast<double>(c.completion - 1));
    }
  }

  // ---- models --------------------------------------------------------------------------------

  Result<std::shared_ptr<LocalModel>> AcquireModel(const std::string& name,
                                                   std::optional<double> keep_alive_s) {
    Result<std::shared_ptr<LocalModel>> m = host->Acquire(name, keep_alive_s);
    if (!m.ok()) return AcquireError(m.status());
    std::lock_guard<std::mutex> lock(models_mu);
    seen[(*m)->info().name] = *m;
    return m;
  }

  // ---- handlers ------------------------------------------------------------------------------

  void OpenAiInfer(const httplib::Request& req, httplib::Response& res, bool text) {
    Result<json> parsed = ParseJsonBody(req.body);
    if (!parsed.ok()) return SendError(res, MapError(parsed.status()));
    json body = std::move(parsed).value();
    std::string param;
    Status valid = CheckOpenAiBody(body, text, options.max_media_parts, &param);
    if (!valid.ok()) return SendError(res, MapError(valid, param));
    const auto stream_it = body.find("stream");
    const bool stream =
        stream_it != body.end() && stream_it->is_boolean() && stream_it->get<bool>();
    if (router != nullptr && !text) return RoutedChat(req, res, std::move(body), stream);

    const std::string name = body.value("model", std::string());
    Result<std::shared_ptr<LocalModel>> model = AcquireModel(name, std::nullopt);
    if (!model.ok()) return SendError(res, MapError(model.status(), "model"));
    std::shared_ptr<LocalModel> m = *model;
    const int64_t timeout_ms = static_cast<int64_t>(options.request_timeout_s * 1000);
    const std::string id = tl_request.id;

    if (!stream) {
      FlightGuard guard(this);
      backends::ChatRequest cr;
      cr.body = std::move(body);
      cr.request_id = id;
      cr.timeout_ms = timeout_ms;
      cr.cancel = &guard.flight().cancel;
      const Clock::time_point t0 = Clock::now();
      Result<backends::ChatResult> r = text ? m->CompleteText(cr, nullptr) : m->Complete(cr, nullptr);
      if (!r.ok()) return SendError(res, MapError(Explain(r.status(), guard.flight())));
      Counts c;
      ReadCounts(r->response, &c);
      RecordCounts(c, SecondsSince(t0), -1);
      return SendJson(res, 200, r->response);
    }
    StreamFormat f = OpenAiSse();
    auto shared_body = std::make_shared<json>(std::move(body));
    StartStream(res,
                [m, text, shared_body, id, timeout_ms](const backends::ChunkCallback& cb,
                                                       const std::atomic<bool>* cancel) {
                  backends::ChatRequest cr;
                  cr.body = *shared_body;
                  cr.request_id = id;
                  cr.timeout_ms = timeout_ms;
                  cr.cancel = cancel;
                  return (text ? m->CompleteText(cr, &cb) : m->Complete(cr, &cb)).status();
                },
                std::move(f));
  }

  router::RequestMeta MetaFor(const httplib::Request& req) const {
    router::RequestMeta meta;
    for (const auto& [k, v] : req.headers) {
      std::string lower = k;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (lower == "authorization" || lower == "x-api-key") continue;  // never into logs or rules
      meta.SetHeader(lower, v);
    }
    meta.api_key = BearerToken(req);
    meta.route = req.path;
    return meta;
  }

  void RoutedChat(const httplib::Request& req, httplib::Response& res, json body, bool stream) {
    router::RequestMeta meta = MetaFor(req);
    router::Router& r = router->router();
    if (!stream) {
      FlightGuard guard(this);
      router::RouteInfo route;
      const Clock::time_point t0 = Clock::now();
      Result<json> out = r.Handle(body, meta, &route);
      router->Note(out.ok() ? &route : nullptr, out.status());
      if (!out.ok()) return SendError(res, MapError(out.status()));
      Counts c;
      ReadCounts(*out, &c);
      RecordCounts(c, SecondsSince(t0), -1);
      return SendJson(res, 200, *out);
    }
    StreamFormat f = OpenAiSse();
    auto shared = std::make_shared<std::pair<json, router::RequestMeta>>(std::move(body),
                                                                         std::move(meta));
    RouterFront* front = router;
    StartStream(res,
                [front, shared](const backends::ChunkCallback& cb, const std::atomic<bool>*) {
                  // The router's backends see the callback's false when the flag is raised.
                  Result<router::RouteInfo> route =
                      front->router().HandleStream(shared->first, shared->second, cb);
                  front->Note(route.ok() ? &*route : nullptr, route.status());
                  return route.status();
                },
                std::move(f));
  }

  void OllamaInfer(const httplib::Request& req, httplib::Response& res, bool chat) {
    const Clock::time_point t0 = Clock::now();
    Result<json> parsed = ParseJsonBody(req.body);
    if (!parsed.ok()) return SendOllamaError(res, parsed.status());
    Result<OllamaCall> translated = chat ? TranslateOllamaChat(*parsed) : TranslateOllamaGenerate(*parsed);
    if (!translated.ok()) return SendOllamaError(res, translated.status());
    OllamaCall call = std::move(translated).value();
    if (call.media_parts > options.max_media_parts) {
      return SendOllamaError(res, InvalidArgumentError(
          "the request has " + std::to_string(call.media_parts) +
          " images; this server accepts at most " + std::to_string(options.max_media_parts) +
          " per request (--max-media)"));
    }
    auto reply_once = [&](const json& o) {
      res.status = 200;
      if (call.stream) res.set_content(Dump(o) + "\n", "application/x-ndjson");
      else res.set_content(Dump(o), "application/json");
    };
    if (call.kind == OllamaCall::Kind::kUnload) {
      const std::string name = call.model.empty() ? host->DefaultModel() : call.model;
      Status s = host->Unload(name);
      if (!s.ok()) return SendOllamaError(res, s);
      return reply_once(OllamaLoadReply(call, name));
    }
    const Clock::time_point acquire_start = Clock::now();
    Result<std::shared_ptr<LocalModel>> model = AcquireModel(call.model, call.keep_alive_s);
    if (!model.ok()) return SendOllamaError(res, model.status());
    call.acquire_ns = static_cast<int64_t>(SecondsSince(acquire_start) * 1e9);
    std::shared_ptr<LocalModel> m = *model;
    const ModelInfo info = m->info();
    if (call.kind == OllamaCall::Kind::kLoad) return reply_once(OllamaLoadReply(call, info.name));
    if (call.num_ctx > 0 && info.n_ctx > 0 && call.num_ctx > info.n_ctx) {
      return SendOllamaError(res, InvalidArgumentError(
          "options.num_ctx " + std::to_string(call.num_ctx) + " is larger than the context this "
          "server gives each sequence of " + info.name + " (" + std::to_string(info.n_ctx) +
          " tokens); start hearth serve with a larger -c"));
    }
    call.openai_body["model"] = info.name;
    const int64_t timeout_ms = static_cast<int64_t>(options.request_timeout_s * 1000);
    const std::string id = tl_request.id;

    if (!call.stream) {
      FlightGuard guard(this);
      backends::ChatRequest cr;
      cr.body = call.openai_body;
      cr.request_id = id;
      cr.timeout_ms = timeout_ms;
      cr.cancel = &guard.flight().cancel;
      Result<backends::ChatResult> r =
          call.text_completion ? m->CompleteText(cr, nullptr) : m->Complete(cr, nullptr);
      if (!r.ok()) return SendOllamaError(res, Explain(r.status(), guard.flight()));
      const double total = SecondsSince(t0);
      Counts c;
      ReadCounts(r->response, &c);
      RecordCounts(c, total, -1);
      OllamaStats stats;
      stats.total_ns = static_cast<int64_t>(total * 1e9);
      return SendJson(res, 200, OllamaFromResponse(call, r->response, stats));
    }
    auto translator = std::make_shared<OllamaStreamTranslator>(call);
    StreamFormat f;
    f.content_type = "application/x-ndjson";
    f.pings = false;
    f.on_chunk = [translator](const json& chunk) {
      std::vector<std::string> lines;
      for (const json& o : translator->Feed(chunk)) lines.push_back(Dump(o) + "\n");
      return lines;
    };
    f.on_finish = [translator, t0](const Status& s, double) {
      if (s.ok()) {
        const int64_t total_ns = static_cast<int64_t>(SecondsSince(t0) * 1e9);
        return std::vector<std::string>{Dump(translator->Finish(total_ns)) + "\n"};
      }
      return std::vector<std::string>{Dump(OllamaErrorJson(s)) + "\n"};
    };
    f.send_error = [](httplib::Response& r, const Status& s) { SendOllamaError(r, s); };
    auto shared_call = std::make_shared<OllamaCall>(std::move(call));
    StartStream(res,
                [m, shared_call, id, timeout_ms](const backends::ChunkCallback& cb,
                                                 const std::atomic<bool>* cancel) {
                  backends::ChatRequest cr;
                  cr.body = shared_call->openai_body;
                  cr.request_id = id;
                  cr.timeout_ms = timeout_ms;
                  cr.cancel = cancel;
                  return (shared_call->text_completion ? m->CompleteText(cr, &cb)
                                                       : m->Complete(cr, &cb))
                      .status();
                },
                std::move(f));
  }

  void OpenAiModels(httplib::Response& res) {
    json data = json::array();
    for (const ModelInfo& m : host->List()) {
      data.push_back({{"id", m.name}, {"object", "model"}, {"created", m.modified_unix},
                      {"owned_by", "hearth"}});
    }
    SendJson(res, 200, {{"object", "list"}, {"data", data}});
  }

  void OpenAiModel(const std::string& id, httplib::Response& res) {
    std::string names;
    for (const ModelInfo& m : host->List()) {
      if (m.name == id) {
        return SendJson(res, 200, {{"id", m.name}, {"object", "model"},
                                   {"created", m.modified_unix}, {"owned_by", "hearth"}});
      }
      names += (names.empty() ? "" : ", ") + m.name;
    }
    SendError(res, MapError(NotFoundError("model \"" + id + "\" not found; available: " + names),
                            "model"));
  }

  void OllamaShow(const httplib::Request& req, httplib::Response& res) {
    Result<json> parsed = ParseJsonBody(req.body);
    if (!parsed.ok()) return SendOllamaError(res, parsed.status());
    const json& b = *parsed;
    if (!b.is_object()) return SendOllamaError(res, InvalidArgumentError("body must be an object"));
    std::string name;
    for (const char* key : {"model", "name"}) {
      if (b.contains(key) && b[key].is_string()) name = b[key];
    }
    if (name.size() > 7 && name.compare(name.size() - 7, 7, ":latest") == 0) name.resize(name.size() - 7);
    Result<std::shared_ptr<LocalModel>> m = AcquireModel(name, std::nullopt);
    if (!m.ok()) return SendOllamaError(res, m.status());
    const ModelInfo info = (*m)->info();
    json out = (*m)->Show();
    if (!out.contains("details")) out["details"] = OllamaDetails(info);
    out["modified_at"] = Rfc3339Seconds(info.modified_unix);
    SendJson(res, 200, out);
  }

  void Health(httplib::Response& res) {
    if (draining) return SendJson(res, 503, {{"status", "shutting down"}});
    if (!host->Ready()) {
      res.set_header("Retry-After", "1");
      return SendJson(res, 503, {{"status", "loading"}});
    }
    SendJson(res, 200, {{"status", "ok"}});
  }

  void MetricsText(httplib::Response& res) {
    std::string out = metrics.Render();
    AppendHeader("hearth_http_requests_in_flight", "gauge", "Inference requests being served.",
                 &out);
    AppendSample("hearth_http_requests_in_flight", "", active.load(), &out);
    int act = 0, queued = 0;
    std::string kv_used, kv_total;
    {
      std::lock_guard<std::mutex> lock(models_mu);
      for (auto it = seen.begin(); it != seen.end();) {
        std::shared_ptr<LocalModel> m = it->second.lock();
        if (!m) {
          it = seen.erase(it);
          continue;
        }
        const LocalModel::Load l = m->load();
        act += l.active;
        queued += l.queued;
        const std::string label = "model=\"" + LabelValue(it->first) + "\"";
        AppendSample("hearth_kv_cells_used", label, static_cast<double>(l.kv_used), &kv_used);
        AppendSample("hearth_kv_cells_total", label, static_cast<double>(l.kv_total), &kv_total);
        ++it;
      }
    }
    AppendHeader("hearth_requests_active", "gauge", "Sequences being decoded.", &out);
    AppendSample("hearth_requests_active", "", act, &out);
    AppendHeader("hearth_requests_queued", "gauge", "Requests waiting for a sequence.", &out);
    AppendSample("hearth_requests_queued", "", queued, &out);
    AppendHeader("hearth_kv_cells_used", "gauge", "KV cache cells in use.", &out);
    out += kv_used;
    AppendHeader("hearth_kv_cells_total", "gauge", "KV cache cells allocated.", &out);
    out += kv_total;
    const std::vector<ModelInfo> running = host->Running();
    AppendHeader("hearth_models_loaded", "gauge", "Models loaded now.", &out);
    AppendSample("hearth_models_loaded", "", static_cast<double>(running.size()), &out);
    AppendHeader("hearth_model_load_seconds", "gauge", "How long loading each loaded model took.",
                 &out);
    for (const ModelInfo& m : running) {
      AppendSample("hearth_model_load_seconds", "model=\"" + LabelValue(m.name) + "\"",
                   m.load_ms / 1000, &out);
    }
    if (router != nullptr) router->RenderMetrics(&out);
    res.status = 200;
    res.set_content(out, "text/plain; version=0.0.4; charset=utf-8");
  }

  // ---- cross-cutting: ids, CORS, auth, draining, logs -------------------------------------------

  static std::string BearerToken(const httplib::Request& req) {
    const std::string auth = req.get_header_value("Authorization");
    if (auth.size() > 7 && (auth.compare(0, 7, "Bearer ") == 0 || auth.compare(0, 7, "bearer ") == 0)) {
      return auth.substr(7);
    }
    return req.get_header_value("x-api-key");
  }

  static bool ConstantTimeEquals(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (size_t i = 0; i < a.size(); ++i) {
      diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    }
    return diff == 0;
  }

  bool OriginAllowed(const httplib::Request& req, const std::string& origin) const {
    // The chat page served here calls the API from its own origin.
    if (origin == "http://" + req.get_header_value("Host")) return true;
    for (const std::string& o : options.cors_origins) {
      if (o == "*" || o == origin) return true;
    }
    return false;
  }

  httplib::Server::HandlerResponse PreRouting(const httplib::Request& req, httplib::Response& res) {
    tl_request.valid = true;
    tl_request.start = Clock::now();
    tl_request.id = id_prefix + std::to_string(++next_id);
    tl_request.streamed_bytes = -1;
    res.set_header("X-Request-Id", tl_request.id);
    const std::string origin = req.get_header_value("Origin");
    if (!origin.empty()) {
      if (!OriginAllowed(req, origin)) {
        SendError(res, MapError(PermissionDeniedError(
                               "origin " + origin + " is not allowed (start hearth serve with "
                               "--cors " + origin + " to allow it)")));
        return httplib::Server::HandlerResponse::Handled;
      }
      res.set_header("Access-Control-Allow-Origin", origin);
      res.set_header("Vary", "Origin");
      res.set_header("Access-Control-Expose-Headers", "X-Request-Id, Retry-After");
    }
    if (req.method == "OPTIONS") {
      res.status = 204;
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      const std::string asked = req.get_header_value("Access-Control-Request-Headers");
      res.set_header("Access-Control-Allow-Headers",
                     asked.empty() ? "Authorization, Content-Type" : asked);
      res.set_header("Access-Control-Max-Age", "600");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (draining && req.path != "/health") {
      SendError(res, MapError(UnavailableError("the server is shutting down")));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!options.api_key.empty() && req.path != "/health" && req.path != "/") {
      const std::string token = BearerToken(req);
      if (token.empty() || !ConstantTimeEquals(token, options.api_key)) {
        res.set_header("WWW-Authenticate", "Bearer");
        SendError(res, AuthError(token.empty()
                                     ? "missing API key: send Authorization: Bearer <key>"
                                     : "invalid API key"));
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  // Errors httplib produces itself (no route, body too large, unreadable request) get the same
  // OpenAI-shaped body as the handlers' errors.
  httplib::Server::HandlerResponse ErrorBody(const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    Status s;
    switch (res.status) {
      case 404: s = NotFoundError("no endpoint " + req.method + " " + req.path); break;
      case 413:
        // httplib refuses form-encoded bodies over 8 KiB before any handler runs; `curl -d` sends
        // JSON labelled that way unless told otherwise.
        if (req.get_header_value("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
          s = InvalidArgumentError(
              "the body is labelled application/x-www-form-urlencoded, which is refused above "
              "8 KiB; send JSON with Content-Type: application/json (curl: --json, or -H "
              "'Content-Type: application/json')");
        } else {
          s = InvalidArgumentError("request body is larger than the server's limit of " +
                                   std::to_string(options.max_body_bytes) +
                                   " bytes (--max-body-mb)");
        }
        break;
      case 400: s = InvalidArgumentError("malformed HTTP request"); break;
      default: s = InternalError("HTTP error " + std::to_string(res.status)); break;
    }
    json body = backends::OpenAiErrorJson(s);
    if (res.status == 413) body["error"]["code"] = "request_too_large";
    res.set_content(Dump(body), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }

  void Log(const httplib::Request& req, const httplib::Response& res) {
    const Clock::time_point start = tl_request.valid ? tl_request.start : Clock::now();
    const double ms = SecondsSince(start) * 1000;
    const int64_t bytes = tl_request.streamed_bytes >= 0 ? tl_request.streamed_bytes
                                                         : static_cast<int64_t>(res.body.size());
    metrics.CountRequest(EndpointLabel(req.path), res.status);
    const std::string ts = Rfc3339Nanos(UnixNanosNow());
    const json line = {{"ts", ts.substr(0, 23) + "Z"},  // milliseconds are enough for a log
                       {"event", "request"},
                       {"method", req.method},
                       {"path", req.path},
                       {"status", res.status},
                       {"ms", std::round(ms * 1000) / 1000},
                       {"bytes", bytes},
                       {"request_id", tl_request.valid ? tl_request.id : std::string()},
                       {"remote", req.remote_addr}};
    const std::string text = Dump(line);
    if (options.log_line) options.log_line(text);
    else std::fprintf(stderr, "%s\n", text.c_str());
    tl_request.valid = false;
  }

  void Watchdog() {
    std::unique_lock<std::mutex> lock(flights_mu);
    while (!stop_watchdog) {
      flights_cv.wait_for(lock, std::chrono::milliseconds(100));
      const Clock::time_point now = Clock::now();
      for (const std::shared_ptr<Flight>& f : flights) {
        if (now >= f->deadline && !f->cancel) f->Cancel(CancelReason::kTimeout);
      }
    }
  }

  void Routes() {
    svr.set_pre_routing_handler(
        [this](const httplib::Request& q, httplib::Response& r) { return PreRouting(q, r); });
    svr.set_error_handler(httplib::Server::HandlerWithResponse(
        [this](const httplib::Request& q, httplib::Response& r) { return ErrorBody(q, r); }));
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& r, std::exception_ptr ep) {
      std::string what = "unknown exception";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      SendError(r, MapError(InternalError("internal error: " + what)));
    });
    svr.set_logger([this](const httplib::Request& q, const httplib::Response& r) { Log(q, r); });

    svr.Get("/", [](const httplib::Request&, httplib::Response& r) {
      r.set_header("Content-Security-Policy",
                   "default-src 'self' 'unsafe-inline' data: blob:; connect-src 'self'");
      r.set_content(std::string(ChatPageHtml()), "text/html; charset=utf-8");
    });
    svr.Get("/health", [this](const httplib::Request&, httplib::Response& r) { Health(r); });
    svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& r) { MetricsText(r); });
    for (const char* prefix : {"/v1", ""}) {
      const std::string p = prefix;
      svr.Post(p + "/chat/completions",
               [this](const httplib::Request& q, httplib::Response& r) { OpenAiInfer(q, r, false); });
      svr.Post(p + "/completions",
               [this](const httplib::Request& q, httplib::Response& r) { OpenAiInfer(q, r, true); });
      svr.Get(p + "/models", [this](const httplib::Request&, httplib::Response& r) { OpenAiModels(r); });
      svr.Get(p + "/models/(.+)", [this](const httplib::Request& q, httplib::Response& r) {
        OpenAiModel(q.matches[1], r);
      });
    }
    svr.Post("/api/chat",
             [this](const httplib::Request& q, httplib::Response& r) { OllamaInfer(q, r, true); });
    svr.Post("/api/generate",
             [this](const httplib::Request& q, httplib::Response& r) { OllamaInfer(q, r, false); });
    svr.Get("/api/tags", [this](const httplib::Request&, httplib::Response& r) {
      json models = json::array();
      for (const ModelInfo& m : host->List()) models.push_back(OllamaTagsEntry(m));
      SendJson(r, 200, {{"models", models}});
    });
    svr.Get("/api/ps", [this](const httplib::Request&, httplib::Response& r) {
      json models = json::array();
      for (const ModelInfo& m : host->Running()) models.push_back(OllamaPsEntry(m));
      SendJson(r, 200, {{"models", models}});
    });
    svr.Post("/api/show", [this](const httplib::Request& q, httplib::Response& r) { OllamaShow(q, r); });
    svr.Get("/api/version", [](const httplib::Request&, httplib::Response& r) {
      SendJson(r, 200, {{"version", HEARTH_VERSION}});
    });
  }

  ServerOptions options;
  ModelHost* host;
  RouterFront* router;
  httplib::Server svr;
  Metrics metrics;
  int bound_port = 0;
  std::thread listen_thread;
  std::atomic<bool> listen_returned{false};
  std::thread watchdog_thread;
  std::string id_prefix;
  std::atomic<uint64_t> next_id{0};

  std::atomic<bool> draining{false};
  std::mutex stop_mu;
  bool started = false;
  bool stopped = false;
  std::condition_variable stopped_cv;

  std::mutex flights_mu;
  std::condition_variable flights_cv;
  std::set<std::shared_ptr<Flight>> flights;
  std::atomic<int> active{0};
  bool stop_watchdog = false;

  std::mutex models_mu;
  std::map<std::string, std::weak_ptr<LocalModel>> seen;  // for /metrics, without loading anything
};

Server::Server(ServerOptions options, ModelHost* host, RouterFront* router)
    : impl_(std::make_unique<Impl>(std::move(options), host, router)) {}

Server::~Server() { Shutdown(); }

Status Server::Start() {
  Impl& im = *impl_;
  const int threads = std::max(4, im.options.threads);
  im.svr.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  im.svr.set_payload_max_length(static_cast<size_t>(im.options.max_body_bytes));
  im.svr.set_read_timeout(30, 0);
  im.svr.set_write_timeout(30, 0);
  im.svr.set_tcp_nodelay(true);
  // An idle keep-alive connection holds its worker until this timeout (httplib cannot close it
  // early), so a shutdown can wait this long after the last request. Shorter is worse: node's
  // fetch, told "timeout=2", still reused connections the server was closing (EPIPE on large
  // bodies under load).
  im.svr.set_keep_alive_timeout(5);
  // httplib's default also sets SO_REUSEPORT, which lets a second server bind the same port and
  // silently take half the connections; only SO_REUSEADDR (quick restarts) is wanted.
  im.svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  im.Routes();
  if (im.options.port == 0) {
    im.bound_port = im.svr.bind_to_any_port(im.options.host);
    if (im.bound_port <= 0) {
      return UnavailableError("cannot listen on " + im.options.host + " (any port)");
    }
  } else {
    if (!im.svr.bind_to_port(im.options.host, im.options.port)) {
      return UnavailableError("cannot listen on " + im.options.host + ":" +
                              std::to_string(im.options.port) +
                              " (address in use, or not allowed)");
    }
    im.bound_port = im.options.port;
  }
  {
    std::lock_guard<std::mutex> lock(im.stop_mu);
    im.started = true;
  }
  im.watchdog_thread = std::thread([&im] { im.Watchdog(); });
  im.listen_thread = std::thread([&im] {
    im.svr.listen_after_bind();
    im.listen_returned = true;
  });
  // httplib's stop() does nothing until the accept loop runs; wait for it so that a Shutdown()
  // right after Start() cannot miss it and leave the loop running forever.
  while (!im.svr.is_running() && !im.listen_returned) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::Ok();
}

int Server::port() const { return impl_->bound_port; }

void Server::Shutdown() {
  Impl& im = *impl_;
  {
    std::unique_lock<std::mutex> lock(im.stop_mu);
    if (!im.started || im.stopped) return;
    if (im.draining.exchange(true)) {
      im.stopped_cv.wait(lock, [&] { return im.stopped; });
      return;
    }
  }
  {
    std::unique_lock<std::mutex> lock(im.flights_mu);
    const auto grace = std::chrono::milliseconds(
        static_cast<int64_t>(std::max(0.0, im.options.shutdown_grace_s) * 1000));
    if (!im.flights_cv.wait_for(lock, grace, [&] { return im.active.load() == 0; })) {
      for (const auto& f : im.flights) f->Cancel(CancelReason::kShutdown);
      im.flights_cv.wait_for(lock, std::chrono::seconds(10), [&] { return im.active.load() == 0; });
    }
    im.stop_watchdog = true;
  }
  im.flights_cv.notify_all();
  im.svr.stop();
  if (im.listen_thread.joinable()) im.listen_thread.join();
  if (im.watchdog_thread.joinable()) im.watchdog_thread.join();
  {
    std::lock_guard<std::mutex> lock(im.stop_mu);
    im.stopped = true;
  }
  im.stopped_cv.notify_all();
}

void Server::Wait() {
  Impl& im = *impl_;
  std::unique_lock<std::mutex> lock(im.stop_mu);
  im.stopped_cv.wait(lock, [&] { return im.stopped || !im.started; });
}

}  // namespace hearth::server
