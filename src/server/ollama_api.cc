#include "server/ollama_api.h"

#include <algorithm>
#include <set>

#include "server/http_util.h"

namespace hearth::server {

using nlohmann::json;

namespace {

Status UnknownKeys(const json& object, const std::set<std::string>& allowed, std::string_view where) {
  std::string unknown;
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (allowed.count(it.key())) continue;
    if (!unknown.empty()) unknown += ", ";
    unknown += it.key();
  }
  if (unknown.empty()) return Status::Ok();
  return InvalidArgumentError(std::string(where) + ": unknown or unsupported field(s): " + unknown);
}

// "gemma3:latest" and "gemma3" name the same model (Ollama's implicit tag).
std::string ModelName(const json& body) {
  auto it = body.find("model");
  if (it == body.end() || !it->is_string()) return "";
  std::string name = it->get<std::string>();
  constexpr std::string_view kLatest = ":latest";
  if (name.size() > kLatest.size() &&
      name.compare(name.size() - kLatest.size(), kLatest.size(), kLatest) == 0) {
    name.resize(name.size() - kLatest.size());
  }
  return name;
}

// Options hearth maps to the OpenAI body (Ollama name -> OpenAI / llama.cpp name).
struct OptionMap {
  const char* ollama;
  const char* openai;
  bool integer;
};
constexpr OptionMap kOptions[] = {
    {"temperature", "temperature", false},       {"top_p", "top_p", false},
    {"top_k", "top_k", true},                    {"min_p", "min_p", false},
    {"seed", "seed", true},                      {"presence_penalty", "presence_penalty", false},
    {"frequency_penalty", "frequency_penalty", false},
    {"repeat_penalty", "repeat_penalty", false}, {"repeat_last_n", "repeat_last_n", true},
};
// Ollama options that have no meaning here; setting one is an error, not a silent no-op.
const std::set<std::string> kUnsupportedOptions = {
    "num_keep", "typical_p", "tfs_z", "mirostat", "mirostat_tau", "mirostat_eta",
    "penalize_newline", "numa", "num_batch", "num_gpu", "main_gpu", "low_vram", "vocab_only",
    "use_mmap", "use_mlock", "num_thread", "f16_kv", "logits_all", "embedding_only"};

Status TranslateOptions(const json& options, json* body, int64_t* num_ctx) {
  if (options.is_null()) return Status::Ok();
  if (!options.is_object()) {
    return InvalidArgumentError("options must be an object, not " + std::string(options.type_name()));
  }
  std::string unknown, unsupported;
  for (auto it = options.begin(); it != options.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (v.is_null()) continue;
    const OptionMap* m = nullptr;
    for (const OptionMap& o : kOptions) {
      if (key == o.ollama) m = &o;
    }
    if (m != nullptr) {
      if (m->integer ? !v.is_number_integer() : !v.is_number()) {
        return InvalidArgumentError("options." + key + " must be " +
                                    (m->integer ? "an integer" : "a number") + ", not " +
                                    std::string(v.type_name()));
      }
      (*body)[m->openai] = v;
    } else if (key == "num_predict") {
      if (!v.is_number_integer()) {
        return InvalidArgumentError("options.num_predict must be an integer, not " +
                                    std::string(v.type_name()));
      }
      // -1 (until done) and -2 (fill the context) both mean "no limit" here: the context bounds it.
      if (v.get<int64_t>() >= 0) (*body)["max_tokens"] = v;
    } else if (key == "stop") {
      const bool ok = v.is_string() || (v.is_array() && std::all_of(v.begin(), v.end(),
                                                                     [](const json& s) {
                                                                       return s.is_string();
                                                                     }));
      if (!ok) return InvalidArgumentError("options.stop must be a string or an array of strings");
      (*body)["stop"] = v;
    } else if (key == "num_ctx") {
      if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
        return InvalidArgumentError("options.num_ctx must be a positive integer");
      }
      *num_ctx = v.get<int64_t>();
    } else if (kUnsupportedOptions.count(key)) {
      unsupported += (unsupported.empty() ? "" : ", ") + key;
    } else {
      unknown += (unknown.empty() ? "" : ", ") + key;
    }
  }
  if (!unknown.empty()) return InvalidArgumentError("unknown options: " + unknown);
  if (!unsupported.empty()) {
    return InvalidArgumentError("options not supported by hearth: " + unsupported);
  }
  return Status::Ok();
}

