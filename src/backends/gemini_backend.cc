// Gemini generateContent / streamGenerateContent?alt=sse (key in x-goog-api-key, never in the
// URL) translated to and from OpenAI Chat Completions.
#include <map>

#include "backends/adapters.h"
#include "backends/content_parts.h"
#include "backends/openai_shapes.h"
#include "core/clock.h"

namespace hearth::backends {
namespace {

using nlohmann::json;

std::string FinishFromGemini(const std::string& reason) {
  if (reason == "STOP") return "stop";
  if (reason == "MAX_TOKENS") return "length";
  if (reason == "SAFETY" || reason == "RECITATION" || reason == "BLOCKLIST" ||
      reason == "PROHIBITED_CONTENT" || reason == "SPII" || reason == "IMAGE_SAFETY") {
    return "content_filter";
  }
  return "stop";
}

Usage UsageFromGemini(const json& meta) {
  Usage u;
  if (!meta.is_object()) return u;
  u.prompt_tokens = meta.value("promptTokenCount", int64_t{0});
  u.completion_tokens = meta.value("candidatesTokenCount", int64_t{0}) +
                        meta.value("thoughtsTokenCount", int64_t{0});
  return u;
}

Result<json> PartsFromContent(const json& content, const std::string& where) {
  ASSIGN_OR_RETURN(std::vector<ContentPart> parts, ReadContentParts(content, where));
  json out = json::array();
  for (const ContentPart& p : parts) {
    if (p.kind == ContentPart::Kind::kText) {
      if (!p.text.empty()) out.push_back({{"text", p.text}});
    } else if (p.base64.empty()) {
      return InvalidArgumentError(where + ": Gemini needs images inline (a data: URL), not " +
                                  p.url.substr(0, p.url.find(':')) + " URLs");
    } else {
      out.push_back({{"inline_data", {{"mime_type", p.media_type}, {"data", p.base64}}}});
    }
  }
  return out;
}

void AppendContent(json& contents, const std::string& role, json parts) {
  if (parts.empty()) return;
  if (!contents.empty() && contents.back()["role"] == role) {
    for (json& p : parts) contents.back()["parts"].push_back(std::move(p));
    return;
  }
  contents.push_back({{"role", role}, {"parts", std::move(parts)}});
}

class GeminiStream : public StreamTranslator {
 public:
  explicit GeminiStream(std::string model) : model_(std::move(model)) {}

  Status OnEvent(const SseEvent& event, const Emit& emit) override {
    json data = json::parse(event.data, nullptr, false);
    if (data.is_array() && data.size() == 1) data = data[0];
    if (data.is_discarded() || !data.is_object()) {
      return UnavailableError("malformed JSON in stream event (" + std::to_string(event.data.size()) + " bytes)");
    }
    if (data.contains("error")) {
      const json& e = data["error"];
      return StatusForHttp(e.value("code", 500), "in stream: " + e.value("message", ""), std::nullopt);
    }
    auto send = [&](json delta, const std::string& finish = "") -> Status {
      if (!emit(MakeChunk(id_, created_, model_, std::move(delta), finish))) {
        return CancelledError("the client stopped reading the stream");
      }
      return Status::Ok();
    };
    if (data.contains("responseId") && data["responseId"].is_string()) id_ = data["responseId"];
    if (data.contains("usageMetadata")) usage_ = UsageFromGemini(data["usageMetadata"]);
    if (!started_) {
      started_ = true;
      TRY(send({{"role", "assistant"}, {"content", ""}}));
    }
    const json& candidates = data.value("candidates", json::array());
    if (!candidates.is_array() || candidates.empty()) {
      if (data.contains("promptFeedback") && data["promptFeedback"].contains("blockReason")) {
        done_ = true;
        return send(json::object(), "content_filter");
      }
      return Status::Ok();
    }
    const json& candidate = candidates[0];
    const json& parts = candidate.value("content", json::object()).value("parts", json::array());
    for (const json& part : parts) {
      if (part.contains("text") && part["text"].is_string()) {
        bool thought = part.value("thought", false);
        TRY(send({{thought ? "reasoning_content" : "content", part["text"]}}));
      } else if (part.contains("functionCall")) {
        const json& fc = part["functionCall"];
        int index = tool_calls_++;
        TRY(send({{"tool_calls", json::array({{{"index", index},
                                               {"id", "call_" + std::to_string(index)},
                                               {"type", "function"},
                                               {"function", {{"name", fc.value("name", "")},
                                                             {"arguments", fc.value("args", json::object()).dump()}}}}})}}));
      }
    }
    if (candidate.contains("finishReason") && candidate["finishReason"].is_string()) {
      done_ = true;
      std::string finish = tool_calls_ > 0 ? "tool_calls" : FinishFromGemini(candidate["finishReason"]);
      return send(json::object(), finish);
    }
    return Status::Ok();
  }
  bool complete() const override { return done_; }
  Status OnEnd(const Emit& emit) override {
    if (!emit(MakeUsageChunk(id_, created_, model_, usage_))) {
      return CancelledError("the client stopped reading the stream");
    }
    return Status::Ok();
  }

