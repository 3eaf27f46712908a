// Video (MP4/MOV, WebM/MKV), GIF's first frame, and container audio through libavformat and
// libavcodec, reading from memory through a custom AVIOContext. Only the named demuxers are
// allowed (format_whitelist), so bytes that merely look like something else never reach the
// other ~300 demuxers.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include "media/internal.h"
#include "media/media.h"

namespace hearth::media {
namespace {

using internal::CheckPixels;

// "Ogg", "MP4", "Matroska" for messages, from the sniffed format.
std::string ContainerName(std::string_view sniffed) {
  if (sniffed == "ogg") return "Ogg";
  if (sniffed == "mp4" || sniffed == "m4a") return "MP4";
  if (sniffed == "matroska") return "Matroska";
  return std::string(sniffed);
}

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f s", s);
  return buf;
}

struct MemoryReader {
  std::span<const uint8_t> data;
  int64_t pos = 0;
};

int ReadPacket(void* opaque, uint8_t* buf, int size) {
  auto* r = static_cast<MemoryReader*>(opaque);
  int64_t left = static_cast<int64_t>(r->data.size()) - r->pos;
  if (left <= 0) return AVERROR_EOF;
  int n = static_cast<int>(std::min<int64_t>(size, left));
  std::memcpy(buf, r->data.data() + r->pos, n);
  r->pos += n;
  return n;
}

int64_t Seek(void* opaque, int64_t offset, int whence) {
  auto* r = static_cast<MemoryReader*>(opaque);
  const int64_t size = static_cast<int64_t>(r->data.size());
  if (whence & AVSEEK_SIZE) return size;
  whence &= ~AVSEEK_FORCE;
  int64_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? r->pos : whence == SEEK_END ? size : -1;
  if (base < 0 || offset > size || offset < -size) return AVERROR(EINVAL);
  int64_t to = base + offset;
  if (to < 0 || to > size) return AVERROR(EINVAL);
  r->pos = to;
  return to;
}

// An opened container and the decoders of the chosen streams; frees everything it holds.
class Container {
 public:
  ~Container() {
    avcodec_free_context(&video_dec_);
    avcodec_free_context(&audio_dec_);
    sws_freeContext(sws_);
    swr_free(&swr_);
    avformat_close_input(&fmt_);
    if (avio_) av_freep(&avio_->buffer);
    avio_context_free(&avio_);
  }

  Status Open(std::span<const uint8_t> bytes, const char* whitelist, std::string_view label) {
    static std::once_flag quiet;
    std::call_once(quiet, [] { av_log_set_level(AV_LOG_QUIET); });  // errors come back as Status
    label_ = label;
    reader_.data = bytes;
    constexpr int kBuf = 64 << 10;
    auto* buffer = static_cast<uint8_t*>(av_malloc(kBuf));
    if (!buffer) return ResourceExhaustedError(label_ + ": out of memory");
    avio_ = avio_alloc_context(buffer, kBuf, 0, &reader_, ReadPacket, nullptr, Seek);
    if (!avio_) {
      av_free(buffer);
      return ResourceExhaustedError(label_ + ": out of memory");
    }
    fmt_ = avformat_alloc_context();
    if (!fmt_) return ResourceExhaustedError(label_ + ": out of memory");
    fmt_->pb = avio_;
    fmt_->flags |= AVFMT_FLAG_CUSTOM_IO;
    fmt_->format_whitelist = av_strdup(whitelist);
    int err = avformat_open_input(&fmt_, nullptr, nullptr, nullptr);
    if (err < 0) {  // fmt_ is freed and nulled by the failed call
      return DataLossError(label_ + ": corrupt, truncated or unsupported container: " +
                           AvError(err));
    }
    label_ = label_ + " (" + fmt_->iformat->name + ")";
    err = avformat_find_stream_info(fmt_, nullptr);
    if (err < 0) return DataLossError(label_ + ": cannot read stream info: " + AvError(err));
    return Status::Ok();
  }

