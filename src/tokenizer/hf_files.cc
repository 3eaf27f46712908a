#include "tokenizer/hf_files.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hearth::tokenizer {
namespace {

using nlohmann::json;

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool FileExists(const std::string& path) { return std::ifstream(path).good(); }

// A special-token entry in tokenizer_config.json: a string or {"content": string}.
std::optional<std::string> TokenContent(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) {
    return j["content"].get<std::string>();
  }
  return std::nullopt;
}

Status ParseTokenizerJson(const std::string& path, HfFiles* out) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text);
  const json& model = j.at("model");
  if (model.at("type").get<std::string>() != "BPE") {
    return UnimplementedError(path + ": model.type '" + model.at("type").get<std::string>() +
                              "' is not supported (want BPE)");
  }
  const json& vocab = model.at("vocab");
  if (!vocab.is_object()) return InvalidArgumentError(path + ": model.vocab is not an object");
  out->model_tokens.assign(vocab.size(), std::string());
  std::vector<bool> seen(vocab.size(), false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(vocab.size()) || seen[id]) {
      return InvalidArgumentError(path + ": model.vocab['" + it.key() + "']: id " +
                                  std::to_string(id) + " is out of range or repeated");
    }
    seen[id] = true;
    out->model_tokens[id] = it.key();
  }
  if (model.contains("unk_token") && model["unk_token"].is_string()) {
    out->unk_token = model["unk_token"].get<std::string>();
  }
  if (model.contains("merges")) {
    for (const json& m : model["merges"]) {
      if (m.is_string()) {
        out->merges.push_back(m.get<std::string>());
      } else if (m.is_array() && m.size() == 2) {
        // Converter: spaces inside a half are written as U+0120 so "A B" stays splittable.
        std::string merged;
        for (int half = 0; half < 2; ++half) {
          for (char c : m[half].get<std::string>()) {
            if (c == ' ') merged += "\xC4\xA0";
            else merged += c;
          }
          if (half == 0) merged += ' ';
        }
        out->merges.push_back(std::move(merged));
      } else {
        return InvalidArgumentError(path + ": model.merges[" + std::to_string(out->merges.size()) +
                                    "] is neither \"A B\" nor [A, B]");
      }
    }
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
    for (const json& a : j["added_tokens"]) {
      out->added_tokens.push_back(HfAddedToken{a.at("id").get<int32_t>(),
                                               a.at("content").get<std::string>(),
                                               a.value("special", false)});
    }
  }
  if (j.contains("post_processor") && j["post_processor"].is_object()) {
    const json& pp = j["post_processor"];
    if (pp.value("type", "") == "TemplateProcessing" && pp.contains("single") &&
        pp["single"].is_array() && pp["single"].size() > 1) {
      const json& first = pp["single"][0];
      if (first.contains("SpecialToken")) {
        out->template_first_special = first["SpecialToken"].value("id", "");
      }
    }
  }
  return Status::Ok();
}

Status ParseTokenizerConfig(const std::string& path, const std::string& dir, HfFiles* out) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text);
  out->has_config = true;
  if (j.contains("added_tokens_decoder") && j["added_tokens_decoder"].is_object()) {
    for (auto it = j["added_tokens_decoder"].begin(); it != j["added_tokens_decoder"].end(); ++it) {
      int32_t id = std::stoi(it.key());
      out->added_tokens_decoder.push_back(HfAddedToken{
          id, it.value().at("content").get<std::string>(), it.value().value("special", false)});
    }
  }
  for (const char* typ : {"bos", "eos", "unk", "sep", "pad", "cls", "mask"}) {
    std::string key = std::string(typ) + "_token";
    if (j.contains(key)) {
      if (auto c = TokenContent(j[key])) out->named_special[typ] = *c;
    }
    std::string add_key = "add_" + std::string(typ) + "_token";
    if (j.contains(add_key) && j[add_key].is_boolean()) {
      if (std::string(typ) == "bos") out->add_bos = j[add_key].get<bool>();
      if (std::string(typ) == "eos") out->add_eos = j[add_key].get<bool>();
    }
  }
  for (const char* key : {"additional_special_tokens", "extra_special_tokens"}) {
    if (!j.contains(key)) continue;
    const json& e = j[key];
    if (e.is_array()) {
      for (const json& x : e) if (auto c = TokenContent(x)) out->extra_special.push_back(*c);
    } else if (e.is_object()) {
      for (auto it = e.begin(); it != e.end(); ++it) {
        if (auto c = TokenContent(it.value())) out->extra_special.push_back(*c);
      }
    }
  }
  if (j.contains("chat_template")) {
    const json& ct = j["chat_template"];
    if (ct.is_string()) {
      out->chat_template = ct.get<std::string>();
    } else if (ct.is_array()) {  // named templates: keep the default one
      for (const json& t : ct) {
        if (t.value("name", "") == "default") out->chat_template = t.value("template", "");
      }
    }
  }
  if (!out->chat_template && FileExists(dir + "/chat_template.jinja")) {
    ASSIGN_OR_RETURN(std::string tmpl, ReadFile(dir + "/chat_template.jinja"));
    out->chat_template = std::move(tmpl);
  }
  return Status::Ok();
}

Status ParseConfigJson(const std::string& path, HfFiles* out) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text);
  const json* text_config = j.contains("text_config") ? &j["text_config"] : nullptr;
  if (text_config && text_config->contains("vocab_size")) {
    out->vocab_size = (*text_config)["vocab_size"].get<int64_t>();
  } else if (j.contains("vocab_size")) {
    out->vocab_size = j["vocab_size"].get<int64_t>();
  }
  for (const char* typ : {"bos", "eos", "unk", "sep", "pad", "cls", "mask"}) {
    std::string key = std::string(typ) + "_token_id";
    const json* src = j.contains(key) ? &j : (text_config && text_config->contains(key) ? text_config : nullptr);
    if (src && (*src)[key].is_number_integer()) out->config_token_ids[typ] = (*src)[key].get<int64_t>();
  }
  return Status::Ok();
}

Status ParseAddedTokensJson(const std::string& path, HfFiles* out) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  json j = json::parse(text);
  for (auto it = j.begin(); it != j.end(); ++it) {
    out->added_tokens_json.emplace_back(it.key(), it.value().get<int64_t>());
  }
  return Status::Ok();
}

// Runs one parser, turning any nlohmann exception into an error naming the file.
template <typename F>
Status Guard(const std::string& path, F&& f) {
  try {
    return f();
  } catch (const std::exception& e) {
    return InvalidArgumentError(path + ": " + e.what());
  }
}

}  // namespace

Result<HfFiles> ReadHfFiles(const std::string& dir) {
  HfFiles out;
  std::string tj = dir + "/tokenizer.json";
  TRY(Guard(tj, [&] { return ParseTokenizerJson(tj, &out); }));
  std::string tc = dir + "/tokenizer_config.json";
  if (FileExists(tc)) TRY(Guard(tc, [&] { return ParseTokenizerConfig(tc, dir, &out); }));
  std::string cj = dir + "/config.json";
  if (FileExists(cj)) TRY(Guard(cj, [&] { return ParseConfigJson(cj, &out); }));
  std::string aj = dir + "/added_tokens.json";
  if (FileExists(aj)) TRY(Guard(aj, [&] { return ParseAddedTokensJson(aj, &out); }));
  return out;
}

}  // namespace hearth::tokenizer
