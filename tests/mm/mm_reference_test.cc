// The engine's projectors against the independent reference implementation
// (tests/reference, `hearth-mm-reference`, written from the spec without reading src/mm), on the
// test mmproj files of every type hearth encodes and on the golden mmproj.
//
// The reference runs in its `llamacpp` numerics mode: activations rounded through the weights'
// vec-dot types as ggml does (so do our kernels), everything else in double. What remains is F32
// vs double summation plus, for gemma3, attention that we keep in F32 and the reference in double.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "mm/projector.h"
#include "tests/tools/command.h"
#include "tools/testmodel.h"

namespace hearth::mm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string RunCommand(const std::string& cmd) { return ::hearth::testing::RunCommand(cmd).text; }

class MmReferenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hearth_mm_ref_" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& n) const { return (dir_ / n).string(); }

  std::string WritePpm(int w, int h, const std::vector<uint8_t>& rgb) {
    const std::string p = Path("img.ppm");
    std::ofstream f(p, std::ios::binary);
    f << "P6\n" << w << " " << h << "\n255\n";
    f.write(reinterpret_cast<const char*>(rgb.data()), static_cast<std::streamsize>(rgb.size()));
    return p;
  }
  std::string WriteF32(const std::vector<float>& s) {
    const std::string p = Path("audio.f32");
    std::ofstream f(p, std::ios::binary);
    f.write(reinterpret_cast<const char*>(s.data()), static_cast<std::streamsize>(s.size() * 4));
    return p;
  }
  // Max |ours − reference| relative to the reference's RMS, chunk by chunk.
  void Compare(const std::vector<Embeddings>& ours, const std::string& args, double tol) {
    const std::string out = RunCommand(std::string(HEARTH_MM_REFERENCE_BINARY) + " " + args +
                                " --numerics llamacpp 2>/dev/null");
    ASSERT_FALSE(out.empty()) << "no output from hearth-mm-reference " << args;
    const json ref = json::parse(out);
    ASSERT_EQ(ref["chunks"].size(), ours.size());
    for (size_t c = 0; c < ours.size(); ++c) {
      const json& rc = ref["chunks"][c];
      ASSERT_EQ(rc["n_tok"].get<int64_t>(), ours[c].n_tok) << "chunk " << c;
      ASSERT_EQ(rc["n_embd"].get<int64_t>(), ours[c].n_embd);
      EXPECT_EQ(rc["causal"].get<bool>(), ours[c].causal);
      const std::vector<double> want = rc["data"].get<std::vector<double>>();
      ASSERT_EQ(want.size(), ours[c].data.size());
      double ss = 0, worst = 0;
      for (double v : want) ss += v * v;
      const double rms = std::sqrt(ss / want.size());
      for (size_t i = 0; i < want.size(); ++i) worst = std::max(worst, std::fabs(ours[c].data[i] - want[i]));
      std::printf("  %s chunk %zu: %lld x %lld, max |diff| %.3g (rms %.3g)\n", args.c_str(), c,
                  static_cast<long long>(ours[c].n_tok), static_cast<long long>(ours[c].n_embd),
                  worst, rms);
      EXPECT_LE(worst, tol * rms) << args << " chunk " << c;
    }
  }
  static model::Config Text(bool gemma4) {
    model::Config c;
    c.arch = gemma4 ? model::Arch::kGemma4 : model::Arch::kGemma3;
    c.arch_name = gemma4 ? "gemma4" : "gemma3";
    c.n_embd = 256;
    return c;
  }
  static std::vector<uint8_t> Picture(int w, int h) {
    std::vector<uint8_t> px(static_cast<size_t>(w) * h * 3);
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        uint8_t* p = &px[3 * (static_cast<size_t>(y) * w + x)];
        p[0] = static_cast<uint8_t>(x * 255 / std::max(1, w - 1));
        p[1] = static_cast<uint8_t>(y * 255 / std::max(1, h - 1));
        p[2] = static_cast<uint8_t>((x * 7 + y * 13) % 256);
      }
    return px;
  }
  fs::path dir_;
};

TEST_F(MmReferenceTest, Gemma4uvImages) {
  const std::string mp = Path("uv.gguf");
  ASSERT_TRUE(testmodel::WriteMmproj({.types = "gemma4uv", .seed = 3}, mp).ok());
  auto p = Projector::Load(mp, Text(true));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ThreadPool pool(2);
  struct Case { int w, h, min_t, max_t; };
  for (const Case& c : {Case{300, 200, 0, 0}, Case{97, 251, 0, 0}, Case{640, 480, 0, 0},
                        Case{50, 50, 4, 9}}) {
    const std::vector<uint8_t> px = Picture(c.w, c.h);
    auto e = (*p)->EncodeImage(c.w, c.h, px.data(), {c.min_t, c.max_t}, pool);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    std::string args = "--mmproj " + mp + " --image " + WritePpm(c.w, c.h, px);
    if (c.min_t) args += " --min-tokens " + std::to_string(c.min_t) + " --max-tokens " + std::to_string(c.max_t);
    Compare({*e}, args, 1e-3);  // measured 1.2e-4..3.4e-4 of the RMS
  }
}

