// Session, KV cache and generation-loop behaviour on small test models.
#include "engine/session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/generate.h"
#include "engine/loader.h"
#include "kernels/matmul.h"
#include "tests/engine/test_models.h"

namespace hearth::engine {
namespace {


std::vector<int32_t> Ids(int n, int base = 300) {
  std::vector<int32_t> ids = {2};
  for (int i = 1; i < n; ++i) ids.push_back(base + (i * 7) % 150);
  return ids;
}

std::vector<float> Logits(const Session& s) {
  return std::vector<float>(s.logits(), s.logits() + s.n_vocab());
}

// A prompt fed in one batch, in batches of 3 and token by token gives bit-identical logits: the
// same rows, the same per-row arithmetic. 60 tokens cross the 16-token window of the sliding
// layers, so the rings wrap.
class BatchInvariance : public ::testing::TestWithParam<const char*> {};
TEST_P(BatchInvariance, SameLogitsWhateverTheBatching) {
  const LoadedModel& m = Model(GetParam(), "q8_0");
  ThreadPool pool(2);
  const std::vector<int32_t> ids = Ids(60);
  std::vector<std::vector<float>> results;
  for (int64_t batch : {512, 3, 1}) {
    auto s = Session::Create(*m.model, {.n_ctx = 128, .n_batch = batch}, pool);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE((*s)->Feed(ids).ok());
    EXPECT_EQ((*s)->n_past(), 60);
    results.push_back(Logits(**s));
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}
INSTANTIATE_TEST_SUITE_P(Variants, BatchInvariance,
                         ::testing::Values("g4-12b", "g4-e2b", "g4-moe", "g3-1b", "g3-4b"));

TEST(Session, ThreadsDoNotChangeTheResult) {
  const LoadedModel& m = Model("g4-12b", "q4_k_m");
  std::vector<std::vector<float>> results;
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    auto s = Session::Create(*m.model, {.n_ctx = 64}, pool);
    ASSERT_TRUE((*s)->Feed(Ids(20)).ok());
    results.push_back(Logits(**s));
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0], results[2]);
}

TEST(Session, ContextOverflowIsAnErrorNamingBothNumbers) {
  const LoadedModel& m = Model("g3-1b", "q8_0");
  ThreadPool pool(1);
  auto s = Session::Create(*m.model, {.n_ctx = 32}, pool);
  ASSERT_TRUE(s.ok());
  Status st = (*s)->Feed(Ids(40));
  EXPECT_EQ(st.code(), StatusCode::kOutOfRange);
  EXPECT_NE(st.message().find("40"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("32"), std::string::npos) << st.message();
  EXPECT_EQ((*s)->n_past(), 0);  // nothing was fed
  const std::vector<int32_t> bad = {2, 99999};
  EXPECT_EQ((*s)->Feed(bad).code(), StatusCode::kInvalidArgument);
}

TEST(Session, RewindAndRefeedGivesTheSameLogits) {
  const LoadedModel& m = Model("g4-e2b", "q8_0");
  ThreadPool pool(2);
  auto s = Session::Create(*m.model, {.n_ctx = 128, .n_batch = 8}, pool);
  const std::vector<int32_t> a = Ids(30), b = Ids(30, 400);
  ASSERT_TRUE((*s)->Feed(a).ok());
  const std::vector<float> want = Logits(**s);
  // Go on with other tokens, rewind to 29 and feed the last token of `a` again.
  ASSERT_TRUE((*s)->Feed(std::span<const int32_t>(b.data(), 5)).ok());
  ASSERT_TRUE((*s)->Truncate(29).ok());
  ASSERT_TRUE((*s)->Feed(std::span<const int32_t>(a.data() + 29, 1)).ok());
  EXPECT_EQ(Logits(**s), want);
  // The sliding ring (16 + 8 cells) cannot rewind past what it has overwritten.
  ASSERT_TRUE((*s)->Feed(Ids(60, 350)).ok());
  EXPECT_EQ((*s)->Truncate(10).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*s)->Truncate(0).ok());
}

TEST(Session, Q8KvCacheStaysClose) {
  const LoadedModel& m = Model("g4-12b", "f32");
  ThreadPool pool(2);
  auto f16 = Session::Create(*m.model, {.n_ctx = 64}, pool);
  auto q8 = Session::Create(*m.model, {.n_ctx = 64, .kv_type = model::KvType::kQ8_0}, pool);
  ASSERT_TRUE((*f16)->Feed(Ids(20)).ok());
  ASSERT_TRUE((*q8)->Feed(Ids(20)).ok());
  EXPECT_LT((*q8)->kv_bytes(), (*f16)->kv_bytes());
  const auto a = Logits(**f16), b = Logits(**q8);
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, double(std::fabs(a[i] - b[i])));
  EXPECT_LT(worst, 1.0);  // 8-bit K/V (~0.4% per element), amplified ~20x by these random models
  EXPECT_GT(worst, 0.0);  // and it really is a different cache
}

