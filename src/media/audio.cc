// Audio: WAV, FLAC and MP3 through libsndfile reading from memory, then down-mix (mean of
// channels) and resampling to 16 kHz with soxr. Ogg (Vorbis, Opus, FLAC), MP4/M4A and
// Matroska/WebM audio goes through libavformat (av.cc) and joins here at MonoResampler.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include <sndfile.h>
#include <soxr.h>

#include "media/internal.h"
#include "media/media.h"

namespace hearth::media {
namespace {

struct MemoryFile {
  std::span<const uint8_t> data;
  sf_count_t pos = 0;
};

sf_count_t MemLength(void* user) { return static_cast<MemoryFile*>(user)->data.size(); }

sf_count_t MemSeek(sf_count_t offset, int whence, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  sf_count_t size = static_cast<sf_count_t>(f->data.size());
  sf_count_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? f->pos : size;
  if (offset > size || offset < -size) return -1;
  sf_count_t to = base + offset;
  if (to < 0) return -1;
  f->pos = std::min(to, size);
  return f->pos;
}

sf_count_t MemRead(void* dst, sf_count_t n, void* user) {
  auto* f = static_cast<MemoryFile*>(user);
  sf_count_t size = static_cast<sf_count_t>(f->data.size());
  if (n <= 0 || f->pos >= size) return 0;
  sf_count_t take = std::min(n, size - f->pos);
  std::memcpy(dst, f->data.data() + f->pos, take);
  f->pos += take;
  return take;
}

sf_count_t MemWrite(const void*, sf_count_t, void*) { return 0; }
sf_count_t MemTell(void* user) { return static_cast<MemoryFile*>(user)->pos; }

std::string FormatName(int format) {
  SF_FORMAT_INFO info;
  info.format = format & SF_FORMAT_TYPEMASK;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &info, sizeof(info)) == 0 && info.name) {
    return info.name;
  }
  return "audio";
}

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f s", s);
  return buf;
}

// libsndfile takes a WAV's length from the bytes present when its data chunk claims more, so a
// cut file would decode as a shorter one; the chunk's own size says it was cut. (0 and
// 0xFFFFFFFF are what streaming writers put there before they know the length.)
Status CheckWavComplete(std::span<const uint8_t> b) {
  uint64_t pos = 12;
  while (pos + 8 <= b.size()) {
    const uint8_t* h = b.data() + pos;
    uint64_t size = uint64_t{h[4]} | uint64_t{h[5]} << 8 | uint64_t{h[6]} << 16 |
                    uint64_t{h[7]} << 24;
    if (std::memcmp(h, "data", 4) == 0) {
      uint64_t have = b.size() - pos - 8;
      if (size != 0 && size != 0xFFFFFFFFu && size > have) {
        return DataLossError("WAV: truncated: the data chunk at byte " + std::to_string(pos) +
                             " declares " + std::to_string(size) + " bytes, " +
                             std::to_string(have) + " are present");
      }
      return Status::Ok();
    }
    pos += 8 + size + (size & 1);
  }
  return Status::Ok();
}

