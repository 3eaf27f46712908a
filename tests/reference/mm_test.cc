// hearth-mm-reference (mm.h): the real golden mmproj (gemma4uv + gemma4ua, written independently
// of this project), hand-computed preprocessing values, and synthetic gemma3 / gemma4v / gemma4a
// files written here whose outputs are known in closed form.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#ifdef HEARTH_MM_TEST_HAVE_PNG
#include <png.h>
#endif

#include "reference/dequant.h"
#include "reference/gguf_reader.h"
#include "reference/mm.h"
#include "tools/command.h"

namespace hearth::reference::mm {
namespace {

using nlohmann::json;

const std::string kGoldenDir = std::string(HEARTH_SOURCE_DIR) + "/tests/data/golden/";
const std::string kMmproj = kGoldenDir + "mmproj-g4-u12b-tiny-f16.gguf";

struct MmRun {
  int exit_code = -1;
  std::string out;
};

MmRun RunMm(const std::string& args) {
  ::hearth::testing::Out o =
      ::hearth::testing::RunCommand(std::string(HEARTH_MM_REFERENCE_BINARY) + " " + args);
  return {o.exit_code, std::move(o.text)};
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/hearth-mm-test-" + std::to_string(getpid()) + "-" +
         name;
}

// --- media files ---

void WritePpm(const std::string& path, const Image& img) {
  std::ofstream out(path, std::ios::binary);
  out << "P6\n" << img.width << " " << img.height << "\n255\n";
  out.write(reinterpret_cast<const char*>(img.rgb.data()), img.rgb.size());
}

void WriteF32(const std::string& path, const std::vector<float>& s) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(s.data()), s.size() * 4);
}

Image Uniform(int w, int h, uint8_t v) {
  Image img;
  img.width = w;
  img.height = h;
  img.rgb.assign(static_cast<size_t>(w) * h * 3, v);
  return img;
}

// The golden PNG as a PPM: decoded with libpng (a project dependency) when the test was built with
// it, else converted by ImageMagick's `convert`; empty when neither works. Removed at exit.
std::string GoldenImagePpm() {
  static const std::string path = [] {
    const std::string png = kGoldenDir + "image-300x200.png";
    static const std::string p = TempPath("image-300x200.ppm");
    std::atexit([] { std::remove(p.c_str()); });
#ifdef HEARTH_MM_TEST_HAVE_PNG
    png_image im;
    std::memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (png_image_begin_read_from_file(&im, png.c_str())) {
      im.format = PNG_FORMAT_RGB;
      Image img;
      img.width = static_cast<int>(im.width);
      img.height = static_cast<int>(im.height);
      img.rgb.resize(PNG_IMAGE_SIZE(im));
      if (png_image_finish_read(&im, nullptr, img.rgb.data(), 0, nullptr)) {
        WritePpm(p, img);
        return p;
      }
    }
    png_image_free(&im);
#endif
    const std::string cmd = "convert '" + png + "' -depth 8 'ppm:" + p + "' >/dev/null 2>&1";
    if (std::system(cmd.c_str()) != 0) return std::string();
    auto img = ReadPpm(p);
    if (!img.ok() || img->width != 300 || img->height != 200) return std::string();
    return p;
  }();
  return path;
}

// The golden WAV: plain 16-bit PCM mono; samples / 32768 (what a WAV decoder hands llama.cpp).
std::vector<float> GoldenTone() {
  std::ifstream in(kGoldenDir + "tone-440hz-1s.wav", std::ios::binary);
  const std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u16 = [&](size_t o) {
    return static_cast<uint16_t>(uint8_t(b[o]) | uint8_t(b[o + 1]) << 8);
  };
  auto u32 = [&](size_t o) { return static_cast<uint32_t>(u16(o) | uint32_t(u16(o + 2)) << 16); };
  EXPECT_EQ(b.substr(0, 4), "RIFF");
  EXPECT_EQ(b.substr(8, 4), "WAVE");
  std::vector<float> s;
  for (size_t o = 12; o + 8 <= b.size();) {
    const std::string id = b.substr(o, 4);
    const uint32_t len = u32(o + 4);
    if (id == "fmt ") {
      EXPECT_EQ(u16(o + 8), 1);        // PCM
      EXPECT_EQ(u16(o + 10), 1);       // mono
      EXPECT_EQ(u32(o + 12), 16000u);  // 16 kHz
      EXPECT_EQ(u16(o + 22), 16);      // 16-bit
    } else if (id == "data") {
      for (size_t i = 0; i + 1 < len && o + 8 + i + 1 < b.size(); i += 2) {
        s.push_back(static_cast<int16_t>(u16(o + 8 + i)) / 32768.0f);
      }
    }
    o += 8 + len + (len & 1);
  }
  return s;
}

// --- a minimal GGUF writer for synthetic mmproj files ---

