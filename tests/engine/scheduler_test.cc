// Continuous batching: many sequences decoded in one pass give each exactly what a lone session
// gives, the prefix cache reuses KV without changing results, and the queue, cancellation and
// shutdown behave.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/loader.h"
#include "tests/engine/test_models.h"

namespace hearth::engine {
namespace {


std::vector<int32_t> Prompt(int n, int seed) {
  std::vector<int32_t> ids = {2};
  for (int i = 1; i < n; ++i) ids.push_back(300 + (i * 7 + seed * 13) % 150);
  return ids;
}

GenerateOptions Greedy(int64_t max_tokens) {
  GenerateOptions g;
  g.max_tokens = max_tokens;
  g.sampling.temperature = 0;
  g.ignore_eos = true;
  return g;
}

std::vector<int32_t> TokenIds(const GenerateResult& r) {
  std::vector<int32_t> ids;
  for (const auto& t : r.tokens) ids.push_back(t.id);
  return ids;
}

// What one session alone generates.
GenerateResult Lone(const LoadedModel& m, const std::vector<int32_t>& prompt,
                    const GenerateOptions& g, int64_t n_ctx, ThreadPool& pool) {
  auto s = Session::Create(*m.model, {.n_ctx = n_ctx, .n_batch = 16}, pool);
  CHECK(s.ok());
  auto r = Generate(**s, *m.tokenizer, prompt, g);
  CHECK(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

// Eight requests of different lengths on four slots: each sees the same tokens and the same
// log-probabilities as alone, whatever else shares its decode passes. Prompts longer than the
// 16-token window and the 16-token micro-batch exercise sliding rings and chunked prefill.
class Batched : public ::testing::TestWithParam<const char*> {};
TEST_P(Batched, EachSequenceMatchesALoneSession) {
  const LoadedModel& m = Model(GetParam(), "q8_0");
  ThreadPool pool(2);
  auto sched = Scheduler::Create(*m.model, *m.tokenizer,
                                 {.parallel = 4, .max_queue = 16, .n_ctx = 96, .n_batch = 16},
                                 pool);
  ASSERT_TRUE(sched.ok()) << sched.status().ToString();
  std::vector<std::future<Result<JobResult>>> futures;
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 8; ++i) {
    prompts.push_back(Prompt(5 + i * 6, i));
    Job j;
    j.prompt = prompts.back();
    j.gen = Greedy(10 + i);
    auto f = (*sched)->Submit(std::move(j));
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    futures.push_back(std::move(f).value());
  }
  std::vector<Result<JobResult>> results;
  for (auto& f : futures) results.push_back(f.get());
  for (int i = 0; i < 8; ++i) {
    const Result<JobResult>& r = results[i];
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const GenerateResult want = Lone(m, prompts[i], Greedy(10 + i), 96, pool);
    EXPECT_EQ(TokenIds(r->gen), TokenIds(want)) << "request " << i;
    ASSERT_EQ(r->gen.tokens.size(), want.tokens.size());
    for (size_t t = 0; t < want.tokens.size(); ++t)
      EXPECT_FLOAT_EQ(r->gen.tokens[t].logprob, want.tokens[t].logprob) << i << ":" << t;
    EXPECT_EQ(r->gen.text, want.text);
    EXPECT_EQ(r->gen.prompt_tokens, static_cast<int64_t>(prompts[i].size()));
    EXPECT_EQ(r->gen.finish, FinishReason::kLength);
  }
}
INSTANTIATE_TEST_SUITE_P(Variants, Batched, ::testing::Values("g3-1b", "g4-e2b", "g4-moe"));

// A second request sharing the first one's prompt as a prefix reuses its KV and still generates
// what it would alone.
TEST(Scheduler, PrefixCacheReusesKvWithoutChangingResults) {
  const LoadedModel& m = Model("g4-12b", "q8_0");
  ThreadPool pool(2);
  auto sched = Scheduler::Create(*m.model, *m.tokenizer,
                                 {.parallel = 2, .max_queue = 4, .n_ctx = 128, .n_batch = 16},
                                 pool);
  ASSERT_TRUE(sched.ok());
  const std::vector<int32_t> system = Prompt(40, 1);
  Job a;
  a.prompt = system;
  a.gen = Greedy(4);
  auto ra = (*sched)->Run(std::move(a));
  ASSERT_TRUE(ra.ok());
  EXPECT_EQ(ra->cached_tokens, 0);

  std::vector<int32_t> longer = system;
  for (int i = 0; i < 9; ++i) longer.push_back(400 + i);
  Job b;
  b.prompt = longer;
  b.gen = Greedy(6);
  auto rb = (*sched)->Run(std::move(b));
  ASSERT_TRUE(rb.ok());
  // The first request's 40 prompt tokens are reused (its generated tokens differ from `longer`).
  EXPECT_EQ(rb->cached_tokens, 40);
  EXPECT_EQ(TokenIds(rb->gen), TokenIds(Lone(m, longer, Greedy(6), 128, pool)));

  // The same prompt again: everything but the last token comes from the cache.
  Job c;
  c.prompt = longer;
  c.gen = Greedy(6);
  auto rc = (*sched)->Run(std::move(c));
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->cached_tokens, static_cast<int64_t>(longer.size()) - 1);
  EXPECT_EQ(TokenIds(rc->gen), TokenIds(rb->gen));
}

// Holds the scheduler thread inside a job's stream callback until released.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool entered = false, open = false;
  void Enter() {
    std::unique_lock<std::mutex> l(mu);
    entered = true;
    cv.notify_all();
    cv.wait(l, [&] { return open; });
  }
  void WaitEntered() {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return entered; });
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu);
    open = true;
    cv.notify_all();
  }
};

