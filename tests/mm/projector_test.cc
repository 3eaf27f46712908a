// Projector loading, validation errors and encoders on the test mmproj files of every type
// written by the project's writer (testmodel::WriteMmproj), and prompt assembly.
#include "mm/projector.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>

#include "core/fp16.h"
#include "engine/loader.h"
#include "gguf/file.h"
#include "kernels/matmul.h"
#include "tools/testmodel.h"

namespace hearth::mm {
namespace {

namespace fs = std::filesystem;

class ProjectorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("hearth_mm_test_" + std::to_string(getpid())));
    fs::create_directories(*dir_);
    ASSERT_TRUE(testmodel::WriteMmproj({.types = "gemma4uv,gemma4ua"}, Path("uv_ua.gguf")).ok());
    ASSERT_TRUE(testmodel::WriteMmproj({.types = "gemma4uv"}, Path("uv.gguf")).ok());
    ASSERT_TRUE(testmodel::WriteMmproj({.types = "gemma4ua"}, Path("ua.gguf")).ok());
    ASSERT_TRUE(testmodel::WriteMmproj({.types = "gemma3", .variant = "g3-4b"}, Path("g3.gguf")).ok());
    ASSERT_TRUE(testmodel::Write({.variant = "g4-12b", .type = "q8_0"}, Path("g4.gguf")).ok());
    ASSERT_TRUE(testmodel::Write({.variant = "g3-4b", .type = "q8_0"}, Path("g3model.gguf")).ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Path(const std::string& name) { return (*dir_ / name).string(); }
  static model::Config Text(bool gemma4, int n_embd = 256) {
    model::Config c;
    c.arch = gemma4 ? model::Arch::kGemma4 : model::Arch::kGemma3;
    c.arch_name = gemma4 ? "gemma4" : "gemma3";
    c.n_embd = n_embd;
    return c;
  }
  static std::vector<uint8_t> Image(int w, int h) {
    std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3);
    for (size_t i = 0; i < px.size(); ++i) px[i] = static_cast<uint8_t>((i * 37) % 251);
    return px;
  }
  static fs::path* dir_;
};
fs::path* ProjectorTest::dir_ = nullptr;

bool Finite(const Embeddings& e) {
  for (float v : e.data)
    if (!std::isfinite(v)) return false;
  return e.data.size() == static_cast<size_t>(e.n_tok * e.n_embd);
}

TEST_F(ProjectorTest, LoadsEveryType) {
  auto both = Projector::Load(Path("uv_ua.gguf"), Text(true));
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_EQ((*both)->vision_type(), "gemma4uv");
  EXPECT_EQ((*both)->audio_type(), "gemma4ua");
  auto uv = Projector::Load(Path("uv.gguf"), Text(true));
  ASSERT_TRUE(uv.ok());
  EXPECT_TRUE((*uv)->has_vision());
  EXPECT_FALSE((*uv)->has_audio());
  auto ua = Projector::Load(Path("ua.gguf"), Text(true));
  ASSERT_TRUE(ua.ok());
  EXPECT_EQ((*ua)->vision_type(), "");
  auto g3 = Projector::Load(Path("g3.gguf"), Text(false));
  ASSERT_TRUE(g3.ok()) << g3.status().ToString();
  EXPECT_EQ((*g3)->vision_type(), "gemma3");
}

TEST_F(ProjectorTest, MismatchesAreClearErrors) {
  auto wide = Projector::Load(Path("uv_ua.gguf"), Text(true, 512));
  ASSERT_FALSE(wide.ok());
  EXPECT_NE(wide.status().message().find("uv_ua.gguf"), std::string::npos);
  EXPECT_NE(wide.status().message().find("embedding width 512"), std::string::npos)
      << wide.status().message();
  auto family = Projector::Load(Path("g3.gguf"), Text(true));
  ASSERT_FALSE(family.ok());
  EXPECT_NE(family.status().message().find("'gemma3' is for Gemma 3"), std::string::npos)
      << family.status().message();
  auto family4 = Projector::Load(Path("uv.gguf"), Text(false));
  ASSERT_FALSE(family4.ok());
  EXPECT_NE(family4.status().message().find("Gemma 4"), std::string::npos);
  auto text = Projector::Load(Path("g4.gguf"), Text(true));
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("not a multimodal projector"), std::string::npos)
      << text.status().message();
  EXPECT_FALSE(Projector::Load(Path("missing.gguf"), Text(true)).ok());
}

