#include "backends/openai_shapes.h"

#include <chrono>

#include "core/clock.h"

namespace hearth::backends {

using nlohmann::json;

json UsageJson(const Usage& usage) {
  return {{"prompt_tokens", usage.prompt_tokens},
          {"completion_tokens", usage.completion_tokens},
          {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

json MakeChunk(const std::string& id, int64_t created, const std::string& model, json delta,
               const std::string& finish_reason) {
  json choice = {{"index", 0}, {"delta", std::move(delta)},
                 {"finish_reason", finish_reason.empty() ? json(nullptr) : json(finish_reason)}};
  return {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
          {"model", model}, {"choices", json::array({std::move(choice)})}};
}

json MakeUsageChunk(const std::string& id, int64_t created, const std::string& model,
                    const Usage& usage) {
  return {{"id", id}, {"object", "chat.completion.chunk"}, {"created", created},
          {"model", model}, {"choices", json::array()}, {"usage", UsageJson(usage)}};
}

bool IsUsageOnlyChunk(const json& chunk) {
  auto it = chunk.find("choices");
  bool no_choices = it == chunk.end() || it->is_null() || (it->is_array() && it->empty());
  auto u = chunk.find("usage");
  return no_choices && u != chunk.end() && u->is_object();
}

Usage UsageFromOpenAi(const json& usage) {
  Usage u;
  if (!usage.is_object()) return u;
  if (auto it = usage.find("prompt_tokens"); it != usage.end() && it->is_number_integer()) {
    u.prompt_tokens = it->get<int64_t>();
  }
  if (auto it = usage.find("completion_tokens"); it != usage.end() && it->is_number_integer()) {
    u.completion_tokens = it->get<int64_t>();
  }
  return u;
}

void ChunkAssembler::Add(const json& chunk) {
  if (!chunk.is_object()) return;
  if (id_.empty() && chunk.contains("id") && chunk["id"].is_string()) id_ = chunk["id"];
  if (model_.empty() && chunk.contains("model") && chunk["model"].is_string()) model_ = chunk["model"];
  if (created_ == 0 && chunk.contains("created") && chunk["created"].is_number_integer()) {
    created_ = chunk["created"];
  }
  if (auto u = chunk.find("usage"); u != chunk.end() && u->is_object()) {
    usage_ = UsageFromOpenAi(*u);
    has_usage_ = true;
  }
  auto choices = chunk.find("choices");
  if (choices == chunk.end() || !choices->is_array()) return;
  for (const json& choice : *choices) {
    if (!choice.is_object()) continue;
    if (choice.value("index", 0) != 0) continue;  // n > 1 is not assembled
    if (auto f = choice.find("finish_reason"); f != choice.end() && f->is_string()) {
      finish_reason_ = *f;
    }
    auto d = choice.find("delta");
    if (d == choice.end() || !d->is_object()) continue;
    if (auto c = d->find("content"); c != d->end() && c->is_string()) {
      content_ += c->get<std::string>();
      has_content_ = true;
      if (!c->get_ref<const std::string&>().empty()) ++content_chunks_;
    }
    if (auto r = d->find("reasoning_content"); r != d->end() && r->is_string()) {
      reasoning_ += r->get<std::string>();
    }
    if (auto tc = d->find("tool_calls"); tc != d->end() && tc->is_array()) {
      for (const json& call : *tc) {
        size_t index = call.value("index", 0);
        if (index > 1024) continue;
        while (tool_calls_.size() <= index) {
          tool_calls_.push_back({{"id", ""}, {"type", "function"},
                                 {"function", {{"name", ""}, {"arguments", ""}}}});
        }
        json& slot = tool_calls_[index];
        if (call.contains("id") && call["id"].is_string()) slot["id"] = call["id"];
        if (auto fn = call.find("function"); fn != call.end() && fn->is_object()) {
          if (fn->contains("name") && (*fn)["name"].is_string()) {
            slot["function"]["name"] = slot["function"]["name"].get<std::string>() +
                                       (*fn)["name"].get<std::string>();
          }
          if (fn->contains("arguments") && (*fn)["arguments"].is_string()) {
            slot["function"]["arguments"] = slot["function"]["arguments"].get<std::string>() +
                                            (*fn)["arguments"].get<std::string>();
          }
        }
      }
    }
  }
}

json ChunkAssembler::Completion() const {
  json message = {{"role", "assistant"}};
  message["content"] = (has_content_ || tool_calls_.empty()) ? json(content_) : json(nullptr);
  if (!reasoning_.empty()) message["reasoning_content"] = reasoning_;
  if (!tool_calls_.empty()) message["tool_calls"] = tool_calls_;
  json out = {{"id", id_}, {"object", "chat.completion"}, {"created", created_ ? created_ : UnixSeconds()},
              {"model", model_},
              {"choices", json::array({{{"index", 0}, {"message", message},
                                        {"finish_reason", finish_reason_.empty()
                                                              ? json(nullptr)
                                                              : json(finish_reason_)}}})}};
  out["usage"] = has_usage_ ? UsageJson(usage_) : json(nullptr);
  return out;
}

}  // namespace hearth::backends
