// OpenAI Chat Completions: the request passes through with the configured model; streamed chunks
// are forwarded (normalised: usage kept apart, tolerant of usage on a chunk with choices).
#include "backends/adapters.h"
#include "backends/openai_shapes.h"

namespace hearth::backends {
namespace {

using nlohmann::json;

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

class OpenAiStream : public StreamTranslator {
 public:
  Status OnEvent(const SseEvent& event, const Emit& emit) override {
    if (event.data == "[DONE]") {
      done_ = true;
      return Status::Ok();
    }
    if (event.data.empty()) return Status::Ok();
    json chunk = json::parse(event.data, nullptr, false);
    if (chunk.is_discarded() || !chunk.is_object()) {
      return UnavailableError("malformed JSON in stream event (" +
                              std::to_string(event.data.size()) + " bytes)");
    }
    if (chunk.contains("error")) {
      return UnavailableError("error in stream: " + ErrorMessageFromBody(event.data));
    }
    if (chunk.contains("choices") && chunk["choices"].is_array()) {
      for (const json& c : chunk["choices"]) {
        if (c.is_object() && c.contains("finish_reason") && c["finish_reason"].is_string()) {
          saw_finish_ = true;
        }
      }
    }
    chunk["object"] = "chat.completion.chunk";
    if (!emit(std::move(chunk))) return CancelledError("the client stopped reading the stream");
    return Status::Ok();
  }
  // Some servers close without "[DONE]" after the finishing chunk; that is still complete.
  bool complete() const override { return done_ || saw_finish_; }

 private:
  bool done_ = false;
  bool saw_finish_ = false;
};

class OpenAiBackend : public HttpBackend {
 public:
  using HttpBackend::HttpBackend;

 protected:
  Result<WireRequest> BuildRequest(const json& openai_body, bool stream) const override {
    WireRequest wire;
    wire.url = TrimSlash(config_.url) + "/chat/completions";
    wire.body = openai_body;
    std::string model = ModelFor(openai_body);
    if (model.empty()) return InvalidArgumentError("request has no model and the backend sets none");
    wire.body["model"] = model;
    if (stream) {
      wire.body["stream"] = true;
      wire.body["stream_options"]["include_usage"] = true;  // the ledger needs the counts
    } else {
      wire.body.erase("stream");
      wire.body.erase("stream_options");
    }
    return wire;
  }

  Result<json> ParseReply(const json& reply) const override {
    if (!reply.is_object()) return UnavailableError("reply is not a JSON object");
    if (reply.contains("error")) return UnavailableError("error in reply: " + reply["error"].dump());
    auto choices = reply.find("choices");
    if (choices == reply.end() || !choices->is_array() || choices->empty()) {
      return UnavailableError("reply has no choices");
    }
    json out = reply;
    out["object"] = "chat.completion";
    return out;
  }

  std::unique_ptr<StreamTranslator> NewStreamTranslator(const std::string&) const override {
    return std::make_unique<OpenAiStream>();
  }

  std::vector<std::pair<std::string, std::string>> AuthHeaders() const override {
    if (api_key_.empty()) return {};
    return {{"Authorization", "Bearer " + api_key_}};
  }
};

}  // namespace

std::unique_ptr<HttpBackend> NewOpenAiBackend(BackendConfig config, std::string api_key,
                                              std::shared_ptr<const HttpClient> client) {
  return std::make_unique<OpenAiBackend>(std::move(config), std::move(api_key), std::move(client));
}

}  // namespace hearth::backends
