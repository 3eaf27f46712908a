// Vocab <-> GGUF: the tokenizers of the golden GGUF files (written independently of this project)
// load and round-trip text; WriteVocab -> LoadVocab is lossless; corrupt tokenizer metadata is an
// error naming the key.
#include <gtest/gtest.h>

#include "gguf/file.h"
#include "gguf/writer.h"
#include "test_util.h"

namespace hearth::tokenizer {
namespace {

std::string GoldenGguf(const std::string& name) { return testing::SourcePath("tests/data/golden/" + name); }

Result<Vocab> LoadFromGguf(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<gguf::File> f, gguf::File::Open(path));
  return LoadVocab(*f);
}

// Texts without special-token text; valid UTF-8.
const char* kRoundTrip[] = {
    "Hello world", " leading space", "two  spaces and\ttab", "line\nbreaks\n\n\nrun", "\r\n",
    "日本語のテキスト", "한국어", "emoji 😀👨‍👩‍👧 🇯🇵", "Ünïcödé façade", "code: if (a < b) { return; }",
    "", " ", "1234567890", "mixed 中文 and English", "x\xE2\x80\x8By",
};

void CheckRoundTrip(const Tokenizer& tok) {
  for (const char* text : kRoundTrip) {
    for (bool ps : {false, true}) {
      std::vector<int32_t> ids = tok.Encode(text, ps);
      for (int32_t id : ids) ASSERT_TRUE(id >= 0 && id < tok.n_vocab());
      EXPECT_EQ(tok.Decode(ids, false), text) << testing::Escape(text);
    }
  }
}

TEST(GgufVocab, Gemma3TinyFilesLoadAndRoundTrip) {
  for (const char* name : {"g3-tiny-f32.gguf", "g3-tiny-q4_0.gguf"}) {
    Result<Vocab> v = LoadFromGguf(GoldenGguf(name));
    ASSERT_TRUE(v.ok()) << name << ": " << v.status().ToString();
    EXPECT_EQ(v->algorithm, Algorithm::kSpm);
    EXPECT_EQ(v->model_name, "llama");
    EXPECT_EQ(v->size(), 1024);
    EXPECT_TRUE(v->merges.empty());
    auto tok = Tokenizer::Create(std::move(*v));
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    EXPECT_EQ(tok->bos_id(), 2);
    EXPECT_EQ(tok->TokenText(2), "<bos>");
    EXPECT_EQ(tok->eog_ids(), (std::vector<int32_t>{1, tok->Find("<end_of_turn>")}));
    CheckRoundTrip(*tok);
  }
}

TEST(GgufVocab, Gemma4TinyFilesLoadAndRoundTrip) {
  // The E2B-like file carries a SentencePiece ("llama") vocabulary with the Gemma 4 special tokens.
  struct File { const char* name; Algorithm algo; int32_t n; } files[] = {
      {"g4-u12b-tiny-q8_0.gguf", Algorithm::kGemma4Bpe, 4096},
      {"g4-u12b-tiny-q4_0.gguf", Algorithm::kGemma4Bpe, 1024},
      {"g4-moe-tiny-q4_0.gguf", Algorithm::kGemma4Bpe, 1024},
      {"g4-e2b-tiny-q8_0.gguf", Algorithm::kSpm, 1024}};
  for (const File& file : files) {
    const char* name = file.name;
    Result<Vocab> v = LoadFromGguf(GoldenGguf(name));
    ASSERT_TRUE(v.ok()) << name << ": " << v.status().ToString();
    EXPECT_EQ(v->algorithm, file.algo) << name;
    EXPECT_EQ(v->size(), file.n) << name;
    EXPECT_EQ(v->merges.empty(), file.algo == Algorithm::kSpm) << name;
    EXPECT_TRUE(v->add_bos);
    auto tok = Tokenizer::Create(std::move(*v));
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    EXPECT_EQ(tok->bos_id(), 2) << name;
    const char* end_of_turn = file.algo == Algorithm::kSpm ? "<end_of_turn>" : "<turn|>";
    ASSERT_GE(tok->Find(end_of_turn), 0) << name;
    EXPECT_TRUE(tok->IsEog(tok->Find(end_of_turn))) << name;
    EXPECT_TRUE(tok->IsEog(tok->Find("<eos>"))) << name;
    CheckRoundTrip(*tok);
  }
}

TEST(GgufVocab, WriteThenLoadIsLossless) {
  for (const char* name : {"g3-tiny-f32.gguf", "g4-u12b-tiny-q8_0.gguf"}) {
    Result<Vocab> v = LoadFromGguf(GoldenGguf(name));
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    v->chat_template = "{{ bos_token }}";
    v->suppress_tokens = {0, 3};
    v->eot_id = 1;
    gguf::Writer w;
    WriteVocab(*v, w);
    std::vector<uint8_t> bytes = w.Serialize();
    auto f = gguf::File::FromMemory(bytes.data(), bytes.size());
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    Result<Vocab> back = LoadVocab(**f);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->algorithm, v->algorithm);
    EXPECT_EQ(back->model_name, v->model_name);
    EXPECT_EQ(back->tokens, v->tokens);
    EXPECT_EQ(back->scores, v->scores);
    EXPECT_EQ(back->types, v->types);
    EXPECT_EQ(back->merges, v->merges);
    EXPECT_EQ(back->bos_id, v->bos_id);
    EXPECT_EQ(back->eos_id, v->eos_id);
    EXPECT_EQ(back->unk_id, v->unk_id);
    EXPECT_EQ(back->pad_id, v->pad_id);
    EXPECT_EQ(back->eot_id, 1);
    EXPECT_EQ(back->add_bos, v->add_bos);
    EXPECT_EQ(back->add_eos, v->add_eos);
    EXPECT_EQ(back->add_space_prefix, v->add_space_prefix);
    EXPECT_EQ(back->chat_template, "{{ bos_token }}");
    EXPECT_EQ(back->suppress_tokens, (std::vector<int32_t>{0, 3}));
    if (v->algorithm == Algorithm::kSpm) {
      EXPECT_EQ(back->pre, v->pre.empty() ? "default" : v->pre);
    } else {
      EXPECT_EQ((*f)->Find(kKeyPre), nullptr) << "Gemma4Model.set_vocab writes no pre";
    }
  }
}

