// Test helper: runs the hearth-reference binary (path compiled in as HEARTH_REFERENCE_BINARY)
// with a shell argument string and captures its stdout and exit code.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace hearth::reference {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
};

inline ProcessResult RunReference(const std::string& args) {
  ProcessResult r;
  const std::string cmd = std::string(HEARTH_REFERENCE_BINARY) + " " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace hearth::reference
