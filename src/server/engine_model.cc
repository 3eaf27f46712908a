#include "server/engine_model.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "backends/http_client.h"
#include "chat/chat.h"
#include "core/clock.h"
#include "gguf/file.h"
#include "ledger/audit.h"
#include "media/media.h"
#include "mm/encode_media.h"
#include "mm/projector.h"
#include "server/reasoning.h"
#include "server/tool_calls.h"

namespace hearth::server {

using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

// Errors about one field start with the field's name in quotes; OpenAiErrorJson reports it as
// `param`.
Status FieldError(const std::string& field, const std::string& what) {
  return InvalidArgumentError("'" + field + "': " + what);
}

std::string TypeName(const json& v) { return v.type_name(); }

Result<double> GetNumber(const json& body, const char* key, double lo, double hi) {
  const json& v = body.at(key);
  if (!v.is_number()) return FieldError(key, "must be a number, got " + TypeName(v));
  const double d = v.get<double>();
  if (!(d >= lo && d <= hi))
    return FieldError(key, "must be between " + json(lo).dump() + " and " + json(hi).dump() +
                               ", got " + v.dump());
  return d;
}

Result<int64_t> GetInt(const json& body, const char* key, int64_t lo, int64_t hi) {
  const json& v = body.at(key);
  if (!v.is_number_integer() && !(v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()))
    return FieldError(key, "must be an integer, got " + v.dump());
  const double d = v.get<double>();
  if (!(d >= static_cast<double>(lo) && d <= static_cast<double>(hi)))
    return FieldError(key, "must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
                               ", got " + v.dump());
  return v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
}

Result<bool> GetBool(const json& body, const char* key) {
  const json& v = body.at(key);
  if (!v.is_boolean()) return FieldError(key, "must be true or false, got " + v.dump());
  return v.get<bool>();
}

// Replaces bytes that are not valid UTF-8 with U+FFFD (a token can be half a character).
std::string ValidUtf8(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (int k = 1; ok && k < len; ++k) ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    if (ok) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

json Bytes(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

std::string RandomHex(int n) {
  static thread_local std::mt19937_64 rng(std::random_device{}() ^
                                          static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < n; ++i) s += hex[rng() & 15];
  return s;
}

const char* FinishName(engine::FinishReason r) {
  switch (r) {
    case engine::FinishReason::kStop: return "stop";
    case engine::FinishReason::kLength:
    case engine::FinishReason::kContextFull: return "length";
    case engine::FinishReason::kCancelled: return "cancelled";
  }
  return "stop";
}

// Raw "call:NAME{...}" bodies -> OpenAI tool_calls; a body that does not parse goes back into the
// answer text (nothing is dropped). Returns the calls; appends unparsed ones to `content`.
json ToolCallsJson(const std::vector<std::string>& raw, bool parallel, std::string& content) {
  json calls = json::array();
  for (const std::string& body : raw) {
    Result<ParsedToolCall> c = ParseToolCall(body);
    if (!c.ok() || (!parallel && !calls.empty())) {
      content += "<|tool_call>" + body + "<tool_call|>";
      continue;
    }
    calls.push_back({{"id", "call_" + RandomHex(24)},
                     {"type", "function"},
                     {"function", {{"name", c->name}, {"arguments", c->arguments.dump()}}}});
  }
  return calls;
}

}  // namespace

// Media encodings in prompt order (the projector's type, so the header can stay light).
struct MediaEmbeddings {
  mm::Embeddings e;
};

struct EngineModel::Request {
  std::vector<int32_t> prompt;
  std::vector<engine::EmbeddingRows> embeddings;
  engine::GenerateOptions gen;
  int n = 1;
  bool stream = false;
  bool include_usage = false;
  bool logprobs = false;   // chat: logprobs: true; text: logprobs >= 0 given
  bool echo = false;       // text: prepend the prompt
  bool chat = true;
  std::string prompt_text;  // text: for echo
  bool tools = false;        // chat: tools were declared; calls in the output become tool_calls
  bool parallel_tool_calls = true;
};

EngineModel::~EngineModel() = default;

Result<std::shared_ptr<EngineModel>> EngineModel::Load(const EngineModelOptions& o) {
  std::shared_ptr<EngineModel> m(new EngineModel());
  m->name_ = o.name;
  m->path_ = o.path;
  m->mmproj_ = o.mmproj_path;
  m->allow_remote_media_ = o.allow_remote_media;
  const auto t0 = Clock::now();
  ASSIGN_OR_RETURN(m->info_, ReadModelInfo(o.path, o.name));
  ASSIGN_OR_RETURN(m->lm_, engine::LoadModel(o.path, {.progress = false, .mmap = o.mmap}));
  const tokenizer::Tokenizer& tok = *m->lm_.tokenizer;
  if (!tok.vocab().chat_template.empty()) {
    Result<chat::Family> fam = chat::DetectFamily(tok.vocab().chat_template);
    if (fam.ok()) {
      m->has_template_ = true;
      m->chat_family_ = static_cast<int>(*fam);
    }
  }
  if (!o.mmproj_path.empty()) {
    ASSIGN_OR_RETURN(m->projector_, mm::Projector::Load(o.mmproj_path, m->lm_.model->config()));
    m->info_.vision = m->projector_->has_vision();
    m->info_.audio = m->projector_->has_audio();
  }
  m->pool_ = std::make_unique<ThreadPool>(o.threads > 0 ? o.threads : ThreadPool::DefaultThreads());
  engine::SchedulerOptions so = o.scheduler;
  const int64_t train = m->lm_.model->config().n_ctx_train;
  if (so.n_ctx <= 0 || so.n_ctx > train) so.n_ctx = train;
  ASSIGN_OR_RETURN(m->scheduler_,
                   engine::Scheduler::Create(*m->lm_.model, tok, so, *m->pool_));
  m->info_.loaded = true;
  m->info_.n_ctx = m->scheduler_->options().n_ctx;
  m->info_.load_ms = MsSince(t0);
  return m;
}

ModelInfo EngineModel::info() const { return info_; }

LocalModel::Load EngineModel::load() const {
  const engine::Scheduler::Stats s = scheduler_->stats();
  return {s.active, s.queued, s.parallel, s.kv_used, s.kv_total};
}

// ---- request parsing ----

Status EngineModel::ParseCommon(const json& body, bool chat, Request& r) const {
  engine::SamplingParams& sp = r.gen.sampling;
  const int32_t n_vocab = lm_.model->config().n_vocab;
  if (body.contains("stream") && !body["stream"].is_null()) {
    ASSIGN_OR_RETURN(r.stream, GetBool(body, "stream"));
  }
  if (body.contains("stream_options") && !body["stream_options"].is_null()) {
    const json& so = body["stream_options"];
    if (!so.is_object()) return FieldError("stream_options", "must be an object");
    if (!r.stream) return FieldError("stream_options", "is only allowed with stream: true");
    for (const auto& [k, v] : so.items()) {
      if (k != "include_usage") return FieldError("stream_options." + k, "is not supported");
      if (!v.is_boolean()) return FieldError("stream_options.include_usage", "must be a boolean");
      r.include_usage = v.get<bool>();
    }
  }
  // OpenAI's default sampling is temperature 1, top_p 1; we keep Gemma's recommended top_k 64 and
  // top_p 0.95 unless the request sets them.
  if (body.contains("temperature") && !body["temperature"].is_null()) {
    ASSIGN_OR_RETURN(double t, GetNumber(body, "temperature", 0, 2));
    sp.temperature = static_cast<float>(t);
  }
  if (body.contains("top_p") && !body["top_p"].is_null()) {
    ASSIGN_OR_RETURN(double t, GetNumber(body, "top_p", 0, 1));
    sp.top_p = static_cast<float>(t);
  }
  if (body.contains("top_k") && !body["top_k"].is_null()) {
    ASSIGN_OR_RETURN(int64_t k, GetInt(body, "top_k", 0, n_vocab));
    sp.top_k = static_cast<int>(k);
  }
  if (body.contains("min_p") && !body["min_p"].is_null()) {
    ASSIGN_OR_RETURN(double t, GetNumber(body, "min_p", 0, 1));
    sp.min_p = static_cast<float>(t);
  }
  if (body.contains("presence_penalty") && !body["presence_penalty"].is_null()) {
    ASSIGN_OR_RETURN(double t, GetNumber(body, "presence_penalty", -2, 2));
    sp.presence_penalty = static_cast<float>(t);
  }
  if (body.contains("frequency_penalty") && !body["frequency_penalty"].is_null()) {
    ASSIGN_OR_RETURN(double t, GetNumber(body, "frequency_penalty", -2, 2));
    sp.frequency_penalty = static_cast<float>(t);
  }
  if (body.contains("repeat_penalty") && !body["repeat_penalty"].is_null()) {
    ASSIGN_OR_RETURN(double t, GetNumber(body, "repeat_penalty", 0.01, 10));
    sp.repeat_penalty = static_cast<float>(t);
  }
  if (body.contains("repeat_last_n") && !body["repeat_last_n"].is_null()) {
    ASSIGN_OR_RETURN(int64_t k, GetInt(body, "repeat_last_n", -1, 1 << 20));
    sp.penalty_last_n = static_cast<int>(k);
  }
  if (body.contains("seed") && !body["seed"].is_null()) {
    const json& v = body["seed"];
    if (!v.is_number_integer()) return FieldError("seed", "must be an integer, got " + v.dump());
    sp.seed = v.is_number_unsigned() ? v.get<uint64_t>() : static_cast<uint64_t>(v.get<int64_t>());
  } else {
    sp.seed = std::random_device{}() ^ static_cast<uint64_t>(Clock::now().time_since_epoch().count());
  }
  if (body.contains("n") && !body["n"].is_null()) {
    ASSIGN_OR_RETURN(int64_t n, GetInt(body, "n", 1, 16));
    r.n = static_cast<int>(n);
  }
  const char* max_key = nullptr;
  for (const char* k : {"max_completion_tokens", "max_tokens"})
    if (body.contains(k) && !body[k].is_null()) max_key = k;
  if (chat && body.contains("max_completion_tokens") && body.contains("max_tokens") &&
      !body["max_completion_tokens"].is_null() && !body["max_tokens"].is_null() &&
      body["max_completion_tokens"] != body["max_tokens"])
    return FieldError("max_tokens", "differs from max_completion_tokens; give one of them");
  r.gen.max_tokens = chat ? -1 : 16;  // OpenAI: chat runs to the end, legacy completions 16
  if (max_key) {
    ASSIGN_OR_RETURN(r.gen.max_tokens, GetInt(body, max_key, 1, int64_t{1} << 40));
  }
  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& s = body["stop"];
    if (s.is_string()) {
      r.gen.stop.push_back(s.get<std::string>());
    } else if (s.is_array()) {
      if (s.size() > 16) return FieldError("stop", "at most 16 stop strings");
      for (const auto& e : s) {
        if (!e.is_string()) return FieldError("stop", "must be a string or an array of strings");
        r.gen.stop.push_back(e.get<std::string>());
      }
    } else {
      return FieldError("stop", "must be a string or an array of strings, got " + TypeName(s));
    }
    for (const auto& st : r.gen.stop)
      if (st.empty()) return FieldError("stop", "stop strings must not be empty");
  }
  if (body.contains("logit_bias") && !body["logit_bias"].is_null()) {
    const json& lb = body["logit_bias"];
    if (!lb.is_object()) return FieldError("logit_bias", "must be an object of token id -> bias");
    for (const auto& [k, v] : lb.items()) {
      char* end = nullptr;
      const long id = std::strtol(k.c_str(), &end, 10);
      if (k.empty() || *end != '\0' || id < 0 || id >= n_vocab)
        return FieldError("logit_bias", "'" + k + "' is not a token id of this model (0.." +
                                            std::to_string(n_vocab - 1) + ")");
      if (!v.is_number() || v.get<double>() < -100 || v.get<double>() > 100)
        return FieldError("logit_bias", "the bias of token " + k + " must be a number in [-100, 100]");
      const double b = v.get<double>();
      sp.logit_bias.push_back({static_cast<int32_t>(id),
                               b <= -100 ? -std::numeric_limits<float>::infinity()
                                         : static_cast<float>(b)});
    }
  }
  if (body.contains("ignore_eos") && !body["ignore_eos"].is_null()) {  // llama.cpp's extra
    ASSIGN_OR_RETURN(r.gen.ignore_eos, GetBool(body, "ignore_eos"));
  }
  if (body.contains("user") && !body["user"].is_null() && !body["user"].is_string())
    return FieldError("user", "must be a string");
  if (body.contains("model") && !body["model"].is_null() && !body["model"].is_string())
    return FieldError("model", "must be a string");
  return Status::Ok();
}

namespace {

// GET of a media URL (only with --allow-remote-media): at most limits.max_bytes, 5 s to connect,
// 30 s in all, a 2xx reply or an error naming the status.
Result<std::vector<uint8_t>> FetchMedia(const std::string& url, const media::Limits& limits,
                                        const std::string& at) {
  // A GET sends no body, so there is nothing for an egress record to hash.
  backends::HttpClient client([](const backends::EgressRecord&) { return Status::Ok(); });
  backends::HttpRequest req;
  req.method = "GET";
  req.url = url;
  req.connect_timeout_ms = 5000;
  req.total_timeout_ms = 30000;
  std::vector<uint8_t> bytes;
  bool too_big = false;
  const backends::BodySink sink = [&](std::string_view chunk) {
    if (static_cast<int64_t>(bytes.size() + chunk.size()) > limits.max_bytes) {
      too_big = true;
      return false;
    }
    bytes.insert(bytes.end(), chunk.begin(), chunk.end());
    return true;
  };
  backends::EgressContext egress;
  egress.backend = "media-fetch";
  Result<backends::HttpResponse> r = client.Send(req, egress, &sink);
  if (too_big)
    return FieldError(at, "the media at the URL is larger than " +
                              std::to_string(limits.max_bytes) + " bytes");
  if (!r.ok()) return FieldError(at, "fetching the URL failed: " + r.status().message());
  if (r->status < 200 || r->status >= 300)
    return FieldError(at, "fetching the URL failed: HTTP " + std::to_string(r->status));
  return bytes;
}

}  // namespace

Status EngineModel::EncodePart(const json& p, const std::string& pw, int video_index,
                               std::vector<MediaEmbeddings>* out) const {
  const std::string type = p["type"].get<std::string>();
  if (!projector_) {
    return FieldError(pw, "model '" + name_ + "' takes text only: " + type +
                              " parts need its multimodal projector (start the server with "
                              "--mmproj, or put mmproj-" + name_ + ".gguf beside it)");
  }
  const media::Limits limits;
  // The media bytes: a data: URI or bare base64; never a network or file URL.
  auto bytes_of = [&](const json& v, const std::string& at) -> Result<std::vector<uint8_t>> {
    if (!v.is_string()) return FieldError(at, "must be a string");
    const std::string s = v.get<std::string>();
    const bool remote = s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0;
    if (remote && allow_remote_media_) return FetchMedia(s, limits, at);
    if (remote || s.rfind("file:", 0) == 0)
      return FieldError(at, "remote and file URLs are not fetched (the server makes no network "
                            "or file access on a caller's behalf unless started with "
                            "--allow-remote-media, and never reads files); send the media inline "
                            "as a data: URI");
    if (s.rfind("data:", 0) == 0) {
      Result<media::DataUri> d = media::ParseDataUri(s, limits);
      if (!d.ok()) return FieldError(at, d.status().message());
      return std::move(d->bytes);
    }
    Result<std::vector<uint8_t>> b = media::DecodeBase64(s, limits);
    if (!b.ok()) return FieldError(at, b.status().message());
    return b;
  };
  // Decoded and encoded in src/mm; errors are named after the part here.
  auto encode = [&](mm::MediaKind kind, const std::vector<uint8_t>& bytes,
                    const std::string& at) -> Status {
    mm::MediaEncodeOptions eo;
    eo.limits = limits;
    Result<mm::EncodedMedia> enc =
        mm::EncodeMedia(*projector_, kind, bytes, eo, kind == mm::MediaKind::kVideo ? video_index : -1,
                        *pool_);
    if (!enc.ok()) return FieldError(at, enc.status().message());
    for (auto& e : enc->rows) out->push_back({std::move(e)});
    return Status::Ok();
  };
  if (type == "image_url") {
    if (!p.contains("image_url")) return FieldError(pw + ".image_url", "is required");
    const json& iu = p["image_url"];
    const json url = iu.is_object() ? iu.value("url", json()) : iu;
    if (iu.is_object())
      for (const auto& [k, v] : iu.items())
        if (k != "url" && k != "detail") return FieldError(pw + ".image_url." + k, "is not supported");
    ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, bytes_of(url, pw + ".image_url.url"));
    return encode(mm::MediaKind::kImage, bytes, pw + ".image_url");
  }
  if (type == "input_audio") {
    if (!p.contains("input_audio") || !p["input_audio"].is_object())
      return FieldError(pw + ".input_audio", "must be an object with 'data' and 'format'");
    const json& ia = p["input_audio"];
    if (ia.contains("format") && !ia["format"].is_string())
      return FieldError(pw + ".input_audio.format", "must be a string");
    const json data = ia.contains("data") ? ia["data"] : ia.value("url", json());
    ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, bytes_of(data, pw + ".input_audio.data"));
    return encode(mm::MediaKind::kAudio, bytes, pw + ".input_audio");
  }
  if (type == "input_video" || type == "video_url") {
    const json& iv = p.contains(type) ? p[type] : json();
    const json data = iv.is_object() ? (iv.contains("url") ? iv["url"] : iv.value("data", json()))
                                     : iv;
    ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, bytes_of(data, pw + "." + type));
    // A video's sound goes with its frames when the projector hears; else the frames alone.
    return encode(mm::MediaKind::kVideo, bytes, pw + "." + type);
  }
  return FieldError(pw + ".type", "'" + type + "' is not a content part type");
}