class GgufWriter {
 public:
  void Str(const std::string& k, const std::string& v) {
    Key(k, 8);
    String(v);
  }
  void U32(const std::string& k, uint32_t v) {
    Key(k, 4);
    Pod(v);
  }
  void F32(const std::string& k, float v) {
    Key(k, 6);
    Pod(v);
  }
  void Bool(const std::string& k, bool v) {
    Key(k, 7);
    Pod(static_cast<uint8_t>(v));
  }
  void F32s(const std::string& k, const std::vector<float>& v) {
    Key(k, 9);
    Pod(uint32_t{6});
    Pod(static_cast<uint64_t>(v.size()));
    for (float x : v) Pod(x);
  }
  // ne[0] fastest; data in that order. f16 stores F16 (values must be representable).
  void Tensor(const std::string& name, std::vector<int64_t> ne, const std::vector<float>& data,
              bool f16 = false) {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    EXPECT_EQ(n, static_cast<int64_t>(data.size())) << name;
    tensors_.push_back({name, ne, data, f16});
  }
  void Write(const std::string& path) {
    std::string out = "GGUF";
    auto pod = [&](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
    pod(uint32_t{3});
    pod(static_cast<uint64_t>(tensors_.size()));
    pod(n_kv_);
    out += kv_;
    uint64_t offset = 0;
    std::vector<std::string> blobs;
    for (const T& t : tensors_) {
      pod(static_cast<uint64_t>(t.name.size()));
      out += t.name;
      pod(static_cast<uint32_t>(t.ne.size()));
      for (int64_t d : t.ne) pod(static_cast<uint64_t>(d));
      pod(static_cast<uint32_t>(t.f16 ? 1 : 0));
      pod(offset);
      std::string blob;
      for (float v : t.data) {
        if (t.f16) {
          const uint16_t h = FloatToHalf(v);
          blob.append(reinterpret_cast<const char*>(&h), 2);
        } else {
          blob.append(reinterpret_cast<const char*>(&v), 4);
        }
      }
      blob.resize((blob.size() + 31) / 32 * 32, '\0');
      offset += blob.size();
      blobs.push_back(std::move(blob));
    }
    out.resize((out.size() + 31) / 32 * 32, '\0');
    for (const std::string& b : blobs) out += b;
    std::ofstream f(path, std::ios::binary);
    f.write(out.data(), out.size());
  }

 private:
  struct T {
    std::string name;
    std::vector<int64_t> ne;
    std::vector<float> data;
    bool f16;
  };
  template <typename V>
  void Pod(V v) {
    kv_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void String(const std::string& s) {
    Pod(static_cast<uint64_t>(s.size()));
    kv_ += s;
  }
  void Key(const std::string& k, uint32_t type) {
    String(k);
    Pod(type);
    ++n_kv_;
  }
  std::string kv_;
  uint64_t n_kv_ = 0;
  std::vector<T> tensors_;
};

std::vector<float> Fill(size_t n, float v) { return std::vector<float>(n, v); }

// Deterministic small pseudo-random weights in [-a, a].
std::vector<float> Noise(size_t n, float a, uint32_t seed) {
  std::vector<float> v(n);
  uint32_t s = seed * 2654435761u + 12345u;
  for (float& x : v) {
    s = s * 1664525u + 1013904223u;
    x = a * (static_cast<float>(s >> 8) / static_cast<float>(1u << 24) * 2.0f - 1.0f);
  }
  return v;
}

// Identity-like [in -> out] weight: W[o][i] = 1 where o == i.
std::vector<float> Eye(int64_t in, int64_t out) {
  std::vector<float> w(in * out, 0.0f);
  for (int64_t i = 0; i < std::min(in, out); ++i) w[i * in + i] = 1.0f;
  return w;
}

json Parse(const MmRun& r) {
  json j = json::parse(r.out, nullptr, false);
  EXPECT_TRUE(j.is_object()) << r.out.substr(0, 200);
  return j;
}

std::vector<double> Data(const json& chunk) { return chunk["data"].get<std::vector<double>>(); }

// ---------------------------------------------------------------------------------------------
// Preprocessing arithmetic, by hand.

TEST(MmPreprocess, DynTargetSizeWorkedExamples) {
  // 300×200, align 48, 40..280 tokens: rounded 288×192 = 55296 < 92160, so β = sqrt(1.536) =
  // 1.2394; 300β/48 = 7.75 → 8 → 384, 200β/48 = 5.16 → 6 → 288: 8·6 = 48 tokens.
  EXPECT_EQ(DynTargetSize(300, 200, 48, 40 * 2304, 280 * 2304), std::make_pair(384, 288));
  // 768×768 is 16·16 = 256 tokens, inside the budget: unchanged (spec §6.1's example).
  EXPECT_EQ(DynTargetSize(768, 768, 48, 40 * 2304, 280 * 2304), std::make_pair(768, 768));
  // 4000×3000 rounds to 4000→4016 (83.3→83), 3000→3024 (62.5→63, half away from zero):
  // 4016·3024 > 645120, so β = sqrt(12e6/645120) = 4.3130; 4000/β/48 = 19.32 → 19 → 912,
  // 3000/β/48 = 14.49 → 14 → 672: 19·14 = 266 tokens.
  EXPECT_EQ(DynTargetSize(4000, 3000, 48, 40 * 2304, 280 * 2304), std::make_pair(912, 672));
  // A tiny image is never below one align unit and is scaled up to the minimum.
  EXPECT_EQ(DynTargetSize(10, 10, 48, 40 * 2304, 280 * 2304), std::make_pair(336, 336));
}

TEST(MmPreprocess, BilinearAlignCornersAndTruncation) {
  // 3×1 source 0, 100, 255 resized to 5×1: source x = 0, 0.5, 1, 1.5, 2 →
  // 0, 50, 100, 177.5 → 177 (truncated), 255.
  Image src;
  src.width = 3;
  src.height = 1;
  for (uint8_t v : {0, 100, 255}) src.rgb.insert(src.rgb.end(), {v, v, v});
  const Image dst = ResizeBilinear(src, 5, 1);
  const std::vector<int> want = {0, 50, 100, 177, 255};
  for (int x = 0; x < 5; ++x) EXPECT_EQ(dst.at(x, 0, 1), want[x]) << x;
  // Same size is the identity.
  const Image same = ResizeBilinear(src, 3, 1);
  EXPECT_EQ(same.rgb, src.rgb);
}

TEST(MmPreprocess, LetterboxIsCentredOnBlack) {
  // 4×2 white into 8×8: scale min(2, 4) = 2 → 8×4, offset y = (8 − 4)/2 = 2.
  const Image out = ResizeWithPad(Uniform(4, 2, 255), 8, 8);
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 8; ++x)
      EXPECT_EQ(out.at(x, y, 0), (y >= 2 && y < 6) ? 255 : 0) << x << "," << y;
  }
}

TEST(MmPreprocess, LogMelFrameCountsAndTokens) {
  // T = (n + 160 − 321)/160 + 1; tokens = ceil(ceil(T/2)/2).
  EXPECT_EQ(LogMelFrameCount(16000), 99);  // 1 s → 99 frames → 50 → 25 tokens
  EXPECT_EQ(LogMelFrameCount(480000), 2999);
  EXPECT_EQ(LogMelFrameCount(161), 1);
  EXPECT_EQ(LogMelFrameCount(321), 2);
}

TEST(MmPreprocess, SilenceIsTheMelFloor) {
  const std::vector<float> zeros(3200, 0.0f);
  const auto mel = LogMel(zeros.data(), zeros.size(), 128);
  ASSERT_EQ(mel.size(), 19u);  // (3200 + 160 − 321)/160 + 1
  for (const auto& f : mel) {
    for (double v : f) EXPECT_DOUBLE_EQ(v, std::log(1e-3));
  }
}

TEST(MmPreprocess, MelFilterbankIsHtkTriangles) {
  const auto fb = MelFilterbank(128);
  ASSERT_EQ(fb.size(), 128u);
  // Filter m peaks at mel 2840.02·(m+1)/129. Filter 24's centre is mel 550.39 = 440.8 Hz and its
  // left edge (filter 23's centre) 418.6 Hz: FFT bin 14 (437.5 Hz) gets (437.5 − 418.6)/22.2.
  EXPECT_NEAR(fb[24][14], 0.852, 0.005);
  EXPECT_NEAR(fb[23][14], 1 - 0.852, 0.005);
  EXPECT_EQ(fb[24][13], 0.0);
  EXPECT_EQ(fb[24][15], 0.0);
  // No bin above 8000 Hz exists; the last filter ends at 8000 Hz (bin 256) with weight 0.
  EXPECT_NEAR(fb[127][256], 0.0, 1e-9);
  EXPECT_GT(fb[127][255], 0.0);
}

