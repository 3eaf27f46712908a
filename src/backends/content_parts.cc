#include "backends/content_parts.h"

#include "backends/adapters.h"

namespace hearth::backends {

using nlohmann::json;

Result<DataUrl> ParseDataUrl(const std::string& url) {
  // data:[<media type>][;base64],<data>
  if (url.rfind("data:", 0) != 0) return InvalidArgumentError("not a data: URL");
  size_t comma = url.find(',');
  if (comma == std::string::npos) return InvalidArgumentError("data: URL without a comma");
  std::string meta = url.substr(5, comma - 5);
  const std::string kBase64 = ";base64";
  if (meta.size() < kBase64.size() || meta.compare(meta.size() - kBase64.size(), kBase64.size(), kBase64) != 0) {
    return InvalidArgumentError("data: URL is not base64");
  }
  DataUrl out;
  out.media_type = meta.substr(0, meta.size() - kBase64.size());
  out.media_type = out.media_type.substr(0, out.media_type.find(';'));
  if (out.media_type.empty()) out.media_type = "application/octet-stream";
  out.base64 = url.substr(comma + 1);
  return out;
}

Result<std::vector<ContentPart>> ReadContentParts(const json& content, const std::string& where) {
  std::vector<ContentPart> parts;
  if (content.is_null()) return parts;
  if (content.is_string()) {
    parts.push_back({ContentPart::Kind::kText, content.get<std::string>(), "", "", ""});
    return parts;
  }
  if (!content.is_array()) return InvalidArgumentError(where + ": must be a string or an array");
  for (size_t i = 0; i < content.size(); ++i) {
    const json& p = content[i];
    std::string at = where + "[" + std::to_string(i) + "]";
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) {
      return InvalidArgumentError(at + ": a part needs a string \"type\"");
    }
    const std::string& type = p["type"].get_ref<const std::string&>();
    ContentPart part;
    if (type == "text") {
      if (!p.contains("text") || !p["text"].is_string()) return InvalidArgumentError(at + ": text part without text");
      part.text = p["text"];
    } else if (type == "image_url") {
      const json& iu = p.contains("image_url") ? p["image_url"] : json();
      if (iu.is_string()) part.url = iu;
      else if (iu.is_object() && iu.contains("url") && iu["url"].is_string()) part.url = iu["url"];
      else return InvalidArgumentError(at + ": image_url part without a url");
      part.kind = ContentPart::Kind::kImage;
      if (part.url.rfind("data:", 0) == 0) {
        Result<DataUrl> data = ParseDataUrl(part.url);
        if (!data.ok()) return data.status().WithContext(at);
        part.media_type = data->media_type;
        part.base64 = data->base64;
      }
    } else if (type == "input_audio") {
      const json& ia = p.contains("input_audio") ? p["input_audio"] : json();
      if (!ia.is_object() || !ia.contains("data") || !ia["data"].is_string()) {
        return InvalidArgumentError(at + ": input_audio part without data");
      }
      part.kind = ContentPart::Kind::kAudio;
      part.base64 = ia["data"];
      std::string format = ia.value("format", "wav");
      part.media_type = "audio/" + format;
    } else {
      return InvalidArgumentError(at + ": unsupported content part type \"" + type + "\"");
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

Result<std::string> ReadTextOnly(const json& content, const std::string& where) {
  ASSIGN_OR_RETURN(std::vector<ContentPart> parts, ReadContentParts(content, where));
  std::string text;
  for (const ContentPart& p : parts) {
    if (p.kind != ContentPart::Kind::kText) return InvalidArgumentError(where + ": only text is allowed here");
    text += p.text;
  }
  return text;
}

}  // namespace hearth::backends