Result<EngineModel::Prompt> EngineModel::ChatPrompt(const json& messages, bool thinking,
                                                    const std::string& tools_json) const {
  if (!has_template_)
    return FailedPreconditionError("model '" + name_ +
                                   "' has no chat template it can use; use /v1/completions");
  if (!messages.is_array() || messages.empty())
    return FieldError("messages", "must be a non-empty array");
  const auto family = static_cast<chat::Family>(chat_family_);
  std::vector<chat::Message> msgs;
  std::vector<MediaEmbeddings> media;  // every media part's encoding, in prompt order
  int videos = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return FieldError(where, "must be an object");
    for (const auto& [k, v] : m.items()) {
      if (k != "role" && k != "content" && k != "tool_calls" && k != "tool_call_id" && k != "name")
        return FieldError(where + "." + k, "is not a message field");
    }
    if (!m.contains("role") || !m["role"].is_string())
      return FieldError(where + ".role", "must be a string");
    const std::string role = m["role"].get<std::string>();
    if (role != "system" && role != "developer" && role != "user" && role != "assistant" &&
        role != "tool")
      return FieldError(where + ".role",
                        "'" + role + "' is not one of system, developer, user, assistant, tool");
    if (m.contains("tool_calls") && role != "assistant")
      return FieldError(where + ".tool_calls", "only assistant messages carry tool calls");
    if ((m.contains("tool_call_id") || m.contains("name")) && role != "tool")
      return FieldError(where + (m.contains("name") ? ".name" : ".tool_call_id"),
                        "is only taken on tool messages (names of other roles are not rendered)");
    chat::Message msg;
    msg.role = role == "developer" ? "system" : role;
    if (role == "tool") {
      if (m.contains("tool_call_id")) {
        if (!m["tool_call_id"].is_string())
          return FieldError(where + ".tool_call_id", "must be a string");
        msg.tool_call_id = m["tool_call_id"].get<std::string>();
      }
      if (m.contains("name")) {
        if (!m["name"].is_string()) return FieldError(where + ".name", "must be a string");
        msg.tool_name = m["name"].get<std::string>();
      }
    }
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      const json& tcs = m["tool_calls"];
      if (!tcs.is_array()) return FieldError(where + ".tool_calls", "must be an array");
      for (size_t t = 0; t < tcs.size(); ++t) {
        const json& tc = tcs[t];
        const std::string tw = where + ".tool_calls[" + std::to_string(t) + "]";
        if (!tc.is_object() || !tc.contains("function") || !tc["function"].is_object())
          return FieldError(tw, "must be an object with a 'function'");
        const json& fn = tc["function"];
        if (!fn.contains("name") || !fn["name"].is_string())
          return FieldError(tw + ".function.name", "must be a string");
        chat::ToolCall call;
        call.name = fn["name"].get<std::string>();
        if (fn.contains("arguments")) {
          if (!fn["arguments"].is_string())
            return FieldError(tw + ".function.arguments", "must be a string (JSON text)");
          call.arguments_json = fn["arguments"].get<std::string>();
        } else {
          call.arguments_json = "{}";
        }
        if (tc.contains("id")) {
          if (!tc["id"].is_string()) return FieldError(tw + ".id", "must be a string");
          call.id = tc["id"].get<std::string>();
        }
        msg.tool_calls.push_back(std::move(call));
      }
    }
    const json c = m.contains("content") ? m["content"] : json();
    if (c.is_string()) {
      msg.content_form = chat::ContentForm::kString;
      msg.text = c.get<std::string>();
    } else if (c.is_null()) {
      if (role != "assistant" || (!m.contains("tool_calls") && !m.contains("content")))
        return FieldError(where + ".content", "is required");
      msg.content_form = chat::ContentForm::kNull;
    } else if (c.is_array()) {
      // Text-only parts are joined (the Gemma 4 template renders a string and text parts alike
      // except in system turns); with media the parts stay parts, each media one a placeholder.
      std::string joined;
      std::vector<chat::Part> parts;
      bool has_media = false;
      for (size_t j = 0; j < c.size(); ++j) {
        const json& p = c[j];
        const std::string pw = where + ".content[" + std::to_string(j) + "]";
        if (!p.is_object() || !p.contains("type") || !p["type"].is_string())
          return FieldError(pw, "must be an object with a string 'type'");
        const std::string type = p["type"].get<std::string>();
        if (type == "text") {
          if (!p.contains("text") || !p["text"].is_string())
            return FieldError(pw + ".text", "must be a string");
          for (const auto& [k, v] : p.items())
            if (k != "type" && k != "text") return FieldError(pw + "." + k, "is not a text part field");
          joined += p["text"].get<std::string>();
          chat::Part part;
          part.text = p["text"].get<std::string>();
          parts.push_back(std::move(part));
        } else if (type == "image_url" || type == "input_audio" || type == "input_video" ||
                   type == "video_url") {
          if (role != "user") return FieldError(pw, "media parts are only taken in user messages");
          const bool video = type == "input_video" || type == "video_url";
          TRY(EncodePart(p, pw, video ? videos : -1, &media));
          chat::Part part;
          part.kind = type == "image_url" ? chat::Part::Kind::kImage
                      : video            ? chat::Part::Kind::kVideo
                                         : chat::Part::Kind::kAudio;
          if (video) ++videos;
          parts.push_back(std::move(part));
          has_media = true;
        } else {
          return FieldError(pw + ".type", "'" + type + "' is not a content part type");
        }
      }
      if (has_media) {
        msg.content_form = chat::ContentForm::kParts;
        msg.parts = std::move(parts);
      } else {
        msg.content_form = chat::ContentForm::kString;
        msg.text = std::move(joined);
      }
    } else {
      return FieldError(where + ".content", "must be a string, an array of parts or null");
    }
    msgs.push_back(std::move(msg));
  }
  chat::Options copt;
  copt.enable_thinking = thinking;
  copt.tools_json = tools_json;
  Result<std::string> text = chat::Render(family, msgs, copt);
  if (!text.ok()) return FieldError("messages", text.status().message());
  const tokenizer::Tokenizer& tok = *lm_.tokenizer;
  Prompt out;
  const bool bos = tok.add_bos() && tok.bos_id() >= 0;
  if (!media.empty()) {
    // Each placeholder becomes the family's begin marker, the rows and the end marker.
    std::vector<mm::Embeddings> in_order;
    for (auto& m : media) in_order.push_back(std::move(m.e));
    Result<std::vector<mm::PromptChunk>> chunks =
        mm::AssemblePrompt(*text, family, tok, std::move(in_order), bos);
    if (!chunks.ok()) return FieldError("messages", chunks.status().message());
    for (mm::PromptChunk& ch : *chunks) {
      if (!ch.is_embd()) {
        out.ids.insert(out.ids.end(), ch.ids.begin(), ch.ids.end());
        continue;
      }
      out.ids.insert(out.ids.end(), ch.embd.n_tok, -1);
      engine::EmbeddingRows rows;
      rows.n_rows = ch.embd.n_tok;
      rows.causal = ch.embd.causal;
      rows.data = std::move(ch.embd.data);
      out.embeddings.push_back(std::move(rows));
    }
    return out;
  }
  std::string body = *text;
  if (body.rfind(copt.bos_text, 0) == 0) body.erase(0, copt.bos_text.size());
  if (bos) out.ids.push_back(tok.bos_id());
  std::vector<int32_t> rest = tok.Encode(body, /*parse_special=*/true);
  out.ids.insert(out.ids.end(), rest.begin(), rest.end());
  return out;
}