  int FindStream(AVMediaType type) const {
    for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
      const AVStream* s = fmt_->streams[i];
      if (s->codecpar->codec_type == type && !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  std::string StreamList() const {
    std::string out;
    for (unsigned i = 0; i < fmt_->nb_streams; ++i) {
      const AVCodecParameters* p = fmt_->streams[i]->codecpar;
      if (!out.empty()) out += ", ";
      const char* type = av_get_media_type_string(p->codec_type);
      out += std::string(type ? type : "unknown") + " " + avcodec_get_name(p->codec_id);
    }
    return out.empty() ? "none" : out;
  }

  Result<AVCodecContext*> OpenDecoder(int index) {
    const AVCodecParameters* par = fmt_->streams[index]->codecpar;
    const AVCodec* codec = avcodec_find_decoder(par->codec_id);
    if (!codec) {
      return UnimplementedError(label_ + ": no decoder for codec " +
                                avcodec_get_name(par->codec_id));
    }
    AVCodecContext* ctx = avcodec_alloc_context3(codec);
    if (!ctx) return ResourceExhaustedError(label_ + ": out of memory");
    int err = avcodec_parameters_to_context(ctx, par);
    ctx->thread_count = 1;
    if (err >= 0) err = avcodec_open2(ctx, codec, nullptr);
    if (err < 0) {
      avcodec_free_context(&ctx);
      return DataLossError(label_ + ": cannot open the " + codec->name + " decoder: " +
                           AvError(err));
    }
    return ctx;
  }

  // Video frame -> RGB24 Image (any pixel format swscale reads; colour matrix and range from
  // the frame).
  Result<Image> ToRgb(const AVFrame* f, const Limits& limits) {
    TRY(CheckPixels(label_, f->width, f->height, limits));
    if (f->format < 0) return DataLossError(label_ + ": decoded frame has no pixel format");
    sws_ = sws_getCachedContext(sws_, f->width, f->height, static_cast<AVPixelFormat>(f->format),
                                f->width, f->height, AV_PIX_FMT_RGB24, SWS_BILINEAR, nullptr,
                                nullptr, nullptr);
    if (!sws_) {
      const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(f->format));
      return UnimplementedError(label_ + ": cannot convert pixel format " +
                                std::string(name ? name : "?") + " to RGB");
    }
    const int* coef = sws_getCoefficients(f->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709
                                                                            : SWS_CS_DEFAULT);
    sws_setColorspaceDetails(sws_, coef, f->color_range == AVCOL_RANGE_JPEG, coef, 1, 0, 1 << 16,
                             1 << 16);
    Image image;
    image.width = f->width;
    image.height = f->height;
    const size_t size = size_t(f->width) * f->height * 3;
    image.rgb.resize(size + 64);  // swscale's SIMD may store a little past the last row
    uint8_t* dst[4] = {image.rgb.data(), nullptr, nullptr, nullptr};
    int stride[4] = {f->width * 3, 0, 0, 0};
    int rows = sws_scale(sws_, f->data, f->linesize, 0, f->height, dst, stride);
    if (rows != f->height) return InternalError(label_ + ": pixel conversion failed");
    image.rgb.resize(size);
    return image;
  }

  // Feeds a decoded audio frame, as interleaved float, to the mono 16 kHz resampler.
  Status AppendAudio(const AVFrame* f, const Limits& limits) {
    const int ch = f->ch_layout.nb_channels;
    if (ch <= 0 || ch > 64 || f->sample_rate <= 0 || f->sample_rate > 1'000'000) {
      return DataLossError(label_ + ": invalid audio frame (" + std::to_string(ch) +
                           " channels at " + std::to_string(f->sample_rate) + " Hz)");
    }
    if (!mono_) {
      mono_ = std::make_unique<internal::MonoResampler>(ch, f->sample_rate, limits, label_);
      audio_channels_ = ch;
      audio_rate_ = f->sample_rate;
    } else if (ch != audio_channels_ || f->sample_rate != audio_rate_) {
      return DataLossError(label_ + ": audio changes from " + std::to_string(audio_channels_) +
                           " channels at " + std::to_string(audio_rate_) + " Hz to " +
                           std::to_string(ch) + " at " + std::to_string(f->sample_rate) +
                           " mid-stream");
    }
    if (!swr_ || f->format != swr_format_) {
      swr_free(&swr_);
      // (FFmpeg 5.1 takes the layouts as non-const pointers; it only reads them.)
      auto* layout = const_cast<AVChannelLayout*>(&f->ch_layout);
      int err = swr_alloc_set_opts2(&swr_, layout, AV_SAMPLE_FMT_FLT, f->sample_rate, layout,
                                    static_cast<AVSampleFormat>(f->format),
                                    f->sample_rate, 0, nullptr);
      if (err >= 0) err = swr_init(swr_);
      if (err < 0) return DataLossError(label_ + ": cannot convert the audio: " + AvError(err));
      swr_format_ = f->format;
    }
    const int cap = f->nb_samples + 256;
    block_.resize(size_t(cap) * ch);
    auto* out = reinterpret_cast<uint8_t*>(block_.data());
    int n = swr_convert(swr_, &out, cap, const_cast<const uint8_t**>(f->extended_data),
                        f->nb_samples);
    if (n < 0) return DataLossError(label_ + ": cannot convert the audio: " + AvError(n));
    return mono_->Add(block_.data(), static_cast<size_t>(n));
  }

  Result<Audio> TakeAudio() {
    if (!mono_) return InvalidArgumentError(label_ + ": the audio has no samples");
    return mono_->Finish();
  }

  bool HasAudio() const { return mono_ && mono_->input_frames() > 0; }
  AVFormatContext* fmt() { return fmt_; }
  const std::string& label() const { return label_; }
  AVCodecContext* video_dec_ = nullptr;
  AVCodecContext* audio_dec_ = nullptr;

 private:
  MemoryReader reader_;
  AVIOContext* avio_ = nullptr;
  AVFormatContext* fmt_ = nullptr;
  SwsContext* sws_ = nullptr;
  SwrContext* swr_ = nullptr;
  int swr_format_ = -1;
  std::unique_ptr<internal::MonoResampler> mono_;
  std::vector<float> block_;
  int audio_channels_ = 0, audio_rate_ = 0;
  std::string label_;
};

struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};

// The rotation (clockwise degrees, a multiple of 90) the stream's display matrix asks for.
int StreamRotation(const AVStream* s) {
  size_t size = 0;
  const uint8_t* m = av_stream_get_side_data(s, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (!m || size < 9 * sizeof(int32_t)) return 0;
  int32_t matrix[9];
  std::memcpy(matrix, m, sizeof(matrix));
  double ccw = av_display_rotation_get(matrix);
  if (!std::isfinite(ccw)) return 0;
  int cw = static_cast<int>(std::lround(-ccw / 90.0)) * 90;
  return ((cw % 360) + 360) % 360;
}

int OrientationForRotation(int cw) {
  return cw == 90 ? 6 : cw == 180 ? 3 : cw == 270 ? 8 : 1;
}

double FrameTime(const AVFrame* f, const AVStream* s) {
  int64_t ts = f->best_effort_timestamp;
  if (ts == AV_NOPTS_VALUE) ts = f->pts;
  if (ts == AV_NOPTS_VALUE) return -1;
  int64_t start = s->start_time == AV_NOPTS_VALUE ? 0 : s->start_time;
  return double(ts - start) * av_q2d(s->time_base);
}

// Drives the packet loop: video packets go to on_video (a decoded frame; return false to stop
// wanting video), audio packets are decoded into the container's audio buffer.
// Reads every packet (video ones are only decoded while on_video wants them), so `packets_end_s`
// ends up as the end time of the last packet in the file.
template <typename OnVideo>
Status DecodeLoop(Container& c, int vindex, int aindex, const Limits& limits, OnVideo on_video,
                  double* packets_end_s = nullptr) {
  std::unique_ptr<AVPacket, PacketDeleter> pkt(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameDeleter> frame(av_frame_alloc());
  if (!pkt || !frame) return ResourceExhaustedError(c.label() + ": out of memory");
  bool want_video = vindex >= 0;
  const bool want_audio = aindex >= 0;

  auto drain = [&](AVCodecContext* dec, bool video) -> Status {
    for (;;) {
      int err = avcodec_receive_frame(dec, frame.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return Status::Ok();
      if (err < 0) return DataLossError(c.label() + ": corrupt stream data: " + AvError(err));
      Status s = Status::Ok();
      if (video && want_video) {
        Result<bool> more = on_video(frame.get());
        if (!more.ok()) s = more.status();
        else want_video = *more;
      } else if (!video) {
        s = c.AppendAudio(frame.get(), limits);
      }
      av_frame_unref(frame.get());
      TRY(s);
    }
  };
  auto send = [&](AVCodecContext* dec, const AVPacket* p, bool video) -> Status {
    int err = avcodec_send_packet(dec, p);
    if (err < 0 && err != AVERROR(EAGAIN) && err != AVERROR_EOF) {
      return DataLossError(c.label() + ": corrupt " + (video ? "video" : "audio") +
                           " packet: " + AvError(err));
    }
    return drain(dec, video);
  };

  for (;;) {
    if (!want_video && !want_audio && !packets_end_s) break;
    int err = av_read_frame(c.fmt(), pkt.get());
    if (err == AVERROR_EOF) break;
    if (err < 0) return DataLossError(c.label() + ": corrupt or truncated: " + AvError(err));
    if (packets_end_s && pkt->pts != AV_NOPTS_VALUE && pkt->stream_index >= 0 &&
        pkt->stream_index < static_cast<int>(c.fmt()->nb_streams)) {
      const AVStream* st = c.fmt()->streams[pkt->stream_index];
      int64_t start = st->start_time == AV_NOPTS_VALUE ? 0 : st->start_time;
      double end = double(pkt->pts - start + std::max<int64_t>(pkt->duration, 0)) *
                   av_q2d(st->time_base);
      if (std::isfinite(end)) *packets_end_s = std::max(*packets_end_s, end);
    }
    Status s = Status::Ok();
    if (pkt->flags & AV_PKT_FLAG_CORRUPT) {
      s = DataLossError(c.label() + ": truncated or corrupt packet at byte " +
                        std::to_string(pkt->pos));
    } else if (pkt->stream_index == vindex && want_video) {
      s = send(c.video_dec_, pkt.get(), true);
    } else if (pkt->stream_index == aindex) {
      s = send(c.audio_dec_, pkt.get(), false);
    }
    av_packet_unref(pkt.get());
    TRY(s);
  }
  if (want_video) TRY(send(c.video_dec_, nullptr, true));
  if (want_audio) TRY(send(c.audio_dec_, nullptr, false));
  return Status::Ok();
}

// The top-level structure says how long the file is: an MP4 box or the Matroska Segment
// running past the end of the bytes means the file was cut (the demuxers would otherwise just
// stop early, and a cut inside the last second looks like a shorter video).
Status CheckContainerComplete(std::span<const uint8_t> b, std::string_view format) {
  auto be = [&](uint64_t at, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v = v << 8 | b[at + i];
    return v;
  };
  if (format == "mp4" || format == "m4a") {
    uint64_t pos = 0;
    while (pos + 8 <= b.size()) {
      uint64_t size = be(pos, 4), header = 8;
      if (size == 1) {
        if (pos + 16 > b.size()) break;
        size = be(pos + 8, 8);
        header = 16;
      } else if (size == 0) {
        break;  // extends to the end of the file
      }
      if (size < header) return DataLossError("MP4: corrupt box size at byte " + std::to_string(pos));
      if (size > b.size() - pos) {
        return DataLossError("MP4: truncated: the '" +
                             std::string(reinterpret_cast<const char*>(&b[pos + 4]), 4) +
                             "' box at byte " + std::to_string(pos) + " declares " +
                             std::to_string(size) + " bytes, " + std::to_string(b.size() - pos) +
                             " remain");
      }
      pos += size;
    }
    return Status::Ok();
  }
  if (format == "ogg") {
    // Pages: "OggS", version, flags, granule (8), serial (4), sequence (4), CRC (4), the segment
    // count and table; the body is the sum of the segments. A compliant stream ends with a page
    // flagged end-of-stream (0x04), so a file cut exactly between pages is found too.
    uint64_t pos = 0;
    bool eos = false;
    while (pos < b.size()) {
      if (b.size() - pos < 27 || std::memcmp(&b[pos], "OggS", 4) != 0) {
        return DataLossError("Ogg: " + std::string(b.size() - pos < 27 ? "truncated" : "corrupt") +
                             " page header at byte " + std::to_string(pos));
      }
      const uint64_t nseg = b[pos + 26];
      if (pos + 27 + nseg > b.size()) {
        return DataLossError("Ogg: truncated segment table at byte " + std::to_string(pos));
      }
      uint64_t body = 0;
      for (uint64_t i = 0; i < nseg; ++i) body += b[pos + 27 + i];
      const uint64_t len = 27 + nseg + body;
      if (len > b.size() - pos) {
        return DataLossError("Ogg: truncated: the page at byte " + std::to_string(pos) + " needs " +
                             std::to_string(len) + " bytes, " + std::to_string(b.size() - pos) +
                             " remain");
      }
      eos = (b[pos + 5] & 0x04) != 0;
      pos += len;
    }
    if (!eos) return DataLossError("Ogg: truncated: the last page is not flagged end-of-stream");
    return Status::Ok();
  }
  // Matroska: EBML header element, then the Segment (ID 18 53 80 67) with its size.
  uint64_t pos = 0;
  auto vint = [&](uint64_t& at, uint64_t& value, bool& unknown) -> bool {
    if (at >= b.size() || b[at] == 0) return false;
    int len = 1;
    while (!(b[at] & (0x80 >> (len - 1)))) ++len;
    if (at + len > b.size()) return false;
    value = b[at] & (0xFF >> len);
    bool all_ones = value == (0xFFu >> len);
    for (int i = 1; i < len; ++i) {
      value = value << 8 | b[at + i];
      all_ones = all_ones && b[at + i] == 0xFF;
    }
    unknown = all_ones;
    at += len;
    return true;
  };
  for (int element = 0; element < 2; ++element) {
    if (pos + 4 > b.size()) return Status::Ok();  // the demuxer reports a short header
    uint32_t id = static_cast<uint32_t>(be(pos, 4));
    pos += 4;
    uint64_t size = 0;
    bool unknown = false;
    if (!vint(pos, size, unknown) || unknown) return Status::Ok();
    if (size > b.size() - pos) {
      return DataLossError(std::string("Matroska: truncated: the ") +
                           (id == 0x18538067 ? "Segment" : "EBML header") + " at byte " +
                           std::to_string(pos) + " declares " + std::to_string(size) +
                           " bytes, " + std::to_string(b.size() - pos) + " remain");
    }
    if (id != 0x1A45DFA3) return Status::Ok();
    pos += size;
  }
  return Status::Ok();
}

}  // namespace

namespace internal {

Result<Image> DecodeGifFirstFrame(std::span<const uint8_t> bytes, const Limits& limits) {
  Container c;
  TRY(c.Open(bytes, "gif", "GIF"));
  int v = c.FindStream(AVMEDIA_TYPE_VIDEO);
  if (v < 0) return DataLossError("GIF: no image data");
  const AVCodecParameters* par = c.fmt()->streams[v]->codecpar;
  TRY(CheckPixels("GIF", par->width, par->height, limits));
  ASSIGN_OR_RETURN(c.video_dec_, c.OpenDecoder(v));
  std::optional<Image> first;
  TRY(DecodeLoop(c, v, -1, limits, [&](const AVFrame* f) -> Result<bool> {
    ASSIGN_OR_RETURN(first, c.ToRgb(f, limits));
    return false;
  }));
  if (!first) return DataLossError("GIF: corrupt or truncated: no frame could be decoded");
  return std::move(*first);
}

Result<Audio> DecodeContainerAudio(std::span<const uint8_t> bytes, const Limits& limits) {
  const std::string_view format = SniffFormat(bytes);
  TRY(CheckContainerComplete(bytes, format));
  Container c;
  TRY(c.Open(bytes, format == "ogg" ? "ogg" : "mov,matroska", ContainerName(format) + " audio"));
  int a = c.FindStream(AVMEDIA_TYPE_AUDIO);
  if (a < 0) {
    return InvalidArgumentError(c.label() + ": no audio stream (streams: " + c.StreamList() + ")");
  }
  ASSIGN_OR_RETURN(c.audio_dec_, c.OpenDecoder(a));
  TRY(DecodeLoop(c, -1, a, limits, [](const AVFrame*) -> Result<bool> { return false; }));
  return c.TakeAudio();
}

}  // namespace internal

Result<Video> DecodeVideo(std::span<const uint8_t> bytes, const Limits& limits) {
  TRY(internal::CheckBytes("video", bytes.size(), limits));
  if (bytes.empty()) return InvalidArgumentError("video: no bytes (empty input)");
  std::string_view sniffed = SniffFormat(bytes);
  if (sniffed != "mp4" && sniffed != "m4a" && sniffed != "matroska") {
    if (sniffed == "unknown") {
      return UnimplementedError("video: unrecognised format (supported: MP4/MOV, WebM, MKV; "
                                "found by magic bytes)");
    }
    return InvalidArgumentError("video: the bytes are " + std::string(sniffed) + " (" +
                                std::string(KindName(Sniff(bytes))) + "), not video");
  }
  if (!(limits.video_fps > 0) || limits.max_frames < 1) {
    return InvalidArgumentError("video: video_fps must be > 0 and max_frames >= 1");
  }
  TRY(CheckContainerComplete(bytes, sniffed));
  Container c;
  TRY(c.Open(bytes, "mov,matroska", ContainerName(sniffed) + " video"));
  const int v = c.FindStream(AVMEDIA_TYPE_VIDEO);
  if (v < 0) {
    return InvalidArgumentError(c.label() + ": no video stream (streams: " + c.StreamList() + ")");
  }
  const AVStream* vs = c.fmt()->streams[v];
  TRY(CheckPixels(c.label(), vs->codecpar->width, vs->codecpar->height, limits));
  const int a = c.FindStream(AVMEDIA_TYPE_AUDIO);

  double duration = 0;
  if (c.fmt()->duration != AV_NOPTS_VALUE && c.fmt()->duration > 0) {
    duration = double(c.fmt()->duration) / AV_TIME_BASE;
  } else if (vs->duration != AV_NOPTS_VALUE && vs->duration > 0) {
    duration = double(vs->duration) * av_q2d(vs->time_base);
  }
  if (!std::isfinite(duration) || duration > limits.max_video_s) {
    return OutOfRangeError(c.label() + ": video is " + Seconds(duration) +
                           " long, more than the limit of " + Seconds(limits.max_video_s));
  }

  // Sample times: k / fps, or spread evenly when that is more than max_frames. Without a known
  // duration, k / fps up to max_frames.
  std::vector<double> targets;
  if (duration > 0) {
    double n = std::ceil(duration * limits.video_fps - 1e-6);
    if (n > limits.max_frames) {
      for (int k = 0; k < limits.max_frames; ++k) targets.push_back(k * duration / limits.max_frames);
    } else {
      for (int k = 0; k < std::max(1.0, n); ++k) targets.push_back(k / limits.video_fps);
    }
  } else {
    for (int k = 0; k < limits.max_frames; ++k) targets.push_back(k / limits.video_fps);
  }

  ASSIGN_OR_RETURN(c.video_dec_, c.OpenDecoder(v));
  if (a >= 0) {
    ASSIGN_OR_RETURN(c.audio_dec_, c.OpenDecoder(a));
  }
  const int orientation = OrientationForRotation(StreamRotation(vs));
  Video video;
  video.duration_s = duration;
  size_t next = 0;
  double last_time = -1;
  constexpr double kEps = 1e-3;
  double packets_end = 0;
  TRY(DecodeLoop(c, v, a, limits, [&](const AVFrame* f) -> Result<bool> {
    double t = FrameTime(f, vs);
    if (t < 0) t = last_time < 0 ? 0 : last_time;  // no timestamp: treat as the previous time
    if (t > limits.max_video_s) {
      return OutOfRangeError(c.label() + ": a frame at " + Seconds(t) +
                             " is past the limit of " + Seconds(limits.max_video_s));
    }
    last_time = std::max(last_time, t);
    if (next < targets.size() && t + kEps >= targets[next]) {
      ASSIGN_OR_RETURN(Image image, c.ToRgb(f, limits));
      video.frames.push_back({t, ApplyOrientation(std::move(image), orientation)});
      while (next < targets.size() && t + kEps >= targets[next]) ++next;
    }
    return next < targets.size() || duration <= 0;  // unknown length: watch for the real end
  }, &packets_end));
  if (video.frames.empty()) {
    return DataLossError(c.label() + ": corrupt or truncated: no video frame could be decoded");
  }
  if (duration <= 0) video.duration_s = std::max(last_time, 0.0);
  // Packets ending well before the declared duration: the file was cut (Matroska's demuxer
  // just stops at the end of the bytes). The slack covers codec delay and container rounding.
  if (duration > 0 && packets_end + 0.25 + 0.01 * duration < duration) {
    return DataLossError(c.label() + ": truncated: the container declares " + Seconds(duration) +
                         " but its packets end at " + Seconds(packets_end));
  }
  if (a >= 0 && c.HasAudio()) {  // an audio track without samples counts as none
    ASSIGN_OR_RETURN(video.audio, c.TakeAudio());
    video.has_audio = true;
  }
  return video;
}

}  // namespace hearth::media