// Q4_0, Q5_0 and Q8_0 weights copied into memory at load are rewritten into 16-row interleaved layouts
// where the CPU has the kernel (kernels::CanInterleave), never when they stay in the file mapping;
// both loads give the same logits up to the order of float additions (measured: 1e-7 of the largest
// logit). The prompt is short on purpose: a 1e-7 difference can move one activation across an
// 8-bit rounding boundary, and these random-weight models amplify that to 1e-2 within a few more
// tokens; a wrong layout or a matrix read in the wrong order is off by the whole logit at once.
TEST(Session, InterleavedWeightsMatchTheMappedOnes) {
  for (const auto& [variant, type] : std::vector<std::pair<std::string, std::string>>{
           {"g3-1b", "q4_0"}, {"g4-e2b", "q4_0"}, {"g4-moe", "q4_0"}, {"g3-4b", "q8_0"},
           {"g4-12b", "q5_0"}}) {
    Model(variant, type);  // writes the file
    const std::string path =
        std::string(HEARTH_BINARY_DIR) + "/testmodels-unit/" + variant + "-" + type + ".gguf";
    Result<LoadedModel> copied = LoadModel(path, {.progress = false});
    Result<LoadedModel> mapped = LoadModel(path, {.progress = false, .mmap = true});
    ASSERT_TRUE(copied.ok() && mapped.ok()) << variant;
    const model::Weights& wc = copied->model->weights();
    const model::Weights& wm = mapped->model->weights();
    const bool kernel = kernels::CanInterleave(wm.layers[0].attn_q);
    const auto want = !kernel         ? kernels::Layout::kRows
                      : type == "q4_0" ? kernels::Layout::kQ4_0x16
                      : type == "q5_0" ? kernels::Layout::kQ5_0x16
                                       : kernels::Layout::kQ8_0x16;
    EXPECT_EQ(wc.layers[0].attn_q.layout, want) << variant;
    EXPECT_TRUE(wc.layers[0].ffn_down.layout == want || wc.layers[0].ffn_down.data == nullptr)
        << variant;
    EXPECT_EQ(wc.token_embd.layout, want) << variant << ": the tied LM head, read by GetRow too";
    EXPECT_EQ(wm.layers[0].attn_q.layout, kernels::Layout::kRows) << variant;
    if (variant == "g4-moe") {
      EXPECT_EQ(wc.layers[0].ffn_down_exps.first.layout, want) << "experts";
    }
    ThreadPool pool(2);
    std::vector<std::vector<float>> logits;
    for (const LoadedModel* m : {&*copied, &*mapped}) {
      auto s = Session::Create(*m->model, {.n_ctx = 64}, pool);
      ASSERT_TRUE(s.ok());
      ASSERT_TRUE((*s)->Feed(Ids(3)).ok());
      logits.push_back(Logits(**s));
    }
    float scale = 0, worst = 0;
    for (size_t i = 0; i < logits[0].size(); ++i) {
      scale = std::max(scale, std::fabs(logits[1][i]));
      worst = std::max(worst, std::fabs(logits[0][i] - logits[1][i]));
    }
    EXPECT_LE(worst, 1e-5f * scale) << variant << " (largest logit " << scale << ")";
    if (!kernel) {
      EXPECT_EQ(worst, 0.f) << variant << ": the same layout and kernels";
    }
  }
}

TEST(Generate, StopStringsEndTheTextAndAreNotShown) {
  const LoadedModel& m = Model("g3-1b", "q8_0");
  ThreadPool pool(2);
  GenerateOptions opt;
  opt.max_tokens = 24;
  opt.sampling.temperature = 0;
  opt.ignore_eos = true;
  auto s1 = Session::Create(*m.model, {.n_ctx = 64}, pool);
  Result<GenerateResult> full = Generate(**s1, *m.tokenizer, Ids(6), opt);
  ASSERT_TRUE(full.ok());
  ASSERT_GE(full->text.size(), 6u) << "the test model produced too little text";
  EXPECT_EQ(full->finish, FinishReason::kLength);
  // Stop at a piece of the greedy text: the output is exactly what came before it, and the
  // streamed pieces add up to the same text.
  const std::string stop = full->text.substr(full->text.size() / 2, 2);
  const std::string want = full->text.substr(0, full->text.find(stop));
  opt.stop = {stop};
  auto s2 = Session::Create(*m.model, {.n_ctx = 64}, pool);
  std::string streamed;
  Result<GenerateResult> r = Generate(**s2, *m.tokenizer, Ids(6), opt,
                                      [&](const std::string& t, const GeneratedToken&) {
                                        streamed += t;
                                        return true;
                                      });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->text, want);
  EXPECT_EQ(streamed, want);
  EXPECT_EQ(r->finish, FinishReason::kStop);
}

TEST(Generate, CancelAndContextFull) {
  const LoadedModel& m = Model("g3-1b", "q8_0");
  ThreadPool pool(1);
  GenerateOptions opt;
  opt.max_tokens = -1;
  opt.ignore_eos = true;
  opt.sampling.temperature = 0;
  auto s = Session::Create(*m.model, {.n_ctx = 16}, pool);
  Result<GenerateResult> r = Generate(**s, *m.tokenizer, Ids(6), opt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish, FinishReason::kContextFull);
  EXPECT_EQ((*s)->n_past(), 16);
  int calls = 0;
  auto s2 = Session::Create(*m.model, {.n_ctx = 64}, pool);
  opt.max_tokens = 30;
  r = Generate(**s2, *m.tokenizer, Ids(6), opt, [&](const std::string&, const GeneratedToken&) {
    return ++calls < 3;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish, FinishReason::kCancelled);
  EXPECT_LE(r->tokens.size(), 10u);
}

}  // namespace
}  // namespace hearth::engine