namespace {

const std::set<std::string>& ChatFields() {
  static const std::set<std::string> f = {
      "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens",
      "temperature", "top_p", "top_k", "min_p", "stop", "seed", "n", "logprobs", "top_logprobs",
      "presence_penalty", "frequency_penalty", "repeat_penalty", "repeat_last_n", "user",
      "logit_bias", "response_format", "chat_template_kwargs", "ignore_eos", "tools",
      "tool_choice", "parallel_tool_calls"};
  return f;
}

const std::set<std::string>& TextFields() {
  static const std::set<std::string> f = {
      "model", "prompt", "stream", "stream_options", "max_tokens", "temperature", "top_p", "top_k",
      "min_p", "stop", "seed", "n", "logprobs", "echo", "presence_penalty", "frequency_penalty",
      "repeat_penalty", "repeat_last_n", "user", "logit_bias", "best_of", "ignore_eos"};
  return f;
}

Status CheckFields(const json& body, const std::set<std::string>& allowed) {
  if (!body.is_object()) return InvalidArgumentError("the request body must be a JSON object");
  for (const auto& [k, v] : body.items()) {
    if (!allowed.count(k))
      return FieldError(k, "is not a supported parameter of this endpoint on the local engine");
  }
  return Status::Ok();
}

}  // namespace

