// Media decoding: encoded image, audio and video bytes -> pixels, 16 kHz mono samples and sampled
// frames, for the multimodal projectors (src/mm). No model knowledge here.
//
// Every entry point treats its input as hostile: the format is found from magic bytes (never a
// file name), every decoder's own size limits are set before it allocates, and `Limits` bounds
// the encoded bytes, the decoded pixels of any image or frame, and decoded durations. Corrupt,
// truncated, mislabelled or oversized input is an error Status naming the format, what is wrong
// and, for a limit, both numbers; nothing crashes or reads out of bounds (fuzz/media_fuzz.cc).
//
//   ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, media::ReadFile("cat.jpg"));
//   ASSIGN_OR_RETURN(media::Image img, media::DecodeImage(bytes));
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace hearth::media {

// 8-bit RGB, row-major, `width * height * 3` bytes, with the EXIF orientation (JPEG APP1, PNG
// eXIf, WebP EXIF) already applied, so `width`/`height` are the displayed ones. Alpha is dropped, not
// composited: the colour stored under a transparent pixel is kept, which is what llama.cpp does
// (stb_image asked for 3 channels). 16-bit samples keep their high byte, as stb_image does.
struct Image {
  int width = 0, height = 0;
  std::vector<uint8_t> rgb;
};

// Mono (the mean of the channels), resampled to 16 kHz with soxr, F32 clamped to [-1, 1].
struct Audio {
  std::vector<float> samples;
  int sample_rate = 16000;
};

struct VideoFrame {
  double time_s = 0;  // presentation time of the decoded frame, from the start of the stream
  Image image;        // the container's rotation (display matrix) applied
};

struct Video {
  std::vector<VideoFrame> frames;  // in time order
  bool has_audio = false;
  Audio audio;  // the first audio track, when has_audio
  double duration_s = 0;
};

struct Limits {
  int64_t max_bytes = 64 << 20;     // encoded input
  int64_t max_pixels = 50'000'000;  // width*height of any decoded image/frame (decompression bombs)
  double max_audio_s = 20 * 60;     // decoded audio duration
  double max_video_s = 20 * 60;
  double video_fps = 1.0;  // frames sampled per second
  int max_frames = 32;     // cap on sampled frames (spread evenly over the video when more)
};

enum class Kind { kImage, kAudio, kVideo, kUnknown };
std::string_view KindName(Kind kind);

// By magic bytes, never by file name. MP4/MOV (ftyp) and Matroska/WebM (EBML) are kVideo even
// when they hold only audio (DecodeAudio reads those too).
Kind Sniff(std::span<const uint8_t> bytes);
// The format's short name from its magic bytes ("jpeg", "png", "wav", "mp4", "matroska", ...), or
// "unknown". Used in error messages.
std::string_view SniffFormat(std::span<const uint8_t> bytes);

// JPEG, PNG, WebP (first frame of an animation), GIF (first frame), BMP (1/4/8-bit paletted,
// RLE4/RLE8, 16/24/32-bit incl. bit fields, bottom-up and top-down).
Result<Image> DecodeImage(std::span<const uint8_t> bytes, const Limits& limits = {});
// WAV, FLAC, MP3 (libsndfile); Ogg (Vorbis, Opus, FLAC) and the audio track of an MP4/M4A or
// WebM/MKV file (libavformat).
// -> mono 16 kHz. No samples at all is an error.
Result<Audio> DecodeAudio(std::span<const uint8_t> bytes, const Limits& limits = {});
// MP4/MOV, WebM, MKV: frames sampled at `limits.video_fps` (the first decoded frame at or after
// each time k / fps; when that gives more than `limits.max_frames`, the times are spread evenly
// over the duration instead) plus the first audio track. No video stream is an error.
Result<Video> DecodeVideo(std::span<const uint8_t> bytes, const Limits& limits = {});

// Reads a whole file; errors name the path; refuses files larger than `limits.max_bytes`.
Result<std::vector<uint8_t>> ReadFile(const std::string& path, const Limits& limits = {});

// "data:image/png;base64,...." -> the bytes and the media type (lower-cased, without parameters).
// Text that does not start with "data:" is taken as plain base64 (Ollama `images`, OpenAI
// `input_audio.data`) and gives an empty media type. A data URI without ";base64" is an error.
struct DataUri {
  std::string media_type;
  std::vector<uint8_t> bytes;
};
Result<DataUri> ParseDataUri(std::string_view uri, const Limits& limits = {});
// Standard alphabet (RFC 4648 §4); padding optional but, when present, correct; ASCII whitespace
// (line breaks of MIME-style encoders) is skipped. Any other character is an error naming it and
// its offset. Refuses output larger than `limits.max_bytes` before decoding.
Result<std::vector<uint8_t>> DecodeBase64(std::string_view text, const Limits& limits = {});

// Applies an EXIF orientation (1..8; anything else leaves the image as it is). Exposed for tests
// and for callers holding their own orientation.
Image ApplyOrientation(Image image, int orientation);
// The Orientation tag (0x0112) of IFD0 of a TIFF-structured EXIF block (starting at the byte
// order mark "II"/"MM"; a leading "Exif\0\0" is skipped), or 1 when absent or malformed.
int ExifOrientation(std::span<const uint8_t> exif);

}  // namespace hearth::media