TEST(MmPreprocess, ToneOf440HzPeaksAtItsMelBin) {
  const std::vector<float> tone = GoldenTone();
  ASSERT_EQ(tone.size(), 16000u);
  const auto mel = LogMel(tone.data(), tone.size(), 128);
  ASSERT_EQ(mel.size(), 99u);
  // Bin 14 (437.5 Hz) is nearest 440 Hz; it feeds filters 23 (0.15) and 24 (0.85), bin 15 feeds
  // 25 and 26, so the steady-state frames peak at mel bin 24.
  for (int t = 5; t < 95; t += 10) {
    int best = 0;
    for (int m = 1; m < 128; ++m) {
      if (mel[t][m] > mel[t][best]) best = m;
    }
    EXPECT_EQ(best, 24) << "frame " << t;
  }
  // The first frame sees 160 left-padding zeros, so it holds less energy than a full one.
  EXPECT_LT(mel[0][24], mel[50][24]);
}

TEST(MmPreprocess, LogMelLevelOfABinCentredSine) {
  // A·sin at 437.5 Hz = FFT bin 14 (of 512 at 16 kHz). The periodic 320-sample Hann window sums
  // to 160, so the magnitude (not power) at bin 14 is A/2·160 = 80·A (the mirrored component
  // leaks ~1e-5 of that). Filter 24 spans FFT bins 13.4..14.8 and so sees only bin 14, with the
  // HTK triangle weight computed here from the edges' mel values; no area normalisation, ln.
  const double a = 0.5;
  std::vector<float> s(16000);
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<float>(a * std::sin(2 * M_PI * 437.5 * i / 16000));
  const auto mel = LogMel(s.data(), s.size(), 128);
  auto hz = [](double m) { return 700.0 * (std::pow(10.0, m / 2595.0) - 1.0); };
  const double top = 2595.0 * std::log10(1.0 + 8000.0 / 700.0);
  const double left = hz(top * 24 / 129), centre = hz(top * 25 / 129), right = hz(top * 26 / 129);
  ASSERT_LT(left, 437.5);
  ASSERT_GT(left, 406.25);  // bin 13 outside
  ASSERT_GT(centre, 437.5);
  ASSERT_LT(right, 468.75);  // bin 15 outside
  const double weight = (437.5 - left) / (centre - left);
  for (int t : {10, 40, 90}) EXPECT_NEAR(mel[t][24], std::log(weight * 80.0 * a), 1e-3) << t;
}

// ---------------------------------------------------------------------------------------------
// The golden mmproj: gemma4uv + gemma4ua.

TEST(MmGolden, ImageTokensShapeAndValues) {
  const std::string ppm = GoldenImagePpm();
  if (ppm.empty())
    GTEST_SKIP() << "neither libpng nor ImageMagick `convert` can decode the golden PNG";
  const MmRun run = RunMm("--mmproj " + kMmproj + " --image " + ppm);
  ASSERT_EQ(run.exit_code, 0);
  const json out = Parse(run);
  EXPECT_EQ(out["projector"], "gemma4uv");
  ASSERT_EQ(out["chunks"].size(), 1u);
  const json& c = out["chunks"][0];
  // 384×288 / 48² = 8·6 = 48 tokens; golden.json's chat case counts 75 prompt tokens of which 48
  // are the image (27 text tokens around it).
  EXPECT_EQ(c["n_tok"], 48);
  EXPECT_EQ(c["n_embd"], 256);  // mm.input_projection ne[1]
  EXPECT_EQ(c["causal"], false);
  const std::vector<double> d = Data(c);
  ASSERT_EQ(d.size(), 48u * 256u);
  double sq = 0;
  for (double v : d) {
    ASSERT_TRUE(std::isfinite(v));
    sq += v * v;
  }
  EXPECT_GT(sq, 0.0);
}

TEST(MmGolden, ImagePreprocessingKnownPixels) {
  const std::string ppm = GoldenImagePpm();
  if (ppm.empty())
    GTEST_SKIP() << "neither libpng nor ImageMagick `convert` can decode the golden PNG";
  const Image src = *ReadPpm(ppm);
  const MmRun run = RunMm("--mmproj " + kMmproj + " --image " + ppm + " --stage preprocess");
  ASSERT_EQ(run.exit_code, 0);
  const json out = Parse(run);
  const json& c = out["chunks"][0];
  ASSERT_EQ(c["width"], 384);
  ASSERT_EQ(c["height"], 288);
  const std::vector<double> d = Data(c);
  ASSERT_EQ(d.size(), 384u * 288u * 3u);
  auto px = [&](int x, int y, int ch) { return d[(static_cast<size_t>(y) * 384 + x) * 3 + ch]; };
  // scale = min(384/300, 288/200) = 1.28 → 384×256 placed at y offset (288 − 256)/2 = 16; the
  // mmproj has mean 0, std 1, so values are u8/255.
  for (int ch = 0; ch < 3; ++ch) {
    EXPECT_EQ(px(10, 0, ch), 0.0);  // padding rows are black
    EXPECT_EQ(px(10, 287, ch), 0.0);
    // Corners map exactly onto the source corners (align corners).
    EXPECT_FLOAT_EQ(px(0, 16, ch), src.at(0, 0, ch) / 255.0f);
    EXPECT_FLOAT_EQ(px(383, 271, ch), src.at(299, 199, ch) / 255.0f);
  }
  // Output (1, 16): source x = 1·299/383 = 0.78068, y = 0: lerp of source (0,0) and (1,0), then
  // truncated to u8.
  for (int ch = 0; ch < 3; ++ch) {
    const float t = 1.0f * (299.0f / 383.0f);
    const float a = src.at(0, 0, ch), b = src.at(1, 0, ch);
    const uint8_t want = static_cast<uint8_t>(a + (b - a) * t);
    EXPECT_FLOAT_EQ(px(1, 16, ch), want / 255.0f) << ch;
  }
}

TEST(MmGolden, AudioTokensShapeAndFrames) {
  const std::vector<float> tone = GoldenTone();
  ASSERT_EQ(tone.size(), 16000u);
  const std::string f32 = TempPath("tone.f32");
  WriteF32(f32, tone);
  const MmRun run = RunMm("--mmproj " + kMmproj + " --audio " + f32);
  ASSERT_EQ(run.exit_code, 0);
  const json out = Parse(run);
  EXPECT_EQ(out["projector"], "gemma4ua");
  const json& c = out["chunks"][0];
  EXPECT_EQ(c["n_tok"], 25);  // ceil(16000 / 640); golden.json's audio case: 48 = 25 + 23 text
  EXPECT_EQ(c["n_embd"], 256);
  EXPECT_EQ(c["causal"], true);
  for (double v : Data(c)) ASSERT_TRUE(std::isfinite(v));

  // Preprocessed: 640-sample frames, the samples unchanged.
  const MmRun pre = RunMm("--mmproj " + kMmproj + " --audio " + f32 + " --stage preprocess");
  ASSERT_EQ(pre.exit_code, 0);
  const json p = Parse(pre)["chunks"][0];
  EXPECT_EQ(p["n_mel"], 640);
  EXPECT_EQ(p["n_frames"], 25);
  const std::vector<double> d = Data(p);
  ASSERT_EQ(d.size(), 16000u);
  for (size_t i = 0; i < d.size(); i += 997) EXPECT_FLOAT_EQ(d[i], tone[i]);

  // 1000 samples: two frames, the second zero-padded.
  WriteF32(f32, std::vector<float>(tone.begin(), tone.begin() + 1000));
  const json two =
      Parse(RunMm("--mmproj " + kMmproj + " --audio " + f32 + " --stage preprocess"))["chunks"][0];
  EXPECT_EQ(two["n_frames"], 2);
  EXPECT_EQ(Data(two)[1279], 0.0);
  EXPECT_FLOAT_EQ(Data(two)[999], tone[999]);
  std::remove(f32.c_str());
}

