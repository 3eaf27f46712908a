// Media bytes to projector rows: decoding (src/media) and encoding (the projector) in one place,
// shared by `hearth run` / `hearth chat` and the server.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "media/media.h"
#include "mm/projector.h"

namespace hearth::mm {

enum class MediaKind { kImage, kAudio, kVideo };

struct MediaEncodeOptions {
  ImageOptions image;    // token budget per image (and per video frame)
  media::Limits limits;  // decoding limits (bytes, pixels, duration, frame rate and cap)
};

struct EncodedMedia {
  std::vector<Embeddings> rows;     // one per image; one per audio chunk; a video's frames, then
                                    // its sound (video_index and frame times set)
  bool video_sound_dropped = false; // the video had sound the projector cannot hear
};

// Decodes `bytes` as `kind` and encodes it. Errors say what is wrong (the projector lacks the
// medium, the bytes do not decode, a limit is exceeded) but not where: callers name the file or
// the request part.
Result<EncodedMedia> EncodeMedia(const Projector& proj, MediaKind kind,
                                 std::span<const uint8_t> bytes, const MediaEncodeOptions& o,
                                 int video_index, ThreadPool& pool);

}  // namespace hearth::mm