Status TranslateFormat(const json& body, json* out) {
  auto it = body.find("format");
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (it->is_string()) {
    if (it->get<std::string>().empty()) return Status::Ok();
    if (*it == "json") {
      (*out)["response_format"] = {{"type", "json_object"}};
      return Status::Ok();
    }
    return InvalidArgumentError("format must be \"json\" or a JSON schema object, not \"" +
                                it->get<std::string>() + "\"");
  }
  if (it->is_object()) {
    (*out)["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", "ollama_format"}, {"schema", *it}, {"strict", true}}}};
    return Status::Ok();
  }
  return InvalidArgumentError("format must be \"json\" or a JSON schema object");
}

Status TranslateThink(const json& body, json* out) {
  auto it = body.find("think");
  if (it == body.end() || it->is_null()) return Status::Ok();
  if (it->is_boolean()) {
    (*out)["chat_template_kwargs"] = {{"enable_thinking", it->get<bool>()}};
    return Status::Ok();
  }
  if (it->is_string() && (*it == "low" || *it == "medium" || *it == "high")) {
    (*out)["reasoning_effort"] = *it;
    return Status::Ok();
  }
  return InvalidArgumentError("think must be true, false, \"low\", \"medium\" or \"high\"");
}

Status CommonFields(const json& body, OllamaCall* call) {
  auto m = body.find("model");
  if (m != body.end() && !m->is_string()) {
    return InvalidArgumentError("model must be a string, not " + std::string(m->type_name()));
  }
  call->model = ModelName(body);
  auto s = body.find("stream");
  if (s != body.end() && !s->is_null()) {
    if (!s->is_boolean()) return InvalidArgumentError("stream must be a boolean");
    call->stream = s->get<bool>();
  }
  auto k = body.find("keep_alive");
  if (k != body.end() && !k->is_null()) {
    ASSIGN_OR_RETURN(double ka, ParseKeepAlive(*k));
    call->keep_alive_s = ka;
  }
  json& out = call->openai_body;
  if (!call->model.empty()) out["model"] = call->model;
  out["stream"] = call->stream;
  if (call->stream) out["stream_options"] = {{"include_usage", true}};
  auto o = body.find("options");
  if (o != body.end()) TRY(TranslateOptions(*o, &out, &call->num_ctx));
  TRY(TranslateFormat(body, &out));
  TRY(TranslateThink(body, &out));
  return Status::Ok();
}

// An Ollama `images` array as OpenAI content parts (audio files become input_audio parts: Ollama's
// clients can only attach "images", and hearth's models hear as well as see).
Status MediaParts(const json& images, const std::string& where, json* parts, int* count) {
  if (images.is_null()) return Status::Ok();
  if (!images.is_array()) return InvalidArgumentError(where + " must be an array of base64 strings");
  for (size_t j = 0; j < images.size(); ++j) {
    const std::string at = where + "[" + std::to_string(j) + "]";
    if (!images[j].is_string()) return InvalidArgumentError(at + " must be a base64 string");
    const std::string& data = images[j].get_ref<const std::string&>();
    Result<std::string> type = SniffBase64MediaType(data);
    if (!type.ok()) return InvalidArgumentError(at + ": " + type.status().message());
    if (type->rfind("audio/", 0) == 0) {
      const std::string format = *type == "audio/mpeg" ? "mp3" : type->substr(6);
      parts->push_back({{"type", "input_audio"}, {"input_audio", {{"data", data}, {"format", format}}}});
    } else {
      parts->push_back({{"type", "image_url"},
                        {"image_url", {{"url", "data:" + *type + ";base64," + data}}}});
    }
    ++*count;
  }
  return Status::Ok();
}

json OpenAiToolCallsFromOllama(const json& calls, const std::string& where, int message_index,
                               std::vector<std::string>* ids, Status* status) {
  json out = json::array();
  if (!calls.is_array()) {
    *status = InvalidArgumentError(where + " must be an array");
    return out;
  }
  for (size_t j = 0; j < calls.size(); ++j) {
    const json& c = calls[j];
    const json* f = c.is_object() && c.contains("function") ? &c["function"] : nullptr;
    if (f == nullptr || !f->is_object() || !f->contains("name") || !(*f)["name"].is_string()) {
      *status = InvalidArgumentError(where + "[" + std::to_string(j) + "].function.name is required");
      return out;
    }
    const json args = f->value("arguments", json::object());
    const std::string id = "call_" + std::to_string(message_index) + "_" + std::to_string(j);
    ids->push_back(id);
    out.push_back({{"id", id},
                   {"type", "function"},
                   {"function", {{"name", (*f)["name"]},
                                 {"arguments", args.is_string() ? args.get<std::string>()
                                                                : Dump(args)}}}});
  }
  return out;
}

