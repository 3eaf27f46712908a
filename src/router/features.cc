#include "router/features.h"

#include <algorithm>
#include <charconv>

#include "router/policy.h"

namespace hearth::router {

using nlohmann::json;

std::string_view TierLabel(Tier tier) {
  switch (tier) {
    case Tier::kDevice: return "device";
    case Tier::kPrivate: return "private";
    case Tier::kCloud: return "cloud";
  }
  return "?";
}

Result<Tier> ParseTierLabel(std::string_view name) {
  if (name == "device" || name == "local") return Tier::kDevice;
  if (name == "private") return Tier::kPrivate;
  if (name == "cloud") return Tier::kCloud;
  return InvalidArgumentError("unknown tier \"" + std::string(name) + "\" (expected device, private or cloud)");
}

std::string_view SensitivityName(Sensitivity s) {
  switch (s) {
    case Sensitivity::kPublic: return "public";
    case Sensitivity::kInternal: return "internal";
    case Sensitivity::kConfidential: return "confidential";
    case Sensitivity::kRestricted: return "restricted";
  }
  return "?";
}

Result<Sensitivity> ParseSensitivity(std::string_view name) {
  if (name == "public") return Sensitivity::kPublic;
  if (name == "internal") return Sensitivity::kInternal;
  if (name == "confidential") return Sensitivity::kConfidential;
  if (name == "restricted") return Sensitivity::kRestricted;
  return InvalidArgumentError("unknown sensitivity \"" + std::string(name) +
                              "\" (expected public, internal, confidential or restricted)");
}

std::string_view ModelKindName(ModelKind k) {
  switch (k) {
    case ModelKind::kAuto: return "auto";
    case ModelKind::kLocal: return "local";
    case ModelKind::kNamed: return "named";
  }
  return "?";
}

bool Features::TierAvailable(Tier tier) const {
  return std::any_of(backends.begin(), backends.end(),
                     [&](const BackendInfo& b) { return b.tier == tier && b.available; });
}

const BackendInfo* Features::FindBackend(std::string_view name) const {
  for (const BackendInfo& b : backends) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

int64_t EstimatePromptTokens(const json& body) {
  // Per-part charges: roughly what Gemma's projectors spend on one image (256 soft tokens) and
  // on about 30 s of audio; video counts as sampled frames plus its sound, at the audio rate.
  constexpr int64_t kImageTokens = 256;
  constexpr int64_t kAudioTokens = 750;
  constexpr int64_t kPerMessageTokens = 4;  // role markers of the chat template
  int64_t bytes = 0, tokens = 0;
  auto it = body.find("messages");
  if (it == body.end() || !it->is_array()) return 0;
  for (const json& m : *it) {
    tokens += kPerMessageTokens;
    if (!m.is_object()) continue;
    auto c = m.find("content");
    if (c == m.end()) continue;
    if (c->is_string()) {
      bytes += static_cast<int64_t>(c->get_ref<const std::string&>().size());
    } else if (c->is_array()) {
      for (const json& part : *c) {
        if (!part.is_object()) continue;
        const std::string type = StringField(part, "type");
        if (type == "text" && part.contains("text") && part["text"].is_string()) {
          bytes += static_cast<int64_t>(part["text"].get_ref<const std::string&>().size());
        } else if (type == "image_url" || type == "image" || type == "input_image") {
          tokens += kImageTokens;
        } else if (!type.empty()) {
          tokens += kAudioTokens;
        }
      }
    }
  }
  return tokens + (bytes + 3) / 4;
}

namespace {

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

}  // namespace

Result<Features> ExtractFeatures(const json& body, const RequestMeta& meta, const Environment& env,
                                 const Policy& policy, const Detector& detector) {
  Features f;
  ASSIGN_OR_RETURN(f.texts, CollectTexts(body));
  f.api_key = meta.api_key;
  f.route = meta.route;
  if (body.contains("stream") && !body["stream"].is_boolean() && !body["stream"].is_null()) {
    return InvalidArgumentError("request field \"stream\" must be a boolean");
  }
  f.stream = body.contains("stream") && body["stream"].is_boolean() && body["stream"].get<bool>();

  // Explicit label: the header, then the policy's label rules; the highest wins.
  if (const std::string* h = meta.Header(kSensitivityHeader)) {
    auto level = ParseSensitivity(*h);
    if (!level.ok()) return level.status().WithContext("header X-Hearth-Sensitivity");
    f.label = *level;
    f.label_source = "header";
  }
  for (const LabelRule& l : policy.labels) {
    const bool key_hit = !l.api_key.empty() && Contains(l.api_key, meta.api_key);
    const bool route_hit = !l.route.empty() && Contains(l.route, meta.route);
    if ((key_hit || route_hit) && l.level > f.label) {
      f.label = l.level;
      f.label_source = "label rule " + (l.name.empty() ? std::string("(unnamed)") : l.name);
    }
  }

  // Detected sensitivity.
  std::string user_text;
  for (size_t i = 0; i < f.texts.size(); ++i) {
    for (Finding& finding : detector.Scan(f.texts[i].text)) {
      const Sensitivity level =
          IsSecretEntity(finding.type) ? Sensitivity::kRestricted : Sensitivity::kConfidential;
      f.detected = std::max(f.detected, level);
      ++f.entity_counts[finding.type];
      f.findings.push_back({i, std::move(finding)});
    }
    // Difficulty reads what the user asked, not system boilerplate ("think step by step").
    if (f.texts[i].role == "user") {
      user_text += f.texts[i].text;
      user_text += '\n';
    }
  }

  f.modalities = DetectModalities(body);
  f.prompt_tokens = env.count_tokens ? env.count_tokens(body) : EstimatePromptTokens(body);
  f.output_tokens = RequestedOutputTokens(body, env.default_output_tokens);
  f.local_context_tokens = env.local_context_tokens;
  f.context_fits = f.prompt_tokens + f.output_tokens <= env.local_context_tokens;
  f.difficulty = ScoreDifficulty(user_text, f.prompt_tokens);

  if (const std::string* h = meta.Header(kLatencyBudgetHeader)) {
    int64_t ms = 0;
    auto [end, ec] = std::from_chars(h->data(), h->data() + h->size(), ms);
    if (ec != std::errc() || end != h->data() + h->size() || ms < 0) {
      return InvalidArgumentError("header X-Hearth-Latency-Budget-Ms: \"" + *h +
                                  "\" is not a non-negative integer");
    }
    f.latency_budget_ms = ms;
  }
  f.budget_remaining_usd = env.budget_remaining_usd;
  f.budget_exhausted = env.budget_remaining_usd.has_value() && *env.budget_remaining_usd <= 0;
  f.backends = env.backends;

  // The model field.
  if (body.is_object() && body.contains("model") && !body["model"].is_string()) {
    return InvalidArgumentError("request field \"model\" must be a string");
  }
  f.model = StringField(body, "model");
  if (f.model.empty() || f.model == "auto") {
    f.model_kind = ModelKind::kAuto;
  } else if (f.model == "local" || Contains(policy.local_models, f.model) ||
             std::any_of(f.backends.begin(), f.backends.end(), [&](const BackendInfo& b) {
               return b.tier == Tier::kDevice && b.model == f.model;
             })) {
    f.model_kind = ModelKind::kLocal;
  } else {
    // The least busy available backend serving this model, else any serving it.
    const BackendInfo* best = nullptr;
    for (const BackendInfo& b : f.backends) {
      if (b.model != f.model || b.tier == Tier::kDevice) continue;
      if (best == nullptr || (b.available && !best->available) ||
          (b.available == best->available && b.in_flight < best->in_flight)) {
        best = &b;
      }
    }
    if (best != nullptr) {
      f.model_kind = ModelKind::kNamed;
      f.model_backend = best->name;
      f.model_tier = best->tier;
    }
  }
  return f;
}

}  // namespace hearth::router
