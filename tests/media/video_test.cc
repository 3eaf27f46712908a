// Video decoding on files made at test time by ffmpeg: 5 s clips whose first 2.5 s are red and
// last 2.5 s blue, at 10 frames per second, with a 440 Hz tone or without audio, in every
// container/codec pair hearth reads.
#include <gtest/gtest.h>

#include "media/media.h"
#include "tests/media/test_util.h"

namespace hearth::media {
namespace {

using testing::MediaTest;
using testing::Near;
using testing::Px;

class VideoTest : public MediaTest {
 protected:
  // Red then blue, 64x48 at 10 fps, 5 s; with a 5 s 440 Hz tone when `audio_codec` is not empty.
  void MakeClip(const std::string& out, const std::string& video_codec,
                const std::string& audio_codec, const std::string& extra = "") {
    std::string in =
        "-f lavfi -i color=c=red:s=64x48:r=10:d=2.5 -f lavfi -i color=c=blue:s=64x48:r=10:d=2.5 ";
    std::string graph = "-filter_complex '[0][1]concat=n=2:v=1:a=0[v]' -map '[v]' ";
    if (!audio_codec.empty()) {
      in += "-f lavfi -i sine=frequency=440:sample_rate=44100:duration=5 ";
      graph += "-map 2:a -c:a " + audio_codec + " ";
    }
    Ffmpeg(in + graph + "-c:v " + video_codec + " -pix_fmt yuv420p " + extra + " " + out);
  }

  Video Decode(const std::string& name, const Limits& limits = {}) {
    std::vector<uint8_t> bytes = Read(name);
    EXPECT_EQ(Sniff(bytes), Kind::kVideo) << name;
    Result<Video> v = DecodeVideo(bytes, limits);
    EXPECT_TRUE(v.ok()) << name << ": " << v.status().ToString();
    return v.ok() ? *v : Video{};
  }

