// The engine against llama.cpp (build d32676d77, CPU) on the golden files of tests/data/golden/,
// which were written independently of this project: the closest thing to llama.cpp CI can run.
//
// What agreement to expect (tests/data/golden/README.md, tests/reference/README.md): llama.cpp
// rounds matmul inputs to 8 bits, K/V/Q to F16, evaluates GELU through an F16 table and keeps the
// attention sum in F16; the engine does the same, but with its own summation order. On these
// random-weight tiny models a single 8-bit rounding that lands on the other side of a tie moves
// log-probabilities by 0.03-0.1, and such flips compound over long prompts (the independent
// reference's own exact mode is units away on the 90-token prompts). So:
//  - the F32 file (no activation rounding) must agree tightly everywhere;
//  - on quantized files the first step after the 5-token prompt must agree closely;
//  - greedy ids must agree step by step until llama.cpp's own top two are within a near tie;
//  - longer quantized prompts are bounded by the measured chaos, printed for the record.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/thread_pool.h"
#include "engine/generate.h"
#include "engine/loader.h"
#include "engine/session.h"

namespace hearth::engine {
namespace {

using nlohmann::json;
const std::string kDir = std::string(HEARTH_SOURCE_DIR) + "/tests/data/golden/";

// Max |Δ logprob| over llama.cpp's top-10.
struct Bounds {
  double short_first;  // first step after the 5-token prompt
  double short_any;    // any step of the 5-token prompt (until greedy ids part)
  double long_first;   // first step after the 40- and 90-token prompts
};
// F32: F16 K/V/Q and GELU as llama.cpp; summation order only (measured <= 0.009 everywhere).
// Quantized: measured first steps 0.00-0.13 on the 5-token prompt (0-2 8-bit flips), later steps
// of it up to 0.28, and 0.10-1.9 after the 40/90-token prompts, where flips have compounded (the
// independent reference's own exact mode is 2-8 away there, and on the MoE file a flip changes
// the routed experts). Later steps of the long prompts are printed, not bounded. Which rows flip
// depends on the dot kernels' float summation order: with the AVX2 kernels the Gemma 3 Q4_0 and
// 12B Q4_0 first steps are bit-exact (0.0000), with the AVX-512 ones 0.11; the short-prompt bound
// is therefore the one-flip level, 0.15, for every quantized file.
const std::map<std::string, Bounds> kBounds = {
    {"g3-tiny-f32.gguf", {0.01, 0.02, 0.02}},
    {"g3-tiny-q4_0.gguf", {0.15, 0.3, 0.3}},
    {"g4-e2b-tiny-q8_0.gguf", {0.15, 0.4, 0.8}},
    {"g4-u12b-tiny-q8_0.gguf", {0.15, 0.4, 2.5}},
    {"g4-u12b-tiny-q4_0.gguf", {0.15, 0.4, 1.2}},
    // MoE long prompts: a flip reroutes experts and llama.cpp's top tokens can leave our top 50
    // (the reference's exact mode: 8.1); printed only.
    {"g4-moe-tiny-q4_0.gguf", {0.15, 0.4, 1e300}},
};
// Greedy ids may part ways only where llama.cpp's own top two are this close (F32: never).
constexpr double kNearTieQuantized = 0.3;

json LoadGolden() {
  std::ifstream in(kDir + "golden.json");
  EXPECT_TRUE(in.good());
  return json::parse(in);
}

TEST(GoldenTest, EngineMatchesLlamaCpp) {
  const json golden = LoadGolden();
  ThreadPool pool(2);
  int files = 0, compared_steps = 0;
  for (const auto& [file, cases] : golden["text"].items()) {
    SCOPED_TRACE(file);
    ASSERT_TRUE(kBounds.count(file)) << "no bounds for " << file;
    const Bounds b = kBounds.at(file);
    const bool f32 = file.find("f32") != std::string::npos;
    Result<LoadedModel> lm = LoadModel(kDir + file, {.progress = false});
    ASSERT_TRUE(lm.ok()) << lm.status().ToString();
    ++files;
    for (const auto& c : cases) {
      const std::vector<int32_t> prompt = c["prompt_ids"].get<std::vector<int32_t>>();
      SCOPED_TRACE("prompt of " + std::to_string(prompt.size()) + " tokens");
      auto s = Session::Create(*lm->model, {.n_ctx = 256}, pool);
      ASSERT_TRUE(s.ok());
      GenerateOptions opt;
      opt.max_tokens = static_cast<int64_t>(c["steps"].size());
      opt.sampling.temperature = 0;
      opt.top_logprobs = 50;
      opt.ignore_eos = true;
      Result<GenerateResult> r = Generate(**s, *lm->tokenizer, prompt, opt);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_EQ(r->tokens.size(), c["steps"].size());
      double worst = 0;
      const bool short_prompt = prompt.size() == 5;
      for (size_t i = 0; i < c["steps"].size(); ++i) {
        const json& step = c["steps"][i];
        const auto& ours = r->tokens[i];
        std::map<int32_t, double> mine;
        for (const auto& [id, lp] : ours.top) mine[id] = lp;
        double d = 0;
        for (size_t k = 0; k < 10; ++k) {
          const int32_t id = step["top"][k]["id"];
          const double want = step["top"][k]["logprob"];
          d = std::max(d, mine.count(id) ? std::fabs(mine[id] - want) : 99.0);  // 99: not in our top 50
        }
        worst = std::max(worst, d);
        ++compared_steps;
        if (f32) {
          EXPECT_LE(d, b.short_any) << "step " << i;
        } else if (short_prompt) {
          EXPECT_LE(d, i == 0 ? b.short_first : b.short_any) << "step " << i;
        } else if (i == 0) {
          EXPECT_LE(d, b.long_first) << "first step";
        }
        if (ours.id != step["id"].get<int32_t>()) {
          const double gap = step["top"][0]["logprob"].get<double>() - step["top"][1]["logprob"].get<double>();
          // Only bounded where the steps before were: F32 everywhere, quantized on short prompts.
          if (f32 || short_prompt) {
            EXPECT_TRUE(!f32 && gap <= kNearTieQuantized)
                << "greedy ids part at step " << i << " although llama.cpp's top two are " << gap
                << " apart";
          }
          break;  // the contexts differ from here on
        }
      }
      std::printf("  %-24s %3zu-token prompt: max |dlogprob| %.4f\n", file.c_str(), prompt.size(), worst);
    }
  }
  EXPECT_EQ(files, 6);
  EXPECT_GT(compared_steps, 60);
}

}  // namespace
}  // namespace hearth::engine
