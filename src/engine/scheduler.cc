#include "engine/scheduler.h"

#include <algorithm>

#include "core/clock.h"

namespace hearth::engine {

namespace {

using Clock = std::chrono::steady_clock;

// Media rows (−1) never match: two images are not known to be the same.
int64_t CommonPrefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i] && a[i] >= 0) ++i;
  return static_cast<int64_t>(i);
}

}  // namespace

struct Scheduler::Pending {
  Job job;
  std::vector<int64_t> block_start;  // prompt position of each embeddings block
  std::unique_ptr<Generator> gen;
  std::promise<Result<JobResult>> done;
  Clock::time_point queued_at;
};

struct Scheduler::Slot {
  std::unique_ptr<Session> session;
  std::unique_ptr<Pending> job;  // null: free
  bool prefilling = false;
  size_t fed = 0;                // prompt tokens in the cache
  bool decoding = false;         // has a sampled token to feed in the next decode pass
  JobResult result;
  Clock::time_point started, decode_started;
};

Scheduler::Scheduler(const model::Model& m, const tokenizer::Tokenizer& tok, SchedulerOptions opt,
                     ThreadPool& pool)
    : model_(m), tok_(tok), opt_(opt), pool_(pool) {}

Result<std::unique_ptr<Scheduler>> Scheduler::Create(const model::Model& m,
                                                     const tokenizer::Tokenizer& tok,
                                                     SchedulerOptions opt, ThreadPool& pool) {
  if (opt.parallel < 1) return InvalidArgumentError("parallel sequences must be at least 1");
  if (opt.max_queue < 0) return InvalidArgumentError("the queue length must not be negative");
  if (opt.n_ctx <= 0) opt.n_ctx = m.config().n_ctx_train;
  if (opt.n_batch <= 0) return InvalidArgumentError("batch size must be positive");
  opt.n_batch = std::min(opt.n_batch, opt.n_ctx);
  std::unique_ptr<Scheduler> s(new Scheduler(m, tok, opt, pool));
  s->state_ = std::make_unique<model::ForwardState>(
      m.config(), std::max<int64_t>(opt.n_batch, opt.parallel));
  for (int i = 0; i < opt.parallel; ++i) {
    auto slot = std::make_unique<Slot>();
    ASSIGN_OR_RETURN(slot->session,
                     Session::Create(m, {.n_ctx = opt.n_ctx, .n_batch = opt.n_batch,
                                         .kv_type = opt.kv_type, .shared_state = s->state_.get()},
                                     pool));
    s->slots_.push_back(std::move(slot));
  }
  s->logits_.resize(static_cast<size_t>(opt.parallel) * m.config().n_vocab);
  s->thread_ = std::thread([p = s.get()] { p->Loop(); });
  return s;
}

Scheduler::~Scheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

Result<std::future<Result<JobResult>>> Scheduler::Submit(Job job) {
  if (job.prompt.empty()) return InvalidArgumentError("nothing to generate from: empty prompt");
  const int64_t n = static_cast<int64_t>(job.prompt.size());
  if (n >= opt_.n_ctx) {
    return InvalidArgumentError("the prompt has " + std::to_string(n) +
                                " tokens but the context holds " + std::to_string(opt_.n_ctx) +
                                " (a prompt must leave room for at least one generated token)");
  }
  const int32_t n_vocab = model_.config().n_vocab;
  auto p = std::make_unique<Pending>();
  size_t block = 0;
  for (size_t i = 0; i < job.prompt.size(); ++i) {
    if (job.prompt[i] == -1 && block < job.embeddings.size()) {
      const EmbeddingRows& e = job.embeddings[block];
      const int64_t n_embd = model_.config().n_embd;
      if (e.n_rows <= 0 || static_cast<int64_t>(e.data.size()) != e.n_rows * n_embd ||
          static_cast<int64_t>(i) + e.n_rows > n ||
          std::any_of(job.prompt.begin() + i, job.prompt.begin() + i + e.n_rows,
                      [](int32_t id) { return id != -1; }))
        return InvalidArgumentError("embeddings block " + std::to_string(block) +
                                    " does not match its rows in the prompt");
      if (!e.causal && e.n_rows > opt_.n_batch)
        return InvalidArgumentError("an image block of " + std::to_string(e.n_rows) +
                                    " rows does not fit the micro-batch of " +
                                    std::to_string(opt_.n_batch) +
                                    " (give the model a larger context or batch, or the image "
                                    "fewer tokens)");
      p->block_start.push_back(static_cast<int64_t>(i));
      i += e.n_rows - 1;
      ++block;
      continue;
    }
    if (job.prompt[i] < 0 || job.prompt[i] >= n_vocab)
      return InvalidArgumentError("token id " + std::to_string(job.prompt[i]) + " at position " +
                                  std::to_string(i) + " is outside the vocabulary (0.." +
                                  std::to_string(n_vocab - 1) + ")");
  }
  if (block != job.embeddings.size())
    return InvalidArgumentError("the prompt has fewer media rows than embeddings blocks");
  ASSIGN_OR_RETURN(p->gen, Generator::Create(tok_, n_vocab, job.gen, job.on_text, job.on_token));
  p->job = std::move(job);
  p->queued_at = Clock::now();
  std::future<Result<JobResult>> f = p->done.get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) return UnavailableError("the engine is shutting down");
    const int free_slots = opt_.parallel - active_;
    if (static_cast<int>(queue_.size()) - free_slots >= opt_.max_queue) {
      return UnavailableError("queue full: " + std::to_string(active_) + " sequences running and " +
                              std::to_string(queue_.size()) + " requests waiting (limit " +
                              std::to_string(opt_.max_queue) + ")");
    }
    queue_.push_back(std::move(p));
  }
  cv_.notify_all();
  return f;
}