TEST(MmGolden, UnifiedAudioTokenIsTheProjectedRmsNormOfItsFrame) {
  // Scaling a frame does not change its token (weightless RMSNorm first), so a clip and the
  // same clip × 3 give the same embeddings, up to the 1e-6 eps.
  const std::vector<float> tone = GoldenTone();
  std::vector<float> loud = tone;
  for (float& v : loud) v *= 3.0f;
  const std::string a = TempPath("a.f32"), b = TempPath("b.f32");
  WriteF32(a, tone);
  WriteF32(b, loud);
  const std::vector<double> da =
      Data(Parse(RunMm("--mmproj " + kMmproj + " --audio " + a))["chunks"][0]);
  const std::vector<double> db =
      Data(Parse(RunMm("--mmproj " + kMmproj + " --audio " + b))["chunks"][0]);
  ASSERT_EQ(da.size(), db.size());
  for (size_t i = 0; i < da.size(); ++i) EXPECT_NEAR(da[i], db[i], 1e-4);
  std::remove(a.c_str());
  std::remove(b.c_str());
}

// llamacpp numerics add llama.cpp's rounding points (F16 inputs of the F16 matmuls here): the
// result moves, but only by F16 rounding.
TEST(MmGolden, LlamaCppNumericsStayCloseToExact) {
  const std::string f32 = TempPath("tone-n.f32");
  WriteF32(f32, GoldenTone());
  std::vector<std::string> inputs = {" --audio " + f32};
  if (!GoldenImagePpm().empty()) inputs.push_back(" --image " + GoldenImagePpm());
  for (const std::string& in : inputs) {
    const MmRun exact = RunMm("--mmproj " + kMmproj + in + " --numerics exact");
    const MmRun llama = RunMm("--mmproj " + kMmproj + in + " --numerics llamacpp");
    ASSERT_EQ(exact.exit_code, 0);
    ASSERT_EQ(llama.exit_code, 0);
    EXPECT_EQ(exact.out, RunMm("--mmproj " + kMmproj + in).out);  // exact is the default
    const std::vector<double> a = Data(Parse(exact)["chunks"][0]);
    const std::vector<double> b = Data(Parse(llama)["chunks"][0]);
    ASSERT_EQ(a.size(), b.size());
    double max_diff = 0;
    for (size_t i = 0; i < a.size(); ++i) max_diff = std::max(max_diff, std::fabs(a[i] - b[i]));
    EXPECT_GT(max_diff, 0.0) << in;
    EXPECT_LT(max_diff, 5e-3) << in;  // measured 3e-4 (image), 4e-4 (audio)
  }
  std::remove(f32.c_str());
}

// ---------------------------------------------------------------------------------------------
// Synthetic gemma3

// image 28², patch 7 → 4×4 patches, pool 2 → 4 tokens; n_embd 8, 2 heads, n_ff 16, text 12.
void WriteGemma3(const std::string& path, bool zero_projection) {
  GgufWriter w;
  w.Str("general.architecture", "clip");
  w.Str("clip.projector_type", "gemma3");
  w.Bool("clip.has_vision_encoder", true);
  w.Bool("clip.use_gelu", true);
  w.U32("clip.vision.image_size", 28);
  w.U32("clip.vision.patch_size", 7);
  w.U32("clip.vision.embedding_length", 8);
  w.U32("clip.vision.feed_forward_length", 16);
  w.U32("clip.vision.block_count", 1);
  w.U32("clip.vision.attention.head_count", 2);
  w.F32("clip.vision.attention.layer_norm_epsilon", 1e-6f);
  w.U32("clip.vision.projection_dim", 12);
  w.U32("clip.vision.projector.scale_factor", 2);
  w.F32s("clip.vision.image_mean", {0.5f, 0.5f, 0.5f});
  w.F32s("clip.vision.image_std", {0.5f, 0.5f, 0.5f});
  // Zero patch kernel and zero layers: the residual stream is the position rows alone. Patch p
  // (row r, col c) carries a·(+1, −1, +1, …) times the sign of its pooled token (r/2)·2 + c/2.
  w.Tensor("v.patch_embd.weight", {7, 7, 3, 8}, Fill(7 * 7 * 3 * 8, 0.0f));
  w.Tensor("v.patch_embd.bias", {8}, Fill(8, 0.0f));
  const int sign[4] = {+1, -1, -1, +1};
  std::vector<float> pos;
  for (int p = 0; p < 16; ++p) {
    const int tok = (p / 4 / 2) * 2 + (p % 4) / 2;
    for (int e = 0; e < 8; ++e) pos.push_back(10.0f * sign[tok] * (e % 2 ? -1.0f : 1.0f));
  }
  w.Tensor("v.position_embd.weight", {8, 16}, pos);
  const std::string b = "v.blk.0.";
  for (const char* n : {"ln1", "ln2"}) {
    w.Tensor(b + n + ".weight", {8}, Fill(8, 1.0f));
    w.Tensor(b + n + ".bias", {8}, Fill(8, 0.0f));
  }
  for (const char* n : {"attn_q", "attn_k", "attn_v", "attn_out"}) {
    w.Tensor(b + n + ".weight", {8, 8}, Fill(64, 0.0f));
    w.Tensor(b + n + ".bias", {8}, Fill(8, 0.0f));
  }
  w.Tensor(b + "ffn_up.weight", {8, 16}, Fill(128, 0.0f));
  w.Tensor(b + "ffn_up.bias", {16}, Fill(16, 0.0f));
  w.Tensor(b + "ffn_down.weight", {16, 8}, Fill(128, 0.0f));
  w.Tensor(b + "ffn_down.bias", {8}, Fill(8, 0.0f));
  w.Tensor("v.post_ln.weight", {8}, Fill(8, 1.0f));
  w.Tensor("v.post_ln.bias", {8}, Fill(8, 0.0f));
  w.Tensor("mm.soft_emb_norm.weight", {8}, Fill(8, 1.0f));
  // Stored as HF's [8, 12] parameter: ne = (12, 8), P[i][j] = 1 where i == j (F16 like real files).
  std::vector<float> proj(12 * 8, 0.0f);
  if (!zero_projection) {
    for (int i = 0; i < 8; ++i) proj[i * 12 + i] = 1.0f;
  }
  w.Tensor("mm.input_projection.weight", {12, 8}, proj, /*f16=*/true);
  w.Write(path);
}

