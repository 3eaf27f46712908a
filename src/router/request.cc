#include "router/request.h"

#include <cctype>

namespace hearth::router {

using nlohmann::json;

Result<std::vector<TextSlot>> CollectTexts(const json& body) {
  if (!body.is_object()) return InvalidArgumentError("request body is not a JSON object");
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array()) {
    return InvalidArgumentError("request field \"messages\" is missing or not an array");
  }
  std::vector<TextSlot> slots;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string base = "/messages/" + std::to_string(i);
    if (!m.is_object()) return InvalidArgumentError("messages[" + std::to_string(i) + "] is not an object");
    const std::string role = StringField(m, "role");
    if (auto c = m.find("content"); c != m.end()) {
      if (c->is_string()) {
        slots.push_back({base + "/content", c->get<std::string>(), role});
      } else if (c->is_array()) {
        for (size_t j = 0; j < c->size(); ++j) {
          const json& part = (*c)[j];
          if (!part.is_object()) {
            return InvalidArgumentError("messages[" + std::to_string(i) + "].content[" +
                                        std::to_string(j) + "] is not an object");
          }
          auto text = part.find("text");
          if (StringField(part, "type") == "text" && text != part.end() && text->is_string()) {
            slots.push_back({base + "/content/" + std::to_string(j) + "/text", text->get<std::string>(), role});
          }
        }
      } else if (!c->is_null()) {
        return InvalidArgumentError("messages[" + std::to_string(i) +
                                    "].content must be a string, an array of parts or null");
      }
    }
    if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
      for (size_t k = 0; k < calls->size(); ++k) {
        const json& call = (*calls)[k];
        if (!call.is_object()) continue;
        auto fn = call.find("function");
        if (fn == call.end() || !fn->is_object()) continue;
        auto args = fn->find("arguments");
        if (args != fn->end() && args->is_string()) {
          slots.push_back({base + "/tool_calls/" + std::to_string(k) + "/function/arguments",
                           args->get<std::string>(), role});
        }
      }
    }
  }
  return slots;
}

Modalities DetectModalities(const json& body) {
  Modalities m;
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array()) return m;
  for (const json& msg : *it) {
    if (!msg.is_object()) continue;
    auto c = msg.find("content");
    if (c == msg.end() || !c->is_array()) continue;
    for (const json& part : *c) {
      if (!part.is_object()) continue;
      const std::string type = StringField(part, "type");
      if (type == "image_url" || type == "image" || type == "input_image") m.image = true;
      if (type == "input_audio" || type == "audio_url" || type == "audio") m.audio = true;
      if (type == "input_video" || type == "video_url" || type == "video") m.video = true;
    }
  }
  return m;
}

std::string ModalitiesName(const Modalities& m) {
  std::string s = "text";
  if (m.image) s += "+image";
  if (m.audio) s += "+audio";
  if (m.video) s += "+video";
  return s;
}

std::string StringField(const json& object, std::string_view key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t IntField(const json& object, std::string_view key, int64_t fallback) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

int64_t RequestedOutputTokens(const json& body, int64_t fallback) {
  for (const char* key : {"max_completion_tokens", "max_tokens"}) {
    auto it = body.find(key);
    if (it != body.end() && it->is_number_integer() && it->get<int64_t>() > 0) return it->get<int64_t>();
  }
  return fallback;
}

namespace {
std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
}  // namespace

void RequestMeta::SetHeader(std::string_view name, std::string value) {
  headers_[Lower(name)] = std::move(value);
}

const std::string* RequestMeta::Header(std::string_view name) const {
  auto it = headers_.find(Lower(name));
  return it == headers_.end() ? nullptr : &it->second;
}

}  // namespace hearth::router