 private:
  std::string id_ = "gemini";
  int64_t created_ = UnixSeconds();
  std::string model_;
  Usage usage_;
  bool started_ = false;
  bool done_ = false;
  int tool_calls_ = 0;
};

class GeminiBackend : public HttpBackend {
 public:
  using HttpBackend::HttpBackend;

 protected:
  Result<WireRequest> BuildRequest(const json& body, bool stream) const override {
    std::string model = ModelFor(body);
    if (model.empty()) return InvalidArgumentError("request has no model and the backend sets none");
    if (model.rfind("models/", 0) == 0) model = model.substr(7);
    std::string url = config_.url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    WireRequest wire;
    wire.url = url + "/models/" + model +
               (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
    ASSIGN_OR_RETURN(wire.body, GeminiRequestFromOpenAi(body, 0));
    return wire;
  }
  Result<json> ParseReply(const json& reply) const override {
    return OpenAiFromGeminiReply(reply, config_.model);
  }
  std::unique_ptr<StreamTranslator> NewStreamTranslator(const std::string& model) const override {
    return std::make_unique<GeminiStream>(model);
  }
  std::vector<std::pair<std::string, std::string>> AuthHeaders() const override {
    if (api_key_.empty()) return {};
    return {{"x-goog-api-key", api_key_}};
  }
};

}  // namespace

Result<json> GeminiRequestFromOpenAi(const json& body, int64_t default_max_tokens) {
  const json& in = body.contains("messages") ? body["messages"] : json();
  if (!in.is_array() || in.empty()) return InvalidArgumentError("messages must be a non-empty array");
  std::string system;
  json contents = json::array();
  std::map<std::string, std::string> tool_names;  // tool_call_id -> function name
  for (size_t i = 0; i < in.size(); ++i) {
    const json& m = in[i];
    std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) {
      return InvalidArgumentError(where + ": needs a string role");
    }
    std::string role = m["role"];
    const json& content = m.contains("content") ? m["content"] : json();
    if (role == "system" || role == "developer") {
      ASSIGN_OR_RETURN(std::string text, ReadTextOnly(content, where + ".content"));
      if (!system.empty()) system += "\n\n";
      system += text;
    } else if (role == "user") {
      ASSIGN_OR_RETURN(json parts, PartsFromContent(content, where + ".content"));
      AppendContent(contents, "user", std::move(parts));
    } else if (role == "assistant") {
      ASSIGN_OR_RETURN(json parts, PartsFromContent(content, where + ".content"));
      if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
        for (const json& call : m["tool_calls"]) {
          const json& fn = call.value("function", json::object());
          json args = json::parse(fn.value("arguments", "{}"), nullptr, false);
          if (args.is_discarded() || !args.is_object()) {
            return InvalidArgumentError(where + ": tool call arguments are not a JSON object");
          }
          tool_names[call.value("id", "")] = fn.value("name", "");
          parts.push_back({{"functionCall", {{"name", fn.value("name", "")}, {"args", args}}}});
        }
      }
      AppendContent(contents, "model", std::move(parts));
    } else if (role == "tool") {
      ASSIGN_OR_RETURN(std::string text, ReadTextOnly(content, where + ".content"));
      auto it = tool_names.find(m.value("tool_call_id", ""));
      if (it == tool_names.end()) {
        return InvalidArgumentError(where + ": tool_call_id matches no earlier tool call");
      }
      AppendContent(contents, "user", json::array({{{"functionResponse",
                                                     {{"name", it->second},
                                                      {"response", {{"content", text}}}}}}}));
    } else {
      return InvalidArgumentError(where + ": unknown role \"" + role + "\"");
    }
  }
  if (contents.empty()) return InvalidArgumentError("no user or assistant message with content");
  json out = {{"contents", std::move(contents)}};
  if (!system.empty()) out["systemInstruction"] = {{"parts", json::array({{{"text", system}}})}};
  json config = json::object();
  if (body.contains("temperature") && body["temperature"].is_number()) config["temperature"] = body["temperature"];
  if (body.contains("top_p") && body["top_p"].is_number()) config["topP"] = body["top_p"];
  if (body.contains("top_k") && body["top_k"].is_number_integer()) config["topK"] = body["top_k"];
  if (body.contains("seed") && body["seed"].is_number_integer()) config["seed"] = body["seed"];
  int64_t max_tokens = default_max_tokens;
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (body.contains(key) && body[key].is_number_integer()) {
      max_tokens = body[key].get<int64_t>();
      break;
    }
  }
  if (max_tokens > 0) config["maxOutputTokens"] = max_tokens;
  if (body.contains("stop")) {
    const json& stop = body["stop"];
    if (stop.is_string()) config["stopSequences"] = json::array({stop});
    else if (stop.is_array()) config["stopSequences"] = stop;
  }
  if (body.contains("response_format") && body["response_format"].is_object()) {
    std::string type = body["response_format"].value("type", "");
    if (type == "json_object" || type == "json_schema") config["responseMimeType"] = "application/json";
  }
  if (!config.empty()) out["generationConfig"] = std::move(config);
  if (body.contains("tools") && body["tools"].is_array() && !body["tools"].empty()) {
    json decls = json::array();
    for (const json& t : body["tools"]) {
      const json& fn = t.value("function", json::object());
      json decl = {{"name", fn.value("name", "")}};
      if (fn.contains("description")) decl["description"] = fn["description"];
      if (fn.contains("parameters")) decl["parameters"] = fn["parameters"];
      decls.push_back(std::move(decl));
    }
    out["tools"] = json::array({{{"functionDeclarations", std::move(decls)}}});
    if (body.contains("tool_choice")) {
      const json& tc = body["tool_choice"];
      json fcc;
      if (tc == "auto") fcc = {{"mode", "AUTO"}};
      else if (tc == "required") fcc = {{"mode", "ANY"}};
      else if (tc == "none") fcc = {{"mode", "NONE"}};
      else if (tc.is_object()) {
        fcc = {{"mode", "ANY"},
               {"allowedFunctionNames", json::array({tc.value("function", json::object()).value("name", "")})}};
      }
      if (!fcc.is_null()) out["toolConfig"] = {{"functionCallingConfig", fcc}};
    }
  }
  return out;
}

