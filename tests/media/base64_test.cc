// Base64, data URIs and ReadFile.
#include <gtest/gtest.h>

#include "media/media.h"
#include "tests/media/test_util.h"

namespace hearth::media {
namespace {

std::string Str(const std::vector<uint8_t>& b) { return {b.begin(), b.end()}; }

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"},
      {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}, {"Zm9vYg", "foob"},  // unpadded
      {"Zm9v\r\nYmFy\n", "foobar"},                                         // MIME line breaks
  };
  for (auto [in, want] : cases) {
    Result<std::vector<uint8_t>> r = DecodeBase64(in);
    ASSERT_TRUE(r.ok()) << in << ": " << r.status().ToString();
    EXPECT_EQ(Str(*r), want) << in;
  }
  Result<std::vector<uint8_t>> all = DecodeBase64("AP8Q7w==");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, (std::vector<uint8_t>{0x00, 0xFF, 0x10, 0xEF}));
}

TEST(Base64, BadCharacterNamesItsOffset) {
  Result<std::vector<uint8_t>> r = DecodeBase64("Zm9v*mFy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'*' at offset 4"), std::string::npos) << r.status().message();
  r = DecodeBase64("Zm9v\x01");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("0x01 at offset 4"), std::string::npos) << r.status().message();
  // URL-safe characters are not the standard alphabet.
  EXPECT_FALSE(DecodeBase64("Zm9-").ok());
  // Data after padding, a dangling symbol, too much padding.
  EXPECT_FALSE(DecodeBase64("Zg==Zg==").ok());
  EXPECT_FALSE(DecodeBase64("Zm9vY").ok());
  EXPECT_FALSE(DecodeBase64("Zg===").ok());
  EXPECT_FALSE(DecodeBase64("Zm8==").ok());
}

TEST(Base64, SizeLimit) {
  Limits limits;
  limits.max_bytes = 4;
  EXPECT_TRUE(DecodeBase64("Zm9vYg==", limits).ok());
  Result<std::vector<uint8_t>> r = DecodeBase64("Zm9vYmFy", limits);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(r.status().message().find("limit of 4"), std::string::npos) << r.status().message();
  EXPECT_FALSE(DecodeBase64(std::string(1000, 'A'), limits).ok());
}

TEST(DataUri, ParsesMediaTypeAndBytes) {
  Result<DataUri> r = ParseDataUri("data:image/PNG;base64,Zm9vYmFy");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->media_type, "image/png");
  EXPECT_EQ(Str(r->bytes), "foobar");
  r = ParseDataUri("data:audio/wav;charset=binary;base64,Zm9v");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->media_type, "audio/wav");
  EXPECT_EQ(Str(r->bytes), "foo");
  // Plain base64 (Ollama images, OpenAI input_audio.data).
  r = ParseDataUri("Zm9vYmFy");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->media_type, "");
  EXPECT_EQ(Str(r->bytes), "foobar");
}

TEST(DataUri, Errors) {
  Result<DataUri> r = ParseDataUri("data:image/png,rawbytes");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not base64"), std::string::npos) << r.status().message();
  r = ParseDataUri("data:image/png;base64");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no ','"), std::string::npos) << r.status().message();
  r = ParseDataUri("data:image/png;base64,Zm9v!");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'!' at offset 4"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("data starts at offset 22"), std::string::npos)
      << r.status().message();
}

class ReadFileTest : public testing::MediaTest {};

TEST_F(ReadFileTest, ErrorsNameThePath) {
  Result<std::vector<uint8_t>> r = ReadFile(Path("missing.png"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find(Path("missing.png")), std::string::npos);
  r = ReadFile(dir_.string());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not a regular file"), std::string::npos);

  Write("ten.bin", std::vector<uint8_t>(10, 7));
  r = ReadFile(Path("ten.bin"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, std::vector<uint8_t>(10, 7));
  Limits limits;
  limits.max_bytes = 9;
  r = ReadFile(Path("ten.bin"), limits);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("ten.bin: file is 10 bytes, more than the limit of 9"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace hearth::media