// A 40-token greedy job whose stream callback waits at `gate` (the slot stays busy until opened).
Job GatedJob(Gate& gate, const std::atomic<bool>* cancel = nullptr) {
  Job j;
  j.prompt = Prompt(8, 0);
  j.gen = Greedy(40);
  j.on_text = [&gate](const std::string&, const GeneratedToken&) {
    gate.Enter();
    return true;
  };
  j.cancel = cancel;
  return j;
}

TEST(Scheduler, FullQueueIsRefusedAndCancelledJobsFreeTheirSlot) {
  const LoadedModel& m = Model("g3-1b", "q8_0");
  ThreadPool pool(2);
  auto sched = Scheduler::Create(*m.model, *m.tokenizer,
                                 {.parallel = 1, .max_queue = 1, .n_ctx = 64, .n_batch = 16},
                                 pool);
  ASSERT_TRUE(sched.ok());
  Gate gate;
  std::atomic<bool> cancel_first{false};
  auto f1 = (*sched)->Submit(GatedJob(gate, &cancel_first));
  ASSERT_TRUE(f1.ok());
  gate.WaitEntered();  // the only slot is busy

  Job second;
  second.prompt = Prompt(8, 1);
  second.gen = Greedy(3);
  auto f2 = (*sched)->Submit(std::move(second));
  ASSERT_TRUE(f2.ok());
  EXPECT_EQ((*sched)->stats().queued, 1);
  EXPECT_EQ((*sched)->stats().active, 1);

  Job third;
  third.prompt = Prompt(8, 2);
  third.gen = Greedy(3);
  auto f3 = (*sched)->Submit(std::move(third));
  ASSERT_FALSE(f3.ok());
  EXPECT_EQ(f3.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(f3.status().message().find("queue full"), std::string::npos);

  cancel_first = true;
  gate.Open();
  Result<JobResult> r1 = f1->get();
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->gen.finish, FinishReason::kCancelled);
  EXPECT_LT(r1->gen.tokens.size(), 40u);
  Result<JobResult> r2 = f2->get();  // ran in the freed slot
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->gen.tokens.size(), 3u);
  EXPECT_GE(r2->queue_ms, 0);
}

TEST(Scheduler, RefusesPromptsThatLeaveNoRoom) {
  const LoadedModel& m = Model("g3-1b", "q8_0");
  ThreadPool pool(2);
  auto sched = Scheduler::Create(*m.model, *m.tokenizer,
                                 {.parallel = 1, .max_queue = 1, .n_ctx = 32, .n_batch = 16},
                                 pool);
  ASSERT_TRUE(sched.ok());
  Job j;
  j.prompt = Prompt(32, 0);
  j.gen = Greedy(3);
  auto r = (*sched)->Submit(std::move(j));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("32 tokens"), std::string::npos) << r.status().ToString();

  Job bad;
  bad.prompt = {2, -5};
  bad.gen = Greedy(3);
  auto rb = (*sched)->Submit(std::move(bad));
  ASSERT_FALSE(rb.ok());
  EXPECT_NE(rb.status().message().find("-5"), std::string::npos);

  Job zero;
  zero.prompt = Prompt(4, 0);
  zero.gen = Greedy(0);
  EXPECT_FALSE((*sched)->Submit(std::move(zero)).ok());
}