TEST_F(ProjectorTest, WrongMediaForTheProjector) {
  ThreadPool pool(2);
  auto uv = Projector::Load(Path("uv.gguf"), Text(true));
  ASSERT_TRUE(uv.ok());
  auto a = (*uv)->EncodeAudio(std::vector<float>(16000, 0.1f), pool);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("no audio encoder"), std::string::npos);
  auto ua = Projector::Load(Path("ua.gguf"), Text(true));
  ASSERT_TRUE(ua.ok());
  const std::vector<uint8_t> px = Image(64, 64);
  auto i = (*ua)->EncodeImage(64, 64, px.data(), {}, pool);
  ASSERT_FALSE(i.ok());
  EXPECT_NE(i.status().message().find("no vision encoder"), std::string::npos);
  EXPECT_FALSE((*ua)->EncodeAudio(std::vector<float>{}, pool).ok());
  EXPECT_FALSE((*uv)->EncodeImage(0, 10, px.data(), {}, pool).ok());
  EXPECT_FALSE((*uv)->EncodeImage(64, 64, px.data(), {.min_tokens = 100, .max_tokens = 50}, pool).ok());
  // More patches per side than the 64-entry position table of the tiny file.
  const std::vector<uint8_t> strip = Image(4000, 50);
  auto s = (*uv)->EncodeImage(4000, 50, strip.data(), {}, pool);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("position table"), std::string::npos);
}

TEST_F(ProjectorTest, Gemma4uvTokensFollowTheBudget) {
  ThreadPool pool(2);
  auto p = Projector::Load(Path("uv.gguf"), Text(true));
  ASSERT_TRUE(p.ok());
  const std::vector<uint8_t> px = Image(300, 200);
  auto e = (*p)->EncodeImage(300, 200, px.data(), {}, pool);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->n_tok, 48);
  EXPECT_EQ(e->n_embd, 256);
  EXPECT_FALSE(e->causal);
  EXPECT_EQ(e->kind, Embeddings::Kind::kImage);
  EXPECT_TRUE(Finite(*e));
  auto few = (*p)->EncodeImage(300, 200, px.data(), {.min_tokens = 1, .max_tokens = 6}, pool);
  ASSERT_TRUE(few.ok());
  EXPECT_LE(few->n_tok, 6);
  // Rows differ from patch to patch (position tables and content).
  EXPECT_NE(std::vector<float>(e->data.begin(), e->data.begin() + 256),
            std::vector<float>(e->data.begin() + 256, e->data.begin() + 512));
}

TEST_F(ProjectorTest, Gemma4uaMatchesANaiveComputation) {
  ThreadPool pool(2);
  auto p = Projector::Load(Path("ua.gguf"), Text(true));
  ASSERT_TRUE(p.ok());
  std::vector<float> s(1000);
  for (size_t i = 0; i < s.size(); ++i) s[i] = std::sin(0.01f * i) * 0.3f;
  auto out = (*p)->EncodeAudio(s, pool);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  const Embeddings& e = (*out)[0];
  ASSERT_EQ(e.n_tok, 2);
  EXPECT_TRUE(e.causal);
  EXPECT_EQ(e.kind, Embeddings::Kind::kAudio);
  // Reference: RMS-normalise each zero-padded 640-sample frame, multiply by the F16 weight.
  auto f = gguf::File::Open(Path("ua.gguf"));
  ASSERT_TRUE(f.ok());
  const gguf::TensorInfo* w = (*f)->FindTensor("mm.a.input_projection.weight");
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->type, gguf::TensorType::kF16);
  const auto* wh = reinterpret_cast<const uint16_t*>(w->data);
  for (int t = 0; t < 2; ++t) {
    std::vector<double> x(640, 0.0);
    double ss = 0;
    for (int i = 0; i < 640; ++i) {
      const size_t k = static_cast<size_t>(t) * 640 + i;
      x[i] = k < s.size() ? s[k] : 0.0;
      ss += x[i] * x[i];
    }
    const double inv = 1.0 / std::sqrt(ss / 640 + 1e-6);
    for (int r = 0; r < 256; r += 17) {
      double acc = 0;
      for (int i = 0; i < 640; ++i) acc += x[i] * inv * F16ToF32(wh[static_cast<size_t>(r) * 640 + i]);
      EXPECT_NEAR(e.data[t * 256 + r], acc, 2e-3 * (1 + std::fabs(acc))) << "token " << t << " row " << r;
    }
  }
}