json OllamaToolCallsFromOpenAi(const json& calls) {
  json out = json::array();
  for (const json& c : calls) {
    const json f = c.value("function", json::object());
    json args = json::object();
    const std::string text = f.value("arguments", std::string());
    if (!text.empty()) {
      args = json::parse(text, nullptr, false);
      if (args.is_discarded()) args = text;  // not JSON: hand it over as the model wrote it
    }
    out.push_back({{"function", {{"name", f.value("name", std::string())}, {"arguments", args}}}});
  }
  return out;
}

std::string DoneReason(const std::string& finish_reason) {
  return finish_reason == "length" ? "length" : "stop";
}

}  // namespace

Result<OllamaCall> TranslateOllamaChat(const json& body) {
  if (!body.is_object()) return InvalidArgumentError("request body must be a JSON object");
  TRY(UnknownKeys(body, {"model", "messages", "tools", "format", "options", "stream", "keep_alive",
                         "think"},
                  "/api/chat"));
  OllamaCall call;
  call.chat = true;
  TRY(CommonFields(body, &call));
  json& out = call.openai_body;
  auto tools = body.find("tools");
  if (tools != body.end() && !tools->is_null()) {
    if (!tools->is_array()) return InvalidArgumentError("tools must be an array");
    if (!tools->empty()) out["tools"] = *tools;
  }
  auto msgs = body.find("messages");
  if (msgs == body.end() || msgs->is_null() || (msgs->is_array() && msgs->empty())) {
    call.kind = call.keep_alive_s && *call.keep_alive_s == 0 ? OllamaCall::Kind::kUnload
                                                            : OllamaCall::Kind::kLoad;
    return call;
  }
  if (!msgs->is_array()) return InvalidArgumentError("messages must be an array");
  json messages = json::array();
  std::vector<std::string> pending_ids;  // assistant tool calls not yet answered by a tool message
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& m = (*msgs)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return InvalidArgumentError(where + " must be an object");
    TRY(UnknownKeys(m, {"role", "content", "images", "tool_calls", "thinking", "tool_name"}, where));
    if (!m.contains("role") || !m["role"].is_string()) {
      return InvalidArgumentError(where + ".role must be a string");
    }
    const std::string role = m["role"];
    if (m.contains("content") && !m["content"].is_string() && !m["content"].is_null()) {
      return InvalidArgumentError(where + ".content must be a string");
    }
    const std::string content = m.value("content", json("")).is_string()
                                    ? m.value("content", std::string()) : std::string();
    json o = {{"role", role}};
    json parts = json::array();
    if (m.contains("images")) TRY(MediaParts(m["images"], where + ".images", &parts, &call.media_parts));
    if (parts.empty()) {
      o["content"] = content;
    } else {
      if (!content.empty()) parts.insert(parts.begin(), json{{"type", "text"}, {"text", content}});
      o["content"] = parts;
    }
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      Status s;
      json calls = OpenAiToolCallsFromOllama(m["tool_calls"], where + ".tool_calls",
                                             static_cast<int>(i), &pending_ids, &s);
      TRY(s);
      if (!calls.empty()) o["tool_calls"] = calls;
    }
    if (role == "tool") {
      if (!pending_ids.empty()) {
        o["tool_call_id"] = pending_ids.front();
        pending_ids.erase(pending_ids.begin());
      }
      if (m.contains("tool_name") && m["tool_name"].is_string()) o["name"] = m["tool_name"];
    }
    messages.push_back(std::move(o));
  }
  out["messages"] = std::move(messages);
  return call;
}

