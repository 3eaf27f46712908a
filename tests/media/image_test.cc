// Image decoding on files made at test time by ImageMagick (and exiftool for EXIF orientation),
// checked against known colours and against ImageMagick's own raw RGB decode.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "media/media.h"
#include "tests/media/test_util.h"

namespace hearth::media {
namespace {

using testing::MediaTest;
using testing::Near;
using testing::Px;

class ImageTest : public MediaTest {
 protected:
  Image Decode(const std::string& name, const Limits& limits = {}) {
    std::vector<uint8_t> bytes = Read(name);
    EXPECT_EQ(Sniff(bytes), Kind::kImage) << name;
    Result<Image> r = DecodeImage(bytes, limits);
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    if (!r.ok()) return {};
    EXPECT_EQ(r->rgb.size(), size_t(r->width) * r->height * 3);
    return *r;
  }
  // ImageMagick's decode of the same file as 8-bit RGB, the independent reference.
  std::vector<uint8_t> MagickRgb(const std::string& name) {
    Sh("convert '" + name + "[0]' -depth 8 rgb:" + name + ".rgb");
    return Read(name + ".rgb");
  }
  // A 24x16 image of three colours: cheap for ImageMagick to write in palette formats.
  // (Palette outputs also take "+dither -colors N": ImageMagick's default quantisation costs over
  // a second per call.)
  static constexpr const char* kThree =
      "-size 8x16 xc:red -size 8x16 xc:lime -size 8x16 xc:'#336699' +append";
  // A 40x20 image: left half red, right half blue.
  // `out` may carry an ImageMagick format prefix ("PNG24:x.png").
  void MakeTwoColour(const std::string& out, const std::string& extra = "") {
    Sh("convert -size 20x20 xc:red -size 20x20 xc:blue +append " + extra + " " + out);
  }
  void ExpectTwoColour(const Image& im, int tol) {
    ASSERT_EQ(im.width, 40);
    ASSERT_EQ(im.height, 20);
    EXPECT_TRUE(Near(Px(im, 5, 10), {255, 0, 0}, tol));
    EXPECT_TRUE(Near(Px(im, 34, 10), {0, 0, 255}, tol));
  }
};

TEST_F(ImageTest, JpegColours) {
  REQUIRE_TOOL("convert");
  MakeTwoColour("a.jpg", "-quality 95");
  ExpectTwoColour(Decode("a.jpg"), 12);
  // Greyscale JPEG comes out as equal RGB.
  Sh("convert -size 16x8 xc:'gray(40%)' -colorspace Gray g.jpg");
  Image g = Decode("g.jpg");
  ASSERT_EQ(g.width, 16);
  EXPECT_TRUE(Near(Px(g, 3, 3), {102, 102, 102}, 3));
  // Progressive.
  MakeTwoColour("p.jpg", "-interlace JPEG");
  ExpectTwoColour(Decode("p.jpg"), 12);
}

TEST_F(ImageTest, JpegCmyk) {
  REQUIRE_TOOL("convert");
  Sh("convert -size 16x8 xc:red -colorspace CMYK c.jpg");
  Image im = Decode("c.jpg");
  EXPECT_TRUE(Near(Px(im, 8, 4), {255, 0, 0}, 20));
}

// Orientation n of a 40x20 left-red/right-blue image: where the red half ends up.
TEST_F(ImageTest, JpegExifOrientation) {
  REQUIRE_TOOL("convert");
  REQUIRE_TOOL("exiftool");
  struct Case { int orientation, w, h; int rx, ry, bx, by; };  // a red and a blue pixel
  const Case cases[] = {
      {1, 40, 20, 5, 10, 34, 10},  {2, 40, 20, 34, 10, 5, 10}, {3, 40, 20, 34, 10, 5, 10},
      {4, 40, 20, 5, 10, 34, 10},  {5, 20, 40, 10, 5, 10, 34}, {6, 20, 40, 10, 5, 10, 34},
      {7, 20, 40, 10, 34, 10, 5}, {8, 20, 40, 10, 34, 10, 5},
  };
  MakeTwoColour("o.jpg", "-quality 95");
  std::vector<uint8_t> base = Read("o.jpg");
  std::string cmd = "exiftool";
  for (const Case& c : cases) {
    std::string name = "o" + std::to_string(c.orientation) + ".jpg";
    Write(name, base);
    cmd += " -Orientation=" + std::to_string(c.orientation) + " " + name + " -execute";
  }
  Sh(cmd + " -common_args -q -n -overwrite_original");  // one perl start-up for all eight
  for (const Case& c : cases) {
    std::vector<uint8_t> bytes = Read("o" + std::to_string(c.orientation) + ".jpg");
    ASSERT_NE(bytes, base);
    Result<Image> im = DecodeImage(bytes);
    ASSERT_TRUE(im.ok()) << im.status().ToString();
    SCOPED_TRACE("orientation " + std::to_string(c.orientation));
    ASSERT_EQ(im->width, c.w);
    ASSERT_EQ(im->height, c.h);
    EXPECT_TRUE(Near(Px(*im, c.rx, c.ry), {255, 0, 0}, 12));
    EXPECT_TRUE(Near(Px(*im, c.bx, c.by), {0, 0, 255}, 12));
  }
}

// The orientation transforms on a 3x2 image with distinct pixels, against the EXIF definitions.
TEST(Orientation, AllEightOnDistinctPixels) {
  Image in;
  in.width = 3;
  in.height = 2;
  for (int i = 0; i < 6; ++i) in.rgb.insert(in.rgb.end(), {uint8_t(i), 0, 0});
  // Row-major pixel ids (the red value) expected for each orientation.
  const std::vector<std::vector<int>> want = {
      {0, 1, 2, 3, 4, 5},  // 1
      {2, 1, 0, 5, 4, 3},  // 2: mirror horizontally
      {5, 4, 3, 2, 1, 0},  // 3: rotate 180
      {3, 4, 5, 0, 1, 2},  // 4: mirror vertically
      {0, 3, 1, 4, 2, 5},  // 5: transpose
      {3, 0, 4, 1, 5, 2},  // 6: rotate 90 clockwise
      {5, 2, 4, 1, 3, 0},  // 7: transverse
      {2, 5, 1, 4, 0, 3},  // 8: rotate 90 anticlockwise
  };
  for (int o = 1; o <= 8; ++o) {
    Image out = ApplyOrientation(in, o);
    EXPECT_EQ(out.width, o >= 5 ? 2 : 3) << o;
    std::vector<int> ids;
    for (size_t i = 0; i < out.rgb.size(); i += 3) ids.push_back(out.rgb[i]);
    EXPECT_EQ(ids, want[o - 1]) << "orientation " << o;
  }
}

TEST(Orientation, ExifParserIsBoundsChecked) {
  // Big- and little-endian IFD0 with only the Orientation tag.
  const uint8_t be[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1,
                        0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0};
  const uint8_t le[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0};
  EXPECT_EQ(ExifOrientation(be), 6);
  EXPECT_EQ(ExifOrientation(le), 8);
  // Every truncation of either is handled (1 = none) without reading past the end.
  for (size_t n = 0; n < sizeof(be) - 6; ++n) {
    int o = ExifOrientation(std::span(be, n));
    EXPECT_TRUE(o == 1) << n;
  }
  for (size_t n = 0; n < sizeof(le) - 2; ++n) EXPECT_EQ(ExifOrientation(std::span(le, n)), 1) << n;
}

TEST_F(ImageTest, PngFormatsMatchImageMagick) {
  REQUIRE_TOOL("convert");
  // RGB, palette, greyscale, 1-bit, interlaced: lossless, so exactly ImageMagick's pixels.
  const std::pair<const char*, const char*> kinds[] = {
      {"gradient", "PNG24:rgb.png"},
      {"three", "+dither -colors 8 PNG8:pal.png"},
      {"gradient", "-colorspace Gray PNG8:gray.png"},
      {"three", "+dither -monochrome mono.png"},
      {"gradient", "-interlace PNG PNG24:inter.png"}};
  for (auto [source, k] : kinds) {
    std::string spec = k;
    std::string name = spec.substr(spec.find_last_of(' ') + 1);
    if (name.find(':') != std::string::npos) name = name.substr(name.find(':') + 1);
    const std::string src = source;
    Sh(std::string("convert ") +
       (src == "three" ? kThree
        : src == "mono" ? "-size 8x16 xc:black -size 16x16 xc:white +append"
                        : "-size 24x16 gradient:red-blue") +
       " " + spec);
    Image im = Decode(name);
    EXPECT_EQ(im.width, 24) << name;
    EXPECT_EQ(im.height, 16) << name;
    EXPECT_EQ(im.rgb, MagickRgb(name)) << name;
  }
}

TEST_F(ImageTest, PngAlphaIsDroppedNotComposited) {
  REQUIRE_TOOL("convert");
  // Half-transparent red and a fully transparent green: the stored colours come back (llama.cpp
  // / stb_image with 3 channels does the same), not blended onto black or white.
  Sh("convert -size 8x8 xc:'rgba(255,0,0,0.5)' -size 8x8 xc:'rgba(0,255,0,0)' +append "
     "PNG32:a.png");
  Image im = Decode("a.png");
  ASSERT_EQ(im.width, 16);
  EXPECT_TRUE(Near(Px(im, 2, 2), {255, 0, 0}, 0));
  EXPECT_TRUE(Near(Px(im, 12, 2), {0, 255, 0}, 0));
}

TEST_F(ImageTest, Png16BitKeepsHighByte) {
  REQUIRE_TOOL("convert");
  Sh("convert -size 8x8 xc:'rgb(10%,50%,90%)' -depth 16 PNG48:d.png");
  Image im = Decode("d.png");
  // 16-bit values 6554, 32768, 58982 -> high bytes 25, 128, 230.
  EXPECT_TRUE(Near(Px(im, 4, 4), {25, 128, 230}, 1));
  EXPECT_TRUE(Near(Px(im, 4, 4), {MagickRgb("d.png")[0], MagickRgb("d.png")[1],
                                  MagickRgb("d.png")[2]}, 1));
}

TEST_F(ImageTest, PngExifOrientation) {
  REQUIRE_TOOL("convert");
  REQUIRE_TOOL("exiftool");
  MakeTwoColour("PNG24:o.png");
  Sh("exiftool -q -q -overwrite_original -n -Orientation=6 o.png");
  Image im = Decode("o.png");
  ASSERT_EQ(im.width, 20);
  ASSERT_EQ(im.height, 40);
  EXPECT_TRUE(Near(Px(im, 10, 5), {255, 0, 0}, 0));
  EXPECT_TRUE(Near(Px(im, 10, 34), {0, 0, 255}, 0));
}

TEST_F(ImageTest, WebpExifOrientation) {
  REQUIRE_TOOL("convert");
  REQUIRE_TOOL("exiftool");
  MakeTwoColour("o.webp", "-define webp:lossless=true");
  Sh("exiftool -q -q -overwrite_original -n -Orientation=8 o.webp");
  Image im = Decode("o.webp");
  ASSERT_EQ(im.width, 20);
  ASSERT_EQ(im.height, 40);
  // Shown turned anticlockwise: the left (red) half goes to the bottom.
  EXPECT_TRUE(Near(Px(im, 10, 34), {255, 0, 0}, 0));
  EXPECT_TRUE(Near(Px(im, 10, 5), {0, 0, 255}, 0));
}

TEST_F(ImageTest, WebpLossyAndLossless) {
  REQUIRE_TOOL("convert");
  MakeTwoColour("lossy.webp", "-quality 90");
  ExpectTwoColour(Decode("lossy.webp"), 16);
  Sh("convert -size 24x16 gradient:red-blue -define webp:lossless=true lossless.webp");
  Image im = Decode("lossless.webp");
  EXPECT_EQ(im.rgb, MagickRgb("lossless.webp"));
}

TEST_F(ImageTest, WebpAnimatedFirstFrame) {
  REQUIRE_TOOL("ffmpeg");
  Ffmpeg("-f lavfi -i color=c=red:s=32x16:r=2:d=1 -f lavfi -i color=c=blue:s=32x16:r=2:d=1 "
         "-filter_complex '[0][1]concat=n=2:v=1:a=0' -c:v libwebp_anim -lossless 1 -loop 0 "
         "anim.webp");
  Image im = Decode("anim.webp");
  ASSERT_EQ(im.width, 32);
  EXPECT_TRUE(Near(Px(im, 16, 8), {255, 0, 0}, 8));
}

TEST_F(ImageTest, GifFirstFrame) {
  REQUIRE_TOOL("convert");
  Sh("convert -delay 10 -size 16x12 xc:red xc:blue xc:lime +dither -colors 8 -loop 0 anim.gif");
  Image im = Decode("anim.gif");
  ASSERT_EQ(im.width, 16);
  ASSERT_EQ(im.height, 12);
  EXPECT_TRUE(Near(Px(im, 8, 6), {255, 0, 0}, 0));
  Sh(std::string("convert ") + kThree + " +dither -colors 8 still.gif");
  EXPECT_EQ(Decode("still.gif").rgb, MagickRgb("still.gif"));
}

TEST_F(ImageTest, BmpDepthsMatchImageMagick) {
  REQUIRE_TOOL("convert");
  // 20 colours (8-bit palette), three (4-bit), black and white (1-bit), a gradient (24/32-bit);
  // the palette ones also run-length encoded.
  std::string twenty = "-size 1x15";
  for (int i = 0; i < 20; ++i) {
    twenty += " xc:'rgb(" + std::to_string(i * 12) + "," + std::to_string(250 - i * 12) + "," +
              std::to_string(i * 7) + ")'";
  }
  twenty += " +append -size 3x15 xc:red +append";  // 23 wide: odd, so rows are padded
  const std::string three = std::string(kThree) + " -crop 23x15+0+0 +repage";
  const std::string mono =
      "-size 8x15 xc:black -size 8x15 xc:white -size 7x15 xc:black +append +dither -colors 2";
  const std::string gradient = "-size 23x15 gradient:red-blue";
  const std::pair<std::string, std::string> kinds[] = {
      {twenty, "+dither -colors 32 -compress None BMP3:b8.bmp"},
      {twenty, "+dither -colors 32 -compress RLE BMP3:r8.bmp"},
      {three, "+dither -colors 8 -compress None BMP3:b4.bmp"},
      {mono, "BMP3:b1.bmp"},
      {gradient, "-type TrueColor BMP3:b24.bmp"},
      {gradient, "-type TrueColor BMP:b24v5.bmp"},
      {gradient, "-type TrueColorAlpha BMP:b32.bmp"}};
  for (const auto& [source, spec] : kinds) {
    std::string name = spec.substr(spec.find_last_of(':') + 1);
    Sh("convert " + source + " " + spec);
    std::vector<uint8_t> bytes = Read(name);
    ASSERT_GT(bytes.size(), 30u);
    const int bpp = bytes[28];
    EXPECT_EQ(bpp, std::stoi(name.substr(1))) << name << " is not the depth it is named for";
    if (name[0] == 'r') {
      EXPECT_EQ(bytes[30], 1) << name << " is not RLE8";
    }
    Image im = Decode(name);
    EXPECT_EQ(im.width, 23) << name;
    EXPECT_EQ(im.height, 15) << name;
    EXPECT_EQ(im.rgb, MagickRgb(name)) << name;
  }
}

// ImageMagick never writes RLE4, so this one is built by hand: 5x2, palette {black, red, blue},
// bottom row "run of 5 alternating red/blue", top row "literal 3 pixels blue red blue, then end".
TEST(Bmp, Rle4) {
  std::vector<uint8_t> b = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 66, 0, 0, 0,  // pixels at 66
                            40, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 1, 0, 4, 0, 2, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
                            0, 0, 0, 0, 0, 0, 255, 0, 255, 0, 0, 0};  // BGRx palette
  ASSERT_EQ(b.size(), 66u);
  const uint8_t data[] = {5, 0x12, 0, 0,             // 5 pixels: 1 2 1 2 1; end of line
                          0, 3, 0x21, 0x20, 0, 1};  // literal 2 1 2 (2 bytes, even); end
  b.insert(b.end(), std::begin(data), std::end(data));
  Result<Image> im = DecodeImage(b);
  ASSERT_TRUE(im.ok()) << im.status().ToString();
  ASSERT_EQ(im->width, 5);
  const std::array<int, 3> red{255, 0, 0}, blue{0, 0, 255}, black{0, 0, 0};
  // Row 0 is the top (the second row in the file).
  EXPECT_TRUE(Near(Px(*im, 0, 0), blue, 0));
  EXPECT_TRUE(Near(Px(*im, 1, 0), red, 0));
  EXPECT_TRUE(Near(Px(*im, 2, 0), blue, 0));
  EXPECT_TRUE(Near(Px(*im, 3, 0), black, 0));  // never written: palette entry 0
  for (int x = 0; x < 5; ++x) EXPECT_TRUE(Near(Px(*im, x, 1), x % 2 ? blue : red, 0)) << x;
  // Without its end marker the data is truncated.
  b.resize(b.size() - 2);
  EXPECT_FALSE(DecodeImage(b).ok());
}

TEST_F(ImageTest, BmpTopDown) {
  REQUIRE_TOOL("convert");
  // ImageMagick writes bottom-up; negate the height and reverse the rows for the top-down form.
  Sh("convert -size 20x20 xc:red -size 20x20 xc:blue -append -type TrueColor BMP3:up.bmp");
  std::vector<uint8_t> b = Read("up.bmp");
  ASSERT_GE(b.size(), 54u);
  uint32_t off = b[10] | b[11] << 8 | b[12] << 16 | b[13] << 24;
  int32_t h = b[22] | b[23] << 8 | b[24] << 16 | b[25] << 24;
  ASSERT_EQ(h, 40);
  const size_t stride = 20 * 3;
  std::vector<uint8_t> down = b;
  for (int y = 0; y < h; ++y) {
    std::copy_n(&b[off + stride * y], stride, &down[off + stride * (h - 1 - y)]);
  }
  int32_t neg = -h;
  std::memcpy(&down[22], &neg, 4);
  Image a = *DecodeImage(b), d = *DecodeImage(down);
  EXPECT_EQ(a.rgb, d.rgb);
  EXPECT_TRUE(Near(Px(d, 10, 5), {255, 0, 0}, 0));
  EXPECT_TRUE(Near(Px(d, 10, 35), {0, 0, 255}, 0));
}

TEST_F(ImageTest, GoldenImage) {
  Result<std::vector<uint8_t>> b = ReadFile(HEARTH_SOURCE_DIR "/tests/data/golden/image-300x200.png");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Result<Image> im = DecodeImage(*b);
  ASSERT_TRUE(im.ok()) << im.status().ToString();
  EXPECT_EQ(im->width, 300);
  EXPECT_EQ(im->height, 200);
  if (testing::HaveTool("convert")) {
    Sh("convert '" HEARTH_SOURCE_DIR "/tests/data/golden/image-300x200.png' -depth 8 rgb:g.rgb");
    EXPECT_EQ(im->rgb, Read("g.rgb"));
  }
}

TEST_F(ImageTest, FormatFromMagicBytesNotName) {
  REQUIRE_TOOL("convert");
  MakeTwoColour("PNG24:really-a-png.jpg");
  ExpectTwoColour(Decode("really-a-png.jpg"), 0);
}

}  // namespace
}  // namespace hearth::media