TEST(MmGemma3, PooledTokensAndTransposedProjection) {
  const std::string g = TempPath("g3.gguf"), img = TempPath("g3.ppm");
  WriteGemma3(g, false);
  WritePpm(img, Uniform(50, 30, 77));
  const MmRun run = RunMm("--mmproj " + g + " --image " + img);
  ASSERT_EQ(run.exit_code, 0);
  const json out = Parse(run);
  EXPECT_EQ(out["projector"], "gemma3");
  const json& c = out["chunks"][0];
  EXPECT_EQ(c["n_tok"], 4);
  EXPECT_EQ(c["n_embd"], 12);
  EXPECT_EQ(c["causal"], false);
  // post_ln turns each patch into ±(1, −1, …); the 2×2 average keeps it, RMSNorm keeps it, the
  // transposed identity projection copies it into the first 8 of 12 outputs.
  const std::vector<double> d = Data(c);
  ASSERT_EQ(d.size(), 48u);
  const int sign[4] = {+1, -1, -1, +1};
  for (int t = 0; t < 4; ++t) {
    for (int j = 0; j < 12; ++j) {
      const double want = j < 8 ? sign[t] * (j % 2 ? -1.0 : 1.0) : 0.0;
      EXPECT_NEAR(d[t * 12 + j], want, 1e-6) << t << "," << j;
    }
  }
  // Preprocessing: 50×30 letterboxed into 28×28 (scale 0.56 → 28×17, y offset 5), mean/std 0.5.
  const json p =
      Parse(RunMm("--mmproj " + g + " --image " + img + " --stage preprocess"))["chunks"][0];
  EXPECT_EQ(p["width"], 28);
  EXPECT_EQ(p["height"], 28);
  const std::vector<double> pd = Data(p);
  EXPECT_FLOAT_EQ(pd[(0 * 28 + 3) * 3], -1.0f);  // black padding → −1
  EXPECT_FLOAT_EQ(pd[(5 * 28 + 3) * 3], (77 / 255.0f - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(pd[(21 * 28 + 3) * 3], (77 / 255.0f - 0.5f) / 0.5f);
  EXPECT_FLOAT_EQ(pd[(22 * 28 + 3) * 3], -1.0f);
  std::remove(img.c_str());
  std::remove(g.c_str());
}

TEST(MmGemma3, ZeroProjectionGivesZeros) {
  const std::string g = TempPath("g3z.gguf"), img = TempPath("g3z.ppm");
  WriteGemma3(g, true);
  WritePpm(img, Uniform(9, 9, 200));
  const MmRun run = RunMm("--mmproj " + g + " --image " + img);
  ASSERT_EQ(run.exit_code, 0);
  for (double v : Data(Parse(run)["chunks"][0])) EXPECT_EQ(v, 0.0);
  // An audio input has no gemma3 projector: a clear error, exit 2.
  const std::string f32 = TempPath("g3z.f32");
  WriteF32(f32, std::vector<float>(100, 0.1f));
  EXPECT_EQ(RunMm("--mmproj " + g + " --audio " + f32 + " 2>/dev/null").exit_code, 2);
  std::remove(f32.c_str());
  std::remove(img.c_str());
  std::remove(g.c_str());
}

// ---------------------------------------------------------------------------------------------
// Synthetic gemma4v

struct G4vSpec {
  bool random_layers = false;  // else zero layers (the residual stream is untouched)
  bool with_std = true;
  bool patch_channel0 = false;  // kernel: output 0 = sum of the R channel; else zero
  float out_max = 0;            // > 0: mm.input_projection.output_max
};

// patch 4, pool 3 (align 12), n_embd 8, 2 heads (head dim 4), n_ff 12, text 6, pos table 24.
void WriteGemma4v(const std::string& path, const G4vSpec& s) {
  GgufWriter w;
  w.Str("general.architecture", "clip");
  w.Bool("clip.has_vision_encoder", true);
  w.Str("clip.vision.projector_type", "gemma4v");
  w.U32("clip.vision.image_size", 224);
  w.U32("clip.vision.patch_size", 4);
  w.U32("clip.vision.embedding_length", 8);
  w.U32("clip.vision.feed_forward_length", 12);
  w.U32("clip.vision.block_count", 2);
  w.U32("clip.vision.attention.head_count", 2);
  w.F32("clip.vision.attention.layer_norm_epsilon", 1e-6f);
  w.U32("clip.vision.projection_dim", 6);
  w.F32s("clip.vision.image_mean", {0, 0, 0});
  w.F32s("clip.vision.image_std", {1, 1, 1});
  std::vector<float> kernel(4 * 4 * 3 * 8, 0.0f);
  if (s.patch_channel0) {
    for (int i = 0; i < 16; ++i) kernel[i] = 1.0f;  // output 0, channel 0, all 4×4 taps
  }
  w.Tensor("v.patch_embd.weight", {4, 4, 3, 8}, kernel);
  // x-table zero; y-table row r = (r + 1)·u, u = (1, −1, 1, −1, …).
  std::vector<float> pos(8 * 24 * 2, 0.0f);
  if (!s.patch_channel0) {
    for (int r = 0; r < 24; ++r) {
      for (int e = 0; e < 8; ++e) pos[(24 + r) * 8 + e] = (r + 1) * (e % 2 ? -1.0f : 1.0f);
    }
  }
  w.Tensor("v.position_embd.weight", {8, 24, 2}, pos);
  for (int il = 0; il < 2; ++il) {
    const std::string b = "v.blk." + std::to_string(il) + ".";
    const uint32_t seed = 100 * il;
    auto mat = [&](int64_t in, int64_t out, uint32_t k) {
      return s.random_layers ? Noise(in * out, 0.4f, seed + k) : Fill(in * out, 0.0f);
    };
    w.Tensor(b + "ln1.weight", {8}, Fill(8, 1.0f));
    w.Tensor(b + "ln2.weight", {8}, Fill(8, 1.0f));
    w.Tensor(b + "attn_q.weight", {8, 8}, mat(8, 8, 1));
    w.Tensor(b + "attn_k.weight", {8, 8}, mat(8, 8, 2));
    w.Tensor(b + "attn_v.weight", {8, 8}, mat(8, 8, 3));
    w.Tensor(b + "attn_out.weight", {8, 8}, mat(8, 8, 4));
    w.Tensor(b + "attn_q_norm.weight", {4}, Fill(4, 1.0f));
    w.Tensor(b + "attn_k_norm.weight", {4}, Fill(4, 1.0f));
    w.Tensor(b + "attn_post_norm.weight", {8}, Fill(8, 1.0f));
    w.Tensor(b + "ffn_gate.weight", {8, 12}, mat(8, 12, 5));
    w.Tensor(b + "ffn_up.weight", {8, 12}, mat(8, 12, 6));
    w.Tensor(b + "ffn_down.weight", {12, 8}, mat(12, 8, 7));
    w.Tensor(b + "ffn_post_norm.weight", {8}, Fill(8, 1.0f));
    w.Tensor(b + "out_scale.weight", {1}, Fill(1, 1.0f));
  }
  if (s.with_std) {
    // (x − b)·s with b = 3·sqrt(8)·u: token row 0 averages rows 0..2 → 2·sqrt(8)·u − b =
    // −sqrt(8)·u, token row 1 → +2·sqrt(8)·u; without the sqrt(n_embd) both would be negative.
    std::vector<float> bias(8);
    for (int e = 0; e < 8; ++e) bias[e] = 3.0f * std::sqrt(8.0f) * (e % 2 ? -1.0f : 1.0f);
    w.Tensor("v.std_bias", {8}, bias);
    w.Tensor("v.std_scale", {8}, Fill(8, 1.0f));
  }
  w.Tensor("mm.input_projection.weight", {8, 6}, Eye(8, 6), /*f16=*/true);
  if (s.out_max > 0) w.Tensor("mm.input_projection.output_max", {1}, {s.out_max});
  w.Write(path);
}

TEST(MmGemma4v, PoolingSqrtScaleAndStdBias) {
  const std::string g = TempPath("g4v.gguf"), img = TempPath("g4v.ppm");
  WriteGemma4v(g, {});
  // 24×24 with align 12 and 1..4 tokens: 2×2 tokens, 6×6 patches.
  WritePpm(img, Uniform(24, 24, 90));
  const MmRun run = RunMm("--mmproj " + g + " --image " + img + " --min-tokens 1 --max-tokens 4");
  ASSERT_EQ(run.exit_code, 0);
  const json c = Parse(run)["chunks"][0];
  EXPECT_EQ(c["n_tok"], 4);
  EXPECT_EQ(c["n_embd"], 6);
  EXPECT_EQ(c["causal"], false);
  const std::vector<double> d = Data(c);
  ASSERT_EQ(d.size(), 24u);
  for (int t = 0; t < 4; ++t) {
    const double sign = t < 2 ? -1.0 : 1.0;  // token row 0 negative, row 1 positive
    for (int j = 0; j < 6; ++j) EXPECT_NEAR(d[t * 6 + j], sign * (j % 2 ? -1.0 : 1.0), 1e-5);
  }
  // The default budget (40..280) scales 24×24 up: β = sqrt(40·144/576) = 3.162, 24β/12 = 6.32 →
  // 7 → 84×84: 21×21 patches of 4, pooled by 3 → 7×7 = 49 tokens.
  const json big = Parse(RunMm("--mmproj " + g + " --image " + img))["chunks"][0];
  EXPECT_EQ(big["n_tok"], 49);
  std::remove(img.c_str());
  std::remove(g.c_str());
}

TEST(MmGemma4v, PixelsAreMappedToMinusOneOne) {
  // Kernel output 0 = Σ of 16 R values of the patch, after 2x − 1. Gray 51 → 0.2 → −0.6: every
  // token points along −e0, and the RMSNorm makes it −sqrt(8)·e0 whatever the magnitude.
  const std::string g = TempPath("g4vp.gguf"), img = TempPath("g4vp.ppm");
  G4vSpec spec;
  spec.with_std = false;
  spec.patch_channel0 = true;
  WriteGemma4v(g, spec);
  for (int value : {51, 204}) {
    WritePpm(img, Uniform(24, 24, static_cast<uint8_t>(value)));
    const MmRun run = RunMm("--mmproj " + g + " --image " + img + " --min-tokens 1 --max-tokens 4");
    ASSERT_EQ(run.exit_code, 0);
    const std::vector<double> d = Data(Parse(run)["chunks"][0]);
    ASSERT_EQ(d.size(), 24u);
    const double want0 = (value < 128 ? -1.0 : 1.0) * std::sqrt(8.0);
    for (int t = 0; t < 4; ++t) {
      EXPECT_NEAR(d[t * 6], want0, 1e-5) << value;
      for (int j = 1; j < 6; ++j) EXPECT_NEAR(d[t * 6 + j], 0.0, 1e-9);
    }
  }
  std::remove(img.c_str());
  std::remove(g.c_str());
}

TEST(MmGemma4v, FullLayersAreFiniteAndClampHolds) {
  const std::string g = TempPath("g4vr.gguf"), img = TempPath("g4vr.ppm");
  G4vSpec spec;
  spec.random_layers = true;
  spec.out_max = 0.25f;
  WriteGemma4v(g, spec);
  Image im = Uniform(36, 24, 0);
  for (size_t i = 0; i < im.rgb.size(); ++i) im.rgb[i] = static_cast<uint8_t>((i * 37) % 251);
  WritePpm(img, im);
  const MmRun run = RunMm("--mmproj " + g + " --image " + img + " --min-tokens 1 --max-tokens 6");
  ASSERT_EQ(run.exit_code, 0);
  const json c = Parse(run)["chunks"][0];
  EXPECT_EQ(c["n_tok"], 6);  // 36×24 → 3×2 tokens
  bool clamped = false;
  for (double v : Data(c)) {
    ASSERT_TRUE(std::isfinite(v));
    EXPECT_LE(v, 0.25);
    clamped |= v == 0.25;
  }
  EXPECT_TRUE(clamped);  // RMS-normalised rows of 8 values reach above 0.25
  // The llamacpp mode (GELU-quick F16 table, F32 norms and RoPE, F16 matmul inputs) stays close.
  const MmRun llama = RunMm("--mmproj " + g + " --image " + img +
                            " --min-tokens 1 --max-tokens 6 --numerics llamacpp");
  ASSERT_EQ(llama.exit_code, 0);
  const std::vector<double> a = Data(c), b = Data(Parse(llama)["chunks"][0]);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 2e-2) << i;
  std::remove(img.c_str());
  std::remove(g.c_str());
}

// ---------------------------------------------------------------------------------------------
// Synthetic gemma4uv

// patch_size 2 × scale_factor 3 = 6-pixel patches (108 values), n_embd 2, pos table 8, text 3.
// v.patch_embd: output 0 = Σ of the first 36 patch values, output 1 = Σ of the last 36: with the
// channel-major order of §6.3 that is "all R" and "all B".
void WriteGemma4uv(const std::string& path) {
  GgufWriter w;
  w.Str("general.architecture", "clip");
  w.Bool("clip.has_vision_encoder", true);
  w.Bool("clip.has_audio_encoder", false);
  w.Str("clip.vision.projector_type", "gemma4uv");
  w.U32("clip.vision.patch_size", 2);
  w.U32("clip.vision.embedding_length", 2);
  w.F32("clip.vision.attention.layer_norm_epsilon", 1e-6f);
  w.F32s("clip.vision.image_mean", {0, 0, 0});
  w.F32s("clip.vision.image_std", {1, 1, 1});
  w.Tensor("v.patch_norm.1.weight", {108}, Fill(108, 1.0f));
  w.Tensor("v.patch_norm.1.bias", {108}, Fill(108, 0.0f));
  std::vector<float> embd(108 * 2, 0.0f);
  for (int i = 0; i < 36; ++i) {
    embd[i] = 1.0f;             // row 0: R block
    embd[108 + 72 + i] = 1.0f;  // row 1: B block
  }
  w.Tensor("v.patch_embd.weight", {108, 2}, embd, /*f16=*/true);
  w.Tensor("v.patch_embd.bias", {2}, Fill(2, 0.0f));
  for (const char* n : {"v.patch_norm.2", "v.patch_norm.3"}) {
    w.Tensor(std::string(n) + ".weight", {2}, Fill(2, 1.0f));
    w.Tensor(std::string(n) + ".bias", {2}, Fill(2, 0.0f));
  }
  w.Tensor("v.position_embd.weight", {2, 8, 2}, Fill(32, 0.0f));
  w.Tensor("mm.input_projection.weight", {2, 3}, Eye(2, 3), /*f16=*/true);
  w.Write(path);
}

TEST(MmGemma4uv, PatchesAreChannelMajor) {
  const std::string g = TempPath("g4uv.gguf"), img = TempPath("g4uv.ppm");
  WriteGemma4uv(g);
  // A pure red patch has its 36 R values high: output 0 > output 1, and the 2-value LayerNorms
  // turn that into (1, −1); pure blue gives (−1, 1); pure green gives equal sums → 0.
  const struct {
    uint8_t r, g, b;
    double want0;
  } cases[] = {{255, 0, 0, 1.0}, {0, 0, 255, -1.0}, {0, 255, 0, 0.0}};
  for (const auto& k : cases) {
    Image im = Uniform(12, 12, 0);
    for (size_t i = 0; i < im.rgb.size(); i += 3) {
      im.rgb[i] = k.r;
      im.rgb[i + 1] = k.g;
      im.rgb[i + 2] = k.b;
    }
    WritePpm(img, im);
    const MmRun run = RunMm("--mmproj " + g + " --image " + img + " --min-tokens 1 --max-tokens 4");
    ASSERT_EQ(run.exit_code, 0);
    const json out = Parse(run);
    EXPECT_EQ(out["projector"], "gemma4uv");
    const json c = out["chunks"][0];
    EXPECT_EQ(c["n_tok"], 4);  // 12×12 in 6-pixel patches, no pooling
    EXPECT_EQ(c["n_embd"], 3);
    const std::vector<double> d = Data(c);
    ASSERT_EQ(d.size(), 12u);
    for (int t = 0; t < 4; ++t) {
      EXPECT_NEAR(d[t * 3], k.want0, 1e-3) << int(k.r) << int(k.g) << int(k.b);
      EXPECT_NEAR(d[t * 3 + 1], -k.want0, 1e-3);
      EXPECT_EQ(d[t * 3 + 2], 0.0);
    }
  }
  std::remove(img.c_str());
  std::remove(g.c_str());
}

// ---------------------------------------------------------------------------------------------
// Synthetic gemma4a

// 16 mel bins; convs 1 → 2 → 3 channels (freq 16 → 8 → 4: 12 inputs to a.input_projection);
// d_model 8, 2 heads, FFN 16, depthwise kernel 5; text 6.
void WriteGemma4a(const std::string& path, bool zero_projection) {
  GgufWriter w;
  w.Str("general.architecture", "clip");
  w.Bool("clip.has_audio_encoder", true);
  w.Str("clip.audio.projector_type", "gemma4a");
  w.U32("clip.audio.num_mel_bins", 16);
  w.U32("clip.audio.embedding_length", 8);
  w.U32("clip.audio.feed_forward_length", 16);
  w.U32("clip.audio.block_count", 1);
  w.U32("clip.audio.attention.head_count", 2);
  w.U32("clip.audio.projection_dim", 6);
  w.Tensor("a.conv1d.0.weight", {3, 3, 1, 2}, Noise(18, 0.5f, 1));
  w.Tensor("a.conv1d.0.bias", {2}, Noise(2, 0.1f, 2));
  w.Tensor("a.conv1d.0.norm.weight", {2}, Fill(2, 1.0f));
  w.Tensor("a.conv1d.1.weight", {3, 3, 2, 3}, Noise(54, 0.5f, 3));
  w.Tensor("a.conv1d.1.norm.weight", {3}, Fill(3, 1.0f));
  w.Tensor("a.input_projection.weight", {12, 8}, Noise(96, 0.5f, 4));
  const std::string b = "a.blk.0.";
  for (const char* n : {"ffn_norm", "ffn_post_norm", "attn_pre_norm", "attn_post_norm", "conv_norm",
                        "ffn_norm_1", "ffn_post_norm_1", "ln2"}) {
    w.Tensor(b + n + ".weight", {8}, Fill(8, 1.0f));
  }
  w.Tensor(b + "norm_conv.weight", {8}, Fill(8, 1.0f));
  w.Tensor(b + "ffn_up.weight", {8, 16}, Noise(128, 0.4f, 5));
  w.Tensor(b + "ffn_down.weight", {16, 8}, Noise(128, 0.4f, 6));
  w.Tensor(b + "ffn_up_1.weight", {8, 16}, Noise(128, 0.4f, 7));
  w.Tensor(b + "ffn_down_1.weight", {16, 8}, Noise(128, 0.4f, 8));
  w.Tensor(b + "attn_q.weight", {8, 8}, Noise(64, 0.5f, 9));
  w.Tensor(b + "attn_k.weight", {8, 8}, Noise(64, 0.5f, 10));
  w.Tensor(b + "attn_v.weight", {8, 8}, Noise(64, 0.5f, 11));
  w.Tensor(b + "attn_out.weight", {8, 8}, Noise(64, 0.5f, 12));
  w.Tensor(b + "attn_out.bias", {8}, Noise(8, 0.1f, 13));
  w.Tensor(b + "attn_k_rel.weight", {8, 8}, Noise(64, 0.5f, 14));
  w.Tensor(b + "per_dim_scale.weight", {4}, Fill(4, 1.3f));
  w.Tensor(b + "per_dim_k_scale.weight", {4}, Fill(4, 0.7f));
  w.Tensor(b + "conv_pw1.weight", {8, 16}, Noise(128, 0.4f, 15));
  w.Tensor(b + "conv_dw.weight", {5, 8}, Noise(40, 0.4f, 16));
  w.Tensor(b + "conv_dw.bias", {8}, Noise(8, 0.1f, 17));
  w.Tensor(b + "conv_pw2.weight", {8, 8}, Noise(64, 0.4f, 18));
  w.Tensor("a.pre_encode.out.weight", {8, 8}, Noise(64, 0.5f, 19));
  w.Tensor("mm.a.soft_emb_norm.weight", {8}, Fill(8, 1.0f));
  w.Tensor("mm.a.input_projection.weight", {8, 6},
           zero_projection ? Fill(48, 0.0f) : Noise(48, 0.5f, 20), /*f16=*/true);
  w.Write(path);
}

std::vector<float> Chirp(size_t n) {
  std::vector<float> s(n);
  for (size_t i = 0; i < n; ++i) {
    const double t = i / 16000.0;
    s[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * (200 + 900 * t) * t));
  }
  return s;
}