Result<JobResult> Scheduler::Run(Job job) {
  ASSIGN_OR_RETURN(std::future<Result<JobResult>> f, Submit(std::move(job)));
  return f.get();
}

Scheduler::Stats Scheduler::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  s.active = active_;
  s.queued = static_cast<int>(queue_.size());
  s.parallel = opt_.parallel;
  s.kv_used = kv_used_.load(std::memory_order_relaxed);
  s.kv_total = int64_t{opt_.parallel} * opt_.n_ctx;
  return s;
}

// Moves waiting jobs into free slots; called with the lock held.
void Scheduler::Admit(std::unique_lock<std::mutex>& lock) {
  // Jobs cancelled while waiting leave the queue without running.
  for (auto it = queue_.begin(); it != queue_.end();) {
    const std::atomic<bool>* c = (*it)->job.cancel;
    if (c && c->load(std::memory_order_relaxed)) {
      (*it)->done.set_value(CancelledError("cancelled while waiting for a sequence slot"));
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  while (!queue_.empty() && active_ < opt_.parallel) {
    std::unique_ptr<Pending>& p = queue_.front();
    // The free slot whose cache shares the longest prefix with this prompt.
    Slot* best = nullptr;
    int64_t best_len = -1;
    for (auto& s : slots_) {
      if (s->job) continue;
      const int64_t len = CommonPrefix(s->session->history(), p->job.prompt);
      if (len > best_len) best = s.get(), best_len = len;
    }
    best->job = std::move(p);
    queue_.pop_front();
    ++active_;
    best->prefilling = true;
    best->decoding = false;
    best->fed = 0;
    best->result = JobResult{};
    best->started = Clock::now();
    best->result.queue_ms = MsBetween(best->job->queued_at, best->started);
    Session& s = *best->session;
    // Keep the shared prefix (at least one prompt token must be fed to get logits); a sliding
    // window ring that has moved on cannot be rewound, and then the slot starts over.
    int64_t keep = std::min<int64_t>(best_len, best->job->job.prompt.size() - 1);
    for (size_t b = 0; b < best->job->block_start.size(); ++b) {  // never inside a media block
      const int64_t start = best->job->block_start[b];
      if (keep > start && keep < start + best->job->job.embeddings[b].n_rows) keep = start;
    }
    if (!s.Truncate(keep).ok()) (void)s.Truncate(0);
    best->fed = static_cast<size_t>(s.n_past());
    best->result.cached_tokens = s.n_past();
  }
  (void)lock;
}

void Scheduler::Retire(Slot& slot, Result<JobResult> result) {
  slot.job->done.set_value(std::move(result));
  slot.job.reset();
  slot.prefilling = slot.decoding = false;
  std::lock_guard<std::mutex> lock(mu_);
  --active_;
}

void Scheduler::Complete(Slot& slot, bool cancelled) {
  JobResult r = std::move(slot.result);
  const double prefill_ms = r.gen.prefill_ms;
  r.gen = slot.job->gen->Finish(cancelled);
  r.gen.prefill_ms = prefill_ms;
  if (!slot.prefilling) r.gen.decode_ms = MsBetween(slot.decode_started, Clock::now());
  r.gen.prompt_tokens = static_cast<int64_t>(slot.job->job.prompt.size());
  Retire(slot, std::move(r));
}

void Scheduler::StartGenerating(Slot& slot) {
  slot.prefilling = false;
  slot.result.gen.prefill_ms = MsBetween(slot.started, Clock::now());
  slot.decode_started = Clock::now();
  Session& s = *slot.session;
  slot.decoding = slot.job->gen->Step(s.logits(), s.history(), s.n_past(), s.n_ctx());
  if (!slot.decoding) Complete(slot);
}

void Scheduler::Prefill(Slot& slot) {
  Session& s = *slot.session;
  const Pending& job = *slot.job;
  const std::vector<int32_t>& prompt = job.job.prompt;
  size_t n = 0;
  Status st;
  if (prompt[slot.fed] == -1) {
    // A media block starts here (blocks are only ever entered at their start): feed it whole.
    const auto it = std::find(job.block_start.begin(), job.block_start.end(),
                              static_cast<int64_t>(slot.fed));
    CHECK(it != job.block_start.end()) << "prefill entered a media block in the middle";
    const EmbeddingRows& e = job.job.embeddings[it - job.block_start.begin()];
    n = static_cast<size_t>(e.n_rows);
    st = s.FeedEmbeddings(e.data.data(), e.n_rows, e.causal);
  } else {
    // Token ids up to the next media block or the micro-batch.
    n = std::min<size_t>(opt_.n_batch, prompt.size() - slot.fed);
    const auto next = std::find(prompt.begin() + slot.fed, prompt.begin() + slot.fed + n, -1);
    n = static_cast<size_t>(next - (prompt.begin() + slot.fed));
    st = s.Feed(std::span<const int32_t>(prompt.data() + slot.fed, n));
  }
  if (!st.ok()) {
    (void)s.Truncate(0);
    Retire(slot, st);
    return;
  }
  slot.fed += n;
  if (slot.fed == prompt.size()) StartGenerating(slot);
}

void Scheduler::DecodeAll() {
  ids_.clear();
  rows_.clear();
  batch_.clear();
  for (auto& s : slots_) {
    if (!s->job || !s->decoding) continue;
    ids_.push_back(s->job->gen->next());
    rows_.push_back({&s->session->kv(), s->session->n_past(), 1});
    batch_.push_back(s.get());
  }
  if (batch_.empty()) return;
  Status st = model_.ForwardSeqs(ids_.data(), rows_, *state_, pool_, logits_.data());
  const int32_t n_vocab = model_.config().n_vocab;
  for (size_t i = 0; i < batch_.size(); ++i) {
    Slot& slot = *batch_[i];
    Session& s = *slot.session;
    if (!st.ok()) {
      (void)s.Truncate(0);
      Retire(slot, st);
      continue;
    }
    s.Accept(ids_[i], logits_.data() + i * n_vocab);
    slot.decoding = slot.job->gen->Step(s.logits(), s.history(), s.n_past(), s.n_ctx());
    if (!slot.decoding) Complete(slot);
  }
}

void Scheduler::Loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty() || active_ > 0; });
      if (stop_) {
        for (auto& p : queue_) p->done.set_value(UnavailableError("the engine is shutting down"));
        queue_.clear();
        lock.unlock();
        for (auto& s : slots_)
          if (s->job) Complete(*s, /*cancelled=*/true);
        return;
      }
      Admit(lock);
    }
    // Abandoned jobs free their slots before any work is spent on them.
    for (auto& s : slots_) {
      if (!s->job) continue;
      const std::atomic<bool>* c = s->job->job.cancel;
      if (c && c->load(std::memory_order_relaxed)) Complete(*s, /*cancelled=*/true);
    }
    for (auto& s : slots_)
      if (s->job && s->prefilling) Prefill(*s);
    DecodeAll();
    int64_t used = 0;
    for (auto& s : slots_) used += s->session->n_past();
    kv_used_.store(used, std::memory_order_relaxed);
  }
}

}  // namespace hearth::engine
