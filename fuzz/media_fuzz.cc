// libFuzzer target for the media decoders (src/media/). The first byte picks the entry point:
// 0 DecodeImage, 1 DecodeAudio, 2 DecodeVideo, 3 ParseDataUri/DecodeBase64, anything else the
// decoder Sniff chooses; the rest is the input. Limits are small so that one input stays fast;
// every accepted result is checked for internal consistency (sizes, ranges, frame order).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string_view>

#include "media/media.h"

namespace {

using namespace hearth::media;

void Require(bool ok) {
  if (!ok) std::abort();
}

void CheckImage(const Image& im, const Limits& limits) {
  Require(im.width > 0 && im.height > 0);
  Require(int64_t{im.width} * im.height <= limits.max_pixels);
  Require(im.rgb.size() == size_t(im.width) * im.height * 3);
}

void CheckAudio(const Audio& a, const Limits& limits) {
  Require(a.sample_rate == 16000);
  Require(!a.samples.empty());
  Require(a.samples.size() <= size_t(limits.max_audio_s * 16000) + 16000);
  for (float v : a.samples) Require(v >= -1.0f && v <= 1.0f);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  std::span<const uint8_t> bytes(data + 1, size - 1);
  Limits limits;
  limits.max_pixels = 4'000'000;
  limits.max_audio_s = 60;
  limits.max_video_s = 60;
  limits.max_frames = 4;
  Kind kind = Sniff(bytes);
  switch (selector) {
    case 0: kind = Kind::kImage; break;
    case 1: kind = Kind::kAudio; break;
    case 2: kind = Kind::kVideo; break;
    case 3: {
      std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      if (auto r = ParseDataUri(text, limits); r.ok()) {
        Require(int64_t(r->bytes.size()) <= limits.max_bytes);
      }
      if (auto r = DecodeBase64(text, limits); r.ok()) Require(r->size() <= text.size());
      return 0;
    }
    default: break;
  }
  switch (kind) {
    case Kind::kImage:
      if (auto r = DecodeImage(bytes, limits); r.ok()) CheckImage(*r, limits);
      break;
    case Kind::kAudio:
      if (auto r = DecodeAudio(bytes, limits); r.ok()) CheckAudio(*r, limits);
      break;
    case Kind::kVideo:
      if (auto r = DecodeVideo(bytes, limits); r.ok()) {
        Require(!r->frames.empty() && int(r->frames.size()) <= limits.max_frames);
        double last = -1;
        for (const VideoFrame& f : r->frames) {
          CheckImage(f.image, limits);
          Require(f.time_s >= last);
          last = f.time_s;
        }
        if (r->has_audio) CheckAudio(r->audio, limits);
      }
      break;
    case Kind::kUnknown:
      Require(!DecodeImage(bytes, limits).ok());
      break;
  }
  return 0;
}
