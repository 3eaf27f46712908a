#include "router/detectors.h"

#include <re2/re2.h>

#include <algorithm>
#include <map>

#include "router/builtin_rules.h"

namespace hearth::router {

using internal::RuleSpec;
using internal::Validator;

const std::vector<std::string_view>& BuiltinEntityTypes() {
  static const std::vector<std::string_view>* types = new std::vector<std::string_view>{
      kEntityCreditCard, kEntityIban,       kEntityUsSsn,     kEntityEmail,
      kEntityPhone,      kEntityIpAddress,  kEntityMacAddress, kEntityDateOfBirth,
      kEntityApiKey,     kEntityAwsAccessKey, kEntityAwsSecretKey, kEntityJwt,
      kEntityPrivateKey, kEntitySecret};
  return *types;
}

bool IsSecretEntity(std::string_view type) {
  return type == kEntityApiKey || type == kEntityAwsAccessKey || type == kEntityAwsSecretKey ||
         type == kEntityJwt || type == kEntityPrivateKey || type == kEntitySecret;
}

namespace {

struct CompiledRule {
  std::string type;
  std::string subtype;
  std::unique_ptr<RE2> re;
  double confidence = 0;
  int span_group = 0;
  Validator validate = nullptr;
};

RE2::Options PatternOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(8 << 20);
  return o;
}

}  // namespace

struct Detector::Compiled {
  std::vector<CompiledRule> rules;
  double min_confidence = 0.5;
};

Detector::Detector(std::unique_ptr<Compiled> compiled) : c_(std::move(compiled)) {}
Detector::Detector(Detector&&) noexcept = default;
Detector& Detector::operator=(Detector&&) noexcept = default;
Detector::~Detector() = default;

Result<Detector> Detector::Create(const DetectorOptions& options) {
  auto c = std::make_unique<Compiled>();
  c->min_confidence = options.min_confidence;
  for (const std::string& name : options.enabled) {
    const auto& all = BuiltinEntityTypes();
    if (std::find(all.begin(), all.end(), name) == all.end()) {
      return InvalidArgumentError("detectors.enabled: unknown entity type \"" + name + "\"");
    }
  }
  auto enabled = [&](std::string_view type) {
    return options.enabled.empty() ||
           std::find(options.enabled.begin(), options.enabled.end(), type) != options.enabled.end();
  };
  for (const RuleSpec& spec : internal::BuiltinRuleSpecs()) {
    if (!enabled(spec.type)) continue;
    CompiledRule r;
    r.type = std::string(spec.type);
    r.subtype = std::string(spec.subtype);
    r.re = std::make_unique<RE2>(re2::StringPiece(spec.pattern.data(), spec.pattern.size()),
                                 PatternOptions());
    CHECK(r.re->ok()) << "built-in pattern for " << spec.type << ": " << r.re->error();
    r.confidence = spec.confidence;
    r.span_group = spec.span_group;
    r.validate = spec.validate;
    c->rules.push_back(std::move(r));
  }
  for (const CustomPattern& p : options.patterns) {
    CompiledRule r;
    r.type = p.name;
    r.re = std::make_unique<RE2>(p.regex, PatternOptions());
    if (!r.re->ok()) {
      return InvalidArgumentError("detectors.pattern \"" + p.name + "\": " + r.re->error());
    }
    r.confidence = p.confidence;
    r.span_group = r.re->NumberOfCapturingGroups() >= 1 ? 1 : 0;
    c->rules.push_back(std::move(r));
  }
  for (const WordList& w : options.word_lists) {
    if (w.words.empty()) {
      return InvalidArgumentError("detectors.words \"" + w.name + "\": empty word list");
    }
    std::string pattern = w.case_sensitive ? "\\b(?:" : "(?i)\\b(?:";
    for (size_t i = 0; i < w.words.size(); ++i) {
      if (w.words[i].empty()) {
        return InvalidArgumentError("detectors.words \"" + w.name + "\": empty word at index " +
                                    std::to_string(i));
      }
      if (i > 0) pattern += "|";
      pattern += RE2::QuoteMeta(w.words[i]);
    }
    pattern += ")\\b";
    CompiledRule r;
    r.type = w.name;
    r.re = std::make_unique<RE2>(pattern, PatternOptions());
    if (!r.re->ok()) {
      return InvalidArgumentError("detectors.words \"" + w.name + "\": " + r.re->error());
    }
    r.confidence = w.confidence;
    c->rules.push_back(std::move(r));
  }
  return Detector(std::move(c));
}

std::vector<Finding> Detector::Scan(std::string_view text) const {
  std::vector<Finding> found;
  const re2::StringPiece whole(text.data(), text.size());
  for (const CompiledRule& rule : c_->rules) {
    re2::StringPiece groups[2];
    const int n = rule.span_group + 1;
    size_t pos = 0;
    while (pos <= text.size() &&
           rule.re->Match(whole, pos, text.size(), RE2::UNANCHORED, groups, n)) {
      const size_t mb = static_cast<size_t>(groups[0].data() - text.data());
      const size_t me = mb + groups[0].size();
      pos = me > mb ? me : mb + 1;  // matches never overlap within one rule
      const re2::StringPiece& g = groups[rule.span_group];
      if (g.data() == nullptr || g.empty()) continue;
      Finding f;
      f.type = rule.type;
      f.subtype = rule.subtype;
      f.begin = static_cast<size_t>(g.data() - text.data());
      f.end = f.begin + g.size();
      f.confidence = rule.confidence;
      if (rule.validate != nullptr && !rule.validate(text, f)) continue;
      if (f.confidence < c_->min_confidence || f.end <= f.begin) continue;
      found.push_back(std::move(f));
    }
  }
  return ResolveOverlaps(std::move(found));
}

std::vector<Finding> ResolveOverlaps(std::vector<Finding> findings) {
  std::sort(findings.begin(), findings.end(), [](const Finding& a, const Finding& b) {
    if (a.size() != b.size()) return a.size() > b.size();
    if (a.confidence != b.confidence) return a.confidence > b.confidence;
    return a.begin < b.begin;
  });
  std::map<size_t, size_t> kept_spans;  // begin -> end of kept findings
  std::vector<Finding> kept;
  for (Finding& f : findings) {
    auto next = kept_spans.lower_bound(f.begin);
    if (next != kept_spans.end() && next->first < f.end) continue;
    if (next != kept_spans.begin() && std::prev(next)->second > f.begin) continue;
    kept_spans.emplace(f.begin, f.end);
    kept.push_back(std::move(f));
  }
  std::sort(kept.begin(), kept.end(),
            [](const Finding& a, const Finding& b) { return a.begin < b.begin; });
  return kept;
}

}  // namespace hearth::router
