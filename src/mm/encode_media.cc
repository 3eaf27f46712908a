#include "mm/encode_media.h"

namespace hearth::mm {

Result<EncodedMedia> EncodeMedia(const Projector& proj, MediaKind kind,
                                 std::span<const uint8_t> bytes, const MediaEncodeOptions& o,
                                 int video_index, ThreadPool& pool) {
  EncodedMedia out;
  if (kind != MediaKind::kAudio && !proj.has_vision())
    return FailedPreconditionError("the projector " + proj.path() + " takes no images");
  if (kind == MediaKind::kAudio && !proj.has_audio())
    return FailedPreconditionError("the projector " + proj.path() +
                                   (proj.has_vision() ? " (" + proj.vision_type() + ")" : "") +
                                   " takes no audio");
  switch (kind) {
    case MediaKind::kImage: {
      ASSIGN_OR_RETURN(media::Image img, media::DecodeImage(bytes, o.limits));
      ASSIGN_OR_RETURN(Embeddings e,
                       proj.EncodeImage(img.width, img.height, img.rgb.data(), o.image, pool));
      out.rows.push_back(std::move(e));
      return out;
    }
    case MediaKind::kAudio: {
      ASSIGN_OR_RETURN(media::Audio a, media::DecodeAudio(bytes, o.limits));
      ASSIGN_OR_RETURN(out.rows, proj.EncodeAudio(a.samples, pool));
      return out;
    }
    case MediaKind::kVideo: {
      ASSIGN_OR_RETURN(media::Video v, media::DecodeVideo(bytes, o.limits));
      if (v.frames.empty()) return InvalidArgumentError("no frames could be decoded");
      for (const media::VideoFrame& f : v.frames) {
        ASSIGN_OR_RETURN(Embeddings e, proj.EncodeImage(f.image.width, f.image.height,
                                                        f.image.rgb.data(), o.image, pool));
        e.video_index = video_index;
        e.frame_time_s = f.time_s;
        out.rows.push_back(std::move(e));
      }
      if (v.has_audio && !v.audio.samples.empty()) {
        if (proj.has_audio()) {
          ASSIGN_OR_RETURN(std::vector<Embeddings> sound, proj.EncodeAudio(v.audio.samples, pool));
          for (Embeddings& e : sound) {
            e.video_index = video_index;
            out.rows.push_back(std::move(e));
          }
        } else {
          out.video_sound_dropped = true;
        }
      }
      return out;
    }
  }
  return InternalError("unknown media kind");
}

}  // namespace hearth::mm
