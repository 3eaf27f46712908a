#include "backends/config.h"

#include <gtest/gtest.h>

namespace hearth::backends {
namespace {

constexpr char kConfig[] = R"toml(
reference_cloud_model = "gpt-4o"

[[backend]]
name = "openai-main"
tier = "cloud"
kind = "openai"
url = "https://api.openai.com/v1"
model = "gpt-4o"
api_key_env = "OPENAI_API_KEY"
timeout_ms = 30000
max_retries = 3

[[backend]]
name = "gpu-box"
tier = "private"
url = "http://10.0.0.5:8000/v1"
health_path = "/models"

[prices."gpt-4o"]
input_per_mtok = 2.5
output_per_mtok = 10

[policy]          # someone else's table: ignored here
default = "local"
)toml";

TEST(BackendsConfig, ParsesBackendsAndPrices) {
  Result<BackendsConfig> c = ParseBackendsConfig(kConfig, "test.toml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->offline);
  EXPECT_EQ(c->reference_cloud_model, "gpt-4o");
  ASSERT_EQ(c->backends.size(), 2u);
  const BackendConfig& a = c->backends[0];
  EXPECT_EQ(a.name, "openai-main");
  EXPECT_EQ(a.tier, Tier::kCloud);
  EXPECT_EQ(a.kind, BackendKind::kOpenAi);
  EXPECT_EQ(a.url, "https://api.openai.com/v1");
  EXPECT_EQ(a.model, "gpt-4o");
  EXPECT_EQ(a.api_key_env, "OPENAI_API_KEY");
  EXPECT_EQ(a.timeout_ms, 30000);
  EXPECT_EQ(a.max_retries, 3);
  const BackendConfig& b = c->backends[1];
  EXPECT_EQ(b.tier, Tier::kPrivate);
  EXPECT_EQ(b.kind, BackendKind::kOpenAi) << "kind defaults to openai";
  EXPECT_EQ(b.timeout_ms, 60000);
  EXPECT_EQ(b.health_path, "/models");
  ASSERT_EQ(c->prices.count("gpt-4o"), 1u);
  EXPECT_DOUBLE_EQ(c->prices.at("gpt-4o").input_per_mtok, 2.5);
  EXPECT_DOUBLE_EQ(c->prices.at("gpt-4o").output_per_mtok, 10.0);
}

struct BadCase {
  const char* toml;
  const char* expected_fragment;
};

TEST(BackendsConfig, ErrorsNameWhatAndWhere) {
  const BadCase cases[] = {
      {"[[backend]]\nname = \"x\"\ntier = \"cloud\"\n", "missing url"},
      {"[[backend]]\nname = \"x\"\ntier = \"moon\"\nurl = \"http://a\"\n", "unknown tier \"moon\""},
      {"[[backend]]\nname = \"x\"\ntier = \"cloud\"\nkind = \"grpc\"\nurl = \"http://a\"\n", "unknown kind"},
      {"[[backend]]\nname = \"x\"\ntier = \"cloud\"\nurl = \"ftp://a\"\n", "http:// or https://"},
      {"[[backend]]\nname = \"x\"\ntier = \"cloud\"\nurl = \"http://a\"\ntimeout = 5\n", "unknown key \"timeout\""},
      {"[[backend]]\nname = \"x\"\ntier = \"cloud\"\nurl = \"http://a\"\ntimeout_ms = \"5\"\n", "timeout_ms must be an integer"},
      {"[[backend]]\nname = \"x\"\ntier = \"cloud\"\nurl = \"http://a\"\nmax_retries = 99\n", "outside [0, 10]"},
      {"[[backend]]\nname = \"x\"\ntier = \"device\"\nurl = \"http://a\"\n", "in-process engine"},
      {"[[backend]]\nname = \"x\"\ntier = \"cloud\"\nurl = \"http://a\"\n[[backend]]\nname = \"x\"\ntier = \"cloud\"\nurl = \"http://b\"\n", "duplicate name"},
      {"[prices.\"m\"]\ninput_per_mtok = -1\noutput_per_mtok = 1\n", "must be a number >= 0"},
      {"[prices.\"m\"]\ninput_per_mtok = 1\n", "missing output_per_mtok"},
      {"reference_cloud_model = \"nope\"\n", "has no [prices] entry"},
      {"offline = \"yes\"\n", "offline must be true or false"},
      {"[[backend]\nname = 1\n", "test.toml:1:"},  // TOML syntax error: line and column
  };
  for (const BadCase& c : cases) {
    Result<BackendsConfig> r = ParseBackendsConfig(c.toml, "test.toml");
    ASSERT_FALSE(r.ok()) << c.toml;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.toml;
    EXPECT_NE(r.status().message().find(c.expected_fragment), std::string::npos)
        << "toml:\n" << c.toml << "\nmessage: " << r.status().message();
    EXPECT_EQ(r.status().message().rfind("test.toml", 0), 0u) << r.status().message();
  }
}

TEST(BackendsConfig, OfflineFlagAndMissingFile) {
  Result<BackendsConfig> c = ParseBackendsConfig("offline = true\n", "t");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->offline);
  EXPECT_EQ(LoadBackendsConfig("/nonexistent/x.toml").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace hearth::backends
