#include "router/redact.h"

#include <algorithm>
#include <cctype>

namespace hearth::router {

using nlohmann::json;

const std::string& PlaceholderMap::PlaceholderFor(std::string_view type, std::string_view original) {
  auto key = std::make_pair(std::string(type), std::string(original));
  auto it = by_original_.find(key);
  if (it != by_original_.end()) return it->second;
  std::string upper;
  for (char c : type) {
    upper.push_back(std::isalnum(static_cast<unsigned char>(c))
                        ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                        : '_');
  }
  const int n = ++next_index_[upper];
  std::string placeholder = "[" + upper + "_" + std::to_string(n) + "]";
  max_size_ = std::max(max_size_, placeholder.size());
  by_placeholder_.emplace(placeholder, std::string(original));
  return by_original_.emplace(std::move(key), std::move(placeholder)).first->second;
}

const std::string* PlaceholderMap::Find(std::string_view placeholder) const {
  auto it = by_placeholder_.find(placeholder);
  return it == by_placeholder_.end() ? nullptr : &it->second;
}

bool PlaceholderMap::IsPrefixOfPlaceholder(std::string_view s) const {
  auto it = by_placeholder_.lower_bound(s);
  return it != by_placeholder_.end() && it->first.size() > s.size() &&
         std::string_view(it->first).substr(0, s.size()) == s;
}

std::string PlaceholderMap::Restore(std::string_view text) const {
  StreamRestorer r(this);
  std::string out = r.Push(text);
  out += r.Finish();
  return out;
}

std::vector<std::string> Redaction::entity_types() const {
  std::vector<std::string> types;
  for (const auto& [type, n] : counts) types.push_back(type);
  return types;
}

Redaction Redact(const json& body, const Features& features) {
  Redaction r;
  r.body = body;
  for (size_t slot = 0; slot < features.texts.size(); ++slot) {
    const std::string& text = features.texts[slot].text;
    std::vector<const Finding*> here;
    for (const TextFinding& tf : features.findings) {
      if (tf.slot == slot) here.push_back(&tf.finding);
    }
    if (here.empty()) continue;
    std::sort(here.begin(), here.end(), [](const Finding* a, const Finding* b) { return a->begin < b->begin; });
    std::string out;
    size_t pos = 0;
    for (const Finding* f : here) {
      if (f->begin < pos || f->end > text.size()) continue;  // overlaps were resolved upstream
      out.append(text, pos, f->begin - pos);
      out += r.map.PlaceholderFor(f->type, std::string_view(text).substr(f->begin, f->size()));
      ++r.counts[f->type];
      pos = f->end;
    }
    out.append(text, pos, std::string::npos);
    r.body[json::json_pointer(features.texts[slot].pointer)] = out;
  }
  return r;
}

namespace {

void RestoreString(json& j, const PlaceholderMap& map) {
  if (j.is_string()) j = map.Restore(j.get_ref<const std::string&>());
}

}  // namespace

void RestoreResponse(json& response, const PlaceholderMap& map) {
  if (map.empty() || !response.is_object()) return;
  auto choices = response.find("choices");
  if (choices == response.end() || !choices->is_array()) return;
  for (json& choice : *choices) {
    if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object()) continue;
    json& msg = choice["message"];
    if (msg.contains("content")) {
      json& c = msg["content"];
      if (c.is_string()) {
        RestoreString(c, map);
      } else if (c.is_array()) {
        for (json& part : c) {
          if (part.is_object() && part.contains("text")) RestoreString(part["text"], map);
        }
      }
    }
    if (msg.contains("reasoning_content")) RestoreString(msg["reasoning_content"], map);
    if (msg.contains("tool_calls") && msg["tool_calls"].is_array()) {
      for (json& call : msg["tool_calls"]) {
        if (call.is_object() && call.contains("function") && call["function"].is_object() &&
            call["function"].contains("arguments")) {
          RestoreString(call["function"]["arguments"], map);
        }
      }
    }
  }
}