TEST_F(ProjectorTest, Gemma3SiglipEncodes) {
  ThreadPool pool(2);
  auto p = Projector::Load(Path("g3.gguf"), Text(false));
  ASSERT_TRUE(p.ok());
  const std::vector<uint8_t> px = Image(300, 200);
  auto e = (*p)->EncodeImage(300, 200, px.data(), {}, pool);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->n_tok, 4);  // 112/14 = 8 patches a side, pooled 4x4 -> 2x2
  EXPECT_FALSE(e->causal);
  EXPECT_TRUE(Finite(*e));
  // Threads do not change the result.
  ThreadPool one(1);
  auto e1 = (*p)->EncodeImage(300, 200, px.data(), {}, one);
  ASSERT_TRUE(e1.ok());
  EXPECT_EQ(e1->data, e->data);
}

TEST_F(ProjectorTest, AssemblePromptPlacesMarkersAndBlocks) {
  auto lm = engine::LoadModel(Path("g4.gguf"), {.progress = false});
  ASSERT_TRUE(lm.ok());
  const tokenizer::Tokenizer& tok = *lm->tokenizer;
  Embeddings img;
  img.n_tok = 2;
  img.n_embd = 4;
  img.data.assign(8, 0.5f);
  img.causal = false;
  Embeddings aud = img;
  aud.kind = Embeddings::Kind::kAudio;
  aud.causal = true;
  auto c = AssemblePrompt("<bos><|turn>user\n<|image|>hi<|audio|><turn|>\n", chat::Family::kGemma4,
                          tok, {img, aud}, true);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 5u);
  EXPECT_EQ((*c)[0].ids.front(), tok.bos_id());
  EXPECT_EQ((*c)[0].ids.back(), tok.Find("<|image>"));
  EXPECT_EQ(std::count((*c)[0].ids.begin(), (*c)[0].ids.end(), tok.bos_id()), 1);
  EXPECT_TRUE((*c)[1].is_embd());
  EXPECT_FALSE((*c)[1].embd.causal);
  EXPECT_EQ((*c)[2].ids.front(), tok.Find("<image|>"));
  EXPECT_EQ((*c)[2].ids.back(), tok.Find("<|audio>"));
  EXPECT_TRUE((*c)[3].is_embd());
  EXPECT_EQ((*c)[4].ids.front(), tok.Find("<audio|>"));
  // Counts and kinds must match the placeholders.
  EXPECT_FALSE(AssemblePrompt("<|image|><|image|>", chat::Family::kGemma4, tok, {img}, false).ok());
  EXPECT_FALSE(AssemblePrompt("<|image|>", chat::Family::kGemma4, tok, {img, img}, false).ok());
  EXPECT_FALSE(AssemblePrompt("<|audio|>", chat::Family::kGemma4, tok, {img}, false).ok());
  // A video: timestamped frames then its audio.
  Embeddings f0 = img, f1 = img, va = aud;
  f0.video_index = f1.video_index = va.video_index = 0;
  f0.frame_time_s = 0.0;
  f1.frame_time_s = 61.5;
  auto v = AssemblePrompt("a<|video|>b", chat::Family::kGemma4, tok, {f0, f1, va}, false);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_EQ(v->size(), 7u);
  EXPECT_EQ(tok.Decode((*v)[0].ids, true), "a00:00 <|image>");
  EXPECT_EQ(tok.Decode((*v)[2].ids, true), "<image|> 01:01 <|image>");
  EXPECT_EQ(tok.Decode((*v)[4].ids, true), "<image|><|audio>");
  EXPECT_EQ(tok.Decode((*v)[6].ids, true), "<audio|>b");
}

TEST_F(ProjectorTest, AssemblePromptGemma3) {
  auto lm = engine::LoadModel(Path("g3model.gguf"), {.progress = false});
  ASSERT_TRUE(lm.ok());
  const tokenizer::Tokenizer& tok = *lm->tokenizer;
  Embeddings img;
  img.n_tok = 3;
  img.n_embd = 2;
  img.data.assign(6, 1.0f);
  auto c = AssemblePrompt("<start_of_turn>user\n<start_of_image>x", chat::Family::kGemma3, tok,
                          {img}, false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->size(), 3u);
  EXPECT_EQ((*c)[0].ids.back(), tok.Find("<start_of_image>"));
  EXPECT_EQ(std::count((*c)[0].ids.begin(), (*c)[0].ids.end(), tok.Find("<start_of_image>")), 1);
  EXPECT_EQ((*c)[2].ids.front(), tok.Find("<end_of_image>"));
  Embeddings aud = img;
  aud.kind = Embeddings::Kind::kAudio;
  EXPECT_FALSE(AssemblePrompt("<start_of_image>", chat::Family::kGemma3, tok, {aud}, false).ok());
}

}  // namespace
}  // namespace hearth::mm