Result<OllamaCall> TranslateOllamaGenerate(const json& body) {
  if (!body.is_object()) return InvalidArgumentError("request body must be a JSON object");
  TRY(UnknownKeys(body, {"model", "prompt", "suffix", "system", "template", "context", "stream",
                         "raw", "format", "images", "options", "keep_alive", "think"},
                  "/api/generate"));
  for (const char* key : {"prompt", "suffix", "system", "template"}) {
    if (body.contains(key) && !body[key].is_string() && !body[key].is_null()) {
      return InvalidArgumentError(std::string(key) + " must be a string");
    }
  }
  if (!body.value("suffix", json("")).get<std::string>().empty()) {
    return InvalidArgumentError("suffix (fill-in-the-middle) is not supported");
  }
  if (!body.value("template", json("")).get<std::string>().empty()) {
    return InvalidArgumentError(
        "template is not supported: hearth applies the model's own chat template (use raw: true to "
        "send a prompt as is)");
  }
  if (body.contains("context") && !body["context"].is_null() &&
      !(body["context"].is_array() && body["context"].empty())) {
    return InvalidArgumentError(
        "context (token ids from an earlier reply) is not supported: use /api/chat for several turns");
  }
  bool raw = false;
  if (body.contains("raw") && !body["raw"].is_null()) {
    if (!body["raw"].is_boolean()) return InvalidArgumentError("raw must be a boolean");
    raw = body["raw"].get<bool>();
  }
  OllamaCall call;
  call.chat = false;
  TRY(CommonFields(body, &call));
  json& out = call.openai_body;
  const std::string prompt = body.value("prompt", json("")).is_string()
                                 ? body.value("prompt", std::string()) : std::string();
  const std::string system = body.value("system", json("")).is_string()
                                 ? body.value("system", std::string()) : std::string();
  json parts = json::array();
  if (body.contains("images")) TRY(MediaParts(body["images"], "images", &parts, &call.media_parts));
  if (prompt.empty() && parts.empty()) {
    call.kind = call.keep_alive_s && *call.keep_alive_s == 0 ? OllamaCall::Kind::kUnload
                                                            : OllamaCall::Kind::kLoad;
    return call;
  }
  if (raw) {
    if (!parts.empty()) {
      return InvalidArgumentError("images cannot be sent with raw: true (a raw prompt has no place "
                                  "for media); use the chat template (raw: false)");
    }
    if (!system.empty()) {
      return InvalidArgumentError("system has no effect with raw: true; put it in the prompt");
    }
    call.text_completion = true;
    out["prompt"] = prompt;
    return call;
  }
  json messages = json::array();
  if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
  if (parts.empty()) {
    messages.push_back({{"role", "user"}, {"content", prompt}});
  } else {
    if (!prompt.empty()) parts.insert(parts.begin(), json{{"type", "text"}, {"text", prompt}});
    messages.push_back({{"role", "user"}, {"content", parts}});
  }
  out["messages"] = std::move(messages);
  return call;
}

void ReadStats(const json& o, OllamaStats* stats) {
  if (!o.is_object()) return;
  auto usage = o.find("usage");
  if (usage != o.end() && usage->is_object()) {
    stats->prompt_eval_count = usage->value("prompt_tokens", stats->prompt_eval_count);
    stats->eval_count = usage->value("completion_tokens", stats->eval_count);
  }
  auto t = o.find("x_timings");
  if (t != o.end() && t->is_object()) {
    auto ns = [&](const char* key, int64_t fallback) {
      auto it = t->find(key);
      return it != t->end() && it->is_number() ? static_cast<int64_t>(it->get<double>() * 1e6)
                                               : fallback;
    };
    stats->load_ns = ns("load_ms", stats->load_ns);
    stats->prompt_eval_ns = ns("prompt_ms", stats->prompt_eval_ns);
    stats->eval_ns = ns("decode_ms", stats->eval_ns);
    stats->prompt_eval_count = t->value("prompt_tokens", stats->prompt_eval_count);
    stats->eval_count = t->value("completion_tokens", stats->eval_count);
  }
}

namespace {

void PutStats(const OllamaStats& s, json* o) {
  (*o)["total_duration"] = s.total_ns;
  (*o)["load_duration"] = s.load_ns;
  (*o)["prompt_eval_count"] = s.prompt_eval_count;
  (*o)["prompt_eval_duration"] = s.prompt_eval_ns;
  (*o)["eval_count"] = s.eval_count;
  (*o)["eval_duration"] = s.eval_ns;
}

std::string ContentText(const json& v) { return v.is_string() ? v.get<std::string>() : ""; }

}  // namespace

json OllamaFromResponse(const OllamaCall& call, const json& r, OllamaStats stats) {
  ReadStats(r, &stats);
  json o = {{"model", r.value("model", call.model)}, {"created_at", Rfc3339Nanos(UnixNanosNow())}};
  json choice = json::object();
  if (r.contains("choices") && r["choices"].is_array() && !r["choices"].empty()) {
    choice = r["choices"][0];
  }
  const json message = choice.value("message", json::object());
  const std::string text = choice.contains("text") ? ContentText(choice["text"])
                                                   : ContentText(message.value("content", json()));
  const std::string thinking = ContentText(message.value("reasoning_content", json()));
  if (call.chat) {
    json m = {{"role", "assistant"}, {"content", text}};
    if (!thinking.empty()) m["thinking"] = thinking;
    if (message.contains("tool_calls") && message["tool_calls"].is_array() &&
        !message["tool_calls"].empty()) {
      m["tool_calls"] = OllamaToolCallsFromOpenAi(message["tool_calls"]);
    }
    o["message"] = m;
  } else {
    o["response"] = text;
    if (!thinking.empty()) o["thinking"] = thinking;
  }
  o["done"] = true;
  o["done_reason"] = DoneReason(ContentText(choice.value("finish_reason", json())));
  stats.load_ns = std::max(stats.load_ns, call.acquire_ns);
  PutStats(stats, &o);
  return o;
}

