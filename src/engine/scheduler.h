// Scheduler: continuous batching of many requests over one model.
//
// A fixed number of sequence slots (each a Session with its own KV cache) share one activation
// buffer and one thread pool. One scheduler thread runs the loop:
//
//   admit waiting jobs into free slots (the slot whose cached tokens share the longest prefix
//   with the job's prompt: a prompt-prefix cache, e.g. for a long system prompt) ->
//   one prefill micro-batch for each slot still reading its prompt ->
//   one decode step for every generating slot, all in a single forward pass (each weight is read
//   once for all of them) -> sample, stream, retire finished jobs -> repeat.
//
// New jobs are admitted between steps, so a request never waits for another to finish unless all
// slots are busy; then it waits in a bounded queue (Submit fails with kUnavailable "queue full").
// A job whose cancel flag is raised (its client went away) frees its slot at the next step.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "engine/generate.h"
#include "engine/session.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace hearth::engine {

struct SchedulerOptions {
  int parallel = 4;           // sequence slots decoded together
  int max_queue = 64;         // jobs waiting for a slot; more are refused
  int64_t n_ctx = 4096;       // positions per sequence
  int64_t n_batch = 512;      // prefill micro-batch
  model::KvType kv_type = model::KvType::kF16;
};

// A run of prompt rows given as embeddings (image or audio rows from a projector), fed with scale 1.
struct EmbeddingRows {
  std::vector<float> data;  // [n_rows × n_embd]
  int64_t n_rows = 0;
  bool causal = true;       // false: the rows attend to each other (an image block)
};

struct Job {
  // The prompt's token ids. With media, `embeddings` holds the media blocks and each of their rows
  // is −1 in `prompt`, in order: a run of −1s of length embeddings[k].n_rows is block k.
  std::vector<int32_t> prompt;
  std::vector<EmbeddingRows> embeddings;
  GenerateOptions gen;
  // Runs on the scheduler thread with each piece of visible text: keep it short (queue the text
  // for another thread). Returning false cancels the job.
  StreamCallback on_text;
  TokenCallback on_token;  // every sampled token, on the scheduler thread
  const std::atomic<bool>* cancel = nullptr;  // raised by the caller to abandon the job
};

struct JobResult {
  GenerateResult gen;          // prompt_tokens counts the whole prompt
  int64_t cached_tokens = 0;   // prompt tokens whose KV was reused from the slot's cache
  double queue_ms = 0;         // waiting for a slot
};

class Scheduler {
 public:
  static Result<std::unique_ptr<Scheduler>> Create(const model::Model& m,
                                                   const tokenizer::Tokenizer& tok,
                                                   SchedulerOptions opt, ThreadPool& pool);
  // Stops the loop: running jobs end as cancelled, waiting ones fail with kUnavailable.
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Queues a job. Fails at once (nothing queued) on invalid options, an empty prompt, a prompt
  // that leaves no room in the context (kInvalidArgument naming both numbers) or a full queue
  // (kUnavailable "queue full ...").
  Result<std::future<Result<JobResult>>> Submit(Job job);
  // Submit and wait.
  Result<JobResult> Run(Job job);

  struct Stats {
    int active = 0;
    int queued = 0;
    int parallel = 0;
    int64_t kv_used = 0;   // positions held by all slots
    int64_t kv_total = 0;  // parallel × n_ctx
  };
  Stats stats() const;
  const SchedulerOptions& options() const { return opt_; }

 private:
  struct Pending;
  struct Slot;
  Scheduler(const model::Model& m, const tokenizer::Tokenizer& tok, SchedulerOptions opt,
            ThreadPool& pool);
  void Loop();
  void Admit(std::unique_lock<std::mutex>& lock);
  void Prefill(Slot& slot);
  void DecodeAll();
  void Retire(Slot& slot, Result<JobResult> result);
  // Ends the slot's generation (its text flushed) and retires it with the result and timings.
  void Complete(Slot& slot, bool cancelled = false);
  void StartGenerating(Slot& slot);

  const model::Model& model_;
  const tokenizer::Tokenizer& tok_;
  SchedulerOptions opt_;
  ThreadPool& pool_;
  std::unique_ptr<model::ForwardState> state_;  // shared by every slot (one runs at a time)
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<float> logits_;                   // [parallel × n_vocab] for batched decode
  std::vector<int32_t> ids_;
  std::vector<model::SeqRows> rows_;
  std::vector<Slot*> batch_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Pending>> queue_;
  int active_ = 0;
  bool stop_ = false;
  std::atomic<int64_t> kv_used_{0};
  std::thread thread_;
};

}  // namespace hearth::engine