// A small valid vocab to corrupt.
Vocab SmallVocab() {
  Vocab v;
  v.algorithm = Algorithm::kSpm;
  v.model_name = "llama";
  v.tokens = {"<pad>", "<eos>", "<bos>", "a", "b", "ab"};
  v.scores = {0, 0, 0, -1, -2, -0.5f};
  v.types = {TokenType::kControl, TokenType::kControl, TokenType::kControl, TokenType::kNormal,
             TokenType::kNormal, TokenType::kNormal};
  v.bos_id = 2;
  v.eos_id = 1;
  return v;
}

Status LoadWith(const std::function<void(gguf::Writer&)>& edit) {
  gguf::Writer w;
  WriteVocab(SmallVocab(), w);
  edit(w);
  std::vector<uint8_t> bytes = w.Serialize();
  auto f = gguf::File::FromMemory(bytes.data(), bytes.size());
  if (!f.ok()) return f.status();
  Result<Vocab> v = LoadVocab(**f);
  return v.status();
}

TEST(GgufVocab, CorruptMetadataIsAnErrorNamingTheKey) {
  EXPECT_TRUE(LoadWith([](gguf::Writer&) {}).ok());
  struct Case {
    const char* what;
    std::function<void(gguf::Writer&)> edit;
    StatusCode code;
    const char* key;
  } cases[] = {
      {"scores too short", [](gguf::Writer& w) { w.SetF32Array("tokenizer.ggml.scores", {0, 0}); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.scores"},
      {"types too long", [](gguf::Writer& w) { w.SetI32Array("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 1, 1}); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.token_type"},
      {"type 9", [](gguf::Writer& w) { w.SetI32Array("tokenizer.ggml.token_type", {1, 1, 1, 1, 9, 1}); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.token_type[4]"},
      {"bos out of range", [](gguf::Writer& w) { w.SetU32("tokenizer.ggml.bos_token_id", 6); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.bos_token_id"},
      {"eot out of range", [](gguf::Writer& w) { w.SetU32("tokenizer.ggml.eot_token_id", 1000); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.eot_token_id"},
      {"negative pad", [](gguf::Writer& w) { w.SetI32("tokenizer.ggml.padding_token_id", -5); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.padding_token_id"},
      {"suppress out of range", [](gguf::Writer& w) { w.SetI32Array("tokenizer.ggml.suppress_tokens", {1, 77}); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.suppress_tokens[1]"},
      {"unknown model", [](gguf::Writer& w) { w.SetString("tokenizer.ggml.model", "rwkv"); },
       StatusCode::kUnimplemented, "rwkv"},
      {"gemma4 without merges", [](gguf::Writer& w) { w.SetString("tokenizer.ggml.model", "gemma4"); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.merges"},
      {"malformed merge", [](gguf::Writer& w) {
         w.SetString("tokenizer.ggml.model", "gemma4");
         w.SetStringArray("tokenizer.ggml.merges", {"a b", "ab"});
       }, StatusCode::kInvalidArgument, "tokenizer.ggml.merges[1]"},
      {"tokens not strings", [](gguf::Writer& w) { w.SetI32Array("tokenizer.ggml.tokens", {1, 2}); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.tokens"},
      {"model not a string", [](gguf::Writer& w) { w.SetU32("tokenizer.ggml.model", 3); },
       StatusCode::kInvalidArgument, "tokenizer.ggml.model"},
  };
  for (const Case& c : cases) {
    Status s = LoadWith(c.edit);
    EXPECT_EQ(s.code(), c.code) << c.what << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.key), std::string::npos) << c.what << ": " << s.ToString();
  }
  // No token list at all.
  gguf::Writer w;
  w.SetString("tokenizer.ggml.model", "llama");
  std::vector<uint8_t> bytes = w.Serialize();
  auto f = gguf::File::FromMemory(bytes.data(), bytes.size());
  ASSERT_TRUE(f.ok());
  Result<Vocab> v = LoadVocab(**f);
  EXPECT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("tokenizer.ggml.tokens"), std::string::npos) << v.status().ToString();
}

TEST(GgufVocab, CreateRejectsInconsistentVocab) {
  Vocab v = SmallVocab();
  v.scores.pop_back();
  EXPECT_EQ(Tokenizer::Create(v).status().code(), StatusCode::kInvalidArgument);
  v = SmallVocab();
  v.unk_id = 99;
  EXPECT_EQ(Tokenizer::Create(v).status().code(), StatusCode::kInvalidArgument);
  v = SmallVocab();
  v.tokens.clear();
  v.scores.clear();
  v.types.clear();
  EXPECT_EQ(Tokenizer::Create(v).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace hearth::tokenizer
