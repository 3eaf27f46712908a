#include "backends/config.h"

#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace hearth::backends {
namespace {

std::string At(const toml::node& node) {
  const auto& src = node.source();
  return "line " + std::to_string(src.begin.line);
}

Status ReadString(const toml::table& t, std::string_view key, std::string* out, bool required,
                  const std::string& where) {
  const toml::node* node = t.get(key);
  if (node == nullptr) {
    return required ? InvalidArgumentError(where + ": missing " + std::string(key)) : Status::Ok();
  }
  auto v = node->value<std::string>();
  if (!node->is_string() || !v) {
    return InvalidArgumentError(where + ": " + std::string(key) + " must be a string (" + At(*node) + ")");
  }
  *out = *v;
  return Status::Ok();
}

Status ReadInt(const toml::table& t, std::string_view key, int64_t* out, int64_t min, int64_t max,
               const std::string& where) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return Status::Ok();
  if (!node->is_integer()) {
    return InvalidArgumentError(where + ": " + std::string(key) + " must be an integer (" + At(*node) + ")");
  }
  int64_t v = *node->value<int64_t>();
  if (v < min || v > max) {
    return InvalidArgumentError(where + ": " + std::string(key) + " = " + std::to_string(v) +
                                " is outside [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  }
  *out = v;
  return Status::Ok();
}

Result<double> ReadPrice(const toml::table& t, std::string_view key, const std::string& where) {
  const toml::node* node = t.get(key);
  if (node == nullptr) return InvalidArgumentError(where + ": missing " + std::string(key));
  std::optional<double> v = node->value<double>();  // integers convert too
  if (!(node->is_number()) || !v || *v < 0) {
    return InvalidArgumentError(where + ": " + std::string(key) + " must be a number >= 0 (" + At(*node) + ")");
  }
  return *v;
}

Result<BackendConfig> ReadBackend(const toml::table& t, const std::string& where) {
  static const std::set<std::string, std::less<>> kKeys = {
      "name", "tier", "kind", "url", "model", "api_key_env", "timeout_ms", "connect_timeout_ms",
      "max_retries", "health_path", "max_tokens"};
  for (const auto& [key, node] : t) {
    if (!kKeys.count(key.str())) {
      return InvalidArgumentError(where + ": unknown key \"" + std::string(key.str()) + "\" (" + At(node) + ")");
    }
  }
  BackendConfig c;
  TRY(ReadString(t, "name", &c.name, true, where));
  std::string w = where + " \"" + c.name + "\"";
  std::string tier = "private", kind = "openai";
  TRY(ReadString(t, "tier", &tier, true, w));
  Result<Tier> parsed_tier = ParseTier(tier);
  if (!parsed_tier.ok()) return parsed_tier.status().WithContext(w);
  c.tier = *parsed_tier;
  if (c.tier == Tier::kDevice) {
    return InvalidArgumentError(w + ": tier device is the in-process engine, not a network backend");
  }
  TRY(ReadString(t, "kind", &kind, false, w));
  if (kind == "openai") c.kind = BackendKind::kOpenAi;
  else if (kind == "anthropic") c.kind = BackendKind::kAnthropic;
  else if (kind == "gemini") c.kind = BackendKind::kGemini;
  else return InvalidArgumentError(w + ": unknown kind \"" + kind + "\" (expected openai, anthropic or gemini)");
  TRY(ReadString(t, "url", &c.url, true, w));
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0) {
    return InvalidArgumentError(w + ": url must start with http:// or https://");
  }
  TRY(ReadString(t, "model", &c.model, false, w));
  TRY(ReadString(t, "api_key_env", &c.api_key_env, false, w));
  TRY(ReadString(t, "health_path", &c.health_path, false, w));
  TRY(ReadInt(t, "timeout_ms", &c.timeout_ms, 1, 3600 * 1000, w));
  TRY(ReadInt(t, "connect_timeout_ms", &c.connect_timeout_ms, 1, 600 * 1000, w));
  int64_t retries = c.max_retries;
  TRY(ReadInt(t, "max_retries", &retries, 0, 10, w));
  c.max_retries = static_cast<int>(retries);
  TRY(ReadInt(t, "max_tokens", &c.max_tokens, 1, 10'000'000, w));
  return c;
}

Result<BackendsConfig> FromTable(const toml::table& root) {
  BackendsConfig out;
  if (const toml::node* n = root.get("offline")) {
    if (!n->is_boolean()) return InvalidArgumentError("offline must be true or false (" + At(*n) + ")");
    out.offline = *n->value<bool>();
  }
  TRY(ReadString(root, "reference_cloud_model", &out.reference_cloud_model, false, "top level"));
  if (const toml::node* n = root.get("backend")) {
    const toml::array* list = n->as_array();
    if (list == nullptr) return InvalidArgumentError("backend must be an array of tables ([[backend]])");
    std::set<std::string> names;
    for (size_t i = 0; i < list->size(); ++i) {
      std::string where = "[[backend]] #" + std::to_string(i + 1);
      const toml::table* t = (*list)[i].as_table();
      if (t == nullptr) return InvalidArgumentError(where + ": not a table");
      ASSIGN_OR_RETURN(BackendConfig c, ReadBackend(*t, where));
      if (!names.insert(c.name).second) return InvalidArgumentError(where + ": duplicate name \"" + c.name + "\"");
      out.backends.push_back(std::move(c));
    }
  }
  if (const toml::node* n = root.get("prices")) {
    const toml::table* prices = n->as_table();
    if (prices == nullptr) return InvalidArgumentError("prices must be a table ([prices.\"model\"])");
    for (const auto& [model, node] : *prices) {
      std::string where = "[prices.\"" + std::string(model.str()) + "\"]";
      const toml::table* t = node.as_table();
      if (t == nullptr) return InvalidArgumentError(where + ": not a table");
      ledger::Price price;
      ASSIGN_OR_RETURN(price.input_per_mtok, ReadPrice(*t, "input_per_mtok", where));
      ASSIGN_OR_RETURN(price.output_per_mtok, ReadPrice(*t, "output_per_mtok", where));
      out.prices.emplace(std::string(model.str()), price);
    }
  }
  if (!out.reference_cloud_model.empty() && !out.prices.count(out.reference_cloud_model)) {
    return InvalidArgumentError("reference_cloud_model \"" + out.reference_cloud_model +
                                "\" has no [prices] entry");
  }
  return out;
}

}  // namespace

std::string_view BackendKindName(BackendKind kind) {
  switch (kind) {
    case BackendKind::kOpenAi: return "openai";
    case BackendKind::kAnthropic: return "anthropic";
    case BackendKind::kGemini: return "gemini";
  }
  return "?";
}

Result<BackendsConfig> ParseBackendsConfig(std::string_view toml_text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError(std::string(source) + ":" + std::to_string(e.source().begin.line) +
                                ":" + std::to_string(e.source().begin.column) + ": " +
                                std::string(e.description()));
  }
  Result<BackendsConfig> config = FromTable(root);
  if (!config.ok()) return config.status().WithContext(source);
  return config;
}

Result<BackendsConfig> LoadBackendsConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseBackendsConfig(ss.str(), path);
}

}  // namespace hearth::backends
