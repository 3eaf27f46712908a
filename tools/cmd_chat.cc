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
  MediaOptions media;
  std::string system;
  bool think = false;
};

Status Chat(ChatOptions& o) {
  TRY(UseDefaultModel(&o.model.model_path, &o.media.mmproj));
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

  ASSIGN_OR_RETURN(std::unique_ptr<mm::Projector> proj, LoadProjector(o.media, lm));
  std::vector<chat::Message> msgs;
  if (!o.system.empty()) msgs.push_back(chat::Message::Text("system", o.system));
  // Media of the whole conversation, in prompt order (encoded once, when attached).
  std::vector<mm::Embeddings> media;
  std::vector<chat::Part> pending;  // attached with /image, /audio, /video for the next message
  size_t pending_media = 0;         // entries of `media` they added
  int videos = 0;
  const bool tty = isatty(STDIN_FILENO);
  if (tty) {
    std::fprintf(stderr, "hearth chat: /reset starts over, /exit or Ctrl-D quits%s\n",
                 proj ? "; /image, /audio, /video PATH attach media to the next message" : "");
  }
  std::string line;
  for (;;) {
    if (tty) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      msgs.resize(o.system.empty() ? 0 : 1);
      media.clear();
      pending.clear();
      pending_media = 0;
      videos = 0;
      TRY(s->Truncate(0));
      continue;
    }
    if (line.rfind("/image ", 0) == 0 || line.rfind("/audio ", 0) == 0 || line.rfind("/video ", 0) == 0) {
      MediaItem it;
      it.kind = line[1] == 'i' ? MediaItem::Kind::kImage
                : line[1] == 'a' ? MediaItem::Kind::kAudio : MediaItem::Kind::kVideo;
      it.path = line.substr(7);
      while (!it.path.empty() && it.path.front() == ' ') it.path.erase(it.path.begin());
      while (!it.path.empty() && it.path.back() == ' ') it.path.pop_back();
      const size_t before = media.size();
      const int vi = it.kind == MediaItem::Kind::kVideo ? videos : -1;
      Status st = EncodeMediaFile(proj.get(), it, vi, o.media, pool, &media);
      if (!st.ok()) {
        media.resize(before);
        std::fprintf(stderr, "hearth: %s\n", st.message().c_str());
        continue;
      }
      if (it.kind == MediaItem::Kind::kVideo) ++videos;
      int64_t n_tok = 0;
      for (size_t i = before; i < media.size(); ++i) n_tok += media[i].n_tok;
      pending.push_back({it.kind == MediaItem::Kind::kImage   ? chat::Part::Kind::kImage
                         : it.kind == MediaItem::Kind::kAudio ? chat::Part::Kind::kAudio
                                                              : chat::Part::Kind::kVideo, ""});
      pending_media += media.size() - before;
      std::fprintf(stderr, "hearth: attached %s %s (%lld tokens) to the next message\n",
                   std::string(MediaKindName(it.kind)).c_str(), it.path.c_str(),
                   static_cast<long long>(n_tok));
      continue;
    }
    if (line.empty()) continue;
    if (pending.empty()) {
      msgs.push_back(chat::Message::Text("user", line));
    } else {
      std::vector<chat::Part> parts = pending;
      parts.push_back({chat::Part::Kind::kText, line});
      msgs.push_back(chat::Message::Parts("user", std::move(parts)));
    }
    // A refused turn hands its attachments back for the next try.
    auto drop_turn = [&] { msgs.pop_back(); };
    chat::Options copt;
    copt.enable_thinking = o.think;
    Result<std::string> text = chat::Render(family, msgs, copt);
    if (!text.ok()) {
      drop_turn();
      std::fprintf(stderr, "hearth: %s\n", text.status().message().c_str());
      continue;
    }
    Result<std::vector<mm::PromptChunk>> chunks =
        mm::AssemblePrompt(*text, family, tok, media, tok.add_bos() && tok.bos_id() >= 0);
    if (!chunks.ok()) {
      drop_turn();
      std::fprintf(stderr, "hearth: %s\n", chunks.status().message().c_str());
      continue;
    }
    const int64_t total = ChunkPositions(*chunks);
    if (total + 1 > s->n_ctx()) {
      drop_turn();
      std::fprintf(stderr, "hearth: the conversation has %lld positions, more than the context of %lld; "
                   "/reset or raise -c\n", static_cast<long long>(total), static_cast<long long>(s->n_ctx()));
      continue;
    }
    // Reuse the longest common prefix with what the session holds: token ids must match, an
    // embedding block counts as held when all its rows are (history −1) and is never split;
    // keep at least one position to re-feed so the logits are fresh.
    const auto& hist = s->history();
    int64_t common = 0;
    size_t first = 0, offset = 0;  // where feeding resumes: chunk index and id offset in it
    for (; first < chunks->size(); ++first) {
      const mm::PromptChunk& c = (*chunks)[first];
      if (c.is_embd()) {
        bool held = common + c.embd.n_tok <= static_cast<int64_t>(hist.size());
        for (int64_t i = 0; held && i < c.embd.n_tok; ++i) held = hist[common + i] == -1;
        if (!held) break;
        common += c.embd.n_tok;
      } else {
        size_t k = 0;
        while (k < c.ids.size() && common + static_cast<int64_t>(k) < static_cast<int64_t>(hist.size()) &&
               hist[common + k] == c.ids[k]) ++k;
        common += static_cast<int64_t>(k);
        if (k < c.ids.size()) {
          offset = k;
          break;
        }
      }
    }
    if (first == chunks->size()) {  // everything held: re-feed the last position (or block)
      first = chunks->size() - 1;
      const mm::PromptChunk& c = (*chunks)[first];
      if (c.is_embd()) {
        common -= c.embd.n_tok;
        offset = 0;
      } else {
        common -= 1;
        offset = c.ids.size() - 1;
      }
    }
    if (!s->Truncate(common).ok()) {
      TRY(s->Truncate(0));
      first = 0;
      offset = 0;
    }
    std::vector<mm::PromptChunk> rest(chunks->begin() + first, chunks->end());
    if (!rest.empty() && !rest.front().is_embd()) rest.front().ids.erase(rest.front().ids.begin(), rest.front().ids.begin() + offset);
    Status fed = FeedChunks(*s, rest);
    if (!fed.ok()) {
      drop_turn();
      std::fprintf(stderr, "hearth: %s\n", fed.message().c_str());
      (void)s->Truncate(0);
      continue;
    }
    const size_t turn_media = media.size() - pending_media;
    pending.clear();
    pending_media = 0;
    auto print = [](const std::string& t, const engine::GeneratedToken&) {
      std::fwrite(t.data(), 1, t.size(), stdout);
      std::fflush(stdout);
      return true;
    };
    Result<engine::GenerateResult> r = engine::Generate(*s, tok, {}, o.sampling.gen, print);
    std::printf("\n");
    if (!r.ok()) {
      msgs.pop_back();
      media.resize(turn_media);  // the failed turn's attachments go with it
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
  o->media.Add(*sub, /*with_files=*/false);
  sub->add_option("--system", o->system, "a system message");
  sub->add_flag("--think", o->think, "enable thinking (Gemma 4)");
  sub->callback([o, exit_code] {
    Status s = Chat(*o);
    if (!s.ok()) *exit_code = Fail(s);
  });
}

}  // namespace hearth::cli