// MPEG audio has no reliable length in its headers (libsndfile estimates it from the file size),
// so a cut file is found by walking the frames: a frame whose header is valid but whose body runs
// past the end, or fewer frames than a Xing/Info header declares, means the file was cut.
Status CheckMp3Complete(std::span<const uint8_t> b) {
  static const int kBitrate[2][3][15] = {
      {{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},   // MPEG-1 L1
       {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},      // L2
       {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}},     // L3
      {{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},      // MPEG-2/2.5 L1
       {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},           // L2
       {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}}};         // L3
  static const int kRate[3] = {44100, 48000, 32000};
  uint64_t pos = 0;
  if (b.size() >= 10 && std::memcmp(b.data(), "ID3", 3) == 0) {
    uint64_t size = uint64_t{b[6] & 0x7Fu} << 21 | uint64_t{b[7] & 0x7Fu} << 14 |
                    uint64_t{b[8] & 0x7Fu} << 7 | uint64_t{b[9] & 0x7Fu};
    pos = 10 + size + ((b[5] & 0x10) ? 10 : 0);
    if (pos > b.size()) {
      return DataLossError("MP3: truncated: the ID3v2 tag declares " + std::to_string(pos) +
                           " bytes, the file has " + std::to_string(b.size()));
    }
  }
  uint64_t frames = 0, declared = 0;
  while (pos + 4 <= b.size()) {
    const uint8_t* h = b.data() + pos;
    if (h[0] != 0xFF || (h[1] & 0xE0) != 0xE0) break;  // tags or junk after the frames
    const int version = (h[1] >> 3) & 3;               // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
    const int layer = 4 - ((h[1] >> 1) & 3);            // 1..3
    const int bitrate_index = h[2] >> 4, rate_index = (h[2] >> 2) & 3;
    if (version == 1 || layer == 4 || bitrate_index == 15 || rate_index == 3) break;
    if (bitrate_index == 0) return Status::Ok();  // free format: lengths unknown
    const bool mpeg1 = version == 3;
    const int64_t bitrate = kBitrate[mpeg1 ? 0 : 1][layer - 1][bitrate_index] * 1000;
    const int64_t rate = kRate[rate_index] >> (mpeg1 ? 0 : version == 2 ? 1 : 2);
    const int pad = (h[2] >> 1) & 1;
    const int64_t len = layer == 1 ? (12 * bitrate / rate + pad) * 4
                                   : (layer == 3 && !mpeg1 ? 72 : 144) * bitrate / rate + pad;
    if (pos + len > b.size()) {
      return DataLossError("MP3: truncated: frame " + std::to_string(frames) + " at byte " +
                           std::to_string(pos) + " needs " + std::to_string(len) + " bytes, " +
                           std::to_string(b.size() - pos) + " remain");
    }
    if (frames == 0 && layer == 3) {
      // A Xing/Info header sits after the side information of the first frame.
      const bool mono = (h[3] >> 6) == 3;
      const uint64_t at = pos + 4 + (mpeg1 ? (mono ? 17 : 32) : (mono ? 9 : 17));
      if (at + 12 <= pos + len &&
          (std::memcmp(b.data() + at, "Xing", 4) == 0 || std::memcmp(b.data() + at, "Info", 4) == 0) &&
          (b[at + 7] & 1)) {
        declared = uint64_t{b[at + 8]} << 24 | uint64_t{b[at + 9]} << 16 |
                   uint64_t{b[at + 10]} << 8 | uint64_t{b[at + 11]};
        declared += 1;  // the header frame itself is not counted
      }
    }
    ++frames;
    pos += len;
  }
  if (declared > 0 && frames < declared) {
    return DataLossError("MP3: truncated: the Xing header declares " + std::to_string(declared - 1) +
                         " frames, " + std::to_string(frames - 1) + " are present");
  }
  return Status::Ok();
}

Result<Audio> DecodeWithSndfile(std::span<const uint8_t> bytes, const Limits& limits,
                                std::string_view sniffed) {
  if (sniffed == "wav") TRY(CheckWavComplete(bytes));
  if (sniffed == "mp3") TRY(CheckMp3Complete(bytes));
  MemoryFile mem{bytes, 0};
  SF_VIRTUAL_IO io{MemLength, MemSeek, MemRead, MemWrite, MemTell};
  SF_INFO info{};
  SNDFILE* sf = sf_open_virtual(&io, SFM_READ, &info, &mem);
  if (!sf) {
    return DataLossError(std::string(sniffed) + ": corrupt, truncated or unsupported: " +
                         sf_strerror(nullptr));
  }
  struct Closer {
    SNDFILE* sf;
    ~Closer() { sf_close(sf); }
  } closer{sf};
  const std::string format = FormatName(info.format);
  if (info.channels <= 0 || info.channels > 64 || info.samplerate <= 0 ||
      info.samplerate > 1'000'000) {
    return DataLossError(format + ": invalid header (" + std::to_string(info.channels) +
                         " channels at " + std::to_string(info.samplerate) + " Hz)");
  }
  const int ch = info.channels;
  const double declared_s = double(info.frames) / info.samplerate;
  if (info.frames > 0 && declared_s > limits.max_audio_s) {
    return OutOfRangeError(format + ": audio is " + Seconds(declared_s) +
                           " long, more than the limit of " + Seconds(limits.max_audio_s));
  }
  internal::MonoResampler mono(ch, info.samplerate, limits, format);
  std::vector<float> chunk(size_t(4096) * ch);
  int64_t got = 0;
  for (;;) {
    sf_count_t n = sf_readf_float(sf, chunk.data(), 4096);
    if (n <= 0) break;
    got += n;
    TRY(mono.Add(chunk.data(), static_cast<size_t>(n)));
  }
  if (sf_error(sf) != SF_ERR_NO_ERROR) {
    return DataLossError(format + ": corrupt data after " + std::to_string(got) + " frames: " +
                         sf_strerror(sf));
  }
  // A header promising more frames than the data holds is a truncated file. (MPEG lengths are
  // estimates, so only where the count is exact.)
  const int major = info.format & SF_FORMAT_TYPEMASK;
  const bool exact = major != SF_FORMAT_MPEG;
  if (exact && info.frames > 0 && got < info.frames) {
    return DataLossError(format + ": truncated: the header says " + std::to_string(info.frames) +
                         " frames, the data holds " + std::to_string(got));
  }
  return mono.Finish();
}

}  // namespace

