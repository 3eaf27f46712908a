// Preprocessing with hand-computed values: the dyn-size targets, the u8 bilinear resize, the
// letterbox of the fixed-size (896) path, the patch vector order, the gemma4ua frames and the
// gemma4a log-mel of a sine.
#include "mm/preprocess.h"

#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

namespace hearth::mm {
namespace {

TEST(DynSizeTest, TargetsAndTokenBudget) {
  auto check = [](int w, int h, int tw, int th) {
    const Size s = DynSizeTarget(w, h, 48, 40, 280);
    EXPECT_EQ(s.width, tw) << w << "x" << h;
    EXPECT_EQ(s.height, th) << w << "x" << h;
  };
  // 300x200 rounds to 288x192 = 24 cells < 40: scaled by sqrt(40·48²/60000) = 1.2394 and
  // rounded up: 371.8 -> 384, 247.9 -> 288 (8x6 = 48 tokens, the golden image).
  check(300, 200, 384, 288);
  check(768, 768, 768, 768);  // 16x16 = 256 tokens, inside the budget
  check(240, 384, 240, 384);  // exactly 40 tokens: kept
  check(960, 672, 960, 672);  // exactly 280 tokens: kept
  // 10x10: 48x48 is 1 cell; β = sqrt(92160/100) = 30.36, 303.6/48 -> ceil 7: 7x7 = 49 tokens.
  check(10, 10, 336, 336);
  check(1, 1, 336, 336);
  // 4000x3000 rounds to 3984x3024 > 280 cells; β = sqrt(12e6/645120) = 4.3129:
  // 927.4/48 -> 19, 695.6/48 -> 14: 19x14 = 266 tokens.
  check(4000, 3000, 912, 672);
  // Rounding is half away from zero: 3000/48 = 62.5 -> 63 (only visible below the budget).
  EXPECT_EQ(DynSizeTarget(72, 72, 48, 1, 280).width, 96);  // 1.5 -> 2
}

RgbImage Gray2x2(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  RgbImage img;
  img.width = img.height = 2;
  for (uint8_t v : {a, b, c, d}) img.rgb.insert(img.rgb.end(), {v, v, v});
  return img;
}

TEST(ResizeTest, BilinearAlignCornersTruncates) {
  // [[0, 100], [200, 255]] to 3x3: the corners are the source pixels, the middle is
  // lerp(lerp(0,100,.5), lerp(200,255,.5), .5) = lerp(50, 227.5, .5) = 138.75 -> 138.
  const RgbImage out = ResizeBilinear(Gray2x2(0, 100, 200, 255), 3, 3);
  auto at = [&](int x, int y) { return out.rgb[3 * (y * 3 + x)]; };
  EXPECT_EQ(at(0, 0), 0);
  EXPECT_EQ(at(1, 0), 50);
  EXPECT_EQ(at(2, 0), 100);
  EXPECT_EQ(at(0, 1), 100);
  EXPECT_EQ(at(1, 1), 138);
  EXPECT_EQ(at(2, 1), 177);  // lerp(100, 255, .5) = 177.5 -> 177
  EXPECT_EQ(at(0, 2), 200);
  EXPECT_EQ(at(1, 2), 227);
  EXPECT_EQ(at(2, 2), 255);
  // A 1-pixel-wide source is read with the neighbour clamped instead of crashing.
  RgbImage one;
  one.width = 1;
  one.height = 1;
  one.rgb = {7, 8, 9};
  const RgbImage big = ResizeBilinear(one, 4, 4);
  for (size_t i = 0; i < big.rgb.size(); i += 3) EXPECT_EQ(big.rgb[i + 1], 8);
}

TEST(ResizeTest, LetterboxOnBlack) {
  // 300x200 into 896x896 (gemma3): scale 896/300, 896x598 pasted at y = (896-598)/2 = 149.
  RgbImage white;
  white.width = 300;
  white.height = 200;
  white.rgb.assign(300 * 200 * 3, 255);
  const RgbImage out = ResizeLetterbox(white, 896, 896);
  ASSERT_EQ(out.width, 896);
  ASSERT_EQ(out.height, 896);
  auto row = [&](int y) { return out.rgb[3 * (y * 896 + 448)]; };
  EXPECT_EQ(row(0), 0);
  EXPECT_EQ(row(148), 0);
  EXPECT_EQ(row(149), 255);
  EXPECT_EQ(row(149 + 597), 255);
  EXPECT_EQ(row(149 + 598), 0);
  EXPECT_EQ(out.rgb[3 * (500 * 896 + 0)], 255);    // full width
  EXPECT_EQ(out.rgb[3 * (500 * 896 + 895)], 255);
  // The same size is copied as is.
  EXPECT_EQ(ResizeLetterbox(white, 300, 200).rgb, white.rgb);
}

TEST(NormalizeTest, MeanAndStd) {
  RgbImage img;
  img.width = img.height = 1;
  img.rgb = {0, 255, 51};
  const float mean[3] = {0.5f, 0.5f, 0.0f}, stdv[3] = {0.5f, 0.5f, 1.0f};
  const std::vector<float> v = Normalize(img, mean, stdv);
  EXPECT_FLOAT_EQ(v[0], -1.0f);
  EXPECT_FLOAT_EQ(v[1], 1.0f);
  EXPECT_FLOAT_EQ(v[2], 0.2f);
}

TEST(PatchTest, ChannelMajorThenRowThenColumn) {
  // A 96x48 image of two 48-pixel patches; value = channel·1e6 + y·1000 + x.
  const int w = 96, h = 48;
  std::vector<float> img(w * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img[3 * (y * w + x) + c] = c * 1e6f + y * 1000.0f + x;
  const std::vector<float> p = PatchVectors(img.data(), w, h, 48);
  ASSERT_EQ(p.size(), 2u * 6912);
  EXPECT_EQ(p[0], 0.0f);
  EXPECT_EQ(p[1], 1.0f);                            // next column
  EXPECT_EQ(p[48], 1000.0f);                        // next row
  EXPECT_EQ(p[2304], 1e6f);                         // G plane
  EXPECT_EQ(p[2 * 2304 + 47 * 48 + 47], 2e6f + 47047.0f);
  EXPECT_EQ(p[6912], 48.0f);                        // second patch starts at column 48
  EXPECT_EQ(p[6912 + 2304 + 5 * 48 + 3], 1e6f + 5000.0f + 51.0f);
}

TEST(AudioFramesTest, Gemma4ua640SampleFrames) {
  std::vector<float> s(1000);
  for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<float>(i + 1);
  const std::vector<float> f = Gemma4uaFrames(s);
  ASSERT_EQ(f.size(), 2u * 640);
  EXPECT_EQ(f[639], 640.0f);
  EXPECT_EQ(f[640], 641.0f);
  EXPECT_EQ(f[999], 1000.0f);
  for (size_t i = 1000; i < f.size(); ++i) EXPECT_EQ(f[i], 0.0f);
  EXPECT_EQ(Gemma4uaFrames(std::vector<float>(16000)).size(), 25u * 640);  // 25 tokens a second
}

TEST(LogMelTest, SinePeaksInItsMelBin) {
  // 1 s of 440 Hz: T = floor((16000 + 160 - 321)/160) + 1 = 99 frames. On the HTK scale over
  // 0..8000 Hz with 128 filters the centres are 2840.0/129 = 22.02 mel apart; 440 Hz is 549.6
  // mel, the centre of filter 24 (550.4 mel).
  std::vector<float> s(16000);
  for (size_t i = 0; i < s.size(); ++i) s[i] = 0.5f * std::sin(2 * std::numbers::pi * 440.0 * i / 16000.0);
  int t = 0;
  const std::vector<float> mel = Gemma4aLogMel(s, 128, &t);
  ASSERT_EQ(t, 99);
  ASSERT_EQ(mel.size(), 99u * 128);
  for (int frame : {10, 50, 90}) {
    const float* m = &mel[frame * 128];
    int best = 0;
    for (int k = 1; k < 128; ++k)
      if (m[k] > m[best]) best = k;
    EXPECT_EQ(best, 24) << "frame " << frame;
    EXPECT_NEAR(m[100], std::log(1e-3f), 1e-6) << "far bins are clamped at 1e-3";
  }
  // Silence is ln(1e-3) everywhere; the frame count truncates toward zero (160 samples: 1 frame).
  const std::vector<float> quiet = Gemma4aLogMel(std::vector<float>(1600), 128, &t);
  ASSERT_EQ(t, 9);
  for (float v : quiet) EXPECT_FLOAT_EQ(v, std::log(1e-3f));
  EXPECT_EQ(Gemma4aLogMel(std::vector<float>(160), 128, &t).size(), 128u);
  EXPECT_EQ(t, 1);
  EXPECT_TRUE(Gemma4aLogMel(std::vector<float>(1), 128, &t).empty());
  EXPECT_EQ(t, 0);
}

}  // namespace
}  // namespace hearth::mm
