// Loading a model file for use: the GGUF mapping, the decoder and its tokenizer, with a progress
// bar on a terminal, and the memory check that refuses what will not fit.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "engine/memory.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::engine {

struct LoadedModel {
  std::unique_ptr<model::Model> model;
  std::unique_ptr<tokenizer::Tokenizer> tokenizer;
};

struct LoadOptions {
  bool progress = true;   // draw a progress bar on stderr when it is a terminal
  // Leave the weights in the file's memory mapping (read on first use, shared with the page
  // cache) instead of copying them into anonymous memory at load (gguf::File::CopyIntoMemory),
  // which decodes faster but reads the whole file before the first token.
  bool mmap = false;
};

// Tables the forward pass reads one row per token, whatever the model: Gemma 4 E2B/E4B's per-layer
// token embeddings (a third or more of those files). LoadModel leaves them in the file mapping,
// paged in as rows are used; bench does not count them in the bytes a decode step reads.
bool ReadOneRowPerToken(const gguf::TensorInfo& t);

// Opens the GGUF (all shards), reads config, binds weights, loads the vocabulary. Errors name the
// file and what was wrong.
Result<LoadedModel> LoadModel(const std::string& path, const LoadOptions& opt = {});

// Ok when the plan fits; otherwise ResourceExhausted carrying plan.Explain().
Status CheckFits(const MemoryPlan& plan);

}  // namespace hearth::engine
