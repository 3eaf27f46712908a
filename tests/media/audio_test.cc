// Audio decoding on files made at test time by sox, espeak-ng and ffmpeg: a 440 Hz tone must come
// back as 440 Hz, 16 kHz, mono, the right length and level, from every container and codec.
#include <gtest/gtest.h>

#include <cmath>

#include "media/media.h"
#include "tests/media/test_util.h"

namespace hearth::media {
namespace {

using testing::MediaTest;

class AudioTest : public MediaTest {
 protected:
  // Decodes `name` and checks it is a `seconds`-long 440 Hz tone at `peak` amplitude.
  void ExpectTone(const std::string& name, double seconds, double peak, double len_tol_s = 0.002,
                  double peak_tol = 0.02) {
    SCOPED_TRACE(name);
    std::vector<uint8_t> bytes = Read(name);
    Result<Audio> a = DecodeAudio(bytes);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->sample_rate, 16000);
    EXPECT_NEAR(a->samples.size() / 16000.0, seconds, len_tol_s);
    EXPECT_NEAR(testing::ZeroCrossingHz(a->samples, 16000), 440.0, 2.0);
    // Level from the RMS (a sine's is peak / sqrt 2): lossy codecs overshoot single peaks.
    EXPECT_NEAR(testing::Rms(a->samples) * std::sqrt(2.0), peak, peak_tol);
    for (float v : a->samples) ASSERT_TRUE(v >= -1.0f && v <= 1.0f);
  }
  // sox synthesises a 1 s, 440 Hz sine at amplitude 0.5 in the given output format.
  void Tone(const std::string& out_args, double seconds = 1.0) {
    Sh("sox -n " + out_args + " synth " + std::to_string(seconds) + " sine 440 vol 0.5");
  }
};

TEST_F(AudioTest, WavVariants) {
  REQUIRE_TOOL("sox");
  Tone("-r 44100 -b 16 -c 1 s16_44k.wav");
  ExpectTone("s16_44k.wav", 1.0, 0.5);
  Tone("-r 48000 -b 24 -c 1 s24_48k.wav");
  ExpectTone("s24_48k.wav", 1.0, 0.5);
  Tone("-r 22050 -e floating-point -b 32 -c 1 f32.wav");
  ExpectTone("f32.wav", 1.0, 0.5);
  Tone("-r 8000 -b 16 -c 1 s16_8k.wav");
  ExpectTone("s16_8k.wav", 1.0, 0.5);
  Tone("-r 16000 -b 16 -c 1 s16_16k.wav");
  ExpectTone("s16_16k.wav", 1.0, 0.5);
  Tone("-r 16000 -b 8 -e unsigned-integer -c 1 u8.wav");
  ExpectTone("u8.wav", 1.0, 0.5, 0.002, 0.03);
}

TEST_F(AudioTest, StereoDownMixIsTheMean) {
  REQUIRE_TOOL("sox");
  // Same tone in both channels: unchanged. Tone left, silence right: half the amplitude.
  Tone("-r 44100 -b 16 -c 2 both.wav");
  ExpectTone("both.wav", 1.0, 0.5);
  Sh("sox -n -r 44100 -b 16 -c 2 left.wav synth 1 sine 440 vol 0.5 remix 1 0");
  ExpectTone("left.wav", 1.0, 0.25);
  // Opposite phases cancel.
  Sh("sox -n -r 16000 -b 16 -c 2 anti.wav synth 1 sine 440 sine 440 vol 0.5 remix 1 2v-1");
  Result<Audio> a = DecodeAudio(Read("anti.wav"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_LT(testing::Peak(a->samples), 0.001);
}

TEST_F(AudioTest, FlacOggMp3) {
  REQUIRE_TOOL("sox");
  Tone("-r 44100 -b 16 -c 1 t.flac");
  ExpectTone("t.flac", 1.0, 0.5);
  Tone("-r 44100 -c 2 t.ogg");
  // Ogg is decoded by FFmpeg, which drops the few ms of the first Vorbis half-block.
  ExpectTone("t.ogg", 1.0, 0.5, 0.005, 0.05);

  Tone("-r 44100 -c 1 t.mp3");
  if (::testing::Test::HasFatalFailure()) return;
  // MP3 frames are 1152 samples with encoder delay; the decoder trims what the LAME header says.
  ExpectTone("t.mp3", 1.0, 0.5, 0.08, 0.06);
}

TEST_F(AudioTest, OggOpus) {
  REQUIRE_TOOL("ffmpeg");
  // lavfi's sine has amplitude 1/8; x4 makes 0.5.
  Ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=48000:duration=1 -af volume=4 "
         "-c:a libopus t.ogg");
  ExpectTone("t.ogg", 1.0, 0.5, 0.01, 0.05);
}

TEST_F(AudioTest, ContainerAudio) {
  REQUIRE_TOOL("ffmpeg");
  // lavfi's sine has amplitude 1/8.
  Ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=48000:duration=2 -c:a aac a.m4a");
  EXPECT_EQ(Sniff(Read("a.m4a")), Kind::kAudio);
  ExpectTone("a.m4a", 2.0, 0.125, 0.03, 0.02);
  Ffmpeg("-f lavfi -i sine=frequency=440:sample_rate=48000:duration=2 -c:a libopus a.webm");
  ExpectTone("a.webm", 2.0, 0.125, 0.03, 0.02);
}

TEST_F(AudioTest, Speech) {
  REQUIRE_TOOL("espeak-ng");
  Sh("espeak-ng -w speech.wav 'Hello from the hearth media test.'");
  Result<Audio> a = DecodeAudio(Read("speech.wav"));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_GT(a->samples.size(), 16000u);      // well over a second of speech
  EXPECT_LT(a->samples.size(), 16000u * 6);
  EXPECT_GT(testing::Rms(a->samples), 0.02);  // not silence
}

TEST_F(AudioTest, GoldenTone) {
  Result<std::vector<uint8_t>> b = ReadFile(HEARTH_SOURCE_DIR "/tests/data/golden/tone-440hz-1s.wav");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Result<Audio> a = DecodeAudio(*b);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->samples.size(), 16000u);
  EXPECT_NEAR(testing::ZeroCrossingHz(a->samples, 16000), 440.0, 1.0);
}

TEST_F(AudioTest, DurationLimit) {
  REQUIRE_TOOL("sox");
  Tone("-r 16000 -b 16 -c 1 long.wav", 3.0);
  Limits limits;
  limits.max_audio_s = 2;
  Result<Audio> a = DecodeAudio(Read("long.wav"), limits);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("3.0 s"), std::string::npos) << a.status().message();
  EXPECT_NE(a.status().message().find("2.0 s"), std::string::npos) << a.status().message();
}

}  // namespace
}  // namespace hearth::media
