// `hearth run --json --top-logprobs 20 --prompt-tokens ...` against the independent reference
// forward pass (tests/reference, written apart from the engine from the spec) in its llamacpp
// numerics mode, on random-weight test models of every variant and tensor type written by
// `hearth make-test-model`.
//
// Tolerances (max |Δ logprob| over the reference's top 10), and why:
//  - F32/F16/BF16 weights: no activation rounding on either side; only summation order (engine:
//    F32 SIMD, reference: double) moves F16 roundings of K/V/Q/GELU. Measured <= 0.014.
//  - Quantized weights: both sides round matmul inputs to 8 bits; an input a few ulps from a
//    rounding tie can land on either side, moving log-probabilities by 0.03-0.13 on these tiny
//    random models (measured first step 0-0.13), compounding over the sequence (measured <= 0.56).
//  - BF16 weights count as quantized: their activations are rounded to BF16 (8-bit mantissa).
//  - Greedy ids: all 32 must agree, except at a step where the reference's own top two are
//    within a near tie: closer than 0.3, or than twice this step's measured |Δ logprob| (each of
//    the two may move by that much, in opposite directions). Seen: g4-12b q4_k parting at step 31
//    of 32 with a top-2 gap of 0.32 and |Δ| 0.32 there, after the AVX-512 Q4_K/Q6_K kernels
//    changed the float summation order.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;

constexpr double kFloatFirst = 0.02, kFloatAny = 0.05;
constexpr double kQuantFirst = 0.25, kQuantAny = 1.0;
constexpr double kQuantNearTie = 0.3;
// Only tokens with probability above e^-8 are compared: deep in the tail, log-probabilities of
// these random models swing with any rounding and say nothing about the forward pass.
constexpr double kTail = -8.0;
constexpr int kSteps = 32;
const char* kPrompt = "2,300,301,302,303,304,305,306";

std::string Shell(const std::string& cmd, int* rc) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *rc = -1;
    return out;
  }
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *rc = pclose(p);
  return out;
}

struct Case {
  std::string variant, type;
};

std::vector<Case> Cases() {
  const std::vector<std::string> all = {"f32",  "f16",  "bf16", "q8_0", "q4_0",   "q4_1",
                                        "q5_0", "q5_1", "q2_k", "q3_k", "q4_k",   "q5_k",
                                        "q6_k", "iq4_nl", "iq4_xs", "mxfp4", "q4_k_m"};
  std::vector<Case> cases;
  for (const char* v : {"g4-12b", "g3-1b"})
    for (const auto& t : all) cases.push_back({v, t});
  for (const char* v : {"g4-e2b", "g4-moe", "g3-4b"})
    for (const char* t : {"f32", "q8_0", "q4_0", "q4_k_m"}) cases.push_back({v, t});
  return cases;
}

class ReferenceTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceTest, EngineMatchesReference) {
  const Case c = GetParam();
  const std::string dir = std::string(HEARTH_BINARY_DIR) + "/testmodels";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/" + c.variant + "-" + c.type + ".gguf";
  int rc = 0;
  Shell(std::string(HEARTH_BINARY) + " make-test-model --variant " + c.variant + " --type " + c.type +
          " -o " + path + " 2>&1",
      &rc);
  ASSERT_EQ(rc, 0) << "make-test-model failed";

  const std::string ref_out =
      Shell(std::string(HEARTH_REFERENCE_BINARY) + " " + path + " --prompt-tokens " + kPrompt +
              " -n " + std::to_string(kSteps) + " --top-logprobs 20 --numerics llamacpp",
          &rc);
  ASSERT_EQ(rc, 0) << ref_out;
  const std::string our_out =
      Shell(std::string(HEARTH_BINARY) + " run -m " + path + " --prompt-tokens " + kPrompt + " -n " +
              std::to_string(kSteps) + " --temp 0 --ignore-eos --json --top-logprobs 50 -t 2",
          &rc);
  ASSERT_EQ(rc, 0) << our_out;
  const json ref = json::parse(ref_out), ours = json::parse(our_out);
  ASSERT_EQ(ours["tokens"].size(), static_cast<size_t>(kSteps));

  const bool float_type = c.type == "f32" || c.type == "f16";
  const double first_tol = float_type ? kFloatFirst : kQuantFirst;
  const double any_tol = float_type ? kFloatAny : kQuantAny;
  double worst = 0;
  size_t steps = std::min(ref["tokens"].size(), ours["tokens"].size());
  size_t agreed = 0;
  for (size_t i = 0; i < steps; ++i) {
    const json& r = ref["tokens"][i];
    const json& o = ours["tokens"][i];
    std::map<int, double> mine;
    for (const auto& e : o["top_logprobs"]) mine[e["id"]] = e["logprob"];
    double d = 0;
    for (size_t k = 0; k < 10; ++k) {
      const int id = r["top_logprobs"][k]["id"];
      const double want = r["top_logprobs"][k]["logprob"];
      if (want < kTail) break;  // far tail: see the note at the top
      ASSERT_TRUE(mine.count(id)) << "step " << i << ": reference #" << k << " (id " << id
                                  << ", logprob " << want << ") is not in our top 50";
      d = std::max(d, std::fabs(mine[id] - want));
    }
    worst = std::max(worst, d);
    if (i == 0) {
      EXPECT_LE(d, first_tol) << "first step";
    }
    EXPECT_LE(d, any_tol) << "step " << i;
    if (o["id"] != r["id"]) {
      const double gap = r["top_logprobs"][0]["logprob"].get<double>() -
                         r["top_logprobs"][1]["logprob"].get<double>();
      EXPECT_TRUE(!float_type && gap < std::max(kQuantNearTie, 2 * d))
          << "greedy ids part at step " << i << " (reference top-2 gap " << gap
          << ", |dlogprob| here " << d << ")";
      break;
    }
    ++agreed;
  }
  std::printf("  %-7s %-7s greedy agreed %zu/%d, max |dlogprob| %.4f\n", c.variant.c_str(),
              c.type.c_str(), agreed, kSteps, worst);
  std::filesystem::remove(path);
}

INSTANTIATE_TEST_SUITE_P(AllVariants, ReferenceTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string n = info.param.variant + "_" + info.param.type;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
