// The real-vocabulary oracle: every string of tests/tokenizer/corpus/corpus.json is encoded by the
// real Gemma 3 tokenizer's own JS encoder (tests/node/gemma3_encode.mjs, run with node at test
// time) and by ImportHfTokenizer + Tokenizer::Encode through the SentencePiece path a Gemma 3 GGUF
// takes. Zero mismatches are required, with parse_special true (the JS encoder as is) and false
// (the JS encoder without the added tokens llama.cpp only matches under parse_special). Decode must
// give back every string. The Gemma 4 BPE path built from the same merges is compared on the
// strings whose ids hold no added token other than whitespace runs (the two vocabularies' added
// tokens differ by construction; see hf_import.h).
#include <chrono>
#include <cstdio>
#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_util.h"

namespace hearth::tokenizer {
namespace {

using testing::Escape;
using testing::Ids;

// Reports at most this many mismatches in full; the count is always reported.
constexpr int kMaxReported = 40;
constexpr int64_t kGemma3MultimodalVocab = 262208;

// Decode maps ▁ to a space (NORMAL tokens store spaces as ▁), so a literal U+2581 in the input
// comes back as a space; that is the only way Decode may differ from the input.
std::string LowerBlockToSpace(std::string s) {
  for (size_t p = s.find("\xE2\x96\x81"); p != std::string::npos; p = s.find("\xE2\x96\x81", p)) {
    s.replace(p, 3, " ");
  }
  return s;
}

struct JsResult {
  std::vector<std::vector<int32_t>> special, nospecial;
  double load_ms = 0, encode_ms = 0;
};

// Runs node; returns false (with why) if node or the package is not available.
bool RunNode(const std::string& corpus, JsResult* out, std::string* why) {
  std::string cmd = "cd '" + testing::SourcePath("tests/node") + "' && node gemma3_encode.mjs '" +
                    corpus + "' 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> p(popen(cmd.c_str(), "r"), pclose);
  if (!p) { *why = "popen failed"; return false; }
  std::string text;
  char buf[1 << 16];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p.get())) > 0) text.append(buf, n);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    *why = "node output is not JSON: " + text.substr(0, 500);
    return false;
  }
  out->special = j["special"].get<std::vector<std::vector<int32_t>>>();
  out->nospecial = j["nospecial"].get<std::vector<std::vector<int32_t>>>();
  out->load_ms = j["load_ms"].get<double>();
  out->encode_ms = j["encode_ms"].get<double>();
  return true;
}

std::vector<std::string> LoadCorpus() {
  return nlohmann::json::parse(testing::ReadAll(testing::SourcePath("tests/tokenizer/corpus/corpus.json")))
      .get<std::vector<std::string>>();
}

bool OnlyWhitespaceAddedTokens(const std::vector<int32_t>& ids, const Tokenizer& g3) {
  for (int32_t id : ids) {
    TokenType t = g3.Type(id);
    if (t == TokenType::kControl || t == TokenType::kUnknown) return false;
    if (t == TokenType::kUserDefined) {
      for (char c : g3.TokenText(id)) if (c != ' ' && c != '\n' && c != '\t') return false;
    }
  }
  return true;
}

TEST(HfOracle, Gemma3CorpusMatchesJsEncoderExactly) {
  std::vector<std::string> corpus = LoadCorpus();
  ASSERT_GE(corpus.size(), 2000u);
  JsResult js;
  std::string why;
  if (!RunNode(testing::SourcePath("tests/tokenizer/corpus/corpus.json"), &js, &why)) {
    GTEST_SKIP() << "reference encoder unavailable (needs node and `npm install` in tests/node): " << why;
  }
  ASSERT_EQ(js.special.size(), corpus.size());
  ASSERT_EQ(js.nospecial.size(), corpus.size());

  // 262208: the multimodal checkpoints' vocab_size (this tokenizer has the image tokens), so
  // <image_soft_token> = 262144 is in the vocab as it is for the JS encoder.
  auto v3 = ImportHfTokenizer(testing::Gemma3HfDir(), HfFamily::kAuto, kGemma3MultimodalVocab);
  ASSERT_TRUE(v3.ok()) << v3.status().ToString();
  ASSERT_EQ(v3->model_name, "llama");
  auto g3 = Tokenizer::Create(std::move(*v3));
  ASSERT_TRUE(g3.ok()) << g3.status().ToString();
  auto v4 = ImportHfTokenizer(testing::Gemma3HfDir(), HfFamily::kGemma4);
  ASSERT_TRUE(v4.ok()) << v4.status().ToString();
  auto g4 = Tokenizer::Create(std::move(*v4));
  ASSERT_TRUE(g4.ok()) << g4.status().ToString();

  int mismatches = 0, decode_failures = 0, bpe_compared = 0, bpe_mismatches = 0, reported = 0;
  auto report = [&](const std::string& what, const std::string& s, const std::vector<int32_t>& want,
                    const std::vector<int32_t>& got) {
    if (reported++ < kMaxReported) {
      ADD_FAILURE() << what << " '" << Escape(s) << "'\n  js   " << Ids(want) << "\n  ours " << Ids(got);
    }
  };
  double ours_ms = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string& s = corpus[i];
    auto t0 = std::chrono::steady_clock::now();
    std::vector<int32_t> sp = g3->Encode(s, /*parse_special=*/true);
    ours_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    std::vector<int32_t> plain = g3->Encode(s, /*parse_special=*/false);
    if (sp != js.special[i]) { ++mismatches; report("SPM parse_special=true", s, js.special[i], sp); }
    if (plain != js.nospecial[i]) { ++mismatches; report("SPM parse_special=false", s, js.nospecial[i], plain); }
    const std::string want_text = LowerBlockToSpace(s);
    if (g3->Decode(sp, true) != want_text || g3->Decode(plain, true) != want_text) {
      ++decode_failures;
      if (reported++ < kMaxReported) ADD_FAILURE() << "decode of '" << Escape(s) << "' gives '" << Escape(g3->Decode(sp, true)) << "'";
    }
    if (OnlyWhitespaceAddedTokens(js.special[i], *g3)) {
      ++bpe_compared;
      std::vector<int32_t> bpe = g4->Encode(s, true);
      if (bpe != js.special[i]) { ++bpe_mismatches; report("Gemma 4 BPE", s, js.special[i], bpe); }
    }
  }
  std::printf("corpus %zu strings: SPM mismatches %d, decode failures %d; Gemma 4 BPE compared on %d, "
              "mismatches %d\n", corpus.size(), mismatches, decode_failures, bpe_compared, bpe_mismatches);
  std::printf("speed (not asserted): ours %.1f ms, JS %.1f ms for the corpus (JS load %.0f ms)\n", ours_ms,
              js.encode_ms, js.load_ms);
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(decode_failures, 0);
  EXPECT_EQ(bpe_mismatches, 0);
  EXPECT_GT(bpe_compared, 1000);
}

}  // namespace
}  // namespace hearth::tokenizer