TEST(MmGemma4a, TokenCountsChunksAndCausality) {
  const std::string g = TempPath("g4a.gguf"), a = TempPath("g4a.f32");
  WriteGemma4a(g, false);
  std::vector<float> s = Chirp(16000);
  WriteF32(a, s);
  const MmRun run = RunMm("--mmproj " + g + " --audio " + a);
  ASSERT_EQ(run.exit_code, 0);
  const json out = Parse(run);
  EXPECT_EQ(out["projector"], "gemma4a");
  const json& c = out["chunks"][0];
  EXPECT_EQ(c["n_tok"], 25);  // 1 s → 99 frames → 50 → 25
  EXPECT_EQ(c["n_embd"], 6);
  EXPECT_EQ(c["causal"], true);
  const std::vector<double> base = Data(c);
  for (double v : base) ASSERT_TRUE(std::isfinite(v));

  // Token i sees mel frames ≤ 4i + 3 (two stride-2 convs with one frame of look-ahead each),
  // i.e. samples < 640·i + 640, and attention and the depthwise conv look only backwards. So
  // changing the samples from 0.8 s on (12800) leaves tokens 0..19 bit-identical.
  for (size_t i = 12800; i < s.size(); ++i) s[i] = -s[i] * 0.5f;
  WriteF32(a, s);
  const std::vector<double> changed =
      Data(Parse(RunMm("--mmproj " + g + " --audio " + a))["chunks"][0]);
  ASSERT_EQ(changed.size(), base.size());
  for (size_t i = 0; i < 20u * 6u; ++i) EXPECT_EQ(changed[i], base[i]) << i;
  bool later_differs = false;
  for (size_t i = 20u * 6u; i < base.size(); ++i) later_differs |= changed[i] != base[i];
  EXPECT_TRUE(later_differs);

  // 0.5 s → (8000 − 161)/160 + 1 = 49 frames → 25 → 13 tokens.
  WriteF32(a, Chirp(8000));
  EXPECT_EQ(Parse(RunMm("--mmproj " + g + " --audio " + a))["chunks"][0]["n_tok"], 13);

  // 31 s → a 30 s chunk (2999 frames → 1500 → 750 tokens) and a 1 s chunk (25 tokens).
  WriteF32(a, Chirp(16000 * 31));
  const json two = Parse(RunMm("--mmproj " + g + " --audio " + a));
  ASSERT_EQ(two["chunks"].size(), 2u);
  EXPECT_EQ(two["chunks"][0]["n_tok"], 750);
  EXPECT_EQ(two["chunks"][1]["n_tok"], 25);
  std::remove(a.c_str());
  std::remove(g.c_str());
}

