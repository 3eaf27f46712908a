// The 46 llama.cpp Gemma 4 vocabulary test vectors (tests/data/gemma4/vocab-golden.*) through both
// algorithms built from the real Gemma 3 tokenizer.json: the SentencePiece path a Gemma 3 GGUF
// takes (scores derived from the merges) and the Gemma 4 BPE path (merges by rank). The golden
// README states both vocabularies give exactly these ids for plain text.
#include <chrono>

#include <gtest/gtest.h>

#include "test_util.h"

namespace hearth::tokenizer {
namespace {

using testing::Escape;
using testing::Ids;

void CheckGolden(HfFamily family) {
  auto cases = testing::LoadVocabGolden();
  ASSERT_EQ(cases.size(), 46u);
  auto t0 = std::chrono::steady_clock::now();
  Result<Vocab> v = ImportHfTokenizer(testing::Gemma3HfDir(), family);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  Result<Tokenizer> tok = Tokenizer::Create(std::move(*v));
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto t1 = std::chrono::steady_clock::now();
  std::printf("import + create: %.2f s\n", std::chrono::duration<double>(t1 - t0).count());
  int mismatches = 0;
  for (const auto& c : cases) {
    for (bool parse_special : {false, true}) {
      std::vector<int32_t> got = tok->Encode(c.text, parse_special);
      if (got != c.ids) {
        ++mismatches;
        ADD_FAILURE() << "text '" << Escape(c.text) << "' parse_special=" << parse_special
                      << "\n  want " << Ids(c.ids) << "\n  got  " << Ids(got);
      }
    }
    EXPECT_EQ(tok->Decode(c.ids, false), c.text) << Escape(c.text);
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(VocabGolden, Gemma3SpmPathGivesGemma4GoldenIds) { CheckGolden(HfFamily::kGemma3); }
TEST(VocabGolden, Gemma4BpePathGivesGemma4GoldenIds) { CheckGolden(HfFamily::kGemma4); }

}  // namespace
}  // namespace hearth::tokenizer
