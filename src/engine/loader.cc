#include "engine/loader.h"

#include <unistd.h>

#include <cstdio>

#include "gguf/file.h"
#include "tokenizer/vocab.h"

namespace hearth::engine {

namespace {

void DrawBar(uint64_t done, uint64_t total) {
  const int width = 40;
  const int filled = total ? static_cast<int>(width * done / total) : width;
  std::fprintf(stderr, "\rloading [%.*s%*s] %3d%%", filled,
               "========================================", width - filled, "",
               total ? static_cast<int>(100 * done / total) : 100);
  if (done >= total) std::fprintf(stderr, "\r%*s\r", width + 20, "");
  std::fflush(stderr);
}

}  // namespace

bool ReadOneRowPerToken(const gguf::TensorInfo& t) {
  return t.name.find("per_layer_token_embd") != std::string::npos;
}

Result<LoadedModel> LoadModel(const std::string& path, const LoadOptions& opt) {
  Result<std::unique_ptr<gguf::File>> file = gguf::File::Open(path);
  if (!file.ok()) return file.status();
  std::unique_ptr<gguf::File> f = std::move(file).value();
  const bool bar = opt.progress && isatty(STDERR_FILENO);
  if (opt.mmap) {
    if (bar) f->Prefetch(DrawBar);
  } else if (Status st = f->CopyIntoMemory(bar ? DrawBar : nullptr, ReadOneRowPerToken); !st.ok()) {
    // Still a working model, as with mmap: say why it is not in memory and go on.
    std::fprintf(stderr, "hearth: warning: %s\n", st.message().c_str());
  }
  Result<tokenizer::Vocab> vocab = tokenizer::LoadVocab(*f);
  if (!vocab.ok()) return vocab.status().WithContext(path + ": loading the vocabulary");
  Result<tokenizer::Tokenizer> tok = tokenizer::Tokenizer::Create(std::move(vocab).value());
  if (!tok.ok()) return tok.status().WithContext(path + ": building the tokenizer");
  Result<std::unique_ptr<model::Model>> m = model::Model::Load(std::move(f));
  if (!m.ok()) return m.status().WithContext(path);
  LoadedModel out;
  out.model = std::move(m).value();
  out.tokenizer = std::make_unique<tokenizer::Tokenizer>(std::move(tok).value());
  if (out.tokenizer->n_vocab() > out.model->config().n_vocab) {
    return InvalidArgumentError(path + ": the vocabulary has " +
                                std::to_string(out.tokenizer->n_vocab()) +
                                " tokens but token_embd has only " +
                                std::to_string(out.model->config().n_vocab) + " rows");
  }
  return out;
}

Status CheckFits(const MemoryPlan& plan) {
  if (plan.fits() || plan.ram_available == 0) return Status::Ok();
  return ResourceExhaustedError("the model will not fit in memory\n" + plan.Explain());
}

}  // namespace hearth::engine
