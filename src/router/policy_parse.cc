// ParsePolicy: TOML text -> validated Policy. toml++ throws toml::parse_error on bad syntax; it is
// caught here, at the one place it can enter, and reported with its line and column.
#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "router/policy.h"

namespace hearth::router {

std::string_view ActionName(ActionKind a) {
  switch (a) {
    case ActionKind::kLocal: return "local";
    case ActionKind::kEscalate: return "escalate";
    case ActionKind::kEscalateRedacted: return "escalate_redacted";
    case ActionKind::kBlock: return "block";
  }
  return "?";
}

namespace {

class Parser {
 public:
  Parser(std::string_view source, const std::vector<BackendRef>& backends)
      : source_(source), backends_(backends) {}

  Status Error(const toml::node* n, const std::string& what) const {
    return n != nullptr ? ErrorAt(n->source(), what) : ErrorAt(toml::source_region{}, what);
  }
  Status ErrorAt(const toml::source_region& where, const std::string& what) const {
    std::ostringstream os;
    os << source_;
    if (where.begin.line > 0) os << ":" << where.begin.line << ":" << where.begin.column;
    os << ": " << what;
    return InvalidArgumentError(os.str());
  }

  Status CheckKeys(const toml::table& t, const std::string& where,
                   std::initializer_list<std::string_view> allowed) const {
    for (auto&& [key, node] : t) {
      if (std::find(allowed.begin(), allowed.end(), key.str()) == allowed.end()) {
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        return ErrorAt(key.source(), "unknown key \"" + std::string(key.str()) + "\" in " + where +
                                " (allowed: " + list + ")");
      }
    }
    return Status::Ok();
  }

  Result<std::string> String(const toml::node& n, const std::string& what) const {
    if (auto v = n.value_exact<std::string>()) return *v;
    return Error(&n, what + " must be a string");
  }
  Result<bool> Bool(const toml::node& n, const std::string& what) const {
    if (auto v = n.value_exact<bool>()) return *v;
    return Error(&n, what + " must be a boolean (true or false)");
  }
  Result<int64_t> Int(const toml::node& n, const std::string& what) const {
    if (auto v = n.value_exact<int64_t>()) return *v;
    return Error(&n, what + " must be an integer");
  }
  Result<double> Number(const toml::node& n, const std::string& what) const {
    if (auto v = n.value_exact<double>()) return *v;
    if (auto v = n.value_exact<int64_t>()) return static_cast<double>(*v);
    return Error(&n, what + " must be a number");
  }
  // A string or an array of strings.
  Result<std::vector<std::string>> Strings(const toml::node& n, const std::string& what) const {
    if (auto v = n.value_exact<std::string>()) return std::vector<std::string>{*v};
    const toml::array* a = n.as_array();
    if (a == nullptr) return Error(&n, what + " must be a string or an array of strings");
    std::vector<std::string> out;
    for (const toml::node& e : *a) {
      auto s = e.value_exact<std::string>();
      if (!s) return Error(&e, what + " must contain only strings");
      out.push_back(*s);
    }
    return out;
  }
  Result<Sensitivity> Level(const toml::node& n, const std::string& what) const {
    ASSIGN_OR_RETURN(std::string s, String(n, what));
    auto level = ParseSensitivity(s);
    if (!level.ok()) return Error(&n, what + ": " + level.status().message());
    return *level;
  }
  Result<Tier> TierOf(const toml::node& n, const std::string& what) const {
    ASSIGN_OR_RETURN(std::string s, String(n, what));
    auto tier = ParseTierLabel(s);
    if (!tier.ok()) return Error(&n, what + ": " + tier.status().message());
    return *tier;
  }
  Result<FallbackKind> Fallback(const toml::node& n, const std::string& what) const {
    ASSIGN_OR_RETURN(std::string s, String(n, what));
    if (s == "local") return FallbackKind::kLocal;
    if (s == "block") return FallbackKind::kBlock;
    return Error(&n, what + ": unknown fallback \"" + s + "\" (expected local or block)");
  }

