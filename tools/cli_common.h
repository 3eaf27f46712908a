// Pieces shared by the hearth subcommands: option structs bound to CLI11, model loading with the
// memory check, prompt building (chat template or raw), and error reporting.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "chat/chat.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "engine/session.h"
#include "engine/generate.h"
#include "engine/loader.h"
#include "mm/projector.h"
#include "model/kv_cache.h"

namespace hearth::cli {

// --mmap's help, the same on run, chat, serve and bench.
inline constexpr const char* kMmapHelp =
    "leave the weights in the file's memory mapping rather than copying them into memory at load "
    "(starts sooner; decodes slower on some machines, and Q4_0/Q5_0/Q8_0 keep GGUF's row layout, "
    "slower for prefill)";

struct ModelOptions {
  std::string model_path;
  int threads = 0;            // 0: physical cores
  int64_t n_ctx = 4096;
  int64_t n_batch = 512;
  std::string kv_type = "f16";
  bool ignore_memory_check = false;
  bool mmap = false;          // keep the weights in the file mapping (engine::LoadOptions::mmap)
  std::string max_memory;     // "" = what the system has available; e.g. "8G", "512M"
  void Add(CLI::App& app);
  Result<model::KvType> KvType() const;
};

struct SamplingOptions {
  engine::GenerateOptions gen;
  void Add(CLI::App& app);
};

// The demo model shipped with hearth (models/hearth-demo.gguf and its projector
// models/mmproj-hearth-demo.gguf, trained by tools/demo-model), used when no -m is given. Looked
// for in $HEARTH_DEMO_MODELS, then beside the binary: <exe>/../../models (the build tree) and
// <exe>/../share/hearth/models (an install). NotFound names every place tried.
struct DefaultModel {
  std::string model, mmproj;
};
Result<DefaultModel> FindDefaultModel();
// Fills an empty model path (and, when media options are given and --mmproj is empty, the
// projector) with the demo model's, saying so on stderr.
Status UseDefaultModel(std::string* model_path, std::string* mmproj);

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

// ---- multimodal input (hearth run / hearth chat) ----

struct MediaItem {
  enum class Kind { kImage, kAudio, kVideo };
  Kind kind = Kind::kImage;
  std::string path;
};
std::string_view MediaKindName(MediaItem::Kind k);  // "image", "audio", "video"

struct MediaOptions {
  std::string mmproj;
  std::vector<std::string> images, audios, videos;
  int image_min_tokens = 0, image_max_tokens = 0;  // 0: the projector's defaults
  double video_fps = 1.0;
  int video_max_frames = 32;
  // --mmproj, --image, --audio, --video (repeatable), the image token limits, video sampling.
  void Add(CLI::App& app, bool with_files);
  // The files in command-line order (from the app's parse order).
  std::vector<MediaItem> Items(const CLI::App& app) const;
};

// Loads --mmproj for the model (nullptr when none is given). Errors name the mismatch.
Result<std::unique_ptr<mm::Projector>> LoadProjector(const MediaOptions& mo,
                                                     const engine::LoadedModel& lm);
// Decodes a media file and encodes it with the projector, appending its Embeddings in prompt
// order (a video: its frames, then its audio chunks when the projector takes audio, all tagged
// with `video_index`). Errors name the file.
Status EncodeMediaFile(const mm::Projector* proj, const MediaItem& item, int video_index,
                       const MediaOptions& mo, ThreadPool& pool, std::vector<mm::Embeddings>* out);
// Splits the user text at the placeholders "<image>", "<audio>" and "<video>" into chat parts,
// matching the k-th placeholder of a kind with the k-th item of that kind, and reorders `items`
// into the order the parts place them; without placeholders the media parts come first, in
// order. Counts that differ are an error.
Result<std::vector<chat::Part>> UserParts(const std::string& text, std::vector<MediaItem>* items);
// Renders the turn (chat template or raw) and places the media: the chunks to feed.
Result<std::vector<mm::PromptChunk>> BuildMultimodalPrompt(const tokenizer::Tokenizer& tok,
                                                           const std::string& system,
                                                           const std::vector<chat::Part>& parts,
                                                           std::vector<mm::Embeddings> media,
                                                           bool raw, bool think);
// The prompt family for media markers: from the chat template, else from the vocabulary.
Result<chat::Family> MediaFamily(const tokenizer::Tokenizer& tok);
// Positions the chunks take (ids + embedding rows).
int64_t ChunkPositions(std::span<const mm::PromptChunk> chunks);
// Feeds the chunks in order: ids with Feed, embeddings with FeedEmbeddings(causal flag).
Status FeedChunks(engine::Session& s, std::span<const mm::PromptChunk> chunks);

void AddRunCommand(CLI::App& app, int* exit_code);
void AddChatCommand(CLI::App& app, int* exit_code);
void AddTokenizeCommands(CLI::App& app, int* exit_code);
void AddInspectCommand(CLI::App& app, int* exit_code);
void AddImportVocabCommand(CLI::App& app, int* exit_code);
void AddMakeTestModelCommand(CLI::App& app, int* exit_code);
void AddRouterCommands(CLI::App& app, int* exit_code);

}  // namespace hearth::cli
