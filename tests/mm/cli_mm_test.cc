// `hearth run` with media, black-box: the golden image and tone through a test model and its
// projector, media placed by order and by placeholders, a short video made by ffmpeg at test time,
// and every kind of bad multimodal input as a clean error (non-zero exit, no signal, a message
// naming the problem).
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/tools/command.h"
#include "tools/testmodel.h"

namespace {

namespace fs = std::filesystem;
const std::string kGolden = std::string(HEARTH_SOURCE_DIR) + "/tests/data/golden/";

using hearth::testing::ExpectError;
using hearth::testing::Out;
Out Sh(const std::string& cmd) { return hearth::testing::RunCommand(cmd); }
Out Hearth(const std::string& args) { return Sh(std::string(HEARTH_BINARY) + " " + args + " 2>&1"); }
Out HearthJson(const std::string& args) {
  return Sh(std::string(HEARTH_BINARY) + " " + args + " --json 2>/dev/null");
}

class CliMmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string((fs::temp_directory_path() / ("hearth_cli_mm_" + std::to_string(getpid()))).string());
    fs::create_directories(*dir_);
    ASSERT_TRUE(hearth::testmodel::Write({.variant = "g4-12b", .type = "q8_0"}, *dir_ + "/m.gguf").ok());
    ASSERT_TRUE(hearth::testmodel::WriteMmproj({.types = "gemma4uv,gemma4ua"}, *dir_ + "/p.gguf").ok());
    ASSERT_TRUE(hearth::testmodel::WriteMmproj({.types = "gemma4uv"}, *dir_ + "/v.gguf").ok());
    ASSERT_TRUE(hearth::testmodel::WriteMmproj({.types = "gemma3", .variant = "g3-4b"}, *dir_ + "/g3.gguf").ok());
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string Base() { return "run -m " + *dir_ + "/m.gguf -t 2 -n 2 --temp 0"; }
  // Prompt tokens of a run, or -1 (with the reason in *why).
  static int64_t PromptTokens(const std::string& args, std::string* why) {
    const Out o = HearthJson(Base() + " " + args);
    if (o.exit_code != 0) {
      *why = Hearth(Base() + " " + args).text;
      return -1;
    }
    return nlohmann::json::parse(o.text)["timings"]["prompt_tokens"].get<int64_t>();
  }
  static std::string* dir_;
};
std::string* CliMmTest::dir_ = nullptr;

TEST_F(CliMmTest, ImageAndAudioTakeTheirTokens) {
  std::string why;
  const int64_t text = PromptTokens("-p 'What is this?'", &why);
  ASSERT_GT(text, 0) << why;
  const std::string mm = "--mmproj " + *dir_ + "/p.gguf ";
  const int64_t img = PromptTokens(mm + "--image " + kGolden + "image-300x200.png -p 'What is this?'", &why);
  if (img < 0 && why.find("without media decoding") != std::string::npos) GTEST_SKIP() << why;
  ASSERT_GT(img, 0) << why;
  EXPECT_EQ(img - text, 48 + 2);  // 8x6 patches of 48 pixels between <|image> and <image|>
  const int64_t both = PromptTokens(mm + "--audio " + kGolden + "tone-440hz-1s.wav --image " + kGolden +
                                        "image-300x200.png -p 'What is this?'", &why);
  EXPECT_EQ(both - text, 48 + 2 + 25 + 2) << why;  // 1 s = 25 frames of 640 samples
  // Placeholders position the media; counts must match.
  const int64_t placed = PromptTokens(mm + "--audio " + kGolden + "tone-440hz-1s.wav --image " +
                                          kGolden + "image-300x200.png -p 'A <image> and <audio>.'", &why);
  EXPECT_GT(placed, 48 + 25) << why;
  ExpectError(Hearth(Base() + " " + mm + "--image " + kGolden + "image-300x200.png -p '<image><image>'"),
              {"2 <image> placeholder(s) but 1 image file(s)"});
  // The token budget option.
  const int64_t few = PromptTokens(mm + "--image " + kGolden +
                                       "image-300x200.png --image-max-tokens 6 --image-min-tokens 1 -p 'What is this?'", &why);
  EXPECT_LE(few - text, 6 + 2) << why;
}

