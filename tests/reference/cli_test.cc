// The hearth-reference command line: output shape (the engine's tests parse it), --dump-logits,
// end-of-generation ids, and clear failures on bad input.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reference/gguf_reader.h"
#include "reference/model.h"
#include "reference/run_reference.h"

namespace hearth::reference {
namespace {

using nlohmann::json;

const std::string kGoldenDir = std::string(HEARTH_SOURCE_DIR) + "/tests/data/golden/";
const std::string kG3 = kGoldenDir + "g3-tiny-f32.gguf";
const std::string kPrompt = " --prompt-tokens 2,631,558,755,614";

TEST(ReferenceCli, OutputHasTheDocumentedShape) {
  const ProcessResult run = RunReference(kG3 + kPrompt + " 2>/dev/null");
  ASSERT_EQ(run.exit_code, 0);
  const json out = json::parse(run.out, nullptr, false);
  ASSERT_TRUE(out.is_object()) << run.out;
  ASSERT_EQ(out.size(), 1u);
  const json& tokens = out["tokens"];
  ASSERT_TRUE(tokens.is_array());
  EXPECT_EQ(tokens.size(), 8u);  // default -n 8; this prompt meets no end-of-generation token
  for (const json& t : tokens) {
    ASSERT_EQ(t.size(), 2u);
    ASSERT_TRUE(t["id"].is_number_integer());
    const json& top = t["top_logprobs"];
    ASSERT_EQ(top.size(), 20u);  // default --top-logprobs 20
    double mass = 0, previous = 0;
    for (size_t i = 0; i < top.size(); ++i) {
      ASSERT_EQ(top[i].size(), 2u);
      const double lp = top[i]["logprob"];
      EXPECT_LE(lp, 0.0);
      if (i > 0) {
        EXPECT_LE(lp, previous);
      }
      previous = lp;
      mass += std::exp(lp);
    }
    EXPECT_LE(mass, 1.0 + 1e-9);
    EXPECT_EQ(top[0]["id"], t["id"]);  // greedy: the chosen id is the most likely one
  }
  // The first step of this prompt is golden.json's g3-tiny-f32 case 0: greedy id 47.
  EXPECT_EQ(tokens[0]["id"], 47);
}

TEST(ReferenceCli, CountsAndModesAreHonoured) {
  const ProcessResult run =
      RunReference(kG3 + kPrompt + " -n 3 --top-logprobs 5 --numerics llamacpp");
  ASSERT_EQ(run.exit_code, 0);
  const json out = json::parse(run.out, nullptr, false);
  ASSERT_EQ(out["tokens"].size(), 3u);
  EXPECT_EQ(out["tokens"][0]["top_logprobs"].size(), 5u);
}

TEST(ReferenceCli, DumpLogitsAgreesWithTheFirstStep) {
  const ProcessResult logits_run = RunReference(kG3 + kPrompt + " --dump-logits");
  ASSERT_EQ(logits_run.exit_code, 0);
  const json logits = json::parse(logits_run.out, nullptr, false);
  ASSERT_TRUE(logits.is_array());
  ASSERT_EQ(logits.size(), 1024u);  // n_vocab of the tiny Gemma 3 file
  double max = -1e300;
  size_t argmax = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i].get<double>() > max) max = logits[argmax = i];
  }
  double sum = 0;
  for (const json& v : logits) sum += std::exp(v.get<double>() - max);
  const ProcessResult step_run = RunReference(kG3 + kPrompt + " -n 1 --top-logprobs 1");
  const json step = json::parse(step_run.out, nullptr, false);
  EXPECT_EQ(step["tokens"][0]["id"], static_cast<int>(argmax));
  // The printed precision is 9 decimals for logprobs and 9 significant digits for logits.
  EXPECT_NEAR(step["tokens"][0]["top_logprobs"][0]["logprob"].get<double>(), -std::log(sum), 1e-6);
}