TEST(MmGemma4a, PreprocessIsTheLogMelAndZeroProjectionGivesZeros) {
  const std::string g = TempPath("g4az.gguf"), a = TempPath("g4az.f32");
  WriteGemma4a(g, true);
  const std::vector<float> s = Chirp(4000);
  WriteF32(a, s);
  const json p =
      Parse(RunMm("--mmproj " + g + " --audio " + a + " --stage preprocess"))["chunks"][0];
  EXPECT_EQ(p["n_mel"], 16);
  EXPECT_EQ(p["n_frames"], 24);  // (4000 − 161)/160 + 1
  const auto mel = LogMel(s.data(), s.size(), 16);
  const std::vector<double> d = Data(p);
  ASSERT_EQ(d.size(), 24u * 16u);
  for (size_t t = 0; t < 24; ++t) {
    for (size_t m = 0; m < 16; ++m) EXPECT_NEAR(d[t * 16 + m], mel[t][m], 1e-7);
  }
  const json c = Parse(RunMm("--mmproj " + g + " --audio " + a))["chunks"][0];
  EXPECT_EQ(c["n_tok"], 6);  // 24 → 12 → 6
  for (double v : Data(c)) EXPECT_EQ(v, 0.0);
  std::remove(a.c_str());
  std::remove(g.c_str());
}

