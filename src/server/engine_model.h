// EngineModel: a GGUF model loaded in this process, served through the OpenAI shapes.
//
// It validates every field of a chat-completions or completions body (an unsupported or ill-typed
// field is an error naming it, never ignored), renders the conversation with the model's own chat
// template, tokenizes, and runs one scheduler job per requested choice on the continuous-batching
// Scheduler. Streamed text goes from the scheduler thread through a queue to the caller's thread,
// so a slow client never stalls the other sequences; a callback returning false (client gone)
// cancels the jobs at the next decode step.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "core/thread_pool.h"
#include "engine/loader.h"
#include "engine/scheduler.h"
#include "server/model_host.h"

namespace hearth::mm {
class Projector;
}

namespace hearth::server {

struct EngineModelOptions {
  std::string name;         // the id clients use
  std::string path;
  std::string mmproj_path;  // projector for images/audio (refused until multimodal lands)
  engine::SchedulerOptions scheduler;
  int threads = 0;          // 0: physical cores
  // Fetch http(s) URLs in media parts (--allow-remote-media). Off by default: the server then
  // makes no network request on a caller's behalf.
  bool allow_remote_media = false;
  bool mmap = false;  // keep the weights in the file mapping (engine::LoadOptions::mmap)
};

class EngineModel : public LocalModel {
 public:
  // Loads the GGUF and starts the scheduler (the memory check is the caller's).
  static Result<std::shared_ptr<EngineModel>> Load(const EngineModelOptions& options);
  ~EngineModel() override;

  const std::string& name() const override { return name_; }
  backends::Tier tier() const override { return backends::Tier::kDevice; }
  const std::string& model() const override { return name_; }
  Result<backends::ChatResult> Complete(const backends::ChatRequest& request,
                                        const backends::ChunkCallback* stream) override;
  Status Health() override { return Status::Ok(); }

  Result<backends::ChatResult> CompleteText(const backends::ChatRequest& request,
                                            const backends::ChunkCallback* stream) override;
  ModelInfo info() const override;
  nlohmann::json Show() const override;
  int64_t CountPromptTokens(const nlohmann::json& chat_body) const override;
  LocalModel::Load load() const override;

  const engine::LoadedModel& loaded() const { return lm_; }

 private:
  struct Request;
  EngineModel() = default;
  // Body -> prompt ids and generation options (kInvalidArgument naming the field).
  Result<Request> ParseChat(const nlohmann::json& body) const;
  Result<Request> ParseText(const nlohmann::json& body) const;
  Status ParseCommon(const nlohmann::json& body, bool chat, Request& r) const;
  // The prompt's ids, with −1 for each row of a media block given in `embeddings` (images, audio
  // and video decoded from the message parts and encoded by the projector).
  struct Prompt {
    std::vector<int32_t> ids;
    std::vector<engine::EmbeddingRows> embeddings;
  };
  Result<Prompt> ChatPrompt(const nlohmann::json& messages, bool thinking,
                            const std::string& tools_json = "") const;
  // One media part of a message: decoded, checked against the projector, encoded (in order).
  Status EncodePart(const nlohmann::json& part, const std::string& where, int video_index,
                    std::vector<struct MediaEmbeddings>* out) const;
  Result<backends::ChatResult> Run(Request& r, const backends::ChatRequest& request,
                                   const backends::ChunkCallback* stream);

  std::string name_;
  std::string path_;
  std::string mmproj_;
  bool allow_remote_media_ = false;
  engine::LoadedModel lm_;
  bool has_template_ = false;
  int chat_family_ = 0;  // chat::Family
  std::unique_ptr<mm::Projector> projector_;  // null without --mmproj
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<engine::Scheduler> scheduler_;
  ModelInfo info_;
};

// Reads the facts /api/tags and /v1/models report from a GGUF without loading the model.
Result<ModelInfo> ReadModelInfo(const std::string& path, const std::string& name);

}  // namespace hearth::server
