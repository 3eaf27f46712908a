// Offline mode: creating any network backend fails before a client exists, and this process opens
// no socket at all. Proved three ways: libcurl's open-socket counter, the process's own sockets in
// /proc/self/fd matched against /proc/self/net/tcp{,6}, and (from CTest) the same tests re-run in a
// network namespace with no route out (`unshare -rn`). SocketCounter.* are the positive controls
// showing that the counter does see loopback and non-loopback connection attempts.
#include <dirent.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "backends/config.h"
#include "backends/http_client.h"
#include "backends/pool.h"
#include "test_util.h"

namespace hearth::backends {
namespace {

constexpr char kCloudConfig[] = R"toml(
offline = true
[[backend]]
name = "openai"
tier = "cloud"
kind = "openai"
url = "https://api.openai.com/v1"
model = "gpt-4o"
[[backend]]
name = "anthropic"
tier = "cloud"
kind = "anthropic"
url = "https://api.anthropic.com/v1"
model = "claude-sonnet-4-5"
[[backend]]
name = "gemini"
tier = "cloud"
kind = "gemini"
url = "https://generativelanguage.googleapis.com/v1beta"
model = "gemini-2.5-flash"
[[backend]]
name = "gpu-box"
tier = "private"
url = "http://127.0.0.1:1/v1"
)toml";

// Inodes of the sockets this process holds.
std::set<std::string> OwnSocketInodes() {
  std::set<std::string> inodes;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return inodes;
  while (dirent* e = readdir(dir)) {
    char target[256];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    std::string t(target);
    if (t.rfind("socket:[", 0) == 0) inodes.insert(t.substr(8, t.size() - 9));
  }
  closedir(dir);
  return inodes;
}

bool IsLoopbackHex(const std::string& addr_port) {
  std::string addr = addr_port.substr(0, addr_port.find(':'));
  if (addr.size() == 8) return addr.substr(6, 2) == "7F" || addr == "00000000";  // 127.x, unbound
  if (addr.size() == 32) {
    return addr == "00000000000000000000000001000000" ||       // ::1
           addr == "00000000000000000000000000000000" ||       // unbound
           (addr.substr(0, 24) == "0000000000000000FFFF0000" && addr.substr(30, 2) == "7F");
  }
  return false;
}

// This process's TCP sockets whose remote end is not loopback (as "file: remote").
std::vector<std::string> NonLoopbackTcpOfThisProcess() {
  std::set<std::string> own = OwnSocketInodes();
  std::vector<std::string> out;
  for (const char* file : {"/proc/self/net/tcp", "/proc/self/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ss(line);
      std::string sl, local, remote, st, queues, tr, retr, uid, timeout, inode;
      ss >> sl >> local >> remote >> st >> queues >> tr >> retr >> uid >> timeout >> inode;
      if (own.count(inode) && !IsLoopbackHex(remote)) out.push_back(std::string(file) + ": " + remote);
    }
  }
  return out;
}

TEST(Offline, NoNetworkBackendCanBeCreated) {
  SocketCounts before = GetSocketCounts();
  Result<BackendsConfig> config = ParseBackendsConfig(kCloudConfig, "offline.toml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_TRUE(config->offline);
  EgressLog log;
  for (const BackendConfig& c : config->backends) {
    Result<std::unique_ptr<Backend>> b = CreateBackend(c, NetworkOptions{config->offline, log.observer()});
    ASSERT_FALSE(b.ok()) << c.name;
    EXPECT_EQ(b.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(b.status().message().find("offline mode"), std::string::npos);
    EXPECT_NE(b.status().message().find(c.name), std::string::npos);
  }
  SocketCounts after = GetSocketCounts();
  EXPECT_EQ(after.loopback, before.loopback);
  EXPECT_EQ(after.non_loopback, before.non_loopback);
  EXPECT_TRUE(log.records().empty());
  EXPECT_EQ(NonLoopbackTcpOfThisProcess(), std::vector<std::string>{});
}

TEST(Offline, ProcessHoldsNoNonLoopbackConnections) {
  // Whatever ran before in this binary (all tests talk to 127.0.0.1 only), no socket of this
  // process points anywhere but loopback.
  EXPECT_EQ(NonLoopbackTcpOfThisProcess(), std::vector<std::string>{});
}

TEST(SocketCounter, SeesLoopbackTraffic) {
  fakes::FakeProvider fake(fakes::Wire::kOpenAi);
  EgressLog log;
  auto backend = std::move(CreateBackend(ConfigFor(fake, "f", "m"), NetworkOptions{false, log.observer()})).value();
  SocketCounts before = GetSocketCounts();
  ChatRequest req;
  req.body = SimpleBody("x");
  ASSERT_TRUE(backend->Complete(req, nullptr).ok());
  SocketCounts after = GetSocketCounts();
  EXPECT_EQ(after.loopback, before.loopback + 1);
  EXPECT_EQ(after.non_loopback, before.non_loopback);
}

TEST(SocketCounter, SeesANonLoopbackAttempt) {
  // 192.0.2.1 is TEST-NET-1 (RFC 5737): reserved for documentation, never answered.
  BackendConfig c;
  c.name = "testnet";
  c.tier = Tier::kCloud;
  c.url = "http://192.0.2.1:9/v1";
  c.model = "m";
  c.connect_timeout_ms = 200;
  c.timeout_ms = 300;
  EgressLog log;
  auto backend = std::move(CreateBackend(c, NetworkOptions{false, log.observer()})).value();
  SocketCounts before = GetSocketCounts();
  ChatRequest req;
  req.body = SimpleBody("x");
  Result<ChatResult> r = backend->Complete(req, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().code() == StatusCode::kUnavailable ||
              r.status().code() == StatusCode::kDeadlineExceeded) << r.status().ToString();
  EXPECT_EQ(GetSocketCounts().non_loopback, before.non_loopback + 1);
  EXPECT_TRUE(log.records().empty()) << "no connection, so no bytes left and nothing is audited";
}

}  // namespace
}  // namespace hearth::backends

namespace hearth::backends {
namespace {

TEST(Offline, BuildPoolCreatesNothing) {
  SocketCounts before = GetSocketCounts();
  BackendsConfig config = std::move(ParseBackendsConfig(kCloudConfig, "offline.toml")).value();
  EgressLog log;
  Result<std::unique_ptr<Pool>> pool = BuildPool(config, NetworkOptions{true, log.observer()});
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  EXPECT_TRUE((*pool)->States().empty());
  EXPECT_FALSE((*pool)->HasTier(Tier::kCloud));
  EXPECT_EQ(GetSocketCounts().loopback, before.loopback);
  EXPECT_EQ(GetSocketCounts().non_loopback, before.non_loopback);
}

TEST(BuildPool, OnlineCreatesEveryBackendWithItsRetries) {
  BackendsConfig config = std::move(ParseBackendsConfig(kCloudConfig, "c.toml")).value();
  config.offline = false;
  EgressLog log;
  Result<std::unique_ptr<Pool>> pool = BuildPool(config, NetworkOptions{false, log.observer()});
  ASSERT_TRUE(pool.ok()) << pool.status().ToString();
  EXPECT_EQ((*pool)->States().size(), 4u);
  EXPECT_TRUE((*pool)->HasTier(Tier::kPrivate));
  config.backends[0].api_key_env = "HEARTH_TEST_SURELY_UNSET";
  unsetenv("HEARTH_TEST_SURELY_UNSET");
  Result<std::unique_ptr<Pool>> bad = BuildPool(config, NetworkOptions{false, log.observer()});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("HEARTH_TEST_SURELY_UNSET"), std::string::npos);
}

}  // namespace
}  // namespace hearth::backends