  Status ParseDefaults(const toml::table& t, Policy& p) const {
    TRY(CheckKeys(t, "[defaults]", {"action", "tier", "on_cloud_unavailable", "on_budget_exhausted"}));
    if (auto* n = t.get("action")) {
      ASSIGN_OR_RETURN(std::string a, String(*n, "defaults.action"));
      if (a == "local") p.default_action = ActionKind::kLocal;
      else if (a == "escalate") p.default_action = ActionKind::kEscalate;
      else if (a == "block") p.default_action = ActionKind::kBlock;
      else return Error(n, "defaults.action: unknown action \"" + a + "\" (expected local, escalate or block)");
    }
    if (auto* n = t.get("tier")) { ASSIGN_OR_RETURN(p.default_tier, TierOf(*n, "defaults.tier")); }
    if (auto* n = t.get("on_cloud_unavailable")) {
      ASSIGN_OR_RETURN(p.on_cloud_unavailable, Fallback(*n, "defaults.on_cloud_unavailable"));
    }
    if (auto* n = t.get("on_budget_exhausted")) {
      ASSIGN_OR_RETURN(p.on_budget_exhausted, Fallback(*n, "defaults.on_budget_exhausted"));
    }
    return Status::Ok();
  }

  Status ParseConditions(const toml::table& t, const std::string& where, Conditions& c,
                         const std::set<std::string>& entity_types) const {
    TRY(CheckKeys(t, where,
                  {"sensitivity_at_least", "sensitivity_below", "sensitive", "entities_any",
                   "modalities_any", "context_fits", "prompt_tokens_above", "difficulty_at_least",
                   "difficulty_below", "hard", "latency_budget_ms_below", "budget_exhausted",
                   "budget_remaining_below", "cloud_available", "private_available",
                   "backend_unavailable", "model_kind", "model_tier", "model", "api_key", "route",
                   "stream"}));
    for (auto&& [k, n] : t) {
      const std::string key(k.str());
      const std::string what = where + "." + key;
      if (key == "sensitivity_at_least") { ASSIGN_OR_RETURN(c.sensitivity_at_least, Level(n, what)); }
      else if (key == "sensitivity_below") { ASSIGN_OR_RETURN(c.sensitivity_below, Level(n, what)); }
      else if (key == "sensitive") { ASSIGN_OR_RETURN(c.sensitive, Bool(n, what)); }
      else if (key == "context_fits") { ASSIGN_OR_RETURN(c.context_fits, Bool(n, what)); }
      else if (key == "hard") { ASSIGN_OR_RETURN(c.hard, Bool(n, what)); }
      else if (key == "budget_exhausted") { ASSIGN_OR_RETURN(c.budget_exhausted, Bool(n, what)); }
      else if (key == "cloud_available") { ASSIGN_OR_RETURN(c.cloud_available, Bool(n, what)); }
      else if (key == "private_available") { ASSIGN_OR_RETURN(c.private_available, Bool(n, what)); }
      else if (key == "stream") { ASSIGN_OR_RETURN(c.stream, Bool(n, what)); }
      else if (key == "prompt_tokens_above") { ASSIGN_OR_RETURN(c.prompt_tokens_above, Int(n, what)); }
      else if (key == "latency_budget_ms_below") { ASSIGN_OR_RETURN(c.latency_budget_ms_below, Int(n, what)); }
      else if (key == "difficulty_at_least") { ASSIGN_OR_RETURN(c.difficulty_at_least, Number(n, what)); }
      else if (key == "difficulty_below") { ASSIGN_OR_RETURN(c.difficulty_below, Number(n, what)); }
      else if (key == "budget_remaining_below") { ASSIGN_OR_RETURN(c.budget_remaining_below, Number(n, what)); }
      else if (key == "model") { ASSIGN_OR_RETURN(c.model, Strings(n, what)); }
      else if (key == "api_key") { ASSIGN_OR_RETURN(c.api_key, Strings(n, what)); }
      else if (key == "route") { ASSIGN_OR_RETURN(c.route, Strings(n, what)); }
      else if (key == "entities_any") {
        ASSIGN_OR_RETURN(c.entities_any, Strings(n, what));
        for (const std::string& e : c.entities_any) {
          if (!entity_types.count(e)) return Error(&n, what + ": unknown entity type \"" + e + "\"");
        }
      } else if (key == "modalities_any") {
        ASSIGN_OR_RETURN(c.modalities_any, Strings(n, what));
        for (const std::string& m : c.modalities_any) {
          if (m != "image" && m != "audio" && m != "video") {
            return Error(&n, what + ": unknown modality \"" + m + "\" (expected image, audio or video)");
          }
        }
      } else if (key == "model_kind") {
        ASSIGN_OR_RETURN(c.model_kind, Strings(n, what));
        for (const std::string& m : c.model_kind) {
          if (m != "auto" && m != "local" && m != "named") {
            return Error(&n, what + ": unknown model kind \"" + m + "\" (expected auto, local or named)");
          }
        }
      } else if (key == "model_tier") {
        ASSIGN_OR_RETURN(c.model_tier, Strings(n, what));
        for (const std::string& m : c.model_tier) {
          if (!ParseTierLabel(m).ok()) return Error(&n, what + ": unknown tier \"" + m + "\"");
        }
      } else if (key == "backend_unavailable") {
        ASSIGN_OR_RETURN(c.backend_unavailable, Strings(n, what));
        for (const std::string& b : c.backend_unavailable) TRY(CheckBackend(n, what, b));
      }
    }
    return Status::Ok();
  }

