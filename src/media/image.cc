// Images: format sniffing, JPEG (libjpeg-turbo), PNG (libpng), WebP (libwebp), EXIF orientation
// (JPEG APP1, PNG eXIf, WebP EXIF chunks) and the DecodeImage dispatcher (BMP in bmp.cc, GIF
// through libavcodec in av.cc).
//
// libjpeg and libpng report errors by longjmp. Each decoder keeps all of its state in a context
// struct that outlives the setjmp (the function calling setjmp has only pointers and the context
// locals declared before it), so a longjmp never skips a destructor or reads a clobbered local.
#include <algorithm>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include "media/internal.h"
#include "media/media.h"

namespace hearth::media {
namespace {

using internal::CheckPixels;

bool StartsWith(std::span<const uint8_t> b, size_t at, std::string_view magic) {
  return b.size() >= at + magic.size() && std::memcmp(b.data() + at, magic.data(), magic.size()) == 0;
}

// An MPEG audio frame header (layer I-III, valid bitrate and sample-rate indices). ADTS AAC has
// layer 00 and is not matched.
bool IsMpegAudioFrame(std::span<const uint8_t> b, size_t at) {
  if (b.size() < at + 4) return false;
  const uint8_t* p = b.data() + at;
  if (p[0] != 0xFF || (p[1] & 0xE0) != 0xE0) return false;
  if (((p[1] >> 3) & 3) == 1) return false;  // reserved version
  if (((p[1] >> 1) & 3) == 0) return false;  // reserved layer
  if ((p[2] >> 4) == 15) return false;       // bad bitrate index
  if (((p[2] >> 2) & 3) == 3) return false;  // reserved sample rate
  return true;
}

}  // namespace

std::string_view SniffFormat(std::span<const uint8_t> b) {
  if (StartsWith(b, 0, "\xFF\xD8\xFF")) return "jpeg";
  if (StartsWith(b, 0, "\x89PNG\r\n\x1A\n")) return "png";
  if (StartsWith(b, 0, "RIFF") && StartsWith(b, 8, "WEBP")) return "webp";
  if (StartsWith(b, 0, "GIF87a") || StartsWith(b, 0, "GIF89a")) return "gif";
  if (StartsWith(b, 0, "BM") && b.size() >= 18) return "bmp";
  if (StartsWith(b, 0, "RIFF") && StartsWith(b, 8, "WAVE")) return "wav";
  if (StartsWith(b, 0, "RF64") && StartsWith(b, 8, "WAVE")) return "wav";
  if (StartsWith(b, 0, "fLaC")) return "flac";
  if (StartsWith(b, 0, "OggS")) return "ogg";
  if (StartsWith(b, 0, "ID3") || IsMpegAudioFrame(b, 0)) return "mp3";
  if (StartsWith(b, 4, "ftyp")) {
    if (StartsWith(b, 8, "M4A ") || StartsWith(b, 8, "M4B ")) return "m4a";
    return "mp4";
  }
  if (StartsWith(b, 0, "\x1A\x45\xDF\xA3")) return "matroska";
  return "unknown";
}

Kind Sniff(std::span<const uint8_t> bytes) {
  std::string_view f = SniffFormat(bytes);
  if (f == "jpeg" || f == "png" || f == "webp" || f == "gif" || f == "bmp") return Kind::kImage;
  if (f == "wav" || f == "flac" || f == "ogg" || f == "mp3" || f == "m4a") return Kind::kAudio;
  if (f == "mp4" || f == "matroska") return Kind::kVideo;
  return Kind::kUnknown;
}

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kImage: return "image";
    case Kind::kAudio: return "audio";
    case Kind::kVideo: return "video";
    case Kind::kUnknown: break;
  }
  return "unknown";
}

namespace internal {

Status CheckPixels(std::string_view format, int64_t width, int64_t height, const Limits& limits) {
  if (width <= 0 || height <= 0) {
    return DataLossError(std::string(format) + ": invalid image size " + std::to_string(width) +
                         "x" + std::to_string(height));
  }
  if (width > INT32_MAX || height > INT32_MAX || width * height > limits.max_pixels) {
    return ResourceExhaustedError(std::string(format) + ": image is " + std::to_string(width) +
                                  "x" + std::to_string(height) + " = " +
                                  std::to_string(width * height) + " pixels, more than the limit of " +
                                  std::to_string(limits.max_pixels));
  }
  return Status::Ok();
}

Status CheckBytes(std::string_view what, size_t size, const Limits& limits) {
  if (static_cast<int64_t>(size) > limits.max_bytes) {
    return ResourceExhaustedError(std::string(what) + " is " + std::to_string(size) +
                                  " bytes, more than the limit of " +
                                  std::to_string(limits.max_bytes));
  }
  return Status::Ok();
}

}  // namespace internal

