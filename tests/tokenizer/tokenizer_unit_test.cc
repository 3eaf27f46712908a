// Tokenizer behaviour on small hand-made vocabularies, where every expected id can be worked out by
// hand from llama.cpp's rules (gemma-gguf-spec.md §8).
#include <gtest/gtest.h>

#include "test_util.h"
#include "tokenizer/stream_decoder.h"

namespace hearth::tokenizer {
namespace {

using Ids = std::vector<int32_t>;

// Appends a token; returns its id.
int32_t Add(Vocab* v, const std::string& text, TokenType type = TokenType::kNormal, float score = 0) {
  v->tokens.push_back(text);
  v->types.push_back(type);
  v->scores.push_back(score);
  return v->size() - 1;
}

void AddBytes(Vocab* v) {
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    snprintf(buf, sizeof buf, "<0x%02X>", b);
    Add(v, buf, TokenType::kByte);
  }
}

int32_t ByteId(int b) { return 8 + b; }  // both test vocabs put the 256 byte tokens at 8..263

// ids: 0 <pad> 1 <eos> 2 <bos> 3 <unk> 4 <ctl> 5 <ud> 6 <end_of_turn> 7 </s>, 8..263 bytes,
// then pieces.
Vocab SpmVocab() {
  Vocab v;
  v.algorithm = Algorithm::kSpm;
  v.model_name = "llama";
  Add(&v, "<pad>", TokenType::kControl);
  Add(&v, "<eos>", TokenType::kControl);
  Add(&v, "<bos>", TokenType::kControl);
  Add(&v, "<unk>", TokenType::kUnknown);
  Add(&v, "<ctl>", TokenType::kControl);
  Add(&v, "<ud>", TokenType::kUserDefined);
  Add(&v, "<end_of_turn>", TokenType::kControl);
  Add(&v, "</s>", TokenType::kUserDefined);
  AddBytes(&v);
  for (const char* c : {"a", "b", "c", "d", "h", "e", "l", "o", "\xE2\x96\x81", "<", ">", "x"}) Add(&v, c);
  Add(&v, "ab", TokenType::kNormal, -1);
  Add(&v, "ba", TokenType::kNormal, -1);
  Add(&v, "bc", TokenType::kNormal, -5);
  Add(&v, "abc", TokenType::kNormal, -2);
  Add(&v, "he", TokenType::kNormal, -3);
  Add(&v, "ll", TokenType::kNormal, -3);
  Add(&v, "hell", TokenType::kNormal, -4);
  Add(&v, "hello", TokenType::kNormal, -4.5f);
  Add(&v, "\xE2\x96\x81hello", TokenType::kNormal, -6);
  Add(&v, "cd", TokenType::kUserDefined);
  Add(&v, "bcd", TokenType::kUserDefined);
  v.bos_id = 2;
  v.eos_id = 1;
  v.unk_id = 3;
  v.pad_id = 0;
  v.add_space_prefix = false;
  return v;
}

Tokenizer Make(Vocab v) {
  auto t = Tokenizer::Create(std::move(v));
  CHECK(t.ok()) << t.status().ToString();
  return std::move(*t);
}

int32_t Id(const Tokenizer& t, const char* text) {
  int32_t id = t.Find(text);
  CHECK(id >= 0) << text;
  return id;
}

TEST(Spm, MergesByHighestScoreTiesLeftmost) {
  Tokenizer t = Make(SpmVocab());
  // "aba": ab and ba both score -1: the leftmost (ab) wins.
  EXPECT_EQ(t.Encode("aba", false), (Ids{Id(t, "ab"), Id(t, "a")}));
  // "abc": ab (-1) first, then ab+c = abc (-2); bc (-5) never gets a chance.
  EXPECT_EQ(t.Encode("abc", false), (Ids{Id(t, "abc")}));
  EXPECT_EQ(t.Encode("hello", false), (Ids{Id(t, "hello")}));
  EXPECT_EQ(t.Encode(" hello", false), (Ids{Id(t, "\xE2\x96\x81hello")}));
  EXPECT_EQ(t.Encode("", false), Ids{});
}

TEST(Spm, ByteFallbackAndDecode) {
  Tokenizer t = Make(SpmVocab());
  // 'z' and "é" have no token: their UTF-8 bytes become <0xXX> tokens.
  EXPECT_EQ(t.Encode("z", false), (Ids{ByteId('z')}));
  EXPECT_EQ(t.Encode("\xC3\xA9", false), (Ids{ByteId(0xC3), ByteId(0xA9)}));
  EXPECT_EQ(t.Decode(t.Encode("az\xC3\xA9" "b", false), false), "az\xC3\xA9" "b");
  // Text that looks like a byte token is plain text.
  EXPECT_EQ(t.Decode(t.Encode("<0x41>", true), true), "<0x41>");
  EXPECT_NE(t.Encode("<0x41>", true), (Ids{ByteId(0x41)}));
}

TEST(Spm, InvalidUtf8NeverCrashesAndRoundTrips) {
  Tokenizer t = Make(SpmVocab());
  const std::string cases[] = {"\xFF", "\x80" "abc", "a\xE4\xB8", "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                               "\xF0\x9F\x98", "ab\xFE\xFF" "cd", std::string("a\0b", 3)};
  for (const std::string& s : cases) {
    for (bool ps : {false, true}) {
      Ids ids = t.Encode(s, ps);
      EXPECT_EQ(t.Decode(ids, false), s) << testing::Escape(s);
    }
  }
  // Every invalid byte is its own symbol: "\xE4\xB8" (truncated) is two byte tokens.
  EXPECT_EQ(t.Encode("\xE4\xB8", false), (Ids{ByteId(0xE4), ByteId(0xB8)}));
}

TEST(Spm, SpecialTokensLongestFirstAndParseSpecial) {
  Tokenizer t = Make(SpmVocab());
  // USER_DEFINED always matched, CONTROL only with parse_special.
  EXPECT_EQ(t.Encode("a<ud>b", false), (Ids{Id(t, "a"), 5, Id(t, "b")}));
  EXPECT_EQ(t.Encode("a<ctl>b", true), (Ids{Id(t, "a"), 4, Id(t, "b")}));
  Ids plain = t.Encode("a<ctl>b", false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 4), 0);
  EXPECT_EQ(t.Decode(plain, false), "a<ctl>b");
  EXPECT_EQ(t.Encode("<unk>", true), (Ids{3}));
  EXPECT_NE(t.Encode("<unk>", false), (Ids{3}));
  // Longest token text first, not leftmost: "abcd" holds "cd" and "bcd" (both USER_DEFINED);
  // "bcd" is split out first, leaving "a".
  EXPECT_EQ(t.Encode("abcd", false), (Ids{Id(t, "a"), Id(t, "bcd")}));
  EXPECT_EQ(t.Encode("cdcd", false), (Ids{Id(t, "cd"), Id(t, "cd")}));
  // "</s>" is USER_DEFINED but in the EOG set, so llama.cpp gives it the CONTROL attribute: matched
  // and rendered only as a special token.
  EXPECT_EQ(t.Encode("</s>", true), (Ids{7}));
  EXPECT_NE(t.Encode("</s>", false), (Ids{7}));
  EXPECT_EQ(t.Decode(Ids{7}, false), "");
  EXPECT_EQ(t.Decode(Ids{7}, true), "</s>");
  // Rendering: CONTROL only on request; out-of-range ids are skipped.
  EXPECT_EQ(t.Decode(Ids{2, Id(t, "a"), 4, -1, 999999}, false), "a");
  EXPECT_EQ(t.Decode(Ids{2, Id(t, "a"), 4}, true), "<bos>a<ctl>");
}

TEST(Spm, SpacePrefixWhenTheVocabAsksForIt) {
  Vocab v = SpmVocab();
  v.add_space_prefix = true;
  Tokenizer t = Make(std::move(v));
  EXPECT_EQ(t.Encode("hello", false), (Ids{Id(t, "\xE2\x96\x81hello")}));
  // After a special token the next fragment gets the prefix again (llama.cpp's is_prev_special).
  EXPECT_EQ(t.Encode("<ud>hello", false), (Ids{5, Id(t, "\xE2\x96\x81hello")}));
  EXPECT_EQ(t.Decode(t.Encode("hello", false), false), "hello");
}

TEST(Eog, SetsPerFamily) {
  Tokenizer spm = Make(SpmVocab());
  // eos_id 1 (<eos>), <end_of_turn> and </s> by text.
  EXPECT_EQ(spm.eog_ids(), (Ids{1, 6, 7}));
  EXPECT_TRUE(spm.IsEog(6));
  EXPECT_FALSE(spm.IsEog(2));
  EXPECT_FALSE(spm.IsEog(-1));
  EXPECT_FALSE(spm.IsEog(1 << 20));

  Vocab g4;
  g4.algorithm = Algorithm::kGemma4Bpe;
  g4.model_name = "gemma4";
  Add(&g4, "<pad>", TokenType::kControl);
  Add(&g4, "<eos>", TokenType::kControl);
  Add(&g4, "<bos>", TokenType::kControl);
  Add(&g4, "<|tool_response>", TokenType::kUserDefined);
  Add(&g4, "<turn|>", TokenType::kControl);
  Add(&g4, "</s>", TokenType::kUserDefined);
  Add(&g4, "a");
  Add(&g4, "b");
  Add(&g4, "ab");
  g4.merges = {"a b"};
  g4.bos_id = 2;
  g4.eos_id = 1;
  g4.add_bos = false;
  Tokenizer t4 = Make(g4);
  EXPECT_EQ(t4.eog_ids(), (Ids{1, 3, 4}));  // </s> is left out because <|tool_response> exists
  EXPECT_TRUE(t4.add_bos()) << "forced true for gemma4";
  g4.eot_id = 6;
  EXPECT_EQ(Make(g4).eog_ids(), (Ids{1, 3, 4, 6}));
}

// Gemma 4 BPE: ids 0 <pad> 1 <eos> 2 <bos> 3..7 specials, 8..263 bytes, then pieces.
Vocab BpeVocab() {
  Vocab v;
  v.algorithm = Algorithm::kGemma4Bpe;
  v.model_name = "gemma4";
  for (const char* s : {"<pad>", "<eos>", "<bos>", "<unk>", "<|turn>", "<turn|>", "<|\"|>", "<mask>"}) {
    Add(&v, s, std::string(s) == "<|\"|>" ? TokenType::kUserDefined : TokenType::kControl);
  }
  AddBytes(&v);
  for (const char* s : {"a", "b", "c", "\n", "\n\n", "\xE2\x96\x81", "\xE2\x96\x81\xE2\x96\x81", "ab", "ba",
                        "\xE2\x96\x81" "a", "abc"}) {
    Add(&v, s);
  }
  v.merges = {"b a", "a b", "\xE2\x96\x81 \xE2\x96\x81", "\xE2\x96\x81 a", "ab c"};
  v.bos_id = 2;
  v.eos_id = 1;
  return v;
}

TEST(Gemma4Bpe, MergesByLowestRankTiesLeftmost) {
  Tokenizer t = Make(BpeVocab());
  // "b a" has rank 0, "a b" rank 1: "aba" -> a + ba.
  EXPECT_EQ(t.Encode("aba", false), (Ids{Id(t, "a"), Id(t, "ba")}));
  // "abab": ba at 1 first -> a ba b.
  EXPECT_EQ(t.Encode("abab", false), (Ids{Id(t, "a"), Id(t, "ba"), Id(t, "b")}));
  EXPECT_EQ(t.Encode("abc", false), (Ids{Id(t, "abc")}));
  // Spaces are ▁; "▁ ▁" (rank 2) beats "▁ a" (rank 3).
  EXPECT_EQ(t.Encode("  a", false), (Ids{Id(t, "\xE2\x96\x81\xE2\x96\x81"), Id(t, "a")}));
  EXPECT_EQ(t.Encode(" a", false), (Ids{Id(t, "\xE2\x96\x81" "a")}));
  // Newline runs are pre-split and emitted whole when they are a token; never merged with text.
  EXPECT_EQ(t.Encode("a\n\nb", false), (Ids{Id(t, "a"), Id(t, "\n\n"), Id(t, "b")}));
  EXPECT_EQ(t.Encode("\n\n\n", false), (Ids{Id(t, "\n"), Id(t, "\n"), Id(t, "\n")}));
  // Byte fallback and special tokens.
  EXPECT_EQ(t.Encode("z", false), (Ids{ByteId('z')}));
  EXPECT_EQ(t.Encode("<|turn>a", true), (Ids{4, Id(t, "a")}));
  EXPECT_EQ(t.Encode("<|\"|>", false), (Ids{6}));
  EXPECT_EQ(t.Decode(t.Encode(" ab\n\nz\xFF", false), false), " ab\n\nz\xFF");
}

TEST(StreamDecoder, HoldsBackSplitCharacters) {
  Tokenizer t = Make(BpeVocab());
  // 😀 = F0 9F 98 80, 中 = E4 B8 AD: only byte tokens exist for them.
  StreamDecoder d(t, false);
  EXPECT_EQ(d.Push(Id(t, "a")), "a");
  EXPECT_EQ(d.Push(ByteId(0xF0)), "");
  EXPECT_EQ(d.Push(ByteId(0x9F)), "");
  EXPECT_EQ(d.Push(ByteId(0x98)), "");
  EXPECT_EQ(d.Push(ByteId(0x80)), "\xF0\x9F\x98\x80");
  EXPECT_EQ(d.Push(ByteId(0xE4)), "");
  EXPECT_EQ(d.Push(ByteId(0xB8)), "");
  EXPECT_EQ(d.Push(ByteId(0xAD)), "\xE4\xB8\xAD");
  EXPECT_EQ(d.Push(Id(t, "b")), "b");
  EXPECT_EQ(d.Flush(), "");
  // Special tokens follow render_special.
  EXPECT_EQ(d.Push(4), "");
  StreamDecoder ds(t, true);
  EXPECT_EQ(ds.Push(4), "<|turn>");
}

TEST(StreamDecoder, BrokenBytesBecomeReplacementCharacters) {
  Tokenizer t = Make(BpeVocab());
  const std::string kFffd = "\xEF\xBF\xBD";
  StreamDecoder d(t, false);
  EXPECT_EQ(d.Push(ByteId(0x80)), kFffd);          // a lone continuation byte
  EXPECT_EQ(d.Push(ByteId(0xE4)), "");
  EXPECT_EQ(d.Push(Id(t, "a")), kFffd + "a");      // the sequence was cut by 'a'
  EXPECT_EQ(d.Push(ByteId(0xF0)), "");
  EXPECT_EQ(d.Push(ByteId(0x9F)), "");
  EXPECT_EQ(d.Flush(), kFffd + kFffd);             // leftovers at the end
  EXPECT_EQ(d.Push(Id(t, "b")), "b");
}

TEST(StreamDecoder, ConcatenationEqualsDecodeForEveryPrefixSplit) {
  Tokenizer t = Make(BpeVocab());
  const std::string text = "ab \xE4\xB8\xAD\xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9 c\n\n\xC3\xA9";
  Ids ids = t.Encode(text, false);
  StreamDecoder d(t, false);
  std::string streamed;
  for (int32_t id : ids) {
    std::string part = d.Push(id);
    // Never half a character: every emitted chunk is valid UTF-8 on its own.
    Ids probe = t.Encode(part, false);
    EXPECT_EQ(t.Decode(probe, false), part);
    for (size_t i = 0; i < part.size();) {
      size_t n = (unsigned char)part[i] < 0x80 ? 1 : (unsigned char)part[i] < 0xE0 ? 2 : (unsigned char)part[i] < 0xF0 ? 3 : 4;
      ASSERT_LE(i + n, part.size()) << "half a character emitted";
      i += n;
    }
    streamed += part;
  }
  streamed += d.Flush();
  EXPECT_EQ(streamed, text);
}

}  // namespace
}  // namespace hearth::tokenizer