  Status CheckBackend(const toml::node& n, const std::string& what, const std::string& name) const {
    for (const BackendRef& b : backends_) {
      if (b.name == name) return Status::Ok();
    }
    std::string known;
    for (const BackendRef& b : backends_) known += (known.empty() ? "" : ", ") + b.name;
    return Error(&n, what + ": unknown backend \"" + name + "\" (configured: " +
                         (known.empty() ? "none" : known) + ")");
  }

  Status ParseRule(const toml::table& t, size_t index, Policy& p,
                   const std::set<std::string>& entity_types) const {
    const std::string where = "[[rule]] #" + std::to_string(index + 1);
    TRY(CheckKeys(t, where, {"name", "when", "action", "tier", "backend", "reason", "escalate_if_unsure"}));
    Rule r;
    r.line = static_cast<int>(t.source().begin.line);
    const toml::node* name = t.get("name");
    if (name == nullptr) return Error(&t, where + ": missing key \"name\"");
    ASSIGN_OR_RETURN(r.name, String(*name, where + ".name"));
    for (const Rule& other : p.rules) {
      if (other.name == r.name) return Error(name, where + ": duplicate rule name \"" + r.name + "\"");
    }
    const std::string rw = "rule \"" + r.name + "\"";
    const toml::node* action = t.get("action");
    if (action == nullptr) return Error(&t, rw + ": missing key \"action\"");
    ASSIGN_OR_RETURN(std::string a, String(*action, rw + ".action"));
    if (a == "local") r.action = ActionKind::kLocal;
    else if (a == "escalate") r.action = ActionKind::kEscalate;
    else if (a == "escalate_redacted") r.action = ActionKind::kEscalateRedacted;
    else if (a == "block") r.action = ActionKind::kBlock;
    else {
      return Error(action, rw + ".action: unknown action \"" + a +
                               "\" (expected local, escalate, escalate_redacted or block)");
    }
    if (auto* n = t.get("when")) {
      const toml::table* w = n->as_table();
      if (w == nullptr) return Error(n, rw + ".when must be a table");
      TRY(ParseConditions(*w, rw + ".when", r.when, entity_types));
    }
    if (auto* n = t.get("tier")) {
      ASSIGN_OR_RETURN(Tier tier, TierOf(*n, rw + ".tier"));
      r.tier = tier;
    }
    if (auto* n = t.get("backend")) {
      ASSIGN_OR_RETURN(r.backend, String(*n, rw + ".backend"));
      TRY(CheckBackend(*n, rw + ".backend", r.backend));
    }
    if (auto* n = t.get("reason")) { ASSIGN_OR_RETURN(r.reason, String(*n, rw + ".reason")); }
    if (auto* n = t.get("escalate_if_unsure")) {
      ASSIGN_OR_RETURN(r.escalate_if_unsure, Bool(*n, rw + ".escalate_if_unsure"));
    }
    const bool escalates = r.action == ActionKind::kEscalate || r.action == ActionKind::kEscalateRedacted;
    if (escalates && r.tier == Tier::kDevice) {
      return Error(t.get("tier"), rw + ": escalate to tier \"device\" is action \"local\"");
    }
    if (!escalates && !r.escalate_if_unsure && (r.tier || !r.backend.empty())) {
      return Error(&t, rw + ": tier/backend only apply to escalate, escalate_redacted or escalate_if_unsure");
    }
    if (r.escalate_if_unsure && r.action != ActionKind::kLocal) {
      return Error(t.get("escalate_if_unsure"), rw + ": escalate_if_unsure only applies to action \"local\"");
    }
    if (r.action == ActionKind::kBlock && r.reason.empty()) {
      return Error(&t, rw + ": action \"block\" needs a reason");
    }
    p.rules.push_back(std::move(r));
    return Status::Ok();
  }

