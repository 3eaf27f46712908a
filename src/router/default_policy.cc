// The built-in default policy. docs/ROUTING.md quotes it; policy_test.cc exercises every rule.
#include "router/policy.h"

namespace hearth::router {

std::string_view DefaultPolicyToml() {
  return R"toml(# hearth default policy: the first rule whose conditions all hold decides.

[defaults]
action = "local"                 # nothing matched: run on this machine
on_cloud_unavailable = "local"   # an escalation whose tier has no healthy backend runs locally
on_budget_exhausted = "local"    # an escalation to the cloud with no budget left runs locally

[difficulty]
threshold = 0.5                  # `hard = true` means difficulty >= this

[confidence]                     # second stage, used by rules with escalate_if_unsure = true
min_mean_logprob = -1.0
max_mean_entropy = 2.5

# The caller asked for the local model: run it here (or fail if it does not fit).
[[rule]]
name = "model-local"
when = { model_kind = ["local"] }
action = "local"

# A request carrying sensitive data that names a cloud model is refused, not sent.
[[rule]]
name = "sensitive-named-cloud-model"
when = { sensitive = true, model_kind = ["named"], model_tier = ["cloud"] }
action = "block"
reason = "the request carries sensitive data and names a cloud model; sensitive data never goes to the cloud"

# Images, audio and video stay on this machine.
[[rule]]
name = "media-stays-local"
when = { modalities_any = ["image", "audio", "video"] }
action = "local"

# Sensitive and too long for this machine: a private backend the user controls may take it.
[[rule]]
name = "sensitive-too-long-private"
when = { sensitive = true, context_fits = false, private_available = true }
action = "escalate"
tier = "private"

# The caller named a model on a private backend (the user's own): sensitive data may go there.
[[rule]]
name = "sensitive-named-private-model"
when = { sensitive = true, model_kind = ["named"], model_tier = ["private"] }
action = "escalate"

# Sensitive never goes to the cloud.
[[rule]]
name = "sensitive-stays-local"
when = { sensitive = true }
action = "local"
reason = "sensitive data never goes to the cloud"

# Too long for the local context: escalate, to the named model's backend if the caller named one,
# else to the cloud (the fallbacks apply if it cannot take it).
[[rule]]
name = "context-too-long"
when = { context_fits = false }
action = "escalate"

# The caller named a model that a configured backend serves.
[[rule]]
name = "named-model"
when = { model_kind = ["named"] }
action = "escalate"

# Hard requests escalate.
[[rule]]
name = "hard-escalates"
when = { hard = true }
action = "escalate"
tier = "cloud"
)toml";
}

const Policy& DefaultPolicy() {
  static const Policy* policy = [] {
    Result<Policy> p = ParsePolicy(DefaultPolicyToml(), "<default policy>", {});
    CHECK(p.ok()) << p.status().ToString();
    return new Policy(std::move(p).value());
  }();
  return *policy;
}

}  // namespace hearth::router
