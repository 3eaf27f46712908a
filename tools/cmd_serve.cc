// hearth serve: the OpenAI- and Ollama-compatible HTTP server over the models on this machine,
// optionally with the router in front (--policy). Prints "listening on http://HOST:PORT" once
// bound; SIGINT or SIGTERM stops it gracefully (a second signal exits at once).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "server/http_server.h"
#include "server/http_util.h"
#include "server/model_manager.h"
#include "server/router_front.h"
#include "tools/cli_common.h"

namespace hearth::cli {
namespace {

struct ServeOptions {
  std::string model, mmproj, models_dir;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  std::vector<std::string> cors;
  int parallel = 4;
  int64_t ctx = 8192;
  int threads = 0;
  int queue = 64;
  std::string keep_alive = "5m";
  double max_body_mb = 32;
  int max_media = 16;
  double timeout_s = 600;
  std::string max_memory;
  bool ignore_memory_check = false;
  bool allow_remote_media = false;
  bool mmap = false;
  std::string kv_type = "f16";
  int http_threads = 0;
  double shutdown_grace_s = 15;
  std::string policy, ledger, audit = "hearth-audit.jsonl";
  bool offline = false;
};

Status Serve(ServeOptions& o) {
  // Neither -m nor --models-dir: serve the shipped demo model.
  if (o.model.empty() && o.models_dir.empty()) TRY(UseDefaultModel(&o.model, &o.mmproj));
  if (o.port < 0 || o.port > 65535) {
    return InvalidArgumentError("--port " + std::to_string(o.port) + " is not a port (0-65535)");
  }
  if (o.parallel < 1) return InvalidArgumentError("--parallel must be at least 1");
  if (o.queue < 0) return InvalidArgumentError("--queue must not be negative");
  if (o.max_body_mb <= 0) return InvalidArgumentError("--max-body-mb must be positive");
  if (o.timeout_s < 0) return InvalidArgumentError("--timeout must not be negative");
  if (!o.api_key.empty() && o.api_key.size() < 8) {
    return InvalidArgumentError("--api-key is too short (use at least 8 characters)");
  }

  server::ModelManagerOptions mo;
  mo.model_path = o.model;
  mo.mmproj_path = o.mmproj;
  mo.models_dir = o.models_dir;
  mo.n_ctx = o.ctx;
  mo.parallel = o.parallel;
  mo.max_queue = o.queue;
  mo.threads = o.threads;
  mo.ignore_memory_check = o.ignore_memory_check;
  mo.allow_remote_media = o.allow_remote_media;
  mo.mmap = o.mmap;
  {
    ModelOptions kv;
    kv.kv_type = o.kv_type;
    ASSIGN_OR_RETURN(mo.kv_type, kv.KvType());
  }
  {
    Result<double> ka = server::ParseKeepAlive(nlohmann::json(o.keep_alive));
    if (!ka.ok()) return ka.status().WithContext("--keep-alive");
    mo.keep_alive_s = *ka;
  }
  if (!o.max_memory.empty()) {
    ASSIGN_OR_RETURN(mo.max_memory_bytes, ParseBytes(o.max_memory));
  }

  // Signals are taken by one thread with sigwait, so every other thread (HTTP workers, the engine)
  // must block them: set the mask before any thread exists. A client that hangs up must not kill
  // the process with SIGPIPE.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  ASSIGN_OR_RETURN(std::unique_ptr<server::ModelHost> host, server::CreateModelManager(mo));

  std::unique_ptr<server::RouterFront> router;
  if (!o.policy.empty()) {
    server::RouterFrontOptions ro;
    ro.policy_path = o.policy;
    ro.offline = o.offline;
    ro.ledger_path = o.ledger;
    ro.audit_path = o.audit;
    // The context a local request gets: -c, clamped to the default model's training context.
    ro.local_context_tokens = o.ctx;
    const std::string def = host->DefaultModel();
    for (const server::ModelInfo& m : host->List()) {
      if (m.name == def && m.n_ctx_train > 0) ro.local_context_tokens = std::min(o.ctx, m.n_ctx_train);
    }
    ASSIGN_OR_RETURN(router, server::RouterFront::Create(ro, host.get()));
    std::fprintf(stderr, "hearth: routing with %s (%d network backend%s%s)\n", o.policy.c_str(),
                 router->network_backends(), router->network_backends() == 1 ? "" : "s",
                 o.offline ? ", offline" : "");
  } else if (o.offline || !o.ledger.empty()) {
    return InvalidArgumentError("--offline and --ledger apply to the router: give --policy too");
  }

  server::ServerOptions so;
  so.host = o.host;
  so.port = o.port;
  so.api_key = o.api_key;
  so.cors_origins = o.cors;
  so.max_body_bytes = static_cast<int64_t>(o.max_body_mb * 1024 * 1024);
  so.max_media_parts = o.max_media;
  so.request_timeout_s = o.timeout_s;
  so.shutdown_grace_s = o.shutdown_grace_s;
  // Each open request holds an HTTP thread (streams for their whole length): enough for every
  // sequence and every queued request, plus room for /health and /metrics.
  so.threads = o.http_threads > 0 ? o.http_threads : o.parallel + o.queue + 8;
  server::Server srv(so, host.get(), router.get());
  TRY(srv.Start());
  std::fprintf(stderr, "hearth: listening on http://%s:%d\n", o.host.c_str(), srv.port());
  std::fflush(stderr);

  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "hearth: %s received, finishing running requests (up to %.0f s; again to "
               "quit now)\n", sig == SIGINT ? "SIGINT" : "SIGTERM", o.shutdown_grace_s);
  std::thread force([signals] {
    int again = 0;
    sigset_t s = signals;
    sigwait(&s, &again);
    std::fprintf(stderr, "hearth: second signal, exiting now\n");
    _exit(130);
  });
  force.detach();
  srv.Shutdown();
  std::fprintf(stderr, "hearth: stopped\n");
  return Status::Ok();
}

}  // namespace

void AddServeCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* s = app.add_subcommand("serve", "OpenAI- and Ollama-compatible HTTP server");
  s->add_option("-m,--model", o->model, "the default model (GGUF; without -m and --models-dir: the shipped demo model)");
  s->add_option("--mmproj", o->mmproj, "multimodal projector for the default model (GGUF)");
  s->add_option("--models-dir", o->models_dir, "serve every *.gguf in this folder, loaded on demand");
  s->add_option("--host", o->host, "address to listen on");
  s->add_option("--port", o->port, "port to listen on (0: any free port, printed)");
  s->add_option("--api-key", o->api_key, "require Authorization: Bearer <key> (also HEARTH_API_KEY)")
      ->envname("HEARTH_API_KEY");
  s->add_option("--cors", o->cors, "origin allowed to call from a browser (repeatable; * for any)");
  s->add_option("--parallel", o->parallel, "sequences decoded together");
  s->add_option("-c,--ctx", o->ctx, "context per sequence in tokens");
  s->add_option("-t,--threads", o->threads, "compute threads (0: physical cores)");
  s->add_option("--queue", o->queue, "requests that may wait for a sequence; more get 503");
  s->add_option("--keep-alive", o->keep_alive, "idle time before a model is unloaded (5m, 1h, -1: never)");
  s->add_option("--max-body-mb", o->max_body_mb, "largest request body in MiB");
  s->add_option("--max-media", o->max_media, "most images/audio/video parts per request");
  s->add_option("--timeout", o->timeout_s, "seconds before a request is cancelled (0: none)");
  s->add_option("--max-memory", o->max_memory, "memory budget for loading models (e.g. 8G)");
  s->add_flag("--ignore-memory-check", o->ignore_memory_check, "load even when the check says no");
  s->add_flag("--mmap", o->mmap, kMmapHelp);
  s->add_flag("--allow-remote-media", o->allow_remote_media,
              "fetch http(s) image/audio/video URLs in requests (default: refused)");
  s->add_option("--kv-type", o->kv_type, "KV cache type: f16 or q8_0");
  s->add_option("--http-threads", o->http_threads, "HTTP worker threads (0: parallel + queue + 8)");
  s->add_option("--shutdown-grace", o->shutdown_grace_s, "seconds running requests get at shutdown");
  s->add_option("--policy", o->policy, "routing policy TOML: put the router in front");
  s->add_flag("--offline", o->offline, "create no network backend at all (with --policy)");
  s->add_option("--ledger", o->ledger, "SQLite cost ledger (with --policy)");
  s->add_option("--audit", o->audit, "egress audit log (with --policy)");
  s->callback([o, exit_code] {
    Status st = Serve(*o);
    if (!st.ok()) *exit_code = Fail(st);
  });
}

}  // namespace hearth::cli