  Status ParseDetectors(const toml::table& t, Policy& p) const {
    TRY(CheckKeys(t, "[detectors]", {"enabled", "min_confidence", "pattern", "words"}));
    DetectorOptions& d = p.detectors;
    if (auto* n = t.get("enabled")) { ASSIGN_OR_RETURN(d.enabled, Strings(*n, "detectors.enabled")); }
    if (auto* n = t.get("min_confidence")) {
      ASSIGN_OR_RETURN(d.min_confidence, Number(*n, "detectors.min_confidence"));
    }
    if (auto* n = t.get("pattern")) {
      const toml::array* arr = n->as_array();
      if (arr == nullptr) return Error(n, "detectors.pattern must be an array of tables ([[detectors.pattern]])");
      for (const toml::node& e : *arr) {
        const toml::table* pt = e.as_table();
        if (pt == nullptr) return Error(&e, "detectors.pattern entries must be tables");
        TRY(CheckKeys(*pt, "[[detectors.pattern]]", {"name", "regex", "confidence"}));
        CustomPattern cp;
        if (!pt->get("name") || !pt->get("regex")) return Error(&e, "[[detectors.pattern]] needs name and regex");
        ASSIGN_OR_RETURN(cp.name, String(*pt->get("name"), "detectors.pattern.name"));
        ASSIGN_OR_RETURN(cp.regex, String(*pt->get("regex"), "detectors.pattern.regex"));
        if (auto* c = pt->get("confidence")) { ASSIGN_OR_RETURN(cp.confidence, Number(*c, "detectors.pattern.confidence")); }
        d.patterns.push_back(std::move(cp));
      }
    }
    if (auto* n = t.get("words")) {
      const toml::array* arr = n->as_array();
      if (arr == nullptr) return Error(n, "detectors.words must be an array of tables ([[detectors.words]])");
      for (const toml::node& e : *arr) {
        const toml::table* wt = e.as_table();
        if (wt == nullptr) return Error(&e, "detectors.words entries must be tables");
        TRY(CheckKeys(*wt, "[[detectors.words]]", {"name", "words", "case_sensitive", "confidence"}));
        WordList wl;
        if (!wt->get("name") || !wt->get("words")) return Error(&e, "[[detectors.words]] needs name and words");
        ASSIGN_OR_RETURN(wl.name, String(*wt->get("name"), "detectors.words.name"));
        ASSIGN_OR_RETURN(wl.words, Strings(*wt->get("words"), "detectors.words.words"));
        if (auto* c = wt->get("case_sensitive")) { ASSIGN_OR_RETURN(wl.case_sensitive, Bool(*c, "detectors.words.case_sensitive")); }
        if (auto* c = wt->get("confidence")) { ASSIGN_OR_RETURN(wl.confidence, Number(*c, "detectors.words.confidence")); }
        d.word_lists.push_back(std::move(wl));
      }
    }
    // Compile now so that a bad pattern is reported when the policy loads, not per request.
    auto compiled = Detector::Create(d);
    if (!compiled.ok()) return Error(&t, compiled.status().message());
    return Status::Ok();
  }

