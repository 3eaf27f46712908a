#include "tools/cli_common.h"

#include <cerrno>
#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "chat/chat.h"
#include "core/thread_pool.h"
#include "media/media.h"
#include "mm/encode_media.h"

namespace hearth::cli {

void ModelOptions::Add(CLI::App& app) {
  app.add_option("-m,--model", model_path,
                 "GGUF model file (any shard of a split model; default: the shipped demo model)");
  app.add_option("-t,--threads", threads, "threads (default: physical cores)")
      ->check(CLI::Range(0, 1024));
  app.add_option("-c,--ctx-size", n_ctx, "context size in tokens (0: the model's trained context)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 24));
  app.add_option("-b,--batch-size", n_batch, "prompt tokens per forward pass")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 16));
  app.add_option("--kv-type", kv_type, "KV cache type: f16 or q8_0")
      ->check(CLI::IsMember({"f16", "q8_0"}));
  app.add_option("--max-memory", max_memory,
                 "memory budget for the model (e.g. 8G; default: the RAM available now)");
  app.add_flag("--mmap", mmap, kMmapHelp);
  app.add_flag("--ignore-memory-check", ignore_memory_check,
               "start even when the memory plan says the model will not fit");
}

Result<model::KvType> ModelOptions::KvType() const {
  if (kv_type == "f16") return model::KvType::kF16;
  if (kv_type == "q8_0") return model::KvType::kQ8_0;
  return InvalidArgumentError("unknown KV cache type '" + kv_type + "'");
}

void SamplingOptions::Add(CLI::App& app) {
  engine::SamplingParams& s = gen.sampling;
  app.add_option("-n,--n-predict", gen.max_tokens, "tokens to generate (-1: until the end)")
      ->check(CLI::Range(int64_t{-1}, int64_t{1} << 30));
  app.add_option("--temp", s.temperature, "temperature (0: greedy)");
  app.add_option("--top-k", s.top_k, "top-k (0: off)");
  app.add_option("--top-p", s.top_p, "top-p (1: off)");
  app.add_option("--min-p", s.min_p, "min-p (0: off)");
  app.add_option("--repeat-penalty", s.repeat_penalty, "repetition penalty (1: off)");
  app.add_option("--presence-penalty", s.presence_penalty, "presence penalty");
  app.add_option("--frequency-penalty", s.frequency_penalty, "frequency penalty");
  app.add_option("--repeat-last-n", s.penalty_last_n, "tokens the penalties look back (-1: all)");
  app.add_option("-s,--seed", s.seed, "random seed");
  app.add_option("--stop", gen.stop, "stop string (repeatable)");
  app.add_flag("--ignore-eos", gen.ignore_eos, "keep generating after end-of-generation tokens");
}

int Fail(const Status& s) {
  std::fprintf(stderr, "hearth: %s\n", s.message().c_str());
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
      return 2;
    case StatusCode::kResourceExhausted:
      return 3;
    default:
      return 1;
  }
}

Result<DefaultModel> FindDefaultModel() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("HEARTH_DEMO_MODELS"); env != nullptr && *env != '\0') {
    dirs.push_back(env);
  }
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back((exe.parent_path() / ".." / ".." / "models").lexically_normal().string());
    dirs.push_back((exe.parent_path() / ".." / "share" / "hearth" / "models").lexically_normal().string());
  }
  std::string tried;
  for (const std::string& d : dirs) {
    const std::filesystem::path m = std::filesystem::path(d) / "hearth-demo.gguf";
    if (std::filesystem::is_regular_file(m, ec)) {
      return DefaultModel{m.string(), (std::filesystem::path(d) / "mmproj-hearth-demo.gguf").string()};
    }
    tried += (tried.empty() ? "" : ", ") + m.string();
  }
  return NotFoundError("no model given (-m MODEL.gguf) and the demo model is not where it ships (tried " +
                       tried + ")");
}

Status UseDefaultModel(std::string* model_path, std::string* mmproj) {
  if (!model_path->empty()) return Status::Ok();
  ASSIGN_OR_RETURN(DefaultModel d, FindDefaultModel());
  *model_path = d.model;
  if (mmproj != nullptr && mmproj->empty() && std::filesystem::is_regular_file(d.mmproj)) *mmproj = d.mmproj;
  std::fprintf(stderr, "hearth: no -m given: using the demo model %s\n", d.model.c_str());
  return Status::Ok();
}