// ---------------------------------------------------------------------------------------------
// Command line errors: message on stderr, exit 2.

TEST(MmCli, BadInputExitsWithTwo) {
  const std::string bad = TempPath("bad.ppm"), a = TempPath("cli.f32");
  { std::ofstream(bad, std::ios::binary) << "P6\n10 10\n255\n" << std::string(20, 'x'); }
  WriteF32(a, std::vector<float>(700, 0.1f));
  const std::string m = " --mmproj " + kMmproj;
  for (const std::string& args :
       {std::string(""), m, m + " --image " + bad, m + " --image /nonexistent.ppm",
        m + " --image " + bad + " --audio " + a, m + " --audio " + a + " --min-tokens 3",
        m + " --audio " + a + " --stage logits", m + " --audio " + a + " --bogus 1",
        m + " --audio " + a + " --numerics fast", " --mmproj /nonexistent.gguf --audio " + a,
        " --mmproj " + kGoldenDir + "g3-tiny-f32.gguf --audio " + a}) {
    const MmRun r = RunMm(args + " 2>/dev/null");
    EXPECT_EQ(r.exit_code, 2) << args;
    EXPECT_TRUE(r.out.empty()) << args;
  }
  EXPECT_EQ(RunMm(m + " --audio " + a).exit_code, 0);
  // Hostile hyperparameters are refused before anything is allocated for them; a gemma4v file
  // missing its tensors names the first one.
  const std::string g = TempPath("hostile.gguf"), img = TempPath("hostile.ppm");
  WritePpm(img, Uniform(24, 24, 1));
  for (uint32_t blocks : {2000000000u, 1u}) {
    GgufWriter w;
    w.Str("general.architecture", "clip");
    w.Str("clip.vision.projector_type", "gemma4v");
    w.U32("clip.vision.patch_size", 4);
    w.U32("clip.vision.embedding_length", 8);
    w.U32("clip.vision.block_count", blocks);
    w.U32("clip.vision.attention.head_count", 2);
    w.Write(g);
    const MmRun r = RunMm("--mmproj " + g + " --image " + img + " 2>&1");
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_NE(r.out.find(blocks == 1 ? "missing tensor v.patch_embd.weight" : "gemma4v"),
              std::string::npos)
        << r.out;
  }
  std::remove(g.c_str());
  std::remove(img.c_str());
  std::remove(bad.c_str());
  std::remove(a.c_str());
}

}  // namespace
}  // namespace hearth::reference::mm