Result<EngineModel::Request> EngineModel::ParseChat(const json& body) const {
  TRY(CheckFields(body, ChatFields()));
  Request r;
  r.chat = true;
  TRY(ParseCommon(body, true, r));
  if (body.contains("logprobs") && !body["logprobs"].is_null()) {
    ASSIGN_OR_RETURN(r.logprobs, GetBool(body, "logprobs"));
  }
  if (body.contains("top_logprobs") && !body["top_logprobs"].is_null()) {
    if (!r.logprobs) return FieldError("top_logprobs", "needs logprobs: true");
    ASSIGN_OR_RETURN(int64_t k, GetInt(body, "top_logprobs", 0, 20));
    r.gen.top_logprobs = static_cast<int>(k);
  }
  if (body.contains("response_format") && !body["response_format"].is_null()) {
    const json& rf = body["response_format"];
    if (!rf.is_object() || !rf.contains("type") || !rf["type"].is_string())
      return FieldError("response_format", "must be an object with a string 'type'");
    const std::string type = rf["type"].get<std::string>();
    if (type == "json_object") {
      r.gen.json_object = true;
    } else if (type == "json_schema") {
      return FieldError("response_format",
                        "type 'json_schema' (output constrained to a schema) is not supported by "
                        "the local engine yet; 'json_object' constrains the output to a JSON object");
    } else if (type != "text") {
      return FieldError("response_format", "type '" + type + "' is not one of text, json_object");
    }
    for (const auto& [k, v] : rf.items())
      if (k != "type") return FieldError("response_format." + k, "is not supported");
  }
  bool thinking = false;
  if (body.contains("chat_template_kwargs") && !body["chat_template_kwargs"].is_null()) {
    const json& k = body["chat_template_kwargs"];
    if (!k.is_object()) return FieldError("chat_template_kwargs", "must be an object");
    for (const auto& [key, v] : k.items()) {
      if (key != "enable_thinking")
        return FieldError("chat_template_kwargs." + key, "is not supported (only enable_thinking)");
      if (!v.is_boolean()) return FieldError("chat_template_kwargs.enable_thinking", "must be a boolean");
      thinking = v.get<bool>();
    }
  }
  std::string tools_json;
  if (body.contains("tools") && !body["tools"].is_null()) {
    const json& tools = body["tools"];
    if (!tools.is_array()) return FieldError("tools", "must be an array");
    for (size_t i = 0; i < tools.size(); ++i) {
      const json& t = tools[i];
      const std::string w = "tools[" + std::to_string(i) + "]";
      if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") ||
          !t["function"].is_object())
        return FieldError(w, "must be {\"type\": \"function\", \"function\": {...}}");
      if (!t["function"].contains("name") || !t["function"]["name"].is_string())
        return FieldError(w + ".function.name", "must be a string");
    }
    if (!tools.empty()) {
      if (!has_template_ || static_cast<chat::Family>(chat_family_) == chat::Family::kGemma3)
        return FieldError("tools", "model '" + name_ +
                                       "' has no tool-call format in its chat template (Gemma 3)");
      tools_json = tools.dump();
      r.tools = true;
    }
  }
  if (body.contains("parallel_tool_calls") && !body["parallel_tool_calls"].is_null()) {
    ASSIGN_OR_RETURN(r.parallel_tool_calls, GetBool(body, "parallel_tool_calls"));
  }
  if (body.contains("tool_choice") && !body["tool_choice"].is_null()) {
    const json& tc = body["tool_choice"];
    if (tc == "none") {
      // Declared but not to be called: the call marker can never be sampled.
      const int32_t marker = lm_.tokenizer->Find("<|tool_call>");
      if (marker >= 0)
        r.gen.sampling.logit_bias.push_back({marker, -std::numeric_limits<float>::infinity()});
      r.tools = false;
    } else if (tc != "auto") {
      return FieldError("tool_choice", "only \"auto\" and \"none\" are supported by the local "
                                       "engine (it cannot force a call)");
    }
  }
  if (!body.contains("messages")) return FieldError("messages", "is required");
  ASSIGN_OR_RETURN(Prompt p, ChatPrompt(body["messages"], thinking, tools_json));
  r.prompt = std::move(p.ids);
  r.embeddings = std::move(p.embeddings);
  return r;
}