// ---- EXIF orientation ----

int ExifOrientation(std::span<const uint8_t> exif) {
  size_t base = 0;
  if (StartsWith(exif, 0, std::string_view("Exif\0\0", 6))) base = 6;
  std::span<const uint8_t> t = exif.subspan(std::min(base, exif.size()));
  if (t.size() < 8) return 1;
  bool le;
  if (t[0] == 'I' && t[1] == 'I') {
    le = true;
  } else if (t[0] == 'M' && t[1] == 'M') {
    le = false;
  } else {
    return 1;
  }
  auto u16 = [&](size_t at) -> uint32_t {
    return le ? (t[at] | t[at + 1] << 8) : (t[at] << 8 | t[at + 1]);
  };
  auto u32 = [&](size_t at) -> uint64_t {
    return le ? (uint64_t{t[at]} | uint64_t{t[at + 1]} << 8 | uint64_t{t[at + 2]} << 16 |
                 uint64_t{t[at + 3]} << 24)
              : (uint64_t{t[at]} << 24 | uint64_t{t[at + 1]} << 16 | uint64_t{t[at + 2]} << 8 |
                 uint64_t{t[at + 3]});
  };
  if (u16(2) != 42) return 1;
  uint64_t ifd = u32(4);
  if (ifd + 2 > t.size()) return 1;
  uint32_t n = u16(ifd);
  for (uint32_t i = 0; i < n; ++i) {
    uint64_t e = ifd + 2 + uint64_t{i} * 12;
    if (e + 12 > t.size()) return 1;
    if (u16(e) != 0x0112) continue;
    if (u16(e + 2) != 3 || u32(e + 4) < 1) return 1;  // SHORT, at least one value
    uint32_t v = u16(e + 8);
    return v >= 1 && v <= 8 ? static_cast<int>(v) : 1;
  }
  return 1;
}

Image ApplyOrientation(Image in, int orientation) {
  if (orientation < 2 || orientation > 8) return in;
  const int w = in.width, h = in.height;
  const bool swap = orientation >= 5;
  Image out;
  out.width = swap ? h : w;
  out.height = swap ? w : h;
  out.rgb.resize(in.rgb.size());
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;  // source pixel of output (x, y)
      switch (orientation) {
        case 2: sx = w - 1 - x; sy = y; break;              // mirrored horizontally
        case 3: sx = w - 1 - x; sy = h - 1 - y; break;      // rotated 180
        case 4: sx = x; sy = h - 1 - y; break;              // mirrored vertically
        case 5: sx = y; sy = x; break;                      // transposed
        case 6: sx = y; sy = h - 1 - x; break;              // shown rotated 90 clockwise
        case 7: sx = w - 1 - y; sy = h - 1 - x; break;      // transversed
        case 8: sx = w - 1 - y; sy = x; break;              // shown rotated 90 anticlockwise
      }
      std::memcpy(&out.rgb[(size_t(y) * out.width + x) * 3], &in.rgb[(size_t(sy) * w + sx) * 3], 3);
    }
  }
  return out;
}

// ---- JPEG ----
namespace {

constexpr int kMaxJpegScans = 1000;  // progressive scan-count bomb guard (libjpeg has none)

struct JpegContext {
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr err;
  jpeg_progress_mgr progress;
  std::jmp_buf jump;
  std::string error;
  bool limit_error = false;
  const Limits* limits = nullptr;
  Image* out = nullptr;
  std::vector<uint8_t> row;  // CMYK rows
  int orientation = 1;
};

void JpegFail(j_common_ptr cinfo) {
  auto* ctx = static_cast<JpegContext*>(cinfo->client_data);
  char buf[JMSG_LENGTH_MAX];
  (*cinfo->err->format_message)(cinfo, buf);
  ctx->error = buf;
  std::longjmp(ctx->jump, 1);
}

// Warnings about corrupt data (a truncated file is "Premature end of JPEG file") fail the decode:
// libjpeg would otherwise fill the missing part with grey. Stray bytes between markers are
// harmless and common in camera files.
void JpegMessage(j_common_ptr cinfo, int level) {
  if (level == -1 && cinfo->err->msg_code != JWRN_EXTRANEOUS_DATA) JpegFail(cinfo);
}

void JpegProgress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxJpegScans) {
    auto* ctx = static_cast<JpegContext*>(cinfo->client_data);
    ctx->error = "more than " + std::to_string(kMaxJpegScans) + " progressive scans";
    std::longjmp(ctx->jump, 1);
  }
}

