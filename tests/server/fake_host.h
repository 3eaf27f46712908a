// A ModelHost / LocalModel that answers from a script instead of an engine, for testing the HTTP
// layer: what it is asked is recorded, and the last user message steers it:
//   "queue-full"  kUnavailable "queue full ..."        "bad-field"  kInvalidArgument
//   "slow"        60 chunks, 20 ms apart               "block"      waits for the cancel flag
//   anything else "Hello", " there" (and a usage chunk when asked)
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/model_host.h"

namespace hearth::server::testing {

using nlohmann::json;

class FakeModel : public LocalModel {
 public:
  explicit FakeModel(std::string name) : name_(std::move(name)) {}
  const std::string& name() const override { return name_; }
  backends::Tier tier() const override { return backends::Tier::kDevice; }
  const std::string& model() const override { return name_; }
  Status Health() override { return Status::Ok(); }

  Result<backends::ChatResult> Complete(const backends::ChatRequest& request,
                                        const backends::ChunkCallback* stream) override {
    std::string last;
    const json& msgs = request.body.value("messages", json::array());
    if (!msgs.empty() && msgs.back().contains("content") && msgs.back()["content"].is_string()) {
      last = msgs.back()["content"];
    }
    return Run(request, stream, last, /*text=*/false);
  }

  Result<backends::ChatResult> CompleteText(const backends::ChatRequest& request,
                                            const backends::ChunkCallback* stream) override {
    return Run(request, stream, request.body.value("prompt", std::string()), /*text=*/true);
  }

  ModelInfo info() const override {
    ModelInfo i;
    i.name = name_;
    i.path = "/models/" + name_ + ".gguf";
    i.size_bytes = 1234;
    i.family = "gemma3";
    i.parameter_size = "1.0B";
    i.quantization = "Q8_0";
    i.digest = "abc123";
    i.loaded = true;
    i.n_ctx = 4096;
    i.load_ms = 250;
    return i;
  }
  json Show() const override {
    return {{"template", "{{ messages }}"}, {"parameters", ""},
            {"model_info", {{"general.architecture", "gemma3"}}},
            {"capabilities", json::array({"completion"})}};
  }
  int64_t CountPromptTokens(const json&) const override { return 10; }
  Load load() const override { return Load{active.load(), 0, 4, 100, 4096}; }

  std::mutex mu;
  std::vector<json> bodies;             // every body received
  std::atomic<int> cancelled_by_callback{0};
  std::atomic<int> cancelled_by_flag{0};
  std::atomic<int> finished{0};
  std::atomic<int> active{0};
  // The engine's confidence in its answers (x_confidence), for the router's second stage.
  std::atomic<double> mean_logprob{-0.2};

 private:
  json Chunk(const std::string& id, bool text, const json& delta_or_text,
             const json& finish) const {
    json choice = {{"index", 0}, {"finish_reason", finish}};
    if (text) choice["text"] = delta_or_text;
    else choice["delta"] = delta_or_text;
    return {{"id", id}, {"object", text ? "text_completion" : "chat.completion.chunk"},
            {"created", 1}, {"model", name_}, {"choices", json::array({choice})}};
  }