json OllamaLoadReply(const OllamaCall& call, const std::string& model_name) {
  json o = {{"model", model_name}, {"created_at", Rfc3339Nanos(UnixNanosNow())}};
  if (call.chat) o["message"] = {{"role", "assistant"}, {"content", ""}};
  else o["response"] = "";
  o["done"] = true;
  o["done_reason"] = call.kind == OllamaCall::Kind::kUnload ? "unload" : "load";
  return o;
}

json OllamaStreamTranslator::Base() const {
  return {{"model", model_.empty() ? call_.model : model_},
          {"created_at", Rfc3339Nanos(UnixNanosNow())}};
}

std::vector<json> OllamaStreamTranslator::Feed(const json& chunk) {
  std::vector<json> out;
  if (!chunk.is_object()) return out;
  if (chunk.contains("model") && chunk["model"].is_string()) model_ = chunk["model"];
  ReadStats(chunk, &stats_);
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array() || choices->empty()) return out;
  const json& c = (*choices)[0];
  if (c.contains("finish_reason") && c["finish_reason"].is_string()) {
    finish_reason_ = c["finish_reason"];
  }
  const json delta = c.value("delta", json::object());
  const std::string text = c.contains("text") ? ContentText(c["text"])
                                              : ContentText(delta.value("content", json()));
  const std::string thinking = ContentText(delta.value("reasoning_content", json()));
  if (delta.contains("tool_calls") && delta["tool_calls"].is_array()) {
    for (const json& tc : delta["tool_calls"]) {
      const size_t index = tc.value("index", tool_calls_.size());
      while (tool_calls_.size() <= index) {
        tool_calls_.push_back({{"function", {{"name", ""}, {"arguments", ""}}}});
      }
      json& f = tool_calls_[index]["function"];
      const json tf = tc.value("function", json::object());
      if (tf.contains("name") && tf["name"].is_string()) {
        f["name"] = f["name"].get<std::string>() + tf["name"].get<std::string>();
      }
      if (tf.contains("arguments") && tf["arguments"].is_string()) {
        f["arguments"] = f["arguments"].get<std::string>() + tf["arguments"].get<std::string>();
      }
    }
  }
  if (text.empty() && thinking.empty()) return out;
  json o = Base();
  if (call_.chat) {
    json m = {{"role", "assistant"}, {"content", text}};
    if (!thinking.empty()) m["thinking"] = thinking;
    o["message"] = m;
  } else {
    o["response"] = text;
    if (!thinking.empty()) o["thinking"] = thinking;
  }
  o["done"] = false;
  out.push_back(std::move(o));
  return out;
}

json OllamaStreamTranslator::Finish(int64_t total_ns) {
  json o = Base();
  if (call_.chat) {
    json m = {{"role", "assistant"}, {"content", ""}};
    if (!tool_calls_.empty()) m["tool_calls"] = OllamaToolCallsFromOpenAi(tool_calls_);
    o["message"] = m;
  } else {
    o["response"] = "";
  }
  o["done"] = true;
  o["done_reason"] = DoneReason(finish_reason_);
  OllamaStats s = stats_;
  s.total_ns = total_ns;
  s.load_ns = std::max(s.load_ns, call_.acquire_ns);
  PutStats(s, &o);
  return o;
}

json OllamaDetails(const ModelInfo& info) {
  return {{"parent_model", ""},
          {"format", "gguf"},
          {"family", info.family},
          {"families", json::array({info.family})},
          {"parameter_size", info.parameter_size},
          {"quantization_level", info.quantization}};
}

json OllamaTagsEntry(const ModelInfo& info) {
  return {{"name", info.name},
          {"model", info.name},
          {"modified_at", Rfc3339Seconds(info.modified_unix)},
          {"size", info.size_bytes},
          {"digest", info.digest},
          {"details", OllamaDetails(info)}};
}

json OllamaPsEntry(const ModelInfo& info) {
  json o = {{"name", info.name},
            {"model", info.name},
            {"size", info.resident_bytes},
            {"digest", info.digest},
            {"details", OllamaDetails(info)},
            // Far in the future for "never", as Ollama does for keep_alive -1.
            {"expires_at", Rfc3339Seconds(info.expires_unix > 0 ? info.expires_unix
                                                                : int64_t{253402300799})},
            {"size_vram", 0}};
  o["context_length"] = info.n_ctx;
  return o;
}

}  // namespace hearth::server