Result<engine::LoadedModel> LoadChecked(const ModelOptions& mo) {
  ASSIGN_OR_RETURN(model::KvType kv_type, mo.KvType());
  ASSIGN_OR_RETURN(engine::LoadedModel lm, engine::LoadModel(mo.model_path, {.mmap = mo.mmap}));
  const model::Config& c = lm.model->config();
  const int64_t n_ctx = mo.n_ctx > 0 ? mo.n_ctx : c.n_ctx_train;
  if (n_ctx > c.n_ctx_train) {
    std::fprintf(stderr, "hearth: warning: context %lld exceeds the %d tokens the model was trained on\n",
                 static_cast<long long>(n_ctx), c.n_ctx_train);
  }
  engine::MemoryPlan plan = engine::PlanMemory(lm.model->file(), c, n_ctx, mo.n_batch, kv_type);
  if (!mo.max_memory.empty()) {
    ASSIGN_OR_RETURN(int64_t budget, ParseBytes(mo.max_memory));
    plan.ram_available = std::min(plan.ram_available > 0 ? plan.ram_available : budget, budget);
  }
  if (!mo.ignore_memory_check) TRY(engine::CheckFits(plan));
  return lm;
}

Result<int64_t> ParseBytes(const std::string& s) {
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end == s.c_str() || errno != 0 || !(v > 0))
    return InvalidArgumentError("'" + s + "' is not a memory size (e.g. 8G, 512M)");
  double mul = 1;
  const std::string unit = end;
  if (unit == "K" || unit == "k" || unit == "KiB") mul = 1024.0;
  else if (unit == "M" || unit == "MiB") mul = 1024.0 * 1024;
  else if (unit == "G" || unit == "GiB") mul = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TiB") mul = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty()) return InvalidArgumentError("'" + s + "': unknown unit '" + unit + "' (use K, M, G or T)");
  return static_cast<int64_t>(v * mul);
}

Result<std::vector<int32_t>> ParseIds(const std::string& s) {
  std::vector<int32_t> ids;
  size_t i = 0;
  while (i <= s.size()) {
    size_t j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    std::string item = s.substr(i, j - i);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno != 0 || v < 0 || v > INT32_MAX)
      return InvalidArgumentError("token id '" + item + "' (item " + std::to_string(ids.size() + 1) +
                                  ") is not a non-negative integer");
    ids.push_back(static_cast<int32_t>(v));
    i = j + 1;
  }
  return ids;
}