TEST_F(CliMmTest, VideoFramesAndSound) {
  if (Sh("command -v ffmpeg >/dev/null 2>&1 && echo yes").text.find("yes") == std::string::npos) {
    GTEST_SKIP() << "ffmpeg not installed";
  }
  const std::string clip = *dir_ + "/clip.mp4";
  const Out made = Sh("ffmpeg -loglevel error -y -f lavfi -i testsrc=size=320x240:rate=10 -f lavfi "
                      "-i sine=frequency=440:sample_rate=16000 -t 2.5 -pix_fmt yuv420p -shortest " + clip + " 2>&1");
  ASSERT_EQ(made.exit_code, 0) << made.text;
  std::string why;
  const int64_t text = PromptTokens("-p 'What happens?'", &why);
  const int64_t vid = PromptTokens("--mmproj " + *dir_ + "/p.gguf --video " + clip + " -p 'What happens?'", &why);
  if (vid < 0 && why.find("without media decoding") != std::string::npos) GTEST_SKIP() << why;
  ASSERT_GT(vid, 0) << why;
  // 3 frames (0, 1, 2 s) of 320x240 -> 384x288 = 48 tokens each, and 2.5 s of sound = 63 frames,
  // plus markers and the "MM:SS" texts.
  EXPECT_GT(vid - text, 3 * (48 + 2) + 63 + 2);
  EXPECT_LE(vid - text, 3 * (48 + 2) + 63 + 2 + 3 * 8);  // measured 236: 7 per timestamp
}

// The other projector types end to end: E2B with its vision tower and audio conformer, Gemma 3
// 4B with SigLIP (4 tokens in the tiny file, between <start_of_image> and <end_of_image>).
TEST_F(CliMmTest, EveryProjectorTypeRuns) {
  const std::string d = *dir_;
  ASSERT_TRUE(hearth::testmodel::Write({.variant = "g4-e2b", .type = "q8_0"}, d + "/e2b.gguf").ok());
  ASSERT_TRUE(hearth::testmodel::WriteMmproj({.types = "gemma4v,gemma4a", .variant = "g4-e2b"}, d + "/e2bp.gguf").ok());
  ASSERT_TRUE(hearth::testmodel::Write({.variant = "g3-4b", .type = "q8_0"}, d + "/g3m.gguf").ok());
  auto tokens = [](const std::string& args) -> int64_t {
    const Out o = HearthJson("run -t 2 -n 2 --temp 0 " + args);
    if (o.exit_code != 0) return -1;
    return nlohmann::json::parse(o.text)["timings"]["prompt_tokens"].get<int64_t>();
  };
  const std::string media = " --image " + kGolden + "image-300x200.png --audio " + kGolden + "tone-440hz-1s.wav";
  const int64_t e2b_text = tokens("-m " + d + "/e2b.gguf -p hi");
  const int64_t e2b = tokens("-m " + d + "/e2b.gguf --mmproj " + d + "/e2bp.gguf" + media + " -p hi");
  if (e2b < 0 && Hearth("run -m " + d + "/e2b.gguf --mmproj " + d + "/e2bp.gguf" + media + " -p hi")
                         .text.find("without media decoding") != std::string::npos) {
    GTEST_SKIP() << "built without media decoding";
  }
  ASSERT_GT(e2b_text, 0);
  // 300x200 -> 384x288: 24x18 patches of 16 pooled 3x3 -> 48 tokens; 1 s of audio -> 25.
  EXPECT_EQ(e2b - e2b_text, 48 + 2 + 25 + 2);
  const int64_t g3_text = tokens("-m " + d + "/g3m.gguf -p hi");
  const int64_t g3 = tokens("-m " + d + "/g3m.gguf --mmproj " + d + "/g3.gguf --image " + kGolden +
                            "image-300x200.png -p hi");
  ASSERT_GT(g3_text, 0);
  EXPECT_EQ(g3 - g3_text, 4 + 2);
  // Gemma 3 prompts hold no audio.
  ExpectError(Hearth("run -t 2 -n 1 -m " + d + "/g3m.gguf --mmproj " + d + "/g3.gguf --audio " + kGolden +
                     "tone-440hz-1s.wav -p hi"),
              {"takes no audio"});
}

TEST_F(CliMmTest, BadMultimodalInputIsAClearError) {
  const std::string img = " --image " + kGolden + "image-300x200.png -p hi";
  ExpectError(Hearth(Base() + img), {"--mmproj"});
  ExpectError(Hearth(Base() + " --mmproj " + *dir_ + "/g3.gguf" + img), {"g3.gguf", "Gemma 3"});
  ExpectError(Hearth(Base() + " --mmproj " + *dir_ + "/m.gguf" + img), {"not a multimodal projector"});
  ExpectError(Hearth(Base() + " --mmproj " + *dir_ + "/missing.gguf" + img), {"missing.gguf"});
  ExpectError(Hearth(Base() + " --mmproj " + *dir_ + "/v.gguf --audio " + kGolden + "tone-440hz-1s.wav -p hi"),
              {"tone-440hz-1s.wav", "takes no audio"});
  ExpectError(Hearth(Base() + " --mmproj " + *dir_ + "/p.gguf --prompt-tokens 2,3" +
                     " --image " + kGolden + "image-300x200.png"),
              {"--prompt-tokens"});
  // A file that is not an image.
  ExpectError(Hearth(Base() + " --mmproj " + *dir_ + "/p.gguf --image " + kGolden + "README.md -p hi"),
              {"README.md"});
}

}  // namespace