TEST(ReferenceCli, BadInputFailsWithAMessage) {
  ProcessResult r = RunReference(kGoldenDir + "no-such-file.gguf" + kPrompt + " 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("cannot open"), std::string::npos) << r.out;

  r = RunReference(kGoldenDir + "mmproj-g4-u12b-tiny-f16.gguf" + kPrompt + " 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("architecture 'clip'"), std::string::npos) << r.out;

  r = RunReference(kG3 + " --prompt-tokens 2,99999 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("outside the vocabulary"), std::string::npos) << r.out;

  r = RunReference(kG3 + " --prompt-tokens 2,x 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  r = RunReference(kG3 + kPrompt + " --numerics fast 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  r = RunReference(kG3 + " 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.out.find("--prompt-tokens is required"), std::string::npos) << r.out;
}

// A hostile or damaged file never crashes the reference: every truncation point gives exit 1
// with a message (header, metadata, tensor infos and tensor data are all cut somewhere).
TEST(ReferenceCli, TruncatedFilesFailCleanly) {
  std::ifstream in(kGoldenDir + "g4-moe-tiny-q4_0.gguf", std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(bytes.size(), 100000u);
  const std::string path = ::testing::TempDir() + "/reference-truncated.gguf";
  for (size_t cut : {size_t{3}, size_t{20}, size_t{1000}, size_t{30000}, bytes.size() - 1}) {
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(cut));
    const ProcessResult r = RunReference(path + kPrompt + " 2>&1");
    EXPECT_EQ(r.exit_code, 1) << "cut at " << cut << ": " << r.out;
    EXPECT_NE(r.out.find("hearth-reference: "), std::string::npos) << r.out;
  }
  std::remove(path.c_str());
}

// §8: end of generation by token text plus the eos/eot keys.
TEST(ReferenceModel, EndOfGenerationIds) {
  Result<GgufFile> g3 = GgufFile::Open(kG3);
  ASSERT_TRUE(g3.ok()) << g3.status().ToString();
  EXPECT_EQ(EndOfGenerationIds(*g3, "gemma3"), (std::set<int>{1, 106}));  // <eos>, <end_of_turn>
  Result<GgufFile> g4 = GgufFile::Open(kGoldenDir + "g4-moe-tiny-q4_0.gguf");
  ASSERT_TRUE(g4.ok()) << g4.status().ToString();
  // <eos>, <|tool_response>, <turn|>
  EXPECT_EQ(EndOfGenerationIds(*g4, "gemma4"), (std::set<int>{1, 13, 106}));
}

// The Q4_0 file holds the F32 file's weights quantised: every dequantised value must lie within
// one quantisation step of the tensor (amax / 8; measured 0.69 of it). A wrong nibble order or
// offset gives errors of up to twice amax.
TEST(ReferenceModel, Q4_0WeightsDequantiseToTheF32Weights) {
  Result<GgufFile> f32 = GgufFile::Open(kG3);
  Result<GgufFile> q4 = GgufFile::Open(kGoldenDir + "g3-tiny-q4_0.gguf");
  ASSERT_TRUE(f32.ok() && q4.ok());
  Result<Model> a = LoadModel(*f32);
  Result<Model> b = LoadModel(*q4);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  for (int il = 0; il < a->config.n_layer; ++il) {
    for (const Weight LayerWeights::*w : {&LayerWeights::attn_q, &LayerWeights::attn_k,
                                          &LayerWeights::attn_v, &LayerWeights::attn_output,
                                          &LayerWeights::ffn_gate, &LayerWeights::ffn_up,
                                          &LayerWeights::ffn_down}) {
      const std::vector<float>& x = (a->layers[il].*w).values;
      const std::vector<float>& y = (b->layers[il].*w).values;
      ASSERT_EQ(x.size(), y.size());
      float amax = 0;
      for (float v : x) amax = std::max(amax, std::fabs(v));
      for (size_t i = 0; i < x.size(); ++i) {
        ASSERT_LE(std::fabs(x[i] - y[i]), amax / 8) << (a->layers[il].*w).name << " [" << i << "]";
      }
    }
  }
}

}  // namespace
}  // namespace hearth::reference