// Returns false with ctx->error set on failure. Only `ctx` and `bytes` live in this frame.
bool JpegRun(JpegContext* ctx, std::span<const uint8_t> bytes) {
  j_decompress_ptr c = &ctx->cinfo;
  if (setjmp(ctx->jump)) return false;
  jpeg_mem_src(c, bytes.data(), static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(c, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(c, TRUE);
  for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next) {
    std::span<const uint8_t> data(m->data, m->data_length);
    if (m->marker == JPEG_APP0 + 1 && StartsWith(data, 0, std::string_view("Exif\0\0", 6))) {
      ctx->orientation = ExifOrientation(data);
      break;
    }
  }
  Status size = CheckPixels("JPEG", c->image_width, c->image_height, *ctx->limits);
  if (!size.ok()) {
    ctx->error = size.message();
    ctx->limit_error = size.code() == StatusCode::kResourceExhausted;
    return false;
  }
  const bool cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
  c->out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(c);
  Image* out = ctx->out;
  out->width = static_cast<int>(c->output_width);
  out->height = static_cast<int>(c->output_height);
  out->rgb.assign(size_t(out->width) * out->height * 3, 0);
  if (cmyk) ctx->row.resize(size_t(out->width) * 4);
  while (c->output_scanline < c->output_height) {
    uint8_t* dst = &out->rgb[size_t(c->output_scanline) * out->width * 3];
    JSAMPROW row = cmyk ? ctx->row.data() : dst;
    if (jpeg_read_scanlines(c, &row, 1) != 1) {
      ctx->error = "decoder returned no scanline";
      return false;
    }
    if (cmyk) {
      // Adobe writes CMYK inverted (what nearly every CMYK JPEG is); without its marker, plain.
      const bool inverted = c->saw_Adobe_marker;
      for (int x = 0; x < out->width; ++x) {
        int k = row[x * 4 + 3];
        if (!inverted) k = 255 - k;
        for (int ch = 0; ch < 3; ++ch) {
          int v = row[x * 4 + ch];
          if (!inverted) v = 255 - v;
          dst[x * 3 + ch] = static_cast<uint8_t>((v * k + 127) / 255);
        }
      }
    }
  }
  jpeg_finish_decompress(c);
  return true;
}

Result<Image> DecodeJpeg(std::span<const uint8_t> bytes, const Limits& limits) {
  auto ctx = std::make_unique<JpegContext>();
  Image image;
  ctx->limits = &limits;
  ctx->out = &image;
  ctx->cinfo.err = jpeg_std_error(&ctx->err);
  ctx->err.error_exit = JpegFail;
  ctx->err.emit_message = JpegMessage;
  ctx->cinfo.client_data = ctx.get();
  ctx->progress.progress_monitor = JpegProgress;
  jpeg_create_decompress(&ctx->cinfo);
  ctx->cinfo.progress = &ctx->progress;
  bool ok = JpegRun(ctx.get(), bytes);
  jpeg_destroy_decompress(&ctx->cinfo);
  if (!ok) {
    if (ctx->limit_error) return ResourceExhaustedError(ctx->error);
    return DataLossError("JPEG: corrupt or truncated: " + ctx->error);
  }
  return ApplyOrientation(std::move(image), ctx->orientation);
}

// ---- PNG ----

struct PngContext {
  png_structp png = nullptr;
  png_infop info = nullptr;
  std::span<const uint8_t> data;
  size_t pos = 0;
  std::string error;
  bool limit_error = false;
  const Limits* limits = nullptr;
  Image* out = nullptr;
  std::vector<png_bytep> rows;
  int orientation = 1;
};

void PngError(png_structp png, png_const_charp msg) {
  auto* ctx = static_cast<PngContext*>(png_get_error_ptr(png));
  if (ctx->error.empty()) ctx->error = msg;
  png_longjmp(png, 1);
}

void PngWarning(png_structp, png_const_charp) {}  // ancillary-chunk trouble; the pixels are fine

void PngRead(png_structp png, png_bytep dst, size_t n) {
  auto* ctx = static_cast<PngContext*>(png_get_io_ptr(png));
  if (n > ctx->data.size() - ctx->pos) {
    ctx->error = "truncated: needed " + std::to_string(n) + " bytes at offset " +
                 std::to_string(ctx->pos) + " of " + std::to_string(ctx->data.size());
    png_longjmp(png, 1);
  }
  std::memcpy(dst, ctx->data.data() + ctx->pos, n);
  ctx->pos += n;
}

bool PngRun(PngContext* ctx) {
  png_structp png = ctx->png;
  png_infop info = ctx->info;
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_read_fn(png, ctx, PngRead);
  // Dimension limits before any row is allocated; the real check is the pixel count below.
  png_set_user_limits(png, 1u << 20, 1u << 20);
  png_set_chunk_cache_max(png, 1000);
  png_set_chunk_malloc_max(png, 8 << 20);
  // Text, ICC profiles and suggested palettes are never used; skipping them (their bytes are
  // read past, not decompressed) leaves no compressed ancillary data to inflate.
  static const png_byte kIgnored[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT";
  png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, kIgnored, 5);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  Status size = CheckPixels("PNG", w, h, *ctx->limits);
  if (!size.ok()) {
    ctx->error = size.message();
    ctx->limit_error = size.code() == StatusCode::kResourceExhausted;
    return false;
  }
  int color = png_get_color_type(png, info);
  int depth = png_get_bit_depth(png, info);
  if (depth == 16) png_set_strip_16(png);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if ((color & PNG_COLOR_MASK_COLOR) == 0 && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if ((color & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
  png_set_strip_alpha(png);  // also the alpha a palette's tRNS expands to
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
      png_get_rowbytes(png, info) != size_t(w) * 3) {
    ctx->error = "unexpected row layout after conversion to 8-bit RGB";
    return false;
  }
  Image* out = ctx->out;
  out->width = static_cast<int>(w);
  out->height = static_cast<int>(h);
  out->rgb.assign(size_t(w) * h * 3, 0);
  ctx->rows.resize(h);
  for (png_uint_32 y = 0; y < h; ++y) ctx->rows[y] = &out->rgb[size_t(y) * w * 3];
  png_read_image(png, ctx->rows.data());
  png_read_end(png, info);
#ifdef PNG_eXIf_SUPPORTED
  png_uint_32 exif_len = 0;
  png_bytep exif = nullptr;
  if (png_get_eXIf_1(png, info, &exif_len, &exif) && exif) {
    ctx->orientation = ExifOrientation({exif, exif_len});
  }
#endif
  return true;
}

// Every chunk must fit in the bytes there are, and the file must reach IEND. libpng allocates a
// chunk's declared length before reading it (a 1.9 GB tEXt in a 320-byte file, found by
// fuzz/media_fuzz.cc), so lengths are checked against the file first.
Status CheckPngChunks(std::span<const uint8_t> b) {
  uint64_t pos = 8;
  while (pos + 8 <= b.size()) {
    const uint64_t len = uint64_t{b[pos]} << 24 | uint64_t{b[pos + 1]} << 16 |
                         uint64_t{b[pos + 2]} << 8 | b[pos + 3];
    const std::string type(reinterpret_cast<const char*>(&b[pos + 4]), 4);
    if (len > 0x7FFFFFFF || len + 12 > b.size() - pos) {
      return DataLossError("PNG: truncated or corrupt: chunk '" + type + "' at byte " +
                           std::to_string(pos) + " declares " + std::to_string(len) +
                           " bytes, " + std::to_string(b.size() - pos) + " remain");
    }
    if (type == "IEND") return Status::Ok();
    pos += 12 + len;
  }
  return DataLossError("PNG: truncated: no IEND chunk (the file ends at byte " +
                       std::to_string(b.size()) + ")");
}

Result<Image> DecodePng(std::span<const uint8_t> bytes, const Limits& limits) {
  TRY(CheckPngChunks(bytes));
  auto ctx = std::make_unique<PngContext>();
  Image image;
  ctx->data = bytes;
  ctx->limits = &limits;
  ctx->out = &image;
  ctx->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx.get(), PngError, PngWarning);
  if (!ctx->png) return InternalError("PNG: cannot create the libpng reader");
  ctx->info = png_create_info_struct(ctx->png);
  bool ok = ctx->info && PngRun(ctx.get());
  png_destroy_read_struct(&ctx->png, ctx->info ? &ctx->info : nullptr, nullptr);
  if (!ok) {
    if (ctx->limit_error) return ResourceExhaustedError(ctx->error);
    return DataLossError("PNG: corrupt or truncated: " + ctx->error);
  }
  return ApplyOrientation(std::move(image), ctx->orientation);
}

// ---- WebP ----

std::string_view Vp8StatusName(VP8StatusCode s) {
  switch (s) {
    case VP8_STATUS_OK: return "ok";
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "truncated (not enough data)";
  }
  return "unknown error";
}

Result<Image> DecodeWebpAnimationFirstFrame(std::span<const uint8_t> bytes, const Limits& limits) {
  WebPData data{bytes.data(), bytes.size()};
  WebPAnimDecoderOptions opts;
  if (!WebPAnimDecoderOptionsInit(&opts)) return InternalError("WebP: bad libwebp version");
  opts.color_mode = MODE_RGBA;
  opts.use_threads = 0;
  // The canvas size is checked before the decoder allocates it, from the demuxer's header view.
  WebPDemuxer* demux = WebPDemux(&data);
  if (!demux) return DataLossError("WebP: corrupt or truncated animation container");
  int64_t cw = WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH);
  int64_t ch = WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT);
  WebPDemuxDelete(demux);
  TRY(CheckPixels("WebP", cw, ch, limits));
  WebPAnimDecoder* dec = WebPAnimDecoderNew(&data, &opts);
  if (!dec) return DataLossError("WebP: corrupt or truncated animation");
  WebPAnimInfo info;
  uint8_t* buf = nullptr;
  int timestamp = 0;
  Image image;
  if (!WebPAnimDecoderGetInfo(dec, &info) || !WebPAnimDecoderGetNext(dec, &buf, &timestamp) ||
      int64_t{info.canvas_width} != cw || int64_t{info.canvas_height} != ch) {
    WebPAnimDecoderDelete(dec);
    return DataLossError("WebP: corrupt or truncated first animation frame");
  }
  image.width = static_cast<int>(cw);
  image.height = static_cast<int>(ch);
  image.rgb.resize(size_t(cw) * ch * 3);
  for (size_t i = 0; i < size_t(cw) * ch; ++i) std::memcpy(&image.rgb[i * 3], buf + i * 4, 3);
  WebPAnimDecoderDelete(dec);
  return image;
}