Result<json> OpenAiFromGeminiReply(const json& reply, const std::string& model) {
  if (!reply.is_object()) return UnavailableError("reply is not a JSON object");
  if (reply.contains("error")) {
    const json& e = reply["error"];
    return StatusForHttp(e.value("code", 500), e.value("message", ""), std::nullopt);
  }
  std::string text, thinking, finish = "stop";
  json tool_calls = json::array();
  const json& candidates = reply.value("candidates", json::array());
  if (!candidates.is_array() || candidates.empty()) {
    if (!reply.contains("promptFeedback")) return UnavailableError("reply has no candidates");
    finish = "content_filter";
  } else {
    const json& candidate = candidates[0];
    const json& parts = candidate.value("content", json::object()).value("parts", json::array());
    for (const json& part : parts) {
      if (part.contains("text") && part["text"].is_string()) {
        (part.value("thought", false) ? thinking : text) += part["text"].get<std::string>();
      } else if (part.contains("functionCall")) {
        const json& fc = part["functionCall"];
        tool_calls.push_back({{"id", "call_" + std::to_string(tool_calls.size())}, {"type", "function"},
                              {"function", {{"name", fc.value("name", "")},
                                            {"arguments", fc.value("args", json::object()).dump()}}}});
      }
    }
    finish = FinishFromGemini(candidate.value("finishReason", "STOP"));
  }
  json message = {{"role", "assistant"}, {"content", text}};
  if (!thinking.empty()) message["reasoning_content"] = thinking;
  if (!tool_calls.empty()) {
    message["tool_calls"] = tool_calls;
    if (text.empty()) message["content"] = nullptr;
    finish = "tool_calls";
  }
  Usage usage = UsageFromGemini(reply.value("usageMetadata", json::object()));
  return json{{"id", reply.value("responseId", "gemini")}, {"object", "chat.completion"},
              {"created", UnixSeconds()}, {"model", reply.value("modelVersion", model)},
              {"choices", json::array({{{"index", 0}, {"message", message}, {"finish_reason", finish}}})},
              {"usage", UsageJson(usage)}};
}

std::unique_ptr<HttpBackend> NewGeminiBackend(BackendConfig config, std::string api_key,
                                              std::shared_ptr<const HttpClient> client) {
  return std::make_unique<GeminiBackend>(std::move(config), std::move(api_key), std::move(client));
}

}  // namespace hearth::backends