  Result<Policy> Parse(const toml::table& root) const {
    Policy p;
    p.source = std::string(source_);
    p.rules.clear();
    TRY(CheckKeys(root, "the policy",
                  {"version", "defaults", "difficulty", "confidence", "budget", "rule", "label", "detectors",
                   "local_models", "backend", "prices", "offline", "reference_cloud_model"}));
    if (auto* n = root.get("defaults")) {
      if (!n->is_table()) return Error(n, "defaults must be a table");
      TRY(ParseDefaults(*n->as_table(), p));
    }
    if (auto* n = root.get("difficulty")) {
      if (!n->is_table()) return Error(n, "difficulty must be a table");
      TRY(CheckKeys(*n->as_table(), "[difficulty]", {"threshold"}));
      if (auto* th = n->as_table()->get("threshold")) {
        ASSIGN_OR_RETURN(p.difficulty_threshold, Number(*th, "difficulty.threshold"));
        if (p.difficulty_threshold < 0 || p.difficulty_threshold > 1) {
          return Error(th, "difficulty.threshold must be in [0, 1]");
        }
      }
    }
    if (auto* n = root.get("confidence")) {
      const toml::table* t = n->as_table();
      if (t == nullptr) return Error(n, "confidence must be a table");
      TRY(CheckKeys(*t, "[confidence]", {"enabled", "min_mean_logprob", "max_mean_entropy", "min_tokens"}));
      p.confidence.enabled = true;
      if (auto* v = t->get("enabled")) { ASSIGN_OR_RETURN(p.confidence.enabled, Bool(*v, "confidence.enabled")); }
      if (auto* v = t->get("min_mean_logprob")) { ASSIGN_OR_RETURN(p.confidence.min_mean_logprob, Number(*v, "confidence.min_mean_logprob")); }
      if (auto* v = t->get("max_mean_entropy")) { ASSIGN_OR_RETURN(p.confidence.max_mean_entropy, Number(*v, "confidence.max_mean_entropy")); }
      if (auto* v = t->get("min_tokens")) { ASSIGN_OR_RETURN(p.confidence.min_tokens, Int(*v, "confidence.min_tokens")); }
    }
    if (auto* n = root.get("budget")) {
      const toml::table* t = n->as_table();
      if (t == nullptr) return Error(n, "budget must be a table");
      TRY(CheckKeys(*t, "[budget]", {"monthly_usd"}));
      if (auto* v = t->get("monthly_usd")) {
        ASSIGN_OR_RETURN(double usd, Number(*v, "budget.monthly_usd"));
        if (usd < 0) return Error(v, "budget.monthly_usd must not be negative");
        p.monthly_budget_usd = usd;
      }
    }
    if (auto* n = root.get("local_models")) { ASSIGN_OR_RETURN(p.local_models, Strings(*n, "local_models")); }
    if (auto* n = root.get("detectors")) {
      if (!n->is_table()) return Error(n, "detectors must be a table");
      TRY(ParseDetectors(*n->as_table(), p));
    }
    std::set<std::string> entity_types;
    for (std::string_view e : BuiltinEntityTypes()) entity_types.emplace(e);
    for (const CustomPattern& cp : p.detectors.patterns) entity_types.insert(cp.name);
    for (const WordList& wl : p.detectors.word_lists) entity_types.insert(wl.name);
    if (auto* n = root.get("label")) {
      const toml::array* arr = n->as_array();
      if (arr == nullptr) return Error(n, "label must be an array of tables ([[label]])");
      for (const toml::node& e : *arr) {
        const toml::table* t = e.as_table();
        if (t == nullptr) return Error(&e, "[[label]] entries must be tables");
        TRY(CheckKeys(*t, "[[label]]", {"name", "api_key", "route", "level"}));
        LabelRule l;
        if (auto* v = t->get("name")) { ASSIGN_OR_RETURN(l.name, String(*v, "label.name")); }
        if (auto* v = t->get("api_key")) { ASSIGN_OR_RETURN(l.api_key, Strings(*v, "label.api_key")); }
        if (auto* v = t->get("route")) { ASSIGN_OR_RETURN(l.route, Strings(*v, "label.route")); }
        if (auto* v = t->get("level")) { ASSIGN_OR_RETURN(l.level, Level(*v, "label.level")); }
        if (l.api_key.empty() && l.route.empty()) return Error(&e, "[[label]] needs api_key or route");
        p.labels.push_back(std::move(l));
      }
    }
    if (auto* n = root.get("rule")) {
      const toml::array* arr = n->as_array();
      if (arr == nullptr) return Error(n, "rule must be an array of tables ([[rule]])");
      for (size_t i = 0; i < arr->size(); ++i) {
        const toml::table* t = (*arr)[i].as_table();
        if (t == nullptr) return Error(&(*arr)[i], "[[rule]] entries must be tables");
        TRY(ParseRule(*t, i, p, entity_types));
      }
    }
    return p;
  }

 private:
  std::string_view source_;
  const std::vector<BackendRef>& backends_;
};

}  // namespace

Result<Policy> ParsePolicy(std::string_view toml_text, std::string_view source,
                           const std::vector<BackendRef>& backends) {
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << source << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    return InvalidArgumentError(os.str());
  }
  return Parser(source, backends).Parse(root);
}

std::optional<double> BudgetRemaining(const Policy& policy, double spent_this_month_usd) {
  if (!policy.monthly_budget_usd) return std::nullopt;
  return *policy.monthly_budget_usd - spent_this_month_usd;
}

Result<Policy> LoadPolicy(const std::string& path, const std::vector<BackendRef>& backends) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("policy file " + path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ParsePolicy(ss.str(), path, backends);
}

}  // namespace hearth::router
