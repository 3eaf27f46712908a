// Anthropic Messages API (POST {url}/messages, x-api-key, anthropic-version) translated to and
// from OpenAI Chat Completions, streaming events included.
#include <algorithm>

#include "backends/adapters.h"
#include "backends/content_parts.h"
#include "backends/openai_shapes.h"
#include "core/clock.h"

namespace hearth::backends {
namespace {

using nlohmann::json;

constexpr char kAnthropicVersion[] = "2023-06-01";

std::string FinishFromStopReason(const std::string& reason) {
  if (reason == "max_tokens") return "length";
  if (reason == "tool_use") return "tool_calls";
  if (reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn
}

Result<json> BlocksFromContent(const json& content, const std::string& where) {
  ASSIGN_OR_RETURN(std::vector<ContentPart> parts, ReadContentParts(content, where));
  json blocks = json::array();
  for (const ContentPart& p : parts) {
    switch (p.kind) {
      case ContentPart::Kind::kText:
        if (!p.text.empty()) blocks.push_back({{"type", "text"}, {"text", p.text}});
        break;
      case ContentPart::Kind::kImage:
        if (!p.base64.empty()) {
          blocks.push_back({{"type", "image"},
                            {"source", {{"type", "base64"}, {"media_type", p.media_type},
                                        {"data", p.base64}}}});
        } else {
          blocks.push_back({{"type", "image"}, {"source", {{"type", "url"}, {"url", p.url}}}});
        }
        break;
      case ContentPart::Kind::kAudio:
        return InvalidArgumentError(where + ": the Anthropic Messages API does not accept audio");
    }
  }
  return blocks;
}

// Appends `blocks` as a message of `role`, merging with the previous message of the same role
// (the Messages API wants user and assistant turns to alternate).
void AppendTurn(json& messages, const std::string& role, json blocks) {
  if (blocks.empty()) return;
  if (!messages.empty() && messages.back()["role"] == role) {
    for (json& b : blocks) messages.back()["content"].push_back(std::move(b));
    return;
  }
  messages.push_back({{"role", role}, {"content", std::move(blocks)}});
}

class AnthropicStream : public StreamTranslator {
 public:
  explicit AnthropicStream(std::string model) : model_(std::move(model)) {}

  Status OnEvent(const SseEvent& event, const Emit& emit) override {
    json data = json::parse(event.data, nullptr, false);
    if (data.is_discarded() || !data.is_object()) {
      return UnavailableError("malformed JSON in stream event \"" + event.event + "\"");
    }
    std::string type = event.event.empty() ? data.value("type", "") : event.event;
    auto send = [&](json delta, const std::string& finish = "") -> Status {
      if (!emit(MakeChunk(id_, created_, model_, std::move(delta), finish))) {
        return CancelledError("the client stopped reading the stream");
      }
      return Status::Ok();
    };
    if (type == "message_start") {
      const json& m = data.value("message", json::object());
      id_ = m.value("id", "msg");
      if (m.contains("model") && m["model"].is_string()) model_ = m["model"];
      usage_.prompt_tokens = InputTokens(m.value("usage", json::object()));
      return send({{"role", "assistant"}, {"content", ""}});
    }
    if (type == "content_block_start") {
      const json& block = data.value("content_block", json::object());
      int index = data.value("index", 0);
      std::string block_type = block.value("type", "");
      if (block_type == "tool_use") {
        int tool_index = static_cast<int>(tool_index_of_block_.size());
        tool_index_of_block_.emplace_back(index, tool_index);
        return send({{"tool_calls", json::array({{{"index", tool_index},
                                                  {"id", block.value("id", "")},
                                                  {"type", "function"},
                                                  {"function", {{"name", block.value("name", "")},
                                                                {"arguments", ""}}}}})}});
      }
      if (block_type == "text" && !block.value("text", "").empty()) {
        return send({{"content", block.value("text", "")}});
      }
      return Status::Ok();
    }
    if (type == "content_block_delta") {
      const json& delta = data.value("delta", json::object());
      std::string delta_type = delta.value("type", "");
      if (delta_type == "text_delta") return send({{"content", delta.value("text", "")}});
      if (delta_type == "thinking_delta") {
        return send({{"reasoning_content", delta.value("thinking", "")}});
      }
      if (delta_type == "input_json_delta") {
        int index = data.value("index", 0);
        for (auto [block, tool] : tool_index_of_block_) {
          if (block != index) continue;
          return send({{"tool_calls", json::array({{{"index", tool},
                                                    {"function", {{"arguments",
                                                                   delta.value("partial_json", "")}}}}})}});
        }
      }
      return Status::Ok();
    }
    if (type == "message_delta") {
      const json& usage = data.value("usage", json::object());
      if (usage.contains("output_tokens")) usage_.completion_tokens = usage.value("output_tokens", int64_t{0});
      const json& delta = data.value("delta", json::object());
      if (delta.contains("stop_reason") && delta["stop_reason"].is_string()) {
        return send(json::object(), FinishFromStopReason(delta["stop_reason"]));
      }
      return Status::Ok();
    }
    if (type == "message_stop") {
      done_ = true;
      if (!emit(MakeUsageChunk(id_, created_, model_, usage_))) {
        return CancelledError("the client stopped reading the stream");
      }
      return Status::Ok();
    }
    if (type == "error") {
      const json& e = data.value("error", json::object());
      std::string etype = e.value("type", "error");
      std::string message = etype + ": " + e.value("message", "");
      if (etype == "rate_limit_error") return RateLimitedError("in stream: " + message, std::nullopt);
      if (etype == "invalid_request_error") return InvalidArgumentError("in stream: " + message);
      return UnavailableError("in stream: " + message);
    }
    return Status::Ok();  // ping, content_block_stop, unknown future events
  }
  bool complete() const override { return done_; }

  static int64_t InputTokens(const json& usage) {
    return usage.value("input_tokens", int64_t{0}) +
           usage.value("cache_creation_input_tokens", int64_t{0}) +
           usage.value("cache_read_input_tokens", int64_t{0});
  }

 private:
  std::string id_ = "msg";
  int64_t created_ = UnixSeconds();
  std::string model_;
  Usage usage_;
  std::vector<std::pair<int, int>> tool_index_of_block_;
  bool done_ = false;
};

class AnthropicBackend : public HttpBackend {
 public:
  using HttpBackend::HttpBackend;

 protected:
  Result<WireRequest> BuildRequest(const json& body, bool stream) const override {
    WireRequest wire;
    std::string url = config_.url;
    while (!url.empty() && url.back() == '/') url.pop_back();
    wire.url = url + "/messages";
    std::string model = ModelFor(body);
    if (model.empty()) return InvalidArgumentError("request has no model and the backend sets none");
    ASSIGN_OR_RETURN(wire.body, AnthropicRequestFromOpenAi(body, model, config_.max_tokens, stream));
    wire.headers.emplace_back("anthropic-version", kAnthropicVersion);
    return wire;
  }
  Result<json> ParseReply(const json& reply) const override { return OpenAiFromAnthropicReply(reply); }
  std::unique_ptr<StreamTranslator> NewStreamTranslator(const std::string& model) const override {
    return std::make_unique<AnthropicStream>(model);
  }
  std::vector<std::pair<std::string, std::string>> AuthHeaders() const override {
    if (api_key_.empty()) return {};
    return {{"x-api-key", api_key_}};
  }
};

}  // namespace

Result<json> AnthropicRequestFromOpenAi(const json& body, const std::string& model,
                                        int64_t default_max_tokens, bool stream) {
  const json& in = body.contains("messages") ? body["messages"] : json();
  if (!in.is_array() || in.empty()) return InvalidArgumentError("messages must be a non-empty array");
  std::string system;
  json messages = json::array();
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
      ASSIGN_OR_RETURN(json blocks, BlocksFromContent(content, where + ".content"));
      AppendTurn(messages, "user", std::move(blocks));
    } else if (role == "assistant") {
      ASSIGN_OR_RETURN(json blocks, BlocksFromContent(content, where + ".content"));
      if (m.contains("tool_calls") && m["tool_calls"].is_array()) {
        for (const json& call : m["tool_calls"]) {
          const json& fn = call.value("function", json::object());
          json input = json::parse(fn.value("arguments", "{}"), nullptr, false);
          if (input.is_discarded() || !input.is_object()) {
            return InvalidArgumentError(where + ": tool call arguments are not a JSON object");
          }
          blocks.push_back({{"type", "tool_use"}, {"id", call.value("id", "")},
                            {"name", fn.value("name", "")}, {"input", input}});
        }
      }
      AppendTurn(messages, "assistant", std::move(blocks));
    } else if (role == "tool") {
      ASSIGN_OR_RETURN(std::string text, ReadTextOnly(content, where + ".content"));
      AppendTurn(messages, "user",
                 json::array({{{"type", "tool_result"}, {"tool_use_id", m.value("tool_call_id", "")},
                               {"content", text}}}));
    } else {
      return InvalidArgumentError(where + ": unknown role \"" + role + "\"");
    }
  }
  if (messages.empty()) return InvalidArgumentError("no user or assistant message with content");