Result<std::vector<int32_t>> BuildPrompt(const tokenizer::Tokenizer& tok, const std::string& system,
                                         const std::string& user, bool raw, bool think) {
  std::vector<int32_t> ids;
  if (tok.add_bos() && tok.bos_id() >= 0) ids.push_back(tok.bos_id());
  std::string text;
  if (raw) {
    text = system.empty() ? user : system + "\n\n" + user;
  } else {
    const std::string& tmpl = tok.vocab().chat_template;
    if (tmpl.empty())
      return FailedPreconditionError("the model has no chat template (tokenizer.chat_template); "
                                     "use --raw to send the prompt as is");
    ASSIGN_OR_RETURN(chat::Family family, chat::DetectFamily(tmpl));
    std::vector<chat::Message> msgs;
    if (!system.empty()) msgs.push_back(chat::Message::Text("system", system));
    msgs.push_back(chat::Message::Text("user", user));
    chat::Options opt;
    opt.enable_thinking = think;
    ASSIGN_OR_RETURN(text, chat::Render(family, msgs, opt));
    // The template writes <bos> itself; the tokenizer adds the id (spec §8.3), so strip the text.
    if (!ids.empty() && text.rfind(opt.bos_text, 0) == 0) text.erase(0, opt.bos_text.size());
  }
  std::vector<int32_t> body = tok.Encode(text, /*parse_special=*/true);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

// ---- multimodal input ----

std::string_view MediaKindName(MediaItem::Kind k) {
  switch (k) {
    case MediaItem::Kind::kImage: return "image";
    case MediaItem::Kind::kAudio: return "audio";
    case MediaItem::Kind::kVideo: return "video";
  }
  return "?";
}

void MediaOptions::Add(CLI::App& app, bool with_files) {
  app.add_option("--mmproj", mmproj, "multimodal projector GGUF (mmproj) for images, audio, video");
  if (with_files) {
    app.add_option("--image", images, "an image file (repeatable; placed in order, or at <image>)");
    app.add_option("--audio", audios, "an audio file (repeatable; placed in order, or at <audio>)");
    app.add_option("--video", videos, "a video file (repeatable; placed in order, or at <video>)");
  }
  app.add_option("--image-min-tokens", image_min_tokens,
                 "fewest tokens per image (0: the projector's default, 40 for Gemma 4)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--image-max-tokens", image_max_tokens,
                 "most tokens per image (0: the projector's default, 280 for Gemma 4)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--video-fps", video_fps, "video frames sampled per second")
      ->check(CLI::Range(0.01, 30.0));
  app.add_option("--video-max-frames", video_max_frames, "most frames taken from one video")
      ->check(CLI::Range(1, 1024));
}

std::vector<MediaItem> MediaOptions::Items(const CLI::App& app) const {
  std::vector<MediaItem> out;
  size_t ni = 0, na = 0, nv = 0;
  for (const CLI::Option* opt : app.parse_order()) {
    const std::string name = opt->get_name();
    if (name == "--image" && ni < images.size()) out.push_back({MediaItem::Kind::kImage, images[ni++]});
    if (name == "--audio" && na < audios.size()) out.push_back({MediaItem::Kind::kAudio, audios[na++]});
    if (name == "--video" && nv < videos.size()) out.push_back({MediaItem::Kind::kVideo, videos[nv++]});
  }
  // Values given several to one flag (--image a b) are not separate parse events: append the rest.
  while (ni < images.size()) out.push_back({MediaItem::Kind::kImage, images[ni++]});
  while (na < audios.size()) out.push_back({MediaItem::Kind::kAudio, audios[na++]});
  while (nv < videos.size()) out.push_back({MediaItem::Kind::kVideo, videos[nv++]});
  return out;
}

Result<std::unique_ptr<mm::Projector>> LoadProjector(const MediaOptions& mo,
                                                     const engine::LoadedModel& lm) {
  if (mo.mmproj.empty()) return std::unique_ptr<mm::Projector>();
  return mm::Projector::Load(mo.mmproj, lm.model->config());
}

Status EncodeMediaFile(const mm::Projector* proj, const MediaItem& item, int video_index,
                       const MediaOptions& mo, ThreadPool& pool, std::vector<mm::Embeddings>* out) {
  const std::string what = std::string(MediaKindName(item.kind)) + " '" + item.path + "'";
  if (!proj) {
    return FailedPreconditionError(what + " needs the model's multimodal projector: give --mmproj "
                                   "(the mmproj GGUF that comes with the model)");
  }
  auto named = [&](const Status& s) { return Status(s.code(), what + ": " + s.message()); };
  mm::MediaEncodeOptions eo;
  eo.limits.video_fps = mo.video_fps;
  eo.limits.max_frames = mo.video_max_frames;
  eo.image = {mo.image_min_tokens, mo.image_max_tokens};
  Result<std::vector<uint8_t>> bytes = media::ReadFile(item.path, eo.limits);
  if (!bytes.ok()) return bytes.status();
  const mm::MediaKind kind = item.kind == MediaItem::Kind::kImage   ? mm::MediaKind::kImage
                             : item.kind == MediaItem::Kind::kAudio ? mm::MediaKind::kAudio
                                                                    : mm::MediaKind::kVideo;
  Result<mm::EncodedMedia> enc = mm::EncodeMedia(*proj, kind, *bytes, eo, video_index, pool);
  if (!enc.ok()) return named(enc.status());
  if (enc->video_sound_dropped)
    std::fprintf(stderr, "hearth: note: %s: the projector takes no audio, the video's sound is "
                 "left out\n", what.c_str());
  for (auto& e : enc->rows) out->push_back(std::move(e));
  return Status::Ok();
}

Result<std::vector<chat::Part>> UserParts(const std::string& text, std::vector<MediaItem>* items_io) {
  const std::vector<MediaItem>& items = *items_io;
  static constexpr std::string_view kPh[3] = {"<image>", "<audio>", "<video>"};
  auto kind_of = [](int k) { return static_cast<MediaItem::Kind>(k); };
  auto part_kind = [](MediaItem::Kind k) {
    switch (k) {
      case MediaItem::Kind::kImage: return chat::Part::Kind::kImage;
      case MediaItem::Kind::kAudio: return chat::Part::Kind::kAudio;
      case MediaItem::Kind::kVideo: return chat::Part::Kind::kVideo;
    }
    return chat::Part::Kind::kText;
  };
  std::vector<chat::Part> parts;
  bool any_ph = false;
  for (std::string_view ph : kPh) any_ph |= text.find(ph) != std::string::npos;
  if (!any_ph) {
    for (const MediaItem& it : items) parts.push_back({part_kind(it.kind), ""});
    if (!text.empty()) parts.push_back({chat::Part::Kind::kText, text});
    return parts;
  }
  int counts[3] = {0, 0, 0}, given[3] = {0, 0, 0};
  for (const MediaItem& it : items) ++given[static_cast<int>(it.kind)];
  size_t pos = 0;
  std::string pending;
  while (pos < text.size()) {
    int which = -1;
    for (int k = 0; k < 3; ++k) {
      if (text.compare(pos, kPh[k].size(), kPh[k]) == 0) which = k;
    }
    if (which < 0) {
      pending += text[pos++];
      continue;
    }
    if (!pending.empty()) parts.push_back({chat::Part::Kind::kText, std::move(pending)});
    pending.clear();
    parts.push_back({part_kind(kind_of(which)), ""});
    ++counts[which];
    pos += kPh[which].size();
  }
  if (!pending.empty()) parts.push_back({chat::Part::Kind::kText, std::move(pending)});
  for (int k = 0; k < 3; ++k) {
    if (counts[k] != given[k]) {
      return InvalidArgumentError("the prompt has " + std::to_string(counts[k]) + " " +
                                  std::string(kPh[k]) + " placeholder(s) but " +
                                  std::to_string(given[k]) + " " +
                                  std::string(MediaKindName(kind_of(k))) + " file(s) were given");
    }
  }
  // The k-th placeholder of a kind takes the k-th file of that kind.
  std::vector<MediaItem> ordered;
  size_t next[3] = {0, 0, 0};
  for (const chat::Part& p : parts) {
    if (p.kind == chat::Part::Kind::kText) continue;
    const int k = p.kind == chat::Part::Kind::kImage ? 0 : p.kind == chat::Part::Kind::kAudio ? 1 : 2;
    while (static_cast<int>(items[next[k]].kind) != k) ++next[k];
    ordered.push_back(items[next[k]++]);
  }
  *items_io = std::move(ordered);
  return parts;
}

Result<chat::Family> MediaFamily(const tokenizer::Tokenizer& tok) {
  const std::string& tmpl = tok.vocab().chat_template;
  if (!tmpl.empty()) {
    Result<chat::Family> f = chat::DetectFamily(tmpl);
    if (f.ok()) return f;
  }
  if (tok.Find("<|image>") >= 0) return chat::Family::kGemma4;
  if (tok.Find("<start_of_image>") >= 0) return chat::Family::kGemma3;
  return FailedPreconditionError("the model's vocabulary has no media markers: it takes text only");
}

Result<std::vector<mm::PromptChunk>> BuildMultimodalPrompt(const tokenizer::Tokenizer& tok,
                                                           const std::string& system,
                                                           const std::vector<chat::Part>& parts,
                                                           std::vector<mm::Embeddings> media,
                                                           bool raw, bool think) {
  ASSIGN_OR_RETURN(chat::Family family, MediaFamily(tok));
  for (const chat::Part& p : parts) {
    const std::string_view marker = p.kind == chat::Part::Kind::kImage   ? chat::ImageMarker(family)
                                    : p.kind == chat::Part::Kind::kAudio ? chat::AudioMarker(family)
                                    : p.kind == chat::Part::Kind::kVideo ? chat::VideoMarker(family)
                                                                         : std::string_view("-");
    if (marker.empty()) {
      return InvalidArgumentError(std::string(chat::FamilyName(family)) + " prompts cannot hold " +
                                  (p.kind == chat::Part::Kind::kAudio ? "audio" : "video"));
    }
  }
  std::string text;
  if (raw) {
    if (!system.empty()) text = system + "\n\n";
    for (const chat::Part& p : parts) {
      switch (p.kind) {
        case chat::Part::Kind::kText: text += p.text; break;
        case chat::Part::Kind::kImage: text += chat::ImageMarker(family); break;
        case chat::Part::Kind::kAudio: text += chat::AudioMarker(family); break;
        case chat::Part::Kind::kVideo: text += chat::VideoMarker(family); break;
      }
    }
  } else {
    if (tok.vocab().chat_template.empty())
      return FailedPreconditionError("the model has no chat template (tokenizer.chat_template); "
                                     "use --raw to send the prompt as is");
    std::vector<chat::Message> msgs;
    if (!system.empty()) msgs.push_back(chat::Message::Text("system", system));
    msgs.push_back(chat::Message::Parts("user", parts));
    chat::Options opt;
    opt.enable_thinking = think;
    ASSIGN_OR_RETURN(text, chat::Render(family, msgs, opt));
  }
  return mm::AssemblePrompt(text, family, tok, std::move(media),
                            tok.add_bos() && tok.bos_id() >= 0);
}

int64_t ChunkPositions(std::span<const mm::PromptChunk> chunks) {
  int64_t n = 0;
  for (const mm::PromptChunk& c : chunks) n += c.is_embd() ? c.embd.n_tok : static_cast<int64_t>(c.ids.size());
  return n;
}

Status FeedChunks(engine::Session& s, std::span<const mm::PromptChunk> chunks) {
  for (const mm::PromptChunk& c : chunks) {
    if (c.is_embd()) {
      if (c.embd.n_embd != s.model().config().n_embd) {
        return InvalidArgumentError("media embeddings are " + std::to_string(c.embd.n_embd) +
                                    " wide but the model takes " +
                                    std::to_string(s.model().config().n_embd));
      }
      TRY(s.FeedEmbeddings(c.embd.data.data(), c.embd.n_tok, c.embd.causal));
    } else if (!c.ids.empty()) {
      TRY(s.Feed(c.ids));
    }
  }
  return Status::Ok();
}

}  // namespace hearth::cli