Result<EngineModel::Request> EngineModel::ParseText(const json& body) const {
  TRY(CheckFields(body, TextFields()));
  Request r;
  r.chat = false;
  TRY(ParseCommon(body, false, r));
  if (!body.contains("prompt")) return FieldError("prompt", "is required");
  const json& p = body["prompt"];
  const tokenizer::Tokenizer& tok = *lm_.tokenizer;
  if (p.is_string()) {
    r.prompt_text = p.get<std::string>();
    if (tok.add_bos() && tok.bos_id() >= 0) r.prompt.push_back(tok.bos_id());
    std::vector<int32_t> ids = tok.Encode(r.prompt_text, /*parse_special=*/true);
    r.prompt.insert(r.prompt.end(), ids.begin(), ids.end());
  } else if (p.is_array() && !p.empty() && std::all_of(p.begin(), p.end(), [](const json& e) {
               return e.is_number_integer();
             })) {
    for (const auto& e : p) r.prompt.push_back(e.get<int32_t>());
    r.prompt_text = tok.Decode(r.prompt, /*render_special=*/true);
  } else {
    return FieldError("prompt", "must be a string or an array of token ids (one prompt per request)");
  }
  if (body.contains("logprobs") && !body["logprobs"].is_null()) {
    ASSIGN_OR_RETURN(int64_t k, GetInt(body, "logprobs", 0, 20));
    r.logprobs = true;
    r.gen.top_logprobs = static_cast<int>(k);
  }
  if (body.contains("echo") && !body["echo"].is_null()) {
    ASSIGN_OR_RETURN(r.echo, GetBool(body, "echo"));
  }
  if (body.contains("best_of") && !body["best_of"].is_null()) {
    ASSIGN_OR_RETURN(int64_t b, GetInt(body, "best_of", 1, 16));
    if (b != r.n) return FieldError("best_of", "must equal n (ranking candidates is not supported)");
  }
  return r;
}

int64_t EngineModel::CountPromptTokens(const json& chat_body) const {
  if (!chat_body.is_object() || !chat_body.contains("messages")) return -1;
  // Media would have to be decoded and encoded to be counted: the router's estimate serves then.
  for (const auto& m : chat_body["messages"])
    if (m.is_object() && m.contains("content") && m["content"].is_array())
      for (const auto& p : m["content"])
        if (p.is_object() && p.value("type", "") != "text") return -1;
  Result<Prompt> p = ChatPrompt(chat_body["messages"], false);
  return p.ok() ? static_cast<int64_t>(p->ids.size()) : -1;
}

