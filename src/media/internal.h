// Shared between the media decoders; not part of the API.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "media/media.h"

namespace hearth::media::internal {

// OK when width x height is positive and within limits.max_pixels; else an error naming the format
// and both numbers.
Status CheckPixels(std::string_view format, int64_t width, int64_t height, const Limits& limits);
// OK when the encoded size is within limits.max_bytes.
Status CheckBytes(std::string_view what, size_t size, const Limits& limits);

Result<Image> DecodeBmp(std::span<const uint8_t> bytes, const Limits& limits);
// The first frame of a GIF, through libavformat/libavcodec.
Result<Image> DecodeGifFirstFrame(std::span<const uint8_t> bytes, const Limits& limits);
// The first audio track of an MP4, Matroska or Ogg file, through libavformat/libavcodec.
Result<Audio> DecodeContainerAudio(std::span<const uint8_t> bytes, const Limits& limits);

// Interleaved float blocks at any rate -> mono (mean of channels) 16 kHz in [-1, 1], resampled
// as the blocks arrive so that only the 16 kHz result is ever held (a long, high-rate,
// many-channel input would otherwise need gigabytes before it is reduced).
class MonoResampler {
 public:
  MonoResampler(int channels, int rate, const Limits& limits, std::string format);
  ~MonoResampler();
  MonoResampler(const MonoResampler&) = delete;
  MonoResampler& operator=(const MonoResampler&) = delete;

  Status Add(const float* interleaved, size_t frames);
  // The whole result; an error when no samples came in.
  Result<Audio> Finish();
  int64_t input_frames() const { return in_frames_; }

 private:
  Status Push(const float* mono, size_t n);
  int channels_, rate_;
  Limits limits_;
  std::string format_;
  void* soxr_ = nullptr;  // soxr_t, kept out of this header
  std::vector<float> mono_, out_;
  int64_t in_frames_ = 0;
};

}  // namespace hearth::media::internal