  Result<backends::ChatResult> Run(const backends::ChatRequest& request,
                                   const backends::ChunkCallback* stream, const std::string& last,
                                   bool text) {
    {
      std::lock_guard<std::mutex> lock(mu);
      bodies.push_back(request.body);
    }
    if (last == "queue-full") return UnavailableError("queue full: 64 requests are waiting");
    if (last == "bad-field") return InvalidArgumentError("temperature must be a number");
    ++active;
    struct Done {
      FakeModel* m;
      ~Done() { --m->active; ++m->finished; }
    } done{this};
    std::vector<std::string> pieces = {"Hello", " there"};
    int delay_ms = 0;
    if (last == "slow") {
      pieces.assign(60, "tok ");
      delay_ms = 20;
    }
    if (last == "block") {
      while (request.cancel == nullptr || !*request.cancel) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      ++cancelled_by_flag;
      return CancelledError("cancelled");
    }
    const json timings = {{"prompt_tokens", 7}, {"cached_tokens", 0},
                          {"completion_tokens", static_cast<int>(pieces.size())},
                          {"queue_ms", 1.0}, {"prompt_ms", 2.0}, {"decode_ms", 3.0},
                          {"load_ms", 0.0}};
    const json usage = {{"prompt_tokens", 7},
                        {"completion_tokens", static_cast<int>(pieces.size())},
                        {"total_tokens", 7 + static_cast<int>(pieces.size())},
                        {"prompt_tokens_details", {{"cached_tokens", 0}}}};
    std::string all;
    for (const std::string& p : pieces) all += p;
    if (stream != nullptr) {
      if (!text && !(*stream)(Chunk("c1", false, {{"role", "assistant"}, {"content", ""}}, nullptr))) {
        ++cancelled_by_callback;
        return CancelledError("client gone");
      }
      for (size_t i = 0; i < pieces.size(); ++i) {
        if (delay_ms) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
        if (request.cancel != nullptr && *request.cancel) {
          ++cancelled_by_flag;
          return CancelledError("cancelled");
        }
        const bool last_piece = i + 1 == pieces.size();
        json c = text ? Chunk("c1", true, pieces[i], last_piece ? json("stop") : json())
                      : Chunk("c1", false, {{"content", pieces[i]}},
                              last_piece ? json("stop") : json());
        if (last_piece) c["x_timings"] = timings;
        if (!(*stream)(c)) {
          ++cancelled_by_callback;
          return CancelledError("client gone");
        }
      }
      const json opts = request.body.value("stream_options", json::object());
      if (opts.is_object() && opts.value("include_usage", false)) {
        json u = {{"id", "c1"}, {"object", "chat.completion.chunk"}, {"created", 1},
                  {"model", name_}, {"choices", json::array()}, {"usage", usage}};
        if (!(*stream)(u)) return CancelledError("client gone");
      }
    }
    backends::ChatResult r;
    json choice = {{"index", 0}, {"finish_reason", "stop"}};
    if (text) choice["text"] = all;
    else choice["message"] = {{"role", "assistant"}, {"content", all}};
    r.response = {{"id", "c1"}, {"object", text ? "text_completion" : "chat.completion"},
                  {"created", 1}, {"model", name_}, {"choices", json::array({choice})},
                  {"usage", usage}, {"x_timings", timings},
                  {"x_confidence", {{"mean_logprob", mean_logprob.load()}, {"mean_entropy", 1.0},
                                    {"tokens", pieces.size()}}}};
    r.usage = {7, static_cast<int64_t>(pieces.size())};
    r.backend = name_;
    r.model = name_;
    return r;
  }

  std::string name_;
};

class FakeHost : public ModelHost {
 public:
  FakeHost() {
    models_["tiny"] = std::make_shared<FakeModel>("tiny");
    models_["other"] = std::make_shared<FakeModel>("other");
  }
  std::vector<ModelInfo> List() const override {
    std::vector<ModelInfo> out;
    for (const auto& [n, m] : models_) out.push_back(m->info());
    ModelInfo huge;
    huge.name = "huge";
    out.push_back(huge);
    return out;
  }
  std::vector<ModelInfo> Running() const override { return {models_.at("tiny")->info()}; }
  Result<std::shared_ptr<LocalModel>> Acquire(const std::string& name,
                                              std::optional<double> keep_alive_s) override {
    std::lock_guard<std::mutex> lock(mu);
    last_keep_alive = keep_alive_s;
    const std::string n = name.empty() ? "tiny" : name;
    if (n == "huge") {
      return ResourceExhaustedError("huge needs 80 GiB; 16 GiB available");
    }
    auto it = models_.find(n);
    if (it == models_.end()) return NotFoundError("model \"" + n + "\" not found; have: tiny, other");
    return std::shared_ptr<LocalModel>(it->second);
  }
  Status Unload(const std::string& name) override {
    std::lock_guard<std::mutex> lock(mu);
    unloaded.push_back(name);
    return Status::Ok();
  }
  bool Ready() const override { return ready; }
  std::string DefaultModel() const override { return "tiny"; }

  FakeModel& model(const std::string& name) { return *models_.at(name); }

  std::atomic<bool> ready{true};
  std::mutex mu;
  std::optional<double> last_keep_alive;
  std::vector<std::string> unloaded;

 private:
  std::map<std::string, std::shared_ptr<FakeModel>> models_;
};

}  // namespace hearth::server::testing
