// Pieces shared by the hearth subcommands: option structs bound to CLI11, model loading with the
// memory check, prompt building (chat template or raw), and error reporting.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"
#include "engine/generate.h"
#include "engine/loader.h"
#include "model/kv_cache.h"

namespace hearth::cli {

struct ModelOptions {
  std::string model_path;
  int threads = 0;            // 0: physical cores
  int64_t n_ctx = 4096;
  int64_t n_batch = 512;
  std::string kv_type = "f16";
  bool ignore_memory_check = false;
  std::string max_memory;     // "" = what the system has available; e.g. "8G", "512M"
  void Add(CLI::App& app);
  Result<model::KvType> KvType() const;
};

struct SamplingOptions {
  engine::GenerateOptions gen;
  void Add(CLI::App& app);
};

// Prints "hearth: <message>" to stderr and returns the exit code for the status.
int Fail(const Status& s);

// Loads the model, checks memory at the requested context. On failure prints and sets *exit_code.
Result<engine::LoadedModel> LoadChecked(const ModelOptions& mo);

// "8G", "512M", "1024K", "123" -> bytes; errors name the text.
Result<int64_t> ParseBytes(const std::string& s);

// Comma-separated ids ("2,105,3") -> vector; errors name the bad element.
Result<std::vector<int32_t>> ParseIds(const std::string& s);

// Renders one user turn (optionally with a system message) through the model's chat template and
// tokenizes it (BOS added once); raw = no template.
Result<std::vector<int32_t>> BuildPrompt(const tokenizer::Tokenizer& tok, const std::string& system,
                                         const std::string& user, bool raw, bool think);

void AddRunCommand(CLI::App& app, int* exit_code);
void AddChatCommand(CLI::App& app, int* exit_code);
void AddTokenizeCommands(CLI::App& app, int* exit_code);
void AddInspectCommand(CLI::App& app, int* exit_code);
void AddImportVocabCommand(CLI::App& app, int* exit_code);
void AddMakeTestModelCommand(CLI::App& app, int* exit_code);
void AddRouterCommands(CLI::App& app, int* exit_code);

}  // namespace hearth::cli