// A job that reaches the end of its context stops with context_full, not an error.
TEST(Scheduler, StopsAtTheContextEnd) {
  const LoadedModel& m = Model("g3-1b", "q8_0");
  ThreadPool pool(2);
  auto sched = Scheduler::Create(*m.model, *m.tokenizer,
                                 {.parallel = 2, .max_queue = 2, .n_ctx = 24, .n_batch = 16},
                                 pool);
  ASSERT_TRUE(sched.ok());
  Job j;
  j.prompt = Prompt(20, 3);
  j.gen = Greedy(-1);
  auto r = (*sched)->Run(std::move(j));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->gen.finish, FinishReason::kContextFull);
  EXPECT_EQ(r->gen.tokens.size(), 5u);  // positions 20..23 fed, plus the last sampled one
}

// Media rows enter as embeddings: the token embeddings of some ids given as an embeddings block
// give exactly what the ids give; the prefix cache never matches across media rows.
TEST(Scheduler, EmbeddingBlocksFeedLikeTheirTokens) {
  const LoadedModel& m = Model("g4-12b", "q8_0");
  ThreadPool pool(2);
  auto sched = Scheduler::Create(*m.model, *m.tokenizer,
                                 {.parallel = 2, .max_queue = 4, .n_ctx = 96, .n_batch = 16},
                                 pool);
  ASSERT_TRUE(sched.ok());
  const std::vector<int32_t> ids = Prompt(30, 4);
  Job plain;
  plain.prompt = ids;
  plain.gen = Greedy(6);
  auto want = (*sched)->Run(std::move(plain));
  ASSERT_TRUE(want.ok());

  auto with_block = [&](bool causal) {
    Job j;
    j.prompt = ids;
    EmbeddingRows rows;
    const int64_t E = m.model->config().n_embd;
    rows.n_rows = 12;
    rows.causal = causal;
    rows.data.resize(rows.n_rows * E);
    for (int64_t r = 0; r < rows.n_rows; ++r) {
      m.model->EmbedToken(ids[5 + r], rows.data.data() + r * E);
      j.prompt[5 + r] = -1;
    }
    j.embeddings.push_back(std::move(rows));
    j.gen = Greedy(6);
    return (*sched)->Run(std::move(j));
  };
  auto got = with_block(true);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(TokenIds(got->gen), TokenIds(want->gen));
  EXPECT_LE(got->cached_tokens, 5);  // at most the ids before the block came from the cache
  auto bidir = with_block(false);
  ASSERT_TRUE(bidir.ok());
  EXPECT_NE(bidir->gen.tokens[0].logprob, want->gen.tokens[0].logprob);

  Job bad;
  bad.prompt = ids;
  bad.prompt[3] = -1;
  bad.gen = Greedy(2);
  EXPECT_FALSE((*sched)->Submit(std::move(bad)).ok());
}

TEST(Scheduler, ShutdownEndsRunningAndWaitingJobs) {
  const LoadedModel& m = Model("g3-1b", "q8_0");
  ThreadPool pool(2);
  auto sched = Scheduler::Create(*m.model, *m.tokenizer,
                                 {.parallel = 1, .max_queue = 4, .n_ctx = 64, .n_batch = 16},
                                 pool);
  ASSERT_TRUE(sched.ok());
  Gate gate;
  auto f1 = (*sched)->Submit(GatedJob(gate));
  ASSERT_TRUE(f1.ok());
  gate.WaitEntered();
  Job second;
  second.prompt = Prompt(8, 1);
  second.gen = Greedy(3);
  auto f2 = (*sched)->Submit(std::move(second));
  ASSERT_TRUE(f2.ok());
  std::thread closer([&] { sched->reset(); });
  // The loop can only see stop after the callback returns.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  gate.Open();
  closer.join();
  auto r1 = f1->get();
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->gen.finish, FinishReason::kCancelled);
  auto r2 = f2->get();
  // Either it was admitted and cancelled, or refused while waiting: never left hanging.
  if (r2.ok()) {
    EXPECT_EQ(r2->gen.finish, FinishReason::kCancelled);
  } else {
    EXPECT_EQ(r2.status().code(), StatusCode::kUnavailable);
  }
}

}  // namespace
}  // namespace hearth::engine