// ---- running ----

namespace {

// What the scheduler thread hands to the caller's thread.
struct Event {
  int choice = 0;
  std::string text;
  std::vector<engine::GeneratedToken> tokens;  // sampled since the previous event
};

struct Bridge {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Event> events;
  std::vector<std::vector<engine::GeneratedToken>> pending;  // per choice, not yet sent
};

}  // namespace

Result<backends::ChatResult> EngineModel::Run(Request& r, const backends::ChatRequest& request,
                                              const backends::ChunkCallback* stream) {
  const auto t0 = Clock::now();
  const tokenizer::Tokenizer& tok = *lm_.tokenizer;
  const int64_t n_ctx = scheduler_->options().n_ctx;
  const int64_t n_prompt = static_cast<int64_t>(r.prompt.size());
  if (n_prompt >= n_ctx) {
    return InvalidArgumentError("the prompt has " + std::to_string(n_prompt) +
                                " tokens but the context of model '" + name_ + "' holds " +
                                std::to_string(n_ctx) +
                                " (a prompt must leave room for at least one generated token)");
  }
  if (r.gen.max_tokens > n_ctx - n_prompt) r.gen.max_tokens = -1;  // the context ends it first

  std::atomic<bool> cancel{false};
  Bridge bridge;
  bridge.pending.resize(r.n);
  const bool streaming = stream != nullptr;
  const bool want_tokens = streaming && r.logprobs;
  std::vector<std::future<Result<engine::JobResult>>> futures;
  for (int i = 0; i < r.n; ++i) {
    engine::Job job;
    job.prompt = r.prompt;
    job.embeddings = r.embeddings;
    job.gen = r.gen;
    job.gen.sampling.seed = r.gen.sampling.seed + static_cast<uint64_t>(i);
    job.cancel = &cancel;  // raised when the caller's flag is, or the client goes away
    if (streaming) {
      job.on_text = [&bridge, i, want_tokens](const std::string& text,
                                              const engine::GeneratedToken&) {
        std::lock_guard<std::mutex> l(bridge.mu);
        Event e;
        e.choice = i;
        e.text = text;
        if (want_tokens) e.tokens.swap(bridge.pending[i]);
        bridge.events.push_back(std::move(e));
        bridge.cv.notify_all();
        return true;
      };
      if (want_tokens) {
        job.on_token = [&bridge, i](const engine::GeneratedToken& g) {
          std::lock_guard<std::mutex> l(bridge.mu);
          bridge.pending[i].push_back(g);
        };
      }
    }
    Result<std::future<Result<engine::JobResult>>> f = scheduler_->Submit(std::move(job));
    if (!f.ok()) {
      cancel = true;
      for (auto& fu : futures) (void)fu.get();
      return f.status();
    }
    futures.push_back(std::move(f).value());
  }

  const std::string id = (r.chat ? "chatcmpl-" : "cmpl-") + RandomHex(24);
  const int64_t created = UnixSeconds();
  const char* object = r.chat ? "chat.completion" : "text_completion";
  auto token_logprob = [&](const engine::GeneratedToken& g) {
    const std::string piece = tok.Piece(g.id, /*render_special=*/true);
    json t = {{"token", ValidUtf8(piece)}, {"logprob", g.logprob}, {"bytes", Bytes(piece)}};
    json top = json::array();
    for (const auto& [tid, lp] : g.top) {
      const std::string p = tok.Piece(tid, true);
      top.push_back({{"token", ValidUtf8(p)}, {"logprob", lp}, {"bytes", Bytes(p)}});
    }
    t["top_logprobs"] = std::move(top);
    return t;
  };
  auto text_logprobs = [&](const std::vector<engine::GeneratedToken>& toks) {
    json lp = {{"tokens", json::array()}, {"token_logprobs", json::array()},
               {"top_logprobs", json::array()}, {"text_offset", json::array()}};
    int64_t off = 0;
    for (const auto& g : toks) {
      const std::string piece = ValidUtf8(tok.Piece(g.id, true));
      lp["tokens"].push_back(piece);
      lp["token_logprobs"].push_back(g.logprob);
      json top = json::object();
      for (const auto& [tid, l] : g.top) top[ValidUtf8(tok.Piece(tid, true))] = l;
      lp["top_logprobs"].push_back(top);
      lp["text_offset"].push_back(off);
      off += static_cast<int64_t>(piece.size());
    }
    return lp;
  };

  // Gemma 4's thought channel goes to reasoning_content (chat only).
  const bool split = r.chat && has_template_ &&
                     static_cast<chat::Family>(chat_family_) != chat::Family::kGemma3;
  std::vector<ReasoningSplitter> splitters(r.n);
  std::vector<ToolCallFilter> tool_filters(r.n);
  std::vector<json> stream_calls(r.n, json::array());  // tool calls sent per choice
  std::vector<std::vector<engine::GeneratedToken>> unsent(r.n);  // logprobs not yet in a chunk
  auto chat_delta = [&](int choice, const ReasoningSplitter::Piece& piece,
                        std::vector<engine::GeneratedToken>&& toks) -> std::optional<json> {
    auto& pend = unsent[choice];
    pend.insert(pend.end(), std::make_move_iterator(toks.begin()),
                std::make_move_iterator(toks.end()));
    if (piece.content.empty() && piece.reasoning.empty()) return std::nullopt;
    json delta = json::object();
    if (!piece.reasoning.empty()) delta["reasoning_content"] = piece.reasoning;
    if (!piece.content.empty()) delta["content"] = piece.content;
    json choice_j = {{"index", choice}, {"delta", delta}, {"finish_reason", nullptr}};
    if (r.logprobs) {
      json content = json::array();
      for (const auto& g : pend) content.push_back(token_logprob(g));
      choice_j["logprobs"] = {{"content", content}};
    } else {
      choice_j["logprobs"] = nullptr;
    }
    pend.clear();
    return json{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
                {"model", name_}, {"system_fingerprint", "hearth"},
                {"choices", json::array({choice_j})}};
  };

  // Streaming: deliver events on this thread until every job is done.
  bool client_gone = false;
  double ttft_ms = -1;
  if (streaming) {
    auto send = [&](json chunk) {
      if (client_gone) return;
      if (!(*stream)(chunk)) {
        client_gone = true;
        cancel = true;
      }
    };
    if (r.chat) {
      for (int i = 0; i < r.n; ++i)
        send({{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
              {"model", name_}, {"system_fingerprint", "hearth"},
              {"choices", json::array({{{"index", i}, {"delta", {{"role", "assistant"}, {"content", ""}}},
                                        {"logprobs", nullptr}, {"finish_reason", nullptr}}})}});
    }
    if (r.echo) {
      for (int i = 0; i < r.n; ++i)
        send({{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", name_},
              {"choices", json::array({{{"index", i}, {"text", r.prompt_text}, {"logprobs", nullptr},
                                        {"finish_reason", nullptr}}})}});
    }
    for (;;) {
      // Text is queued before its job completes, so once every job is done one more drain sees
      // all of it.
      bool all_done = true;
      for (auto& f : futures)
        all_done = all_done && f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
      std::deque<Event> batch;
      {
        std::unique_lock<std::mutex> l(bridge.mu);
        if (!all_done)
          bridge.cv.wait_for(l, std::chrono::milliseconds(20), [&] { return !bridge.events.empty(); });
        batch.swap(bridge.events);
      }
      if (request.cancel && request.cancel->load()) cancel = true;
      for (Event& e : batch) {
        if (ttft_ms < 0) ttft_ms = MsSince(t0);
        json choice;
        if (r.chat) {
          ReasoningSplitter::Piece piece;
          if (split) piece = splitters[e.choice].Push(e.text);
          else piece.content = e.text;
          if (r.tools) piece.content = tool_filters[e.choice].Push(piece.content);
          std::optional<json> chunk = chat_delta(e.choice, piece, std::move(e.tokens));
          if (chunk) send(std::move(*chunk));
        } else {
          choice = {{"index", e.choice}, {"text", e.text}, {"finish_reason", nullptr},
                    {"logprobs", r.logprobs ? text_logprobs(e.tokens) : json(nullptr)}};
          send({{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", name_},
                {"choices", json::array({choice})}});
        }
      }
      if (all_done) break;
    }
  } else {
    // Not streaming: wait, passing the caller's cancel flag on.
    for (auto& f : futures) {
      while (f.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready)
        if (request.cancel && request.cancel->load()) cancel = true;
    }
  }

  std::vector<engine::JobResult> results;
  for (auto& f : futures) {
    Result<engine::JobResult> jr = f.get();
    if (!jr.ok()) return jr.status();
    results.push_back(std::move(jr).value());
  }
  if (client_gone) return CancelledError("the client went away");
  if (request.cancel && request.cancel->load()) return CancelledError("cancelled");

  backends::ChatResult out;
  out.backend = name_;
  out.model = name_;
  out.usage.prompt_tokens = n_prompt;
  int64_t cached = results.empty() ? 0 : results[0].cached_tokens;
  double queue_ms = 0, prompt_ms = 0, decode_ms = 0;
  json choices = json::array();
  for (int i = 0; i < r.n; ++i) {
    const engine::JobResult& jr = results[i];
    std::vector<engine::GeneratedToken> toks = jr.gen.tokens;
    if (!toks.empty() && jr.gen.finish == engine::FinishReason::kStop && tok.IsEog(toks.back().id))
      toks.pop_back();  // the end-of-turn token is not part of the answer
    out.usage.completion_tokens += static_cast<int64_t>(jr.gen.tokens.size());
    queue_ms = std::max(queue_ms, jr.queue_ms);
    prompt_ms = std::max(prompt_ms, jr.gen.prefill_ms);
    decode_ms = std::max(decode_ms, jr.gen.decode_ms);
    cached = std::min(cached, jr.cached_tokens);
    json choice;
    if (r.chat) {
      json message = {{"role", "assistant"}, {"content", jr.gen.text}};
      if (split) {
        ReasoningSplitter whole;
        ReasoningSplitter::Piece a = whole.Push(jr.gen.text), b = whole.Flush();
        message["content"] = a.content + b.content;
        if (!(a.reasoning + b.reasoning).empty())
          message["reasoning_content"] = a.reasoning + b.reasoning;
      }
      std::string finish = FinishName(jr.gen.finish);
      if (r.tools) {
        ToolCallFilter filter;
        std::string content = filter.Push(message["content"].get<std::string>());
        ToolCallFilter::Result tc = filter.Finish();
        content += tc.rest;
        json calls = ToolCallsJson(tc.calls, r.parallel_tool_calls, content);
        if (!calls.empty()) {
          message["tool_calls"] = calls;
          finish = "tool_calls";
        }
        message["content"] = content.empty() && !calls.empty() ? json(nullptr) : json(content);
      }
      choice = {{"index", i}, {"message", message}, {"finish_reason", finish}};
      if (r.logprobs) {
        json content = json::array();
        for (const auto& g : toks) content.push_back(token_logprob(g));
        choice["logprobs"] = {{"content", content}};
      } else {
        choice["logprobs"] = nullptr;
      }
    } else {
      choice = {{"index", i},
                {"text", (r.echo ? r.prompt_text : std::string()) + jr.gen.text},
                {"finish_reason", FinishName(jr.gen.finish)},
                {"logprobs", r.logprobs ? text_logprobs(toks) : json(nullptr)}};
    }
    choices.push_back(std::move(choice));
  }
  json usage = {{"prompt_tokens", out.usage.prompt_tokens},
                {"completion_tokens", out.usage.completion_tokens},
                {"total_tokens", out.usage.prompt_tokens + out.usage.completion_tokens},
                {"prompt_tokens_details", {{"cached_tokens", cached}}}};
  // The engine's confidence in its first answer (the router's second stage reads it).
  json confidence = nullptr;
  if (!results.empty() && !results[0].gen.tokens.empty()) {
    double lp = 0, ent = 0;
    for (const auto& g : results[0].gen.tokens) lp += g.logprob, ent += g.entropy;
    const double n = static_cast<double>(results[0].gen.tokens.size());
    confidence = {{"mean_logprob", lp / n}, {"mean_entropy", ent / n},
                  {"tokens", results[0].gen.tokens.size()}};
  }
  json timings = {{"prompt_tokens", n_prompt}, {"cached_tokens", cached},
                  {"completion_tokens", out.usage.completion_tokens}, {"queue_ms", queue_ms},
                  {"prompt_ms", prompt_ms}, {"decode_ms", decode_ms}, {"load_ms", 0.0}};
  out.latency_ms = MsSince(t0);
  out.ttft_ms = streaming ? ttft_ms : -1;

  if (streaming) {
    // The finish chunk of each choice, then (when asked) the usage chunk; x_timings on the last.
    for (int i = 0; i < r.n; ++i) {
      json chunk;
      if (r.chat && (split || r.tools)) {
        ReasoningSplitter::Piece last;
        if (split) last = splitters[i].Flush();
        if (r.tools) {
          last.content = tool_filters[i].Push(last.content);
          ToolCallFilter::Result tc = tool_filters[i].Finish();
          last.content += tc.rest;
          stream_calls[i] = ToolCallsJson(tc.calls, r.parallel_tool_calls, last.content);
        }
        std::optional<json> rest = chat_delta(i, last, {});
        if (rest && !(*stream)(*rest)) return CancelledError("the client went away");
        if (!stream_calls[i].empty()) {
          json deltas = json::array();
          for (size_t k = 0; k < stream_calls[i].size(); ++k) {
            json c = stream_calls[i][k];
            c["index"] = k;
            deltas.push_back(std::move(c));
          }
          json chunk_calls = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
                              {"model", name_}, {"system_fingerprint", "hearth"},
                              {"choices", json::array({{{"index", i},
                                                        {"delta", {{"tool_calls", deltas}}},
                                                        {"logprobs", nullptr},
                                                        {"finish_reason", nullptr}}})}};
          if (!(*stream)(chunk_calls)) return CancelledError("the client went away");
        }
      }
      if (r.chat) {
        chunk = {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
                 {"model", name_}, {"system_fingerprint", "hearth"},
                 {"choices", json::array({{{"index", i}, {"delta", json::object()},
                                           {"logprobs", nullptr},
                                           {"finish_reason", stream_calls[i].empty()
                                                                 ? FinishName(results[i].gen.finish)
                                                                 : "tool_calls"}}})}};
      } else {
        chunk = {{"id", id}, {"object", "text_completion"}, {"created", created}, {"model", name_},
                 {"choices", json::array({{{"index", i}, {"text", ""}, {"logprobs", nullptr},
                                           {"finish_reason", FinishName(results[i].gen.finish)}}})}};
      }
      if (i == r.n - 1 && !r.include_usage) {
        chunk["x_timings"] = timings;
        chunk["x_confidence"] = confidence;
      }
      if (!(*stream)(chunk)) return CancelledError("the client went away");
    }
    if (r.include_usage) {
      json chunk = {{"id", id}, {"object", r.chat ? "chat.completion.chunk" : "text_completion"},
                    {"created", created}, {"model", name_}, {"choices", json::array()},
                    {"usage", usage}, {"x_timings", timings}, {"x_confidence", confidence}};
      if (r.chat) chunk["system_fingerprint"] = "hearth";
      if (!(*stream)(chunk)) return CancelledError("the client went away");
    }
  }
  out.response = {{"id", id}, {"object", object}, {"created", created}, {"model", name_},
                  {"choices", choices}, {"usage", usage}, {"x_timings", timings},
                  {"x_confidence", confidence}};
  if (r.chat) out.response["system_fingerprint"] = "hearth";
  return out;
}

Result<backends::ChatResult> EngineModel::Complete(const backends::ChatRequest& request,
                                                   const backends::ChunkCallback* stream) {
  ASSIGN_OR_RETURN(Request r, ParseChat(request.body));
  if (r.stream != (stream != nullptr) && r.stream)
    return FieldError("stream", "a streamed request needs a streaming caller");
  return Run(r, request, stream);
}

Result<backends::ChatResult> EngineModel::CompleteText(const backends::ChatRequest& request,
                                                       const backends::ChunkCallback* stream) {
  ASSIGN_OR_RETURN(Request r, ParseText(request.body));
  if (r.stream != (stream != nullptr) && r.stream)
    return FieldError("stream", "a streamed request needs a streaming caller");
  return Run(r, request, stream);
}

// ---- model facts ----

namespace {

std::string HumanParams(int64_t n) {
  char buf[32];
  if (n >= 1000000000) std::snprintf(buf, sizeof buf, "%.1fB", n / 1e9);
  else if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1fK", n / 1e3);
  return buf;
}

}  // namespace

Result<ModelInfo> ReadModelInfo(const std::string& path, const std::string& name) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> f, gguf::File::Open(path));
  ModelInfo info;
  info.name = name;
  info.path = path;
  info.size_bytes = static_cast<int64_t>(f->total_bytes());
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) info.modified_unix = st.st_mtime;
  ASSIGN_OR_RETURN(info.family, f->GetStringOr("general.architecture", ""));
  int64_t params = 0;
  std::map<std::string, int64_t> by_type;  // bytes per tensor type (2-D and larger)
  for (const auto& t : f->tensors()) {
    params += t.n_elements();
    if (t.n_dims >= 2) by_type[std::string(gguf::TypeName(t.type))] += t.nbytes;
  }
  info.parameter_size = HumanParams(params);
  int64_t best = -1;
  for (const auto& [type, bytes] : by_type)
    if (bytes > best) best = bytes, info.quantization = type;
  if (!info.family.empty()) {
    ASSIGN_OR_RETURN(info.n_ctx_train, f->GetI64Or(info.family + ".context_length", 0));
  }
  // A stable, cheap identity: the SHA-256 of the first MiB of the file and its size.
  const auto& ts = f->tensors();
  std::string head;
  if (!ts.empty() && ts.front().data) {
    const uint64_t n = std::min<uint64_t>(ts.front().nbytes, 1 << 20);
    head.assign(reinterpret_cast<const char*>(ts.front().data), n);
  }
  info.digest = ledger::Sha256Hex(head + "|" + std::to_string(info.size_bytes) + "|" + name);
  return info;
}

