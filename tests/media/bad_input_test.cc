// Bad input: truncated files of every format, random bytes, mislabelled bytes, empty audio, a
// 100-megapixel PNG, and the pixel limit on every image decoder. Each must be a clear error.
#include <gtest/gtest.h>

#include <png.h>

#include <random>

#include "media/media.h"
#include "tests/media/test_util.h"

namespace hearth::media {
namespace {

using testing::MediaTest;

Status DecodeAny(std::span<const uint8_t> b, const Limits& limits = {}) {
  switch (Sniff(b)) {
    case Kind::kImage: return DecodeImage(b, limits).status();
    case Kind::kAudio: return DecodeAudio(b, limits).status();
    case Kind::kVideo: return DecodeVideo(b, limits).status();
    case Kind::kUnknown: break;
  }
  return DecodeImage(b, limits).status();
}

class BadInputTest : public MediaTest {
 protected:
  // One small file of every format (GIF and WebP single-frame, so that cutting the file cuts the
  // frame that is decoded).
  std::vector<std::string> MakeAll() {
    std::vector<std::string> files;
    if (testing::HaveTool("convert")) {
      const char* images[] = {"a.jpg", "p.jpg -interlace JPEG", "a.png", "a.webp",
                              "l.webp -define webp:lossless=true", "a.gif -colors 64", "BMP3:a.bmp",
                              "BMP:v5.bmp -type TrueColorAlpha"};
      for (std::string spec : images) {
        std::string out = spec.substr(0, spec.find(' '));
        std::string extra = spec.size() > out.size() ? spec.substr(out.size()) : "";
        Sh("convert -seed 1 -size 48x32 plasma:fractal +dither" + extra + " " + out);
        files.push_back(out.substr(out.find(':') + 1));
      }
    }
    if (testing::HaveTool("sox")) {
      for (const char* a : {"a.wav", "a.flac", "a.ogg", "a.mp3"}) {
        Sh(std::string("sox -n -r 16000 -c 1 ") + a + " synth 2 sine 440");
        files.push_back(a);
      }
    }
    if (testing::HaveTool("ffmpeg")) {
      const std::string src = "-f lavfi -i testsrc=s=64x48:r=10:d=3 "
                              "-f lavfi -i sine=frequency=440:duration=3 -pix_fmt yuv420p ";
      Ffmpeg(src + "-c:v libx264 -c:a aac v.mp4");
      Ffmpeg(src + "-c:v libx264 -c:a aac -movflags +faststart fast.mp4");
      Ffmpeg(src + "-c:v libvpx -b:v 100k -c:a libvorbis v.webm");
      Ffmpeg(src + "-c:v libx264 -c:a flac v.mkv");
      Ffmpeg("-f lavfi -i sine=frequency=440:duration=2 -c:a aac a.m4a");
      files.insert(files.end(), {"v.mp4", "fast.mp4", "v.webm", "v.mkv", "a.m4a"});
    }
    return files;
  }
};

TEST_F(BadInputTest, TruncatedFilesOfEveryFormat) {
  std::vector<std::string> files = MakeAll();
  if (files.empty()) GTEST_SKIP() << "none of convert, sox, ffmpeg is installed";
  for (const std::string& name : files) {
    std::vector<uint8_t> whole = Read(name);
    ASSERT_TRUE(DecodeAny(whole).ok()) << name << ": " << DecodeAny(whole).ToString();
    // Not at round fractions: an MP3 cut exactly between two frames is a valid, shorter MP3
    // (CBR files without a Xing header have nothing that says otherwise).
    for (double frac : {0.0, 0.021, 0.31, 0.53, 0.83}) {
      size_t n = std::max<size_t>(frac * whole.size(), frac == 0 ? 0 : 9);
      std::vector<uint8_t> cut = testing::Prefix(whole, n);
      Status s = DecodeAny(cut);
      EXPECT_FALSE(s.ok()) << name << " cut to " << n << " of " << whole.size() << " bytes decoded";
      EXPECT_FALSE(s.message().empty());
    }
  }
}

TEST_F(BadInputTest, RandomBytesAndFakeMagic) {
  std::mt19937 rng(42);
  using std::string_literals::operator""s;
  const std::string magics[] = {"", "\xFF\xD8\xFF", "\x89PNG\r\n\x1A\n", "RIFF\0\0\0\0WEBP"s,
                                "GIF89a", "BM", "RIFF\0\0\0\0WAVE"s, "fLaC", "OggS", "ID3",
                                "\xFF\xFB\x90\x00"s, "\0\0\0\x20" "ftypisom"s, "\x1A\x45\xDF\xA3"};
  for (int len : {1, 16, 100, 4096}) {
    for (const std::string& m : magics) {
      std::vector<uint8_t> b(len);
      for (auto& x : b) x = rng() & 0xFF;
      std::copy_n(m.begin(), std::min(m.size(), b.size()), b.begin());
      EXPECT_FALSE(DecodeImage(b).ok());
      EXPECT_FALSE(DecodeAudio(b).ok());
      EXPECT_FALSE(DecodeVideo(b).ok());
    }
  }
}

TEST_F(BadInputTest, MislabelledBytes) {
  REQUIRE_TOOL("sox");
  REQUIRE_TOOL("convert");
  Sh("sox -n -r 16000 -c 1 a.wav synth 0.1 sine 440");
  Sh("convert -size 8x8 xc:red a.png");
  Result<Image> im = DecodeImage(Read("a.wav"));
  ASSERT_FALSE(im.ok());
  EXPECT_NE(im.status().message().find("wav (audio), not an image"), std::string::npos)
      << im.status().message();
  Result<Audio> au = DecodeAudio(Read("a.png"));
  ASSERT_FALSE(au.ok());
  EXPECT_NE(au.status().message().find("png (image), not audio"), std::string::npos)
      << au.status().message();
  Result<Video> vi = DecodeVideo(Read("a.png"));
  ASSERT_FALSE(vi.ok());
  EXPECT_NE(vi.status().message().find("not video"), std::string::npos);
  // JPEG magic on PNG contents.
  std::vector<uint8_t> fake = Read("a.png");
  fake[0] = 0xFF, fake[1] = 0xD8, fake[2] = 0xFF;
  im = DecodeImage(fake);
  ASSERT_FALSE(im.ok());
  EXPECT_NE(im.status().message().find("JPEG"), std::string::npos) << im.status().message();
  // Unknown format.
  const std::string text = "just some text, not media";
  im = DecodeImage(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  ASSERT_FALSE(im.ok());
  EXPECT_EQ(im.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(im.status().message().find("unrecognised format"), std::string::npos);
}

TEST_F(BadInputTest, ZeroLengthAudio) {
  EXPECT_FALSE(DecodeAudio({}).ok());
  REQUIRE_TOOL("sox");
  Sh("sox -n -r 16000 -b 16 -c 1 empty.wav trim 0 0");
  Result<Audio> a = DecodeAudio(Read("empty.wav"));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("no samples"), std::string::npos) << a.status().message();
  Sh("sox -n -r 16000 -c 1 empty.flac trim 0 0");
  EXPECT_FALSE(DecodeAudio(Read("empty.flac")).ok());
}

// A solid 10000x10000 greyscale PNG (about 12 KB on disk) written with libpng.
void WriteHugePng(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_set_IHDR(png, info, 10000, 10000, 1, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  std::vector<uint8_t> row(1250, 0xFF);
  for (int y = 0; y < 10000; ++y) png_write_row(png, row.data());
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

TEST_F(BadInputTest, HundredMegapixelPng) {
  WriteHugePng(Path("huge.png"));
  std::vector<uint8_t> b = Read("huge.png");
  EXPECT_LT(b.size(), 100000u);
  Result<Image> im = DecodeImage(b);
  ASSERT_FALSE(im.ok());
  EXPECT_EQ(im.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(im.status().message().find(
                "PNG: image is 10000x10000 = 100000000 pixels, more than the limit of 50000000"),
            std::string::npos)
      << im.status().message();
}

TEST_F(BadInputTest, PixelLimitOnEveryImageDecoder) {
  REQUIRE_TOOL("convert");
  Limits limits;
  limits.max_pixels = 100;
  for (std::string name : {"a.jpg", "a.png", "a.webp", "a.gif", "a.bmp"}) {
    Sh("convert -size 20x10 xc:red +dither -colors 8 " + name);
    Result<Image> im = DecodeImage(Read(name), limits);
    ASSERT_FALSE(im.ok()) << name;
    EXPECT_EQ(im.status().code(), StatusCode::kResourceExhausted) << im.status().ToString();
    EXPECT_NE(im.status().message().find("20x10 = 200 pixels, more than the limit of 100"),
              std::string::npos)
        << im.status().message();
    EXPECT_TRUE(DecodeImage(Read(name)).ok()) << name;
  }
}

TEST_F(BadInputTest, ByteLimit) {
  std::vector<uint8_t> b(1000, 0);
  Limits limits;
  limits.max_bytes = 999;
  for (Status s : {DecodeImage(b, limits).status(), DecodeAudio(b, limits).status(),
                   DecodeVideo(b, limits).status()}) {
    EXPECT_EQ(s.code(), StatusCode::kResourceExhausted);
    EXPECT_NE(s.message().find("1000 bytes, more than the limit of 999"), std::string::npos)
        << s.message();
  }
}

}  // namespace
}  // namespace hearth::media

namespace hearth::media {
namespace {

// Regression cases from fuzz/media_fuzz.cc (the input without its selector byte).
TEST(FuzzRegression, MalformedOggVorbis) {
  // libsndfile 1.2.0 leaked its Vorbis state on this file; Ogg now goes through FFmpeg, and the
  // file is refused either way.
  Result<std::vector<uint8_t>> b =
      ReadFile(HEARTH_SOURCE_DIR "/tests/media/data/fuzz-ogg-vorbis-malformed.ogg");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Result<Audio> a = DecodeAudio(*b);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("Ogg"), std::string::npos) << a.status().message();
}

TEST(FuzzRegression, PngChunkLongerThanTheFile) {
  // A tEXt chunk after IDAT declaring 1.9 GB in a 320-byte file: libpng allocated it.
  Result<std::vector<uint8_t>> b =
      ReadFile(HEARTH_SOURCE_DIR "/tests/media/data/fuzz-png-huge-text-chunk.png");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Result<Image> im = DecodeImage(*b);
  ASSERT_FALSE(im.ok());
  EXPECT_NE(im.status().message().find("chunk 'tEXt' at byte 258 declares 1903435813 bytes"),
            std::string::npos)
      << im.status().message();
}

}  // namespace
}  // namespace hearth::media
