// hearth run: one prompt in, generated text (or JSON with log-probabilities) out.
#include <chrono>
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "engine/session.h"
#include "tools/cli_common.h"

namespace hearth::cli {
namespace {

struct RunOptions {
  ModelOptions model;
  SamplingOptions sampling;
  MediaOptions media;
  std::vector<MediaItem> items;  // --image/--audio/--video in command-line order
  std::string prompt, system, prompt_tokens;
  bool raw = false, think = false, json = false;
  int top_logprobs = 0;
};

nlohmann::json TokenJson(const tokenizer::Tokenizer& tok, const engine::GeneratedToken& g) {
  nlohmann::json t = {{"id", g.id}, {"text", tok.Piece(g.id, /*render_special=*/true)},
                      {"logprob", g.logprob}};
  if (!g.top.empty()) {
    nlohmann::json top = nlohmann::json::array();
    for (const auto& [id, lp] : g.top) top.push_back({{"id", id}, {"logprob", lp}});
    t["top_logprobs"] = std::move(top);
  }
  return t;
}

Status Run(RunOptions& o) {
  TRY(UseDefaultModel(&o.model.model_path, &o.media.mmproj));
  ASSIGN_OR_RETURN(engine::LoadedModel lm, LoadChecked(o.model));
  const tokenizer::Tokenizer& tok = *lm.tokenizer;
  ASSIGN_OR_RETURN(std::unique_ptr<mm::Projector> proj, LoadProjector(o.media, lm));
  std::vector<int32_t> ids;
  std::vector<mm::PromptChunk> chunks;  // the prompt when media are given
  ThreadPool pool(o.model.threads > 0 ? o.model.threads : ThreadPool::DefaultThreads());
  double media_ms = 0;
  if (!o.items.empty()) {
    if (!o.prompt_tokens.empty())
      return InvalidArgumentError("--prompt-tokens cannot carry media; give -p TEXT");
    ASSIGN_OR_RETURN(std::vector<chat::Part> parts, UserParts(o.prompt, &o.items));
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<mm::Embeddings> media;
    int video = 0;
    for (const MediaItem& it : o.items) {
      TRY(EncodeMediaFile(proj.get(), it, it.kind == MediaItem::Kind::kVideo ? video++ : -1, o.media,
                          pool, &media));
    }
    media_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSIGN_OR_RETURN(chunks, BuildMultimodalPrompt(tok, o.system, parts, std::move(media), o.raw, o.think));
  } else if (!o.prompt_tokens.empty()) {
    if (!o.prompt.empty()) return InvalidArgumentError("give either -p or --prompt-tokens, not both");
    ASSIGN_OR_RETURN(ids, ParseIds(o.prompt_tokens));
  } else {
    if (o.prompt.empty()) return InvalidArgumentError("no prompt: give -p TEXT or --prompt-tokens IDS");
    ASSIGN_OR_RETURN(ids, BuildPrompt(tok, o.system, o.prompt, o.raw, o.think));
  }
  engine::SessionOptions so;
  so.n_ctx = o.model.n_ctx;
  so.n_batch = o.model.n_batch;
  ASSIGN_OR_RETURN(so.kv_type, o.model.KvType());
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Session> s, engine::Session::Create(*lm.model, so, pool));
  const int64_t n_prompt = chunks.empty() ? static_cast<int64_t>(ids.size()) : ChunkPositions(chunks);
  if (n_prompt > s->n_ctx()) {
    return OutOfRangeError("the prompt has " + std::to_string(n_prompt) +
                           " tokens but the context holds " + std::to_string(s->n_ctx()) +
                           " (raise -c)");
  }
  engine::GenerateOptions gen = o.sampling.gen;
  gen.top_logprobs = o.top_logprobs;
  engine::StreamCallback print;
  if (!o.json) {
    print = [](const std::string& text, const engine::GeneratedToken&) {
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fflush(stdout);
      return true;
    };
  }
  double chunk_ms = 0;
  if (!chunks.empty()) {
    // Media prompts are fed here (embeddings need FeedEmbeddings); generation continues from them.
    const auto t0 = std::chrono::steady_clock::now();
    TRY(FeedChunks(*s, chunks));
    chunk_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  ASSIGN_OR_RETURN(engine::GenerateResult r, engine::Generate(*s, tok, ids, gen, print));
  if (!chunks.empty()) {
    r.prompt_tokens = n_prompt;
    r.prefill_ms += chunk_ms;
  }
  const double n_gen = static_cast<double>(r.tokens.size());
  if (o.json) {
    nlohmann::json out;
    out["tokens"] = nlohmann::json::array();
    for (const auto& g : r.tokens) out["tokens"].push_back(TokenJson(tok, g));
    out["text"] = r.text;
    out["finish_reason"] = engine::FinishReasonName(r.finish);
    out["timings"] = {
        {"prompt_tokens", r.prompt_tokens},
        {"generated_tokens", r.tokens.size()},
        {"prefill_ms", r.prefill_ms},
        {"decode_ms", r.decode_ms},
        {"prefill_tokens_per_s", r.prefill_ms > 0 ? r.prompt_tokens * 1000.0 / r.prefill_ms : 0.0},
        {"decode_tokens_per_s", r.decode_ms > 0 ? n_gen * 1000.0 / r.decode_ms : 0.0},
        {"threads", pool.size()}};
    if (!o.items.empty()) out["timings"]["media_encode_ms"] = media_ms;
    std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    std::printf("\n");
    std::fprintf(stderr, "\n[%lld prompt tokens in %.0f ms (%.1f t/s), %zu generated in %.0f ms (%.1f t/s), %s]\n",
                 static_cast<long long>(r.prompt_tokens), r.prefill_ms,
                 r.prefill_ms > 0 ? r.prompt_tokens * 1000.0 / r.prefill_ms : 0.0, r.tokens.size(),
                 r.decode_ms, r.decode_ms > 0 ? n_gen * 1000.0 / r.decode_ms : 0.0,
                 engine::FinishReasonName(r.finish));
  }
  return Status::Ok();
}

}  // namespace

void AddRunCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand("run", "generate text from one prompt");
  o->model.Add(*sub);
  o->sampling.Add(*sub);
  o->media.Add(*sub, /*with_files=*/true);
  sub->add_option("-p,--prompt", o->prompt,
                  "the user message (chat template applied); <image>, <audio>, <video> place media");
  sub->add_option("--system", o->system, "a system message");
  sub->add_flag("--raw", o->raw, "send the prompt as is, without the chat template");
  sub->add_flag("--think", o->think, "enable thinking (Gemma 4)");
  sub->add_option("--prompt-tokens", o->prompt_tokens,
                  "comma-separated token ids fed as is (no template, no BOS added)");
  sub->add_flag("--json", o->json, "print one JSON object with the tokens and timings");
  sub->add_option("--top-logprobs", o->top_logprobs, "with --json: the K most likely ids per token")
      ->check(CLI::Range(0, 1000));
  sub->callback([o, sub, exit_code] {
    o->items = o->media.Items(*sub);
    Status s = Run(*o);
    if (!s.ok()) *exit_code = Fail(s);
  });
}

}  // namespace hearth::cli