// The Orientation of a WebP's EXIF chunk (extended format), or 1.
int WebpOrientation(std::span<const uint8_t> bytes) {
  WebPData data{bytes.data(), bytes.size()};
  WebPDemuxer* demux = WebPDemux(&data);
  if (!demux) return 1;
  int orientation = 1;
  WebPChunkIterator it;
  if ((WebPDemuxGetI(demux, WEBP_FF_FORMAT_FLAGS) & EXIF_FLAG) &&
      WebPDemuxGetChunk(demux, "EXIF", 1, &it)) {
    orientation = ExifOrientation({it.chunk.bytes, it.chunk.size});
    WebPDemuxReleaseChunkIterator(&it);
  }
  WebPDemuxDelete(demux);
  return orientation;
}

Result<Image> DecodeWebp(std::span<const uint8_t> bytes, const Limits& limits) {
  WebPBitstreamFeatures f;
  VP8StatusCode s = WebPGetFeatures(bytes.data(), bytes.size(), &f);
  if (s != VP8_STATUS_OK) return DataLossError("WebP: " + std::string(Vp8StatusName(s)));
  if (f.has_animation) {
    ASSIGN_OR_RETURN(Image first, DecodeWebpAnimationFirstFrame(bytes, limits));
    return ApplyOrientation(std::move(first), WebpOrientation(bytes));
  }
  TRY(CheckPixels("WebP", f.width, f.height, limits));
  Image image;
  image.width = f.width;
  image.height = f.height;
  image.rgb.resize(size_t(f.width) * f.height * 3);
  if (!WebPDecodeRGBInto(bytes.data(), bytes.size(), image.rgb.data(), image.rgb.size(),
                         f.width * 3)) {
    return DataLossError("WebP: corrupt or truncated image data");
  }
  return ApplyOrientation(std::move(image), WebpOrientation(bytes));
}

}  // namespace

Result<Image> DecodeImage(std::span<const uint8_t> bytes, const Limits& limits) {
  TRY(internal::CheckBytes("image", bytes.size(), limits));
  if (bytes.empty()) return InvalidArgumentError("image: no bytes (empty input)");
  std::string_view f = SniffFormat(bytes);
  if (f == "jpeg") return DecodeJpeg(bytes, limits);
  if (f == "png") return DecodePng(bytes, limits);
  if (f == "webp") return DecodeWebp(bytes, limits);
  if (f == "gif") return internal::DecodeGifFirstFrame(bytes, limits);
  if (f == "bmp") return internal::DecodeBmp(bytes, limits);
  if (f != "unknown") {
    return InvalidArgumentError("image: the bytes are " + std::string(f) + " (" +
                                std::string(KindName(Sniff(bytes))) + "), not an image");
  }
  return UnimplementedError(
      "image: unrecognised format (supported: JPEG, PNG, WebP, GIF, BMP; found by magic bytes)");
}

}  // namespace hearth::media
