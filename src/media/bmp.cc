// BMP, parsed here (no Debian library reads it): BITMAPFILEHEADER + a BITMAPCOREHEADER (12 bytes)
// or BITMAPINFOHEADER and its V2-V5 extensions (40..124 bytes); uncompressed 1/4/8-bit paletted,
// 16/32-bit with default or explicit bit-field masks, 24-bit BGR; bottom-up or top-down rows; RLE8
// and RLE4. Embedded JPEG/PNG compressions are refused. Every offset and length is checked
// against the buffer before it is read.
#include <cstring>
#include <string>

#include "media/internal.h"
#include "media/media.h"

namespace hearth::media::internal {
namespace {

uint32_t Le16(const uint8_t* p) { return p[0] | p[1] << 8; }
uint32_t Le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// One channel described by a bit mask, scaled to 8 bits.
struct Field {
  uint32_t mask = 0;
  int shift = 0, bits = 0;
  explicit Field(uint32_t m = 0) : mask(m) {
    if (!m) return;
    while (!((m >> shift) & 1)) ++shift;
    while (shift + bits < 32 && ((m >> (shift + bits)) & 1)) ++bits;
  }
  uint8_t Get(uint32_t v) const {
    if (!mask) return 0;
    uint32_t x = (v & mask) >> shift;
    uint32_t max = bits >= 32 ? 0xFFFFFFFFu : (1u << bits) - 1;
    return static_cast<uint8_t>((uint64_t{x} * 255 + max / 2) / max);
  }
};

Status Corrupt(const std::string& what) { return DataLossError("BMP: " + what); }

// RLE8 / RLE4 (bottom-up only): (count, value) runs, and escapes after a zero count: 0 end of
// line, 1 end of bitmap, 2 a (dx, dy) jump, n >= 3 n literal pixels padded to 16 bits. Pixels
// never written keep palette entry 0. Pixels past the row or the image are dropped: encoders
// (ImageMagick among them) run rows out to an even width.
Result<Image> DecodeRle(std::span<const uint8_t> b, uint64_t pos, int64_t width, int64_t height,
                        uint32_t bpp, const std::vector<uint8_t>& palette) {
  const std::string name = bpp == 8 ? "RLE8" : "RLE4";
  Image image;
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.rgb.resize(size_t(width) * height * 3);
  for (size_t i = 0; i < size_t(width) * height; ++i) std::memcpy(&image.rgb[i * 3], &palette[0], 3);
  int64_t x = 0, y = 0;  // y counts rows from the bottom
  auto put = [&](uint32_t index) {
    if (x < width && y < height) {
      std::memcpy(&image.rgb[(size_t(height - 1 - y) * width + x) * 3], &palette[index * 3], 3);
    }
    ++x;
  };
  auto at = [&](uint64_t p) { return p < b.size(); };
  for (;;) {
    if (!at(pos + 1)) return Corrupt(name + ": truncated: no end-of-bitmap marker");
    const uint32_t count = b[pos], value = b[pos + 1];
    pos += 2;
    if (count > 0) {
      for (uint32_t i = 0; i < count; ++i) {
        uint32_t index = bpp == 8 ? value : (i % 2 == 0 ? value >> 4 : value & 15);
        put(index);
      }
    } else if (value == 0) {
      x = 0;
      ++y;
    } else if (value == 1) {
      return image;
    } else if (value == 2) {
      if (!at(pos + 1)) return Corrupt(name + ": truncated delta");
      x += b[pos];
      y += b[pos + 1];
      pos += 2;
    } else {
      const uint64_t bytes = bpp == 8 ? value : (value + 1) / 2;
      if (!at(pos + bytes - 1)) return Corrupt(name + ": truncated literal run");
      for (uint32_t i = 0; i < value; ++i) {
        uint32_t index = bpp == 8 ? b[pos + i] : (i % 2 == 0 ? b[pos + i / 2] >> 4 : b[pos + i / 2] & 15);
        put(index);
      }
      pos += bytes + (bytes & 1);
    }
  }
}

}  // namespace

Result<Image> DecodeBmp(std::span<const uint8_t> b, const Limits& limits) {
  if (b.size() < 14 + 12) return Corrupt("truncated header (" + std::to_string(b.size()) + " bytes)");
  const uint64_t pixel_offset = Le32(&b[10]);
  const uint32_t header = Le32(&b[14]);
  const bool core = header == 12;
  if (!core && (header < 40 || header > 124)) {
    return Corrupt("unsupported DIB header size " + std::to_string(header));
  }
  if (14 + uint64_t{header} > b.size()) {
    return Corrupt("truncated: the " + std::to_string(header) + "-byte DIB header runs past the end (" +
                   std::to_string(b.size()) + " bytes)");
  }
  const uint8_t* h = &b[14];
  int64_t width, height;
  uint32_t planes, bpp, compression = 0, colors_used = 0;
  if (core) {
    width = Le16(h + 4);
    height = static_cast<int16_t>(Le16(h + 6));
    planes = Le16(h + 8);
    bpp = Le16(h + 10);
  } else {
    width = static_cast<int32_t>(Le32(h + 4));
    height = static_cast<int32_t>(Le32(h + 8));
    planes = Le16(h + 12);
    bpp = Le16(h + 14);
    compression = Le32(h + 16);
    colors_used = Le32(h + 32);
  }
  const bool top_down = height < 0;
  if (top_down) height = -height;
  if (planes != 1) return Corrupt("planes is " + std::to_string(planes) + ", not 1");
  TRY(CheckPixels("BMP", width, height, limits));

  // Masks: BI_BITFIELDS (3) / BI_ALPHABITFIELDS (6) give them in the header (V2+) or, for a
  // 40-byte header, in the 12 or 16 bytes after it.
  uint32_t rmask = 0, gmask = 0, bmask = 0;
  uint64_t palette_at = 14 + uint64_t{header};
  if (compression == 3 || compression == 6) {
    if (bpp != 16 && bpp != 32) {
      return Corrupt("bit-field compression with " + std::to_string(bpp) + " bits per pixel");
    }
    const uint8_t* m = h + 40;
    if (header == 40) {
      uint64_t n = compression == 6 ? 16 : 12;
      if (palette_at + n > b.size()) return Corrupt("truncated bit-field masks");
      m = &b[palette_at];
      palette_at += n;
    } else if (header < 52) {
      return Corrupt("bit-field masks missing from a " + std::to_string(header) + "-byte header");
    }
    rmask = Le32(m);
    gmask = Le32(m + 4);
    bmask = Le32(m + 8);
  } else if (compression == 1 || compression == 2) {
    if (bpp != (compression == 1 ? 8u : 4u) || top_down) {
      return Corrupt(std::string(compression == 1 ? "RLE8" : "RLE4") + " with " +
                     std::to_string(bpp) + " bits per pixel" + (top_down ? ", top-down" : ""));
    }
  } else if (compression != 0) {
    static const char* kNames[] = {"none", "RLE8", "RLE4", "bitfields", "JPEG", "PNG"};
    std::string name = compression < 6 ? kNames[compression] : std::to_string(compression);
    return UnimplementedError("BMP: compression " + name + " is not supported (uncompressed only)");
  } else if (bpp == 16) {
    rmask = 0x7C00, gmask = 0x03E0, bmask = 0x001F;
  } else if (bpp == 32) {
    rmask = 0x00FF0000, gmask = 0x0000FF00, bmask = 0x000000FF;
  }
  if (bpp != 1 && bpp != 4 && bpp != 8 && bpp != 16 && bpp != 24 && bpp != 32) {
    return UnimplementedError("BMP: " + std::to_string(bpp) + " bits per pixel is not supported");
  }

  // Palette: 4-byte BGRx entries (3-byte BGR for the core header).
  std::vector<uint8_t> palette;  // RGB triples
  if (bpp <= 8) {
    const uint64_t entry = core ? 3 : 4;
    uint64_t n = colors_used ? colors_used : (1u << bpp);
    if (n > 256) return Corrupt("palette of " + std::to_string(n) + " colours (at most 256)");
    if (palette_at + n * entry > b.size()) return Corrupt("truncated palette");
    if (palette_at + n * entry > pixel_offset) {
      // Some writers leave colors_used at 0 with a shorter palette; take what fits.
      if (pixel_offset <= palette_at) return Corrupt("no room for the palette before the pixels");
      n = (pixel_offset - palette_at) / entry;
    }
    palette.assign(256 * 3, 0);
    for (uint64_t i = 0; i < n; ++i) {
      const uint8_t* e = &b[palette_at + i * entry];
      palette[i * 3 + 0] = e[2];
      palette[i * 3 + 1] = e[1];
      palette[i * 3 + 2] = e[0];
    }
  }

  if (compression == 1 || compression == 2) return DecodeRle(b, pixel_offset, width, height, bpp, palette);

  const uint64_t stride = ((uint64_t(width) * bpp + 31) / 32) * 4;
  if (pixel_offset > b.size() || stride * uint64_t(height) > b.size() - pixel_offset) {
    return Corrupt("truncated pixel data: " + std::to_string(height) + " rows of " +
                   std::to_string(stride) + " bytes from offset " + std::to_string(pixel_offset) +
                   " need " + std::to_string(pixel_offset + stride * height) + " bytes, have " +
                   std::to_string(b.size()));
  }
  const Field rf(rmask), gf(gmask), bf(bmask);
  Image image;
  image.width = static_cast<int>(width);
  image.height = static_cast<int>(height);
  image.rgb.resize(size_t(width) * height * 3);
  for (int64_t y = 0; y < height; ++y) {
    const uint8_t* row = &b[pixel_offset + stride * uint64_t(top_down ? y : height - 1 - y)];
    uint8_t* dst = &image.rgb[size_t(y) * width * 3];
    for (int64_t x = 0; x < width; ++x, dst += 3) {
      switch (bpp) {
        case 1: case 4: case 8: {
          uint64_t bit = uint64_t(x) * bpp;
          uint32_t idx = (row[bit / 8] >> (8 - bpp - bit % 8)) & ((1u << bpp) - 1);
          std::memcpy(dst, &palette[idx * 3], 3);
          break;
        }
        case 24:
          dst[0] = row[x * 3 + 2], dst[1] = row[x * 3 + 1], dst[2] = row[x * 3];
          break;
        case 16: case 32: {
          uint32_t v = bpp == 16 ? Le16(row + x * 2) : Le32(row + x * 4);
          dst[0] = rf.Get(v), dst[1] = gf.Get(v), dst[2] = bf.Get(v);
          break;
        }
      }
    }
  }
  return image;
}

}  // namespace hearth::media::internal