std::string StreamRestorer::Push(std::string_view chunk) {
  pending_.append(chunk);
  std::string out;
  const std::string& buf = pending_;
  const size_t max = map_->max_placeholder_size();
  size_t i = 0;
  std::string held;
  while (i < buf.size()) {
    const size_t lb = buf.find('[', i);
    if (lb == std::string::npos || max == 0) {
      out.append(buf, i, std::string::npos);
      i = buf.size();
      break;
    }
    out.append(buf, i, lb - i);
    const size_t rb = buf.find(']', lb);
    if (rb != std::string::npos && rb - lb + 1 <= max) {
      if (const std::string* original = map_->Find(std::string_view(buf).substr(lb, rb - lb + 1))) {
        out += *original;
        i = rb + 1;
        continue;
      }
    }
    const std::string_view tail = std::string_view(buf).substr(lb);
    if (tail.size() < max && tail.find(']') == std::string_view::npos &&
        map_->IsPrefixOfPlaceholder(tail)) {
      held.assign(tail);
      i = buf.size();
      break;
    }
    out.push_back('[');
    i = lb + 1;
  }
  pending_ = std::move(held);
  return out;
}

std::string StreamRestorer::Finish() {
  std::string out = std::move(pending_);
  pending_.clear();
  return out;
}

StreamRestorer& ChunkRestorer::For(int choice, int tool) {
  auto key = std::make_pair(choice, tool);
  auto it = restorers_.find(key);
  if (it == restorers_.end()) it = restorers_.emplace(key, StreamRestorer(map_)).first;
  return it->second;
}

void ChunkRestorer::Restore(json& chunk) {
  if (map_->empty() || !chunk.is_object() || !chunk.contains("choices") || !chunk["choices"].is_array()) return;
  for (json& choice : chunk["choices"]) {
    if (!choice.is_object()) continue;
    const int index = static_cast<int>(IntField(choice, "index", 0));
    const bool finishing = choice.contains("finish_reason") && !choice["finish_reason"].is_null();
    if (!choice.contains("delta") || !choice["delta"].is_object()) {
      if (!finishing) continue;
      choice["delta"] = json::object();
    }
    json& delta = choice["delta"];
    std::string content;
    if (delta.contains("content") && delta["content"].is_string()) {
      content = For(index, -1).Push(delta["content"].get_ref<const std::string&>());
    }
    if (finishing) content += For(index, -1).Finish();
    if (delta.contains("content") && delta["content"].is_string()) {
      delta["content"] = content;
    } else if (!content.empty()) {
      delta["content"] = content;
    }
    if (delta.contains("tool_calls") && delta["tool_calls"].is_array()) {
      for (json& call : delta["tool_calls"]) {
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) continue;
        json& fn = call["function"];
        if (!fn.contains("arguments") || !fn["arguments"].is_string()) continue;
        StreamRestorer& r = For(index, static_cast<int>(IntField(call, "index", 0)));
        std::string args = r.Push(fn["arguments"].get_ref<const std::string&>());
        if (finishing) args += r.Finish();
        fn["arguments"] = args;
      }
    }
    if (finishing) {
      for (auto& [key, r] : restorers_) {
        if (key.first == index && key.second >= 0 && r.held() > 0) {
          // Arguments held back at the end of a tool call: append to this chunk as a last delta.
          json call = {{"index", key.second}, {"function", {{"arguments", r.Finish()}}}};
          if (!delta.contains("tool_calls")) delta["tool_calls"] = json::array();
          delta["tool_calls"].push_back(call);
        }
      }
    }
  }
}

std::map<int, std::string> ChunkRestorer::Finish() {
  std::map<int, std::string> held;
  for (auto& [key, r] : restorers_) {
    if (key.second == -1 && r.held() > 0) held[key.first] = r.Finish();
  }
  return held;
}

}  // namespace hearth::router
