// Helpers shared by the backend tests: an egress recorder and backends wired to fakes.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backends/factory.h"
#include "backends/fake_providers.h"

namespace hearth::backends {

class EgressLog {
 public:
  EgressObserver observer() {
    return [this](const EgressRecord& r) {
      std::lock_guard<std::mutex> lock(mu_);
      records_.push_back(r);
      return refuse_ ? PermissionDeniedError("egress refused by test") : Status::Ok();
    };
  }
  std::vector<EgressRecord> records() const {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }
  void set_refuse(bool refuse) { refuse_ = refuse; }

 private:
  mutable std::mutex mu_;
  std::vector<EgressRecord> records_;
  bool refuse_ = false;
};

inline BackendKind KindFor(fakes::Wire wire) {
  switch (wire) {
    case fakes::Wire::kOpenAi: return BackendKind::kOpenAi;
    case fakes::Wire::kAnthropic: return BackendKind::kAnthropic;
    case fakes::Wire::kGemini: return BackendKind::kGemini;
  }
  return BackendKind::kOpenAi;
}

inline BackendConfig ConfigFor(const fakes::FakeProvider& fake, const std::string& name,
                               const std::string& model, Tier tier = Tier::kCloud) {
  BackendConfig c;
  c.name = name;
  c.tier = tier;
  c.kind = KindFor(fake.wire());
  c.url = fake.base_url();
  c.model = model;
  c.timeout_ms = 2000;
  c.connect_timeout_ms = 1000;
  return c;
}

inline nlohmann::json SimpleBody(const std::string& user_text) {
  return {{"model", "auto"},
          {"messages", nlohmann::json::array({{{"role", "system"}, {"content", "be brief"}},
                                              {{"role", "user"}, {"content", user_text}}})}};
}

// Bounds every fault test: nothing may hang.
constexpr auto kFaultTestBound = std::chrono::seconds(8);

}  // namespace hearth::backends
