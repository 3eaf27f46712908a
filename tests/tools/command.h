// Running a shell command from a test and judging a failure: shared by the black-box tests of the
// `hearth` command (tests/tools, tests/mm).
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace hearth::testing {

struct Out {
  int exit_code = -1;
  bool signaled = false;  // killed by a signal (or a shell reporting one as 128+N)
  std::string text;       // what the command wrote to stdout
};

// Runs `cmd` with /bin/sh (popen) and collects its stdout.
inline Out RunCommand(const std::string& cmd) {
  Out o;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.text.append(buf, n);
  const int st = pclose(p);
  o.signaled = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) >= 128);
  o.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return o;
}

// A clean failure: non-zero exit, no crash, and the output contains every `needle`.
inline void ExpectError(const Out& o, const std::vector<std::string>& needles) {
  EXPECT_FALSE(o.signaled) << o.text;
  EXPECT_NE(o.exit_code, 0) << o.text;
  for (const auto& n : needles)
    EXPECT_NE(o.text.find(n), std::string::npos) << "missing '" << n << "' in: " << o.text;
}

}  // namespace hearth::testing
