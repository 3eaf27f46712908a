// The 12B-unified projectors (gemma4uv image, gemma4ua audio) end to end against llama.cpp: the
// golden chat cases of tests/data/golden/golden.json (an image and an audio clip sent with a
// question to llama.cpp's server with g4-u12b-tiny-q8_0.gguf + its mmproj). The chat is rendered
// by our template, the media placeholders replaced by AssemblePrompt, the chunks fed to a
// Session, and the first generated token's top-20 compared by token text.
//
// The media are decoded here with libpng and a WAV reader of our own so that this test checks the
// projector and prompt path alone, independent of src/media.
#include <png.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "chat/chat.h"
#include "core/thread_pool.h"
#include "engine/generate.h"
#include "engine/loader.h"
#include "engine/session.h"
#include "mm/projector.h"

namespace hearth::mm {
namespace {

using nlohmann::json;
const std::string kDir = std::string(HEARTH_SOURCE_DIR) + "/tests/data/golden/";
// Max |Δ logprob| over llama.cpp's top-10 (by token text). Measured: image 0.59, audio 0.51. The
// text golden test's first-step bound after the 40/90-token prompts of this Q8_0 file is 2.5
// (measured 0.10-1.9): over tens of tokens single 8-bit activation roundings that fall the other
// way compound. The pipeline is what this bounds: with llama.cpp's later resize formula
// ((w-1)/w instead of align corners, a pixel-level change) llama.cpp's top-10 leave our top-20.
constexpr double kBound = 1.0;

struct Rgb {
  int w = 0, h = 0;
  std::vector<uint8_t> px;
};

Rgb ReadPng(const std::string& path) {
  png_image img;
  std::memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  Rgb out;
  if (!png_image_begin_read_from_file(&img, path.c_str())) return out;
  img.format = PNG_FORMAT_RGB;
  out.px.resize(PNG_IMAGE_SIZE(img));
  if (!png_image_finish_read(&img, nullptr, out.px.data(), 0, nullptr)) return {};
  out.w = static_cast<int>(img.width);
  out.h = static_cast<int>(img.height);
  return out;
}

// 16-bit PCM mono 16 kHz WAV -> samples / 32768 (what miniaudio and libsndfile give).
std::vector<float> ReadWav16(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> s;
  size_t p = 12;
  while (p + 8 <= b.size()) {
    uint32_t len;
    std::memcpy(&len, &b[p + 4], 4);
    if (std::memcmp(&b[p], "data", 4) == 0) {
      for (size_t i = 0; i + 1 < len && p + 8 + i + 1 < b.size(); i += 2) {
        int16_t v;
        std::memcpy(&v, &b[p + 8 + i], 2);
        s.push_back(static_cast<float>(v) / 32768.0f);
      }
      break;
    }
    p += 8 + len + (len & 1);
  }
  return s;
}

TEST(MmGoldenTest, UnifiedProjectorsMatchLlamaCpp) {
  std::ifstream gin(kDir + "golden.json");
  ASSERT_TRUE(gin.good());
  const json golden = json::parse(gin);
  const json& chat = golden["chat"];
  auto lm = engine::LoadModel(kDir + chat["model"].get<std::string>(), {.progress = false});
  ASSERT_TRUE(lm.ok()) << lm.status().ToString();
  auto proj = Projector::Load(kDir + chat["mmproj"].get<std::string>(), lm->model->config());
  ASSERT_TRUE(proj.ok()) << proj.status().ToString();
  EXPECT_EQ((*proj)->vision_type(), "gemma4uv");
  EXPECT_EQ((*proj)->audio_type(), "gemma4ua");
  const tokenizer::Tokenizer& tok = *lm->tokenizer;
  auto family = chat::DetectFamily(tok.vocab().chat_template);
  ASSERT_TRUE(family.ok());
  ThreadPool pool(2);
  int cases = 0;
  for (const json& c : chat["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    // The request: one user message of a media part and a text part.
    std::vector<chat::Part> parts;
    std::vector<Embeddings> media;
    for (const json& part : c["messages"][0]["content"]) {
      const std::string type = part["type"];
      chat::Part p;
      if (type == "text") {
        p.text = part["text"];
      } else if (type == "image_url") {
        p.kind = chat::Part::Kind::kImage;
        const Rgb img = ReadPng(kDir + "image-300x200.png");
        ASSERT_EQ(img.w, 300);
        auto e = (*proj)->EncodeImage(img.w, img.h, img.px.data(), {}, pool);
        ASSERT_TRUE(e.ok()) << e.status().ToString();
        EXPECT_EQ(e->n_tok, 48);  // 300x200 -> 384x288 -> 8x6 patches of 48
        EXPECT_FALSE(e->causal);
        media.push_back(std::move(*e));
      } else {
        p.kind = chat::Part::Kind::kAudio;
        const std::vector<float> s = ReadWav16(kDir + "tone-440hz-1s.wav");
        ASSERT_EQ(s.size(), 16000u);
        auto e = (*proj)->EncodeAudio(s, pool);
        ASSERT_TRUE(e.ok()) << e.status().ToString();
        ASSERT_EQ(e->size(), 1u);
        EXPECT_EQ((*e)[0].n_tok, 25);  // 40 ms frames
        EXPECT_TRUE((*e)[0].causal);
        media.push_back(std::move((*e)[0]));
      }
      parts.push_back(p);
    }
    // llama.cpp rendered the file's own template (no empty thought channel after the generation
    // prompt, unlike our kGemma4 revision); use its rendering with the placeholder put where the
    // part was (the media part comes first in both requests).
    const std::string text_only = c["rendered_text_only_prompt"];
    const std::string head = "<|turn>user\n";
    ASSERT_EQ(text_only.rfind(head, 0), 0u);
    const std::string_view ph = parts[0].kind == chat::Part::Kind::kImage ? chat::ImageMarker(*family)
                                                                          : chat::AudioMarker(*family);
    const std::string rendered = "<bos>" + head + std::string(ph) + text_only.substr(head.size());
    auto chunks = AssemblePrompt(rendered, *family, tok, std::move(media), /*add_bos=*/true);
    ASSERT_TRUE(chunks.ok()) << chunks.status().ToString();
    auto s = engine::Session::Create(*lm->model, {.n_ctx = 256}, pool);
    ASSERT_TRUE(s.ok());
    for (const PromptChunk& ch : *chunks) {
      if (ch.is_embd()) {
        ASSERT_TRUE((*s)->FeedEmbeddings(ch.embd.data.data(), ch.embd.n_tok, ch.embd.causal).ok());
      } else {
        ASSERT_TRUE((*s)->Feed(ch.ids).ok());
      }
    }
    EXPECT_EQ((*s)->n_past(), c["prompt_tokens"].get<int64_t>());
    engine::GenerateOptions opt;
    opt.max_tokens = 1;
    opt.sampling.temperature = 0;
    // The whole distribution, so that each of llama.cpp's top 10 is looked up by its own
    // log-probability rather than by our rank. The image case is ~0.6 away on its lower entries
    // (llama.cpp resizes 300x200 to 384x288 with its own filter), and its 10th token sits among
    // near-equal ones: with only our top 20, a change of 1e-5 in the embeddings (a different
    // summation order; the scalar reference too) moved it to rank 21 and read as a miss.
    opt.top_logprobs = static_cast<int>(lm->model->config().n_vocab);
    opt.ignore_eos = true;
    auto r = engine::Generate(**s, tok, {}, opt);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ(r->tokens.size(), 1u);
    std::map<std::string, double> mine;
    for (const auto& [id, lp] : r->tokens[0].top) {
      const std::string text = tok.Piece(id, /*render_special=*/true);
      if (!mine.count(text)) mine[text] = lp;
    }
    const json& want = c["first_token_top"];
    EXPECT_EQ(tok.Piece(r->tokens[0].id, true), want[0]["token"].get<std::string>());
    double worst = 0;
    int compared = 0;
    for (size_t k = 0; k < 10; ++k) {
      const std::string text = want[k]["token"];
      if (text == "\xEF\xBF\xBD") continue;  // a partial UTF-8 byte: the text names no one token
      ASSERT_TRUE(mine.count(text)) << "llama.cpp's top-" << k + 1 << " token " << text << " is not in the vocabulary";
      const double d = std::fabs(mine[text] - want[k]["logprob"].get<double>());
      worst = std::max(worst, d);
      ++compared;
    }
    EXPECT_GE(compared, 8);
    EXPECT_LE(worst, kBound) << "max |dlogprob| over llama.cpp's top-10";
    std::printf("  %-6s %3lld-token prompt: max |dlogprob| %.4f\n", c["name"].get<std::string>().c_str(),
                static_cast<long long>((*s)->n_past()), worst);
    ++cases;
  }
  EXPECT_EQ(cases, 2);
}

}  // namespace
}  // namespace hearth::mm
