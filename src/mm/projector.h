// mm::Projector: the multimodal projector/encoder of a Gemma model, read from its mmproj GGUF
// (`general.architecture = clip`), turning images and audio into rows of embeddings the language
// model takes with scale 1 (gemma-gguf-spec.md §4, §6).
//
//   ASSIGN_OR_RETURN(auto proj, mm::Projector::Load("mmproj.gguf", model.config()));
//   ASSIGN_OR_RETURN(mm::Embeddings e, proj->EncodeImage(image, {}, pool));
//   ASSIGN_OR_RETURN(auto chunks, mm::AssemblePrompt(rendered, family, tok, {e}, true));
//
// Projector types: vision `gemma4uv` (12B unified, encoder-free), `gemma4v` (ViT of
// E2B/E4B/26B/31B), `gemma3` (SigLIP ViT); audio `gemma4ua` (12B unified, encoder-free),
// `gemma4a` (E2B/E4B conformer, one Embeddings per 30 s chunk). Every hyperparameter comes from
// the file. docs/MULTIMODAL.md describes the pipeline and how it was verified.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chat/chat.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"

#include "media/media.h"

namespace hearth::gguf {
class File;
}

namespace hearth::mm {

// Rows fed to the LM with scale 1. causal = false for image blocks (spec §4.4/§6.5): they attend
// to each other bidirectionally.
struct Embeddings {
  int64_t n_tok = 0;
  int64_t n_embd = 0;
  std::vector<float> data;  // [n_tok × n_embd]
  bool causal = true;
  // What the rows stand for (set by the encoders): picks the begin/end markers in AssemblePrompt.
  enum class Kind { kImage, kAudio };
  Kind kind = Kind::kImage;
  // Entries that come from a video: the ordinal of that video's placeholder in the prompt (0,
  // 1, ...) and, for frames, the frame's time in seconds (written before it as "MM:SS ").
  int video_index = -1;
  double frame_time_s = -1;
};

struct ImageOptions {
  int min_tokens = 0, max_tokens = 0;  // 0: the projector's defaults (gemma4v/uv 40..280)
};

struct VisionParams;
struct AudioParams;

class Projector {
 public:
  // Validates the mmproj against the text model: architecture "clip", known projector types that
  // belong to the text model's family, projection width == text n_embd, every tensor present with
  // the expected shape. Errors name the file and the mismatch.
  static Result<std::unique_ptr<Projector>> Load(const std::string& mmproj_path,
                                                 const model::Config& text);
  ~Projector();

  bool has_vision() const { return vision_ != nullptr; }
  bool has_audio() const { return audio_ != nullptr; }
  std::string vision_type() const;  // "gemma4uv", "gemma3", ...; "" if none
  std::string audio_type() const;   // "gemma4ua", ...; "" if none
  const std::string& path() const { return path_; }
  int64_t n_embd() const { return n_embd_text_; }

  // 8-bit RGB, row-major, width × height × 3 bytes.
  Result<Embeddings> EncodeImage(int width, int height, const uint8_t* rgb, const ImageOptions& o,
                                 ThreadPool& pool) const;
  // Mono 16 kHz samples; one Embeddings per chunk (one for gemma4ua).
  Result<std::vector<Embeddings>> EncodeAudio(std::span<const float> samples,
                                              ThreadPool& pool) const;
  Result<Embeddings> EncodeImage(const media::Image& img, const ImageOptions& o,
                                 ThreadPool& pool) const {
    return EncodeImage(img.width, img.height, img.rgb.data(), o, pool);
  }
  Result<std::vector<Embeddings>> EncodeAudio(const media::Audio& a, ThreadPool& pool) const {
    if (a.sample_rate != 16000) {
      return InvalidArgumentError("audio must be 16 kHz for the projector, got " +
                                  std::to_string(a.sample_rate) + " Hz");
    }
    return EncodeAudio(std::span<const float>(a.samples), pool);
  }

 private:
  Projector() = default;
  std::string path_;
  int64_t n_embd_text_ = 0;
  std::unique_ptr<gguf::File> file_;
  std::unique_ptr<VisionParams> vision_;
  std::unique_ptr<AudioParams> audio_;
};

// Prompt assembly. `rendered` is the chat template's output holding the family's media
// placeholders (chat::ImageMarker/AudioMarker/VideoMarker) in order; `media_in_order` holds one
// Embeddings per image/audio placeholder, in the same order; a video placeholder takes every
// following entry whose video_index is that video's ordinal: its frames (each written as
// "MM:SS " + begin marker + rows + end marker) and its audio chunks, in order. Each placeholder becomes the family's begin marker, the embeddings and the end marker
// (Gemma 4 <|image> … <image|> / <|audio> … <audio|>; Gemma 3 <start_of_image> … <end_of_image>),
// tokenized as text with special tokens parsed. A leading "<bos>" text is dropped when add_bos
// (the BOS id is added instead, spec §8.3). Errors: counts that differ, a placeholder kind the
// family has no markers for, markers missing from the vocabulary.
struct PromptChunk {
  std::vector<int32_t> ids;
  Embeddings embd;
  bool is_embd() const { return embd.n_tok > 0; }
};
Result<std::vector<PromptChunk>> AssemblePrompt(std::string_view rendered, chat::Family family,
                                                const tokenizer::Tokenizer& tok,
                                                std::vector<Embeddings> media_in_order,
                                                bool add_bos);

}  // namespace hearth::mm