  void ExpectClip(const std::string& name, bool audio) {
    SCOPED_TRACE(name);
    Video v = Decode(name);
    EXPECT_NEAR(v.duration_s, 5.0, 0.15);
    ASSERT_EQ(v.frames.size(), 5u);
    for (int i = 0; i < 5; ++i) {
      const VideoFrame& f = v.frames[i];
      EXPECT_NEAR(f.time_s, i, 0.01) << i;
      ASSERT_EQ(f.image.width, 64);
      ASSERT_EQ(f.image.height, 48);
      // BT.601 limited-range round trip of pure red/blue lands within a few levels.
      std::array<int, 3> want = i < 3 ? std::array<int, 3>{255, 0, 0} : std::array<int, 3>{0, 0, 255};
      EXPECT_TRUE(Near(Px(f.image, 32, 24), want, 24)) << "frame " << i;
    }
    EXPECT_EQ(v.has_audio, audio);
    if (audio) {
      EXPECT_EQ(v.audio.sample_rate, 16000);
      EXPECT_NEAR(v.audio.samples.size() / 16000.0, 5.0, 0.1);
      EXPECT_NEAR(testing::ZeroCrossingHz(v.audio.samples, 16000), 440.0, 2.0);
    } else {
      EXPECT_TRUE(v.audio.samples.empty());
    }
  }
};

TEST_F(VideoTest, Mp4H264Aac) {
  REQUIRE_TOOL("ffmpeg");
  MakeClip("v.mp4", "libx264", "aac");
  ExpectClip("v.mp4", true);
}

TEST_F(VideoTest, Mp4WithoutAudio) {
  REQUIRE_TOOL("ffmpeg");
  MakeClip("silent.mp4", "libx264", "");
  ExpectClip("silent.mp4", false);
}

TEST_F(VideoTest, WebmVp8Vorbis) {
  REQUIRE_TOOL("ffmpeg");
  MakeClip("v8.webm", "libvpx", "libvorbis", "-b:v 200k");
  ExpectClip("v8.webm", true);
}

TEST_F(VideoTest, WebmVp9Opus) {
  REQUIRE_TOOL("ffmpeg");
  MakeClip("v9.webm", "libvpx-vp9", "libopus", "-b:v 200k -deadline realtime -cpu-used 8");
  ExpectClip("v9.webm", true);
}

TEST_F(VideoTest, MkvH264Flac) {
  REQUIRE_TOOL("ffmpeg");
  MakeClip("v.mkv", "libx264", "flac");
  ExpectClip("v.mkv", true);
}

TEST_F(VideoTest, MaxFramesSpreadsEvenly) {
  REQUIRE_TOOL("ffmpeg");
  MakeClip("v.mp4", "libx264", "");
  Limits limits;
  limits.max_frames = 3;
  Video v = Decode("v.mp4", limits);
  // 5 frames at 1 fps is more than 3: targets 0, 5/3, 10/3 s -> the first frames at or after.
  ASSERT_EQ(v.frames.size(), 3u);
  EXPECT_NEAR(v.frames[0].time_s, 0.0, 0.01);
  EXPECT_NEAR(v.frames[1].time_s, 1.7, 0.01);
  EXPECT_NEAR(v.frames[2].time_s, 3.4, 0.01);
  EXPECT_TRUE(Near(Px(v.frames[1].image, 32, 24), {255, 0, 0}, 24));
  EXPECT_TRUE(Near(Px(v.frames[2].image, 32, 24), {0, 0, 255}, 24));

  limits = Limits{};
  limits.video_fps = 2;  // every half second: 10 frames
  v = Decode("v.mp4", limits);
  ASSERT_EQ(v.frames.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(v.frames[i].time_s, i * 0.5, 0.01) << i;
}

TEST_F(VideoTest, RotationIsApplied) {
  REQUIRE_TOOL("ffmpeg");
  // 64x48 red-over-blue (top half red), tagged to be shown rotated 90 degrees clockwise.
  Ffmpeg("-f lavfi -i color=c=red:s=64x24:r=10:d=1 -f lavfi -i color=c=blue:s=64x24:r=10:d=1 "
         "-filter_complex '[0][1]vstack' -c:v libx264 -pix_fmt yuv420p plain.mp4");
  // FFmpeg 5.1 stores "rotate=90" as a display matrix of 90 degrees anticlockwise.
  Ffmpeg("-i plain.mp4 -c copy -metadata:s:v:0 rotate=90 rot.mp4");
  Video v = Decode("rot.mp4");
  ASSERT_FALSE(v.frames.empty());
  const Image& im = v.frames[0].image;
  ASSERT_EQ(im.width, 48);
  ASSERT_EQ(im.height, 64);
  // Turned anticlockwise, the top (red) goes to the left.
  EXPECT_TRUE(Near(Px(im, 8, 32), {255, 0, 0}, 24));
  EXPECT_TRUE(Near(Px(im, 40, 32), {0, 0, 255}, 24));
  // And ffmpeg's own auto-rotated decode of the same frame agrees.
  Ffmpeg("-i rot.mp4 -frames:v 1 -f rawvideo -pix_fmt rgb24 rot.rgb");
  std::vector<uint8_t> ref = Read("rot.rgb");
  ASSERT_EQ(ref.size(), im.rgb.size());
  int worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(ref[i] - im.rgb[i]));
  EXPECT_LE(worst, 40);  // scaler rounding; a wrong rotation would differ by 255
}

TEST_F(VideoTest, AudioOnlyContainerHasNoVideoStream) {
  REQUIRE_TOOL("ffmpeg");
  Ffmpeg("-f lavfi -i sine=frequency=440:duration=1 -c:a aac a.m4a");
  Ffmpeg("-f lavfi -i sine=frequency=440:duration=1 -c:a libvorbis a.mka");
  for (const char* name : {"a.m4a", "a.mka"}) {
    Result<Video> v = DecodeVideo(Read(name));
    ASSERT_FALSE(v.ok()) << name;
    EXPECT_NE(v.status().message().find("no video stream"), std::string::npos)
        << v.status().message();
    EXPECT_NE(v.status().message().find("audio"), std::string::npos) << v.status().message();
    // The same bytes are fine as audio.
    EXPECT_TRUE(DecodeAudio(Read(name)).ok()) << name;
  }
}

TEST_F(VideoTest, Limits) {
  REQUIRE_TOOL("ffmpeg");
  MakeClip("v.mp4", "libx264", "");
  Limits limits;
  limits.max_video_s = 2;
  Result<Video> v = DecodeVideo(Read("v.mp4"), limits);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("limit of 2.00 s"), std::string::npos) << v.status().message();
  limits = Limits{};
  limits.max_pixels = 1000;
  v = DecodeVideo(Read("v.mp4"), limits);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("64x48 = 3072 pixels, more than the limit of 1000"),
            std::string::npos)
      << v.status().message();
}

}  // namespace
}  // namespace hearth::media
