// hearth: run Gemma models locally. Each subcommand lives in its own cmd_*.cc file.
#include <CLI/CLI.hpp>

#include "tools/cli_common.h"

namespace hearth::cli {
void AddServeCommand(CLI::App& app, int* exit_code);  // tools/cmd_serve.cc
void AddBenchCommand(CLI::App& app, int* exit_code);  // tools/cmd_bench.cc
}

int main(int argc, char** argv) {
  CLI::App app{"hearth: run Gemma 3 and Gemma 4 GGUF models on this machine"};
  app.require_subcommand(1);
  int exit_code = 0;  // set by the subcommand that runs
  app.set_version_flag("--version", "hearth 0.1.0");
  hearth::cli::AddRunCommand(app, &exit_code);
  hearth::cli::AddChatCommand(app, &exit_code);
  hearth::cli::AddTokenizeCommands(app, &exit_code);
  hearth::cli::AddInspectCommand(app, &exit_code);
  hearth::cli::AddImportVocabCommand(app, &exit_code);
  hearth::cli::AddMakeTestModelCommand(app, &exit_code);
  hearth::cli::AddRouterCommands(app, &exit_code);
  hearth::cli::AddServeCommand(app, &exit_code);
  hearth::cli::AddBenchCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
