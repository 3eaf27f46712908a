// Test helper: runs the hearth-reference binary (path compiled in as HEARTH_REFERENCE_BINARY)
// with a shell argument string and captures its stdout and exit code.
#pragma once

#include <string>
#include <utility>

#include "../tools/command.h"

namespace hearth::reference {

struct ProcessResult {
  int exit_code = -1;
  std::string out;
};

inline ProcessResult RunReference(const std::string& args) {
  ::hearth::testing::Out o =
      ::hearth::testing::RunCommand(std::string(HEARTH_REFERENCE_BINARY) + " " + args);
  return {o.exit_code, std::move(o.text)};
}

}  // namespace hearth::reference