  json out = {{"model", model}, {"messages", std::move(messages)}};
  int64_t max_tokens = default_max_tokens;
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    if (body.contains(key) && body[key].is_number_integer()) {
      max_tokens = body[key].get<int64_t>();
      break;
    }
  }
  out["max_tokens"] = max_tokens;
  if (!system.empty()) out["system"] = system;
  if (body.contains("temperature") && body["temperature"].is_number()) {
    // OpenAI allows 0..2, Anthropic 0..1.
    out["temperature"] = std::min(1.0, body["temperature"].get<double>());
  }
  if (body.contains("top_p") && body["top_p"].is_number()) out["top_p"] = body["top_p"];
  if (body.contains("top_k") && body["top_k"].is_number_integer()) out["top_k"] = body["top_k"];
  if (body.contains("stop")) {
    const json& stop = body["stop"];
    if (stop.is_string()) out["stop_sequences"] = json::array({stop});
    else if (stop.is_array()) out["stop_sequences"] = stop;
  }
  if (body.contains("tools") && body["tools"].is_array() && !body["tools"].empty()) {
    json tools = json::array();
    for (const json& t : body["tools"]) {
      const json& fn = t.value("function", json::object());
      json tool = {{"name", fn.value("name", "")},
                   {"input_schema", fn.value("parameters", json{{"type", "object"}})}};
      if (fn.contains("description")) tool["description"] = fn["description"];
      tools.push_back(std::move(tool));
    }
    out["tools"] = std::move(tools);
    if (body.contains("tool_choice")) {
      const json& tc = body["tool_choice"];
      json choice;
      if (tc == "auto") choice = {{"type", "auto"}};
      else if (tc == "required") choice = {{"type", "any"}};
      else if (tc == "none") choice = {{"type", "none"}};
      else if (tc.is_object()) choice = {{"type", "tool"}, {"name", tc.value("function", json::object()).value("name", "")}};
      if (!choice.is_null()) {
        if (body.value("parallel_tool_calls", true) == false && choice["type"] != "none") {
          choice["disable_parallel_tool_use"] = true;
        }
        out["tool_choice"] = std::move(choice);
      }
    }
  }
  if (body.contains("user") && body["user"].is_string()) out["metadata"] = {{"user_id", body["user"]}};
  if (stream) out["stream"] = true;
  return out;
}