TEST_F(MmReferenceTest, Gemma4vImages) {
  const std::string mp = Path("g4v.gguf");
  ASSERT_TRUE(testmodel::WriteMmproj({.types = "gemma4v", .seed = 4}, mp).ok());
  auto p = Projector::Load(mp, Text(true));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->vision_type(), "gemma4v");
  ThreadPool pool(2);
  for (auto [w, h] : {std::pair{300, 200}, std::pair{24, 24}, std::pair{200, 333}}) {
    const std::vector<uint8_t> px = Picture(w, h);
    auto e = (*p)->EncodeImage(w, h, px.data(), {}, pool);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    EXPECT_FALSE(e->causal);
    // Measured 2.1e-3..2.6e-3 of the RMS (GELU-quick in F32 here, through the F16 table there).
    Compare({*e}, "--mmproj " + mp + " --image " + WritePpm(w, h, px), 5e-3);
  }
}

TEST_F(MmReferenceTest, Gemma4uaAudio) {
  const std::string mp = Path("ua.gguf");
  ASSERT_TRUE(testmodel::WriteMmproj({.types = "gemma4ua", .seed = 5}, mp).ok());
  auto p = Projector::Load(mp, Text(true));
  ASSERT_TRUE(p.ok());
  ThreadPool pool(2);
  for (size_t n : {size_t{1}, size_t{640}, size_t{16000}, size_t{23456}}) {
    std::vector<float> s(n);
    for (size_t i = 0; i < n; ++i) s[i] = 0.4f * std::sin(0.05f * i) + 0.1f * std::cos(0.9f * i);
    auto e = (*p)->EncodeAudio(s, pool);
    ASSERT_TRUE(e.ok());
    Compare(*e, "--mmproj " + mp + " --audio " + WriteF32(s), 1e-5);  // measured <= 5.3e-7
  }
}

TEST_F(MmReferenceTest, Gemma4aAudio) {
  const std::string mp = Path("g4a.gguf");
  ASSERT_TRUE(testmodel::WriteMmproj({.types = "gemma4v,gemma4a", .variant = "g4-e2b", .seed = 6}, mp).ok());
  auto p = Projector::Load(mp, Text(true));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ((*p)->audio_type(), "gemma4a");
  ThreadPool pool(2);
  // 31 s: two chunks, 750 + 25 tokens.
  for (size_t n : {size_t{16000}, size_t{8000}, size_t{1234}, size_t{496000}}) {
    std::vector<float> s(n);
    for (size_t i = 0; i < n; ++i) s[i] = 0.3f * std::sin(0.07f * i) + 0.05f * std::sin(1.3f * i);
    auto e = (*p)->EncodeAudio(s, pool);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    if (n == 496000) {
      ASSERT_EQ(e->size(), 2u);
      EXPECT_EQ((*e)[0].n_tok, 750);
      EXPECT_EQ((*e)[1].n_tok, 25);
    }
    // Measured 1.9e-3..2.3e-3 of the RMS (log-mel and attention in F32 here, double there).
    Compare(*e, "--mmproj " + mp + " --audio " + WriteF32(s), 5e-3);
  }
}

TEST_F(MmReferenceTest, Gemma3Siglip) {
  const std::string mp = Path("g3.gguf");
  ASSERT_TRUE(testmodel::WriteMmproj({.types = "gemma3", .variant = "g3-4b", .seed = 9}, mp).ok());
  auto p = Projector::Load(mp, Text(false));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ThreadPool pool(2);
  for (auto [w, h] : {std::pair{300, 200}, std::pair{112, 112}, std::pair{60, 170}}) {
    const std::vector<uint8_t> px = Picture(w, h);
    auto e = (*p)->EncodeImage(w, h, px.data(), {}, pool);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    // Measured 5e-4..1.1e-3 of the RMS (our attention and LayerNorms in F32, its in double).
    Compare({*e}, "--mmproj " + mp + " --image " + WritePpm(w, h, px), 3e-3);
  }
}

TEST_F(MmReferenceTest, GoldenMmproj) {
  const std::string mp = std::string(HEARTH_SOURCE_DIR) + "/tests/data/golden/mmproj-g4-u12b-tiny-f16.gguf";
  auto p = Projector::Load(mp, Text(true));
  ASSERT_TRUE(p.ok());
  ThreadPool pool(2);
  const std::vector<uint8_t> px = Picture(300, 200);
  auto e = (*p)->EncodeImage(300, 200, px.data(), {}, pool);
  ASSERT_TRUE(e.ok());
  Compare({*e}, "--mmproj " + mp + " --image " + WritePpm(300, 200, px), 1e-3);  // measured 1.3e-4
  std::vector<float> s(16000);
  for (size_t i = 0; i < s.size(); ++i) s[i] = 0.5f * std::sin(2 * 3.14159265f * 440.0f * i / 16000.0f);
  auto a = (*p)->EncodeAudio(s, pool);
  ASSERT_TRUE(a.ok());
  Compare(*a, "--mmproj " + mp + " --audio " + WriteF32(s), 1e-5);
}

}  // namespace
}  // namespace hearth::mm