nlohmann::json EngineModel::Show() const {
  const gguf::File& f = lm_.model->file();
  json model_info = json::object();
  for (const auto& [key, v] : f.metadata()) {
    if (key.rfind("tokenizer.", 0) == 0) continue;  // vocabularies are huge
    switch (v.type) {
      case gguf::ValueType::kString: model_info[key] = ValidUtf8(std::string(v.str)); break;
      case gguf::ValueType::kBool: model_info[key] = v.b; break;
      case gguf::ValueType::kF32:
      case gguf::ValueType::kF64: model_info[key] = v.f; break;
      case gguf::ValueType::kI8:
      case gguf::ValueType::kI16:
      case gguf::ValueType::kI32:
      case gguf::ValueType::kI64: model_info[key] = v.i; break;
      case gguf::ValueType::kArray: model_info[key] = json::array(); break;  // not expanded
      default: model_info[key] = v.u; break;
    }
  }
  json caps = json::array({"completion"});
  if (info_.vision) caps.push_back("vision");
  if (info_.audio) caps.push_back("audio");
  if (has_template_ && static_cast<chat::Family>(chat_family_) != chat::Family::kGemma3)
    caps.push_back("tools");
  const engine::SamplingParams d;
  std::string params = "temperature " + std::to_string(d.temperature) + "\ntop_k " +
                       std::to_string(d.top_k) + "\ntop_p " + std::to_string(d.top_p) +
                       "\nnum_ctx " + std::to_string(info_.n_ctx);
  return {{"template", ValidUtf8(lm_.tokenizer->vocab().chat_template)},
          {"parameters", params},
          {"model_info", model_info},
          {"details", {{"format", "gguf"}, {"family", info_.family},
                       {"families", json::array({info_.family})},
                       {"parameter_size", info_.parameter_size},
                       {"quantization_level", info_.quantization}}},
          {"capabilities", caps}};
}

}  // namespace hearth::server