Result<json> OpenAiFromAnthropicReply(const json& reply) {
  if (!reply.is_object()) return UnavailableError("reply is not a JSON object");
  if (reply.value("type", "") == "error") {
    return UnavailableError("error in reply: " + reply.value("error", json::object()).value("message", ""));
  }
  if (!reply.contains("content") || !reply["content"].is_array()) {
    return UnavailableError("reply has no content array");
  }
  std::string text, thinking;
  json tool_calls = json::array();
  for (const json& block : reply["content"]) {
    std::string type = block.value("type", "");
    if (type == "text") text += block.value("text", "");
    else if (type == "thinking") thinking += block.value("thinking", "");
    else if (type == "tool_use") {
      tool_calls.push_back({{"id", block.value("id", "")}, {"type", "function"},
                            {"function", {{"name", block.value("name", "")},
                                          {"arguments", block.value("input", json::object()).dump()}}}});
    }
  }
  json message = {{"role", "assistant"}, {"content", text}};
  if (!thinking.empty()) message["reasoning_content"] = thinking;
  if (!tool_calls.empty()) {
    message["tool_calls"] = tool_calls;
    if (text.empty()) message["content"] = nullptr;
  }
  std::string stop_reason = reply.contains("stop_reason") && reply["stop_reason"].is_string()
                                ? reply["stop_reason"].get<std::string>() : "end_turn";
  Usage usage;
  const json& u = reply.value("usage", json::object());
  usage.prompt_tokens = AnthropicStream::InputTokens(u);
  usage.completion_tokens = u.value("output_tokens", int64_t{0});
  return json{{"id", reply.value("id", "msg")}, {"object", "chat.completion"}, {"created", UnixSeconds()},
              {"model", reply.value("model", "")},
              {"choices", json::array({{{"index", 0}, {"message", message},
                                        {"finish_reason", FinishFromStopReason(stop_reason)}}})},
              {"usage", UsageJson(usage)}};
}

std::unique_ptr<HttpBackend> NewAnthropicBackend(BackendConfig config, std::string api_key,
                                                 std::shared_ptr<const HttpClient> client) {
  return std::make_unique<AnthropicBackend>(std::move(config), std::move(api_key), std::move(client));
}

}  // namespace hearth::backends