namespace internal {

MonoResampler::MonoResampler(int channels, int rate, const Limits& limits, std::string format)
    : channels_(channels), rate_(rate), limits_(limits), format_(std::move(format)) {}

MonoResampler::~MonoResampler() {
  if (soxr_) soxr_delete(static_cast<soxr_t>(soxr_));
}

Status MonoResampler::Add(const float* interleaved, size_t frames) {
  in_frames_ += static_cast<int64_t>(frames);
  if (double(in_frames_) / rate_ > limits_.max_audio_s) {
    return OutOfRangeError(format_ + ": audio is longer than the limit of " +
                           Seconds(limits_.max_audio_s));
  }
  mono_.resize(frames);
  for (size_t i = 0; i < frames; ++i) {
    float sum = 0;
    for (int c = 0; c < channels_; ++c) {
      float v = interleaved[i * channels_ + c];
      sum += std::isfinite(v) ? v : 0.0f;
    }
    mono_[i] = sum / channels_;
  }
  return Push(mono_.data(), frames);
}

Status MonoResampler::Push(const float* mono, size_t n) {
  if (rate_ == 16000) {
    if (mono) out_.insert(out_.end(), mono, mono + n);
    return Status::Ok();
  }
  if (!soxr_) {
    soxr_error_t err = nullptr;
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    soxr_ = soxr_create(rate_, 16000, 1, &err, &io, &q, nullptr);
    if (err || !soxr_) {
      return InternalError(format_ + ": cannot resample " + std::to_string(rate_) +
                           " Hz to 16 kHz: " + (err ? err : "soxr_create failed"));
    }
  }
  // Room for this block's output plus the filter's delay; a null block drains the filter.
  const size_t room = static_cast<size_t>(double(n) * 16000 / rate_) + 1024;
  size_t consumed = 0;
  for (;;) {
    const size_t at = out_.size();
    out_.resize(at + room);
    size_t idone = 0, odone = 0;
    soxr_error_t err = soxr_process(static_cast<soxr_t>(soxr_), mono ? mono + consumed : nullptr,
                                    n - consumed, &idone, out_.data() + at, room, &odone);
    out_.resize(at + odone);
    if (err) return InternalError(format_ + ": resampling to 16 kHz failed: " + err);
    consumed += idone;
    if (mono ? consumed >= n : odone == 0) break;
  }
  return Status::Ok();
}

Result<Audio> MonoResampler::Finish() {
  if (in_frames_ == 0) return InvalidArgumentError(format_ + ": the audio has no samples");
  if (rate_ != 16000) TRY(Push(nullptr, 0));
  // soxr's output runs to the input's end exactly: round(frames * 16000 / rate) samples.
  const size_t want = static_cast<size_t>(std::llround(double(in_frames_) * 16000 / rate_));
  if (out_.size() > want) out_.resize(want);
  if (out_.empty()) return InvalidArgumentError(format_ + ": the audio has no samples at 16 kHz");
  Audio audio;
  audio.samples = std::move(out_);
  for (float& v : audio.samples) v = std::clamp(v, -1.0f, 1.0f);
  return audio;
}

}  // namespace internal

Result<Audio> DecodeAudio(std::span<const uint8_t> bytes, const Limits& limits) {
  TRY(internal::CheckBytes("audio", bytes.size(), limits));
  if (bytes.empty()) return InvalidArgumentError("audio: no bytes (empty input)");
  std::string_view f = SniffFormat(bytes);
  if (f == "wav" || f == "flac" || f == "mp3") return DecodeWithSndfile(bytes, limits, f);
  // Ogg goes through FFmpeg: libsndfile 1.2.0 leaks its Vorbis state on every malformed Ogg file
  // (found by fuzz/media_fuzz.cc), which a server fed hostile uploads cannot afford.
  if (f == "ogg" || f == "m4a" || f == "mp4" || f == "matroska") {
    return internal::DecodeContainerAudio(bytes, limits);
  }
  if (f != "unknown") {
    return InvalidArgumentError("audio: the bytes are " + std::string(f) + " (" +
                                std::string(KindName(Sniff(bytes))) + "), not audio");
  }
  return UnimplementedError(
      "audio: unrecognised format (supported: WAV, FLAC, Ogg/Vorbis, MP3, and the audio of "
      "MP4/WebM/MKV; found by magic bytes)");
}

}  // namespace hearth::media
