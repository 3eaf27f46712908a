// Shared between the media decoders; not part of the API.
#pragma once

#include <cstdint>
#include <span>
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

// Interleaved float samples at any rate -> mono (mean of channels) 16 kHz in [-1, 1].
Result<Audio> MonoResample16k(const std::vector<float>& interleaved, int channels, int rate,
                              const Limits& limits, std::string_view format);

}  // namespace hearth::media::internal
