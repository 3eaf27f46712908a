// hearth chat: an interactive multi-turn conversation. Each turn re-renders the whole conversation
// through the chat template and feeds only the tokens after the part the session already holds.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

#include "chat/chat.h"
#include "core/thread_pool.h"
#include "engine/session.h"
#include "tools/cli_common.h"

namespace hearth::cli {
namespace {

struct ChatOptions {
  ModelOptions model;
  SamplingOptions sampling;
  std::string system;
  bool think = false;
};

Status Chat(ChatOptions& o) {
  ASSIGN_OR_RETURN(engine::LoadedModel lm, LoadChecked(o.model));
  const tokenizer::Tokenizer& tok = *lm.tokenizer;
  if (tok.vocab().chat_template.empty())
    return FailedPreconditionError("the model has no chat template; use `hearth run --raw`");
  ASSIGN_OR_RETURN(chat::Family family, chat::DetectFamily(tok.vocab().chat_template));
  ThreadPool pool(o.model.threads > 0 ? o.model.threads : ThreadPool::DefaultThreads());
  engine::SessionOptions so;
  so.n_ctx = o.model.n_ctx;
  so.n_batch = o.model.n_batch;
  ASSIGN_OR_RETURN(so.kv_type, o.model.KvType());
  ASSIGN_OR_RETURN(std::unique_ptr<engine::Session> s, engine::Session::Create(*lm.model, so, pool));

  std::vector<chat::Message> msgs;
  if (!o.system.empty()) msgs.push_back(chat::Message::Text("system", o.system));
  const bool tty = isatty(STDIN_FILENO);
  if (tty) std::fprintf(stderr, "hearth chat: /reset starts over, /exit or Ctrl-D quits\n");
  std::string line;
  for (;;) {
    if (tty) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      msgs.resize(o.system.empty() ? 0 : 1);
      TRY(s->Truncate(0));
      continue;
    }
    if (line.empty()) continue;
    msgs.push_back(chat::Message::Text("user", line));
    chat::Options copt;
    copt.enable_thinking = o.think;
    Result<std::string> text = chat::Render(family, msgs, copt);
    if (!text.ok()) {
      msgs.pop_back();
      std::fprintf(stderr, "hearth: %s\n", text.status().message().c_str());
      continue;
    }
    std::string body = *text;
    std::vector<int32_t> ids;
    if (tok.add_bos() && tok.bos_id() >= 0) {
      ids.push_back(tok.bos_id());
      if (body.rfind(copt.bos_text, 0) == 0) body.erase(0, copt.bos_text.size());
    }
    std::vector<int32_t> rest = tok.Encode(body, true);
    ids.insert(ids.end(), rest.begin(), rest.end());
    // Reuse the longest common prefix with what the session holds (keep one token to re-feed so
    // the logits are fresh).
    const auto& hist = s->history();
    size_t common = 0;
    while (common < hist.size() && common < ids.size() && hist[common] == ids[common]) ++common;
    if (common == ids.size()) --common;
    if (!s->Truncate(static_cast<int64_t>(common)).ok()) {
      TRY(s->Truncate(0));
      common = 0;
    }
    if (static_cast<int64_t>(ids.size()) + 1 > s->n_ctx()) {
      msgs.pop_back();
      std::fprintf(stderr, "hearth: the conversation has %zu tokens, more than the context of %lld; "
                   "/reset or raise -c\n", ids.size(), static_cast<long long>(s->n_ctx()));
      continue;
    }
    std::span<const int32_t> feed(ids.data() + common, ids.size() - common);
    auto print = [](const std::string& t, const engine::GeneratedToken&) {
      std::fwrite(t.data(), 1, t.size(), stdout);
      std::fflush(stdout);
      return true;
    };
    Result<engine::GenerateResult> r = engine::Generate(*s, tok, feed, o.sampling.gen, print);
    std::printf("\n");
    if (!r.ok()) {
      msgs.pop_back();
      std::fprintf(stderr, "hearth: %s\n", r.status().message().c_str());
      continue;
    }
    msgs.push_back(chat::Message::Text("assistant", r->text));
  }
  return Status::Ok();
}

}  // namespace

void AddChatCommand(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* sub = app.add_subcommand("chat", "interactive multi-turn chat");
  o->model.Add(*sub);
  o->sampling.Add(*sub);
  o->sampling.gen.max_tokens = -1;
  sub->add_option("--system", o->system, "a system message");
  sub->add_flag("--think", o->think, "enable thinking (Gemma 4)");
  sub->callback([o, exit_code] {
    Status s = Chat(*o);
    if (!s.ok()) *exit_code = Fail(s);
  });
}

}  // namespace hearth::cli
