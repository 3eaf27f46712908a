#include "reference/dequant.h"

#include <cmath>
#include <cstring>

namespace hearth::reference {
namespace {

// §10: IQ4_NL non-linear levels and MXFP4 doubled E2M1 levels.
constexpr int8_t kIq4nlLevels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                     1,    13,   25,  38,  53,  69,  89,  113};
constexpr int8_t kFp4Levels[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

uint16_t ReadU16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t ReadU32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}
float ReadHalf(const uint8_t* p) { return HalfToFloat(ReadU16(p)); }

// Q4_0 / Q4_1 / Q5_0 / Q5_1 / Q8_0 / IQ4_NL / MXFP4: blocks of 32.
void DequantQ4_0(const uint8_t* b, float* y) {
  const float d = ReadHalf(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>((qs[j] & 15) - 8);
    y[j + 16] = d * static_cast<float>((qs[j] >> 4) - 8);
  }
}
void DequantQ4_1(const uint8_t* b, float* y) {
  const float d = ReadHalf(b), m = ReadHalf(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(qs[j] & 15) + m;
    y[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
  }
}
void DequantQ5_0(const uint8_t* b, float* y) {
  const float d = ReadHalf(b);
  const uint32_t qh = ReadU32(b + 2);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 15) | (((qh >> j) & 1) << 4);
    const int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
    y[j] = d * static_cast<float>(lo - 16);
    y[j + 16] = d * static_cast<float>(hi - 16);
  }
}
void DequantQ5_1(const uint8_t* b, float* y) {
  const float d = ReadHalf(b), m = ReadHalf(b + 2);
  const uint32_t qh = ReadU32(b + 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 16; ++j) {
    const int lo = (qs[j] & 15) | (((qh >> j) & 1) << 4);
    const int hi = (qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
    y[j] = d * static_cast<float>(lo) + m;
    y[j + 16] = d * static_cast<float>(hi) + m;
  }
}
void DequantQ8_0(const uint8_t* b, float* y) {
  const float d = ReadHalf(b);
  for (int j = 0; j < 32; ++j) y[j] = d * static_cast<float>(static_cast<int8_t>(b[2 + j]));
}
void DequantIQ4_NL(const uint8_t* b, float* y) {
  const float d = ReadHalf(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    y[j] = d * static_cast<float>(kIq4nlLevels[qs[j] & 15]);
    y[j + 16] = d * static_cast<float>(kIq4nlLevels[qs[j] >> 4]);
  }
}
void DequantMXFP4(const uint8_t* b, float* y) {
  // E8M0 "half" scale 2^(e-128) (§10), exact in float for every e (ldexp handles subnormals).
  const float scale = std::ldexp(1.0f, static_cast<int>(b[0]) - 128);
  const uint8_t* qs = b + 1;
  for (int j = 0; j < 16; ++j) {
    y[j] = static_cast<float>(kFp4Levels[qs[j] & 15]) * scale;
    y[j + 16] = static_cast<float>(kFp4Levels[qs[j] >> 4]) * scale;
  }
}

// K-quants: blocks of 256.
void DequantQ2_K(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = ReadHalf(b + 80), dmin = ReadHalf(b + 82);
  int is = 0;
  for (int n = 0; n < 2; ++n) {
    for (int k = 0; k < 4; ++k) {
      const int shift = 2 * k;
      for (int group = 0; group < 2; ++group) {
        const uint8_t sc = scales[is++];
        const float dl = d * static_cast<float>(sc & 15), ml = dmin * static_cast<float>(sc >> 4);
        for (int l = 16 * group; l < 16 * group + 16; ++l) {
          y[128 * n + 32 * k + l] = dl * static_cast<float>((qs[32 * n + l] >> shift) & 3) - ml;
        }
      }
    }
  }
}

void DequantQ3_K(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* s = b + 96;
  const float d = ReadHalf(b + 108);
  // 16 signed 6-bit scales: low 4 bits from bytes 0..7, high 2 bits from bytes 8..11.
  int scales[16];
  for (int i = 0; i < 16; ++i) {
    const int low = i < 8 ? (s[i] & 15) : (s[i - 8] >> 4);
    const int high = (s[8 + (i % 4)] >> (2 * (i / 4))) & 3;
    scales[i] = (low | (high << 4)) - 32;
  }
  int is = 0;
  uint8_t m = 1;
  for (int n = 0; n < 2; ++n) {
    for (int k = 0; k < 4; ++k) {
      const int shift = 2 * k;
      for (int group = 0; group < 2; ++group) {
        const float dl = d * static_cast<float>(scales[is++]);
        for (int l = 16 * group; l < 16 * group + 16; ++l) {
          const int q = ((qs[32 * n + l] >> shift) & 3) - ((hmask[l] & m) ? 0 : 4);
          y[128 * n + 32 * k + l] = dl * static_cast<float>(q);
        }
      }
      m = static_cast<uint8_t>(m << 1);
    }
  }
}

// 6-bit scale and min j (0..7) of Q4_K / Q5_K from their 12 packed bytes.
void ScaleMinK4(int j, const uint8_t* s, int* sc, int* mn) {
  if (j < 4) {
    *sc = s[j] & 63;
    *mn = s[j + 4] & 63;
  } else {
    *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    *mn = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void DequantQ4_K(const uint8_t* b, float* y) {
  const float d = ReadHalf(b), dmin = ReadHalf(b + 2);
  const uint8_t* s = b + 4;
  const uint8_t* qs = b + 16;
  for (int c = 0; c < 4; ++c) {
    int sc0, mn0, sc1, mn1;
    ScaleMinK4(2 * c, s, &sc0, &mn0);
    ScaleMinK4(2 * c + 1, s, &sc1, &mn1);
    const float d0 = d * sc0, m0 = dmin * mn0, d1 = d * sc1, m1 = dmin * mn1;
    for (int l = 0; l < 32; ++l) {
      y[64 * c + l] = d0 * static_cast<float>(qs[32 * c + l] & 15) - m0;
      y[64 * c + 32 + l] = d1 * static_cast<float>(qs[32 * c + l] >> 4) - m1;
    }
  }
}

void DequantQ5_K(const uint8_t* b, float* y) {
  const float d = ReadHalf(b), dmin = ReadHalf(b + 2);
  const uint8_t* s = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int c = 0; c < 4; ++c) {
    int sc0, mn0, sc1, mn1;
    ScaleMinK4(2 * c, s, &sc0, &mn0);
    ScaleMinK4(2 * c + 1, s, &sc1, &mn1);
    const float d0 = d * sc0, m0 = dmin * mn0, d1 = d * sc1, m1 = dmin * mn1;
    for (int l = 0; l < 32; ++l) {
      const int lo = (qs[32 * c + l] & 15) + ((qh[l] & (1 << (2 * c))) ? 16 : 0);
      const int hi = (qs[32 * c + l] >> 4) + ((qh[l] & (2 << (2 * c))) ? 16 : 0);
      y[64 * c + l] = d0 * static_cast<float>(lo) - m0;
      y[64 * c + 32 + l] = d1 * static_cast<float>(hi) - m1;
    }
  }
}

void DequantQ6_K(const uint8_t* b, float* y) {
  const uint8_t* ql_all = b;
  const uint8_t* qh_all = b + 128;
  const int8_t* sc_all = reinterpret_cast<const int8_t*>(b + 192);
  const float d = ReadHalf(b + 208);
  for (int n = 0; n < 2; ++n) {
    const uint8_t* ql = ql_all + 64 * n;
    const uint8_t* qh = qh_all + 32 * n;
    const int8_t* sc = sc_all + 8 * n;
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 15) | ((qh[l] & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[128 * n + l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[128 * n + l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[128 * n + l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[128 * n + l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
  }
}

void DequantIQ4_XS(const uint8_t* b, float* y) {
  const float d = ReadHalf(b);
  const uint16_t scales_h = ReadU16(b + 2);
  const uint8_t* scales_l = b + 4;
  const uint8_t* qs = b + 8;
  for (int ib = 0; ib < 8; ++ib) {
    const int low = (scales_l[ib / 2] >> (4 * (ib % 2))) & 15;
    const int high = (scales_h >> (2 * ib)) & 3;
    const int ls = low | (high << 4);
    const float dl = d * static_cast<float>(ls - 32);
    for (int j = 0; j < 16; ++j) {
      y[32 * ib + j] = dl * static_cast<float>(kIq4nlLevels[qs[16 * ib + j] & 15]);
      y[32 * ib + 16 + j] = dl * static_cast<float>(kIq4nlLevels[qs[16 * ib + j] >> 4]);
    }
  }
}

}  // namespace

float HalfToFloat(uint16_t h) {
  _Float16 v;
  std::memcpy(&v, &h, 2);
  return static_cast<float>(v);
}
uint16_t FloatToHalf(float f) {
  const _Float16 v = static_cast<_Float16>(f);  // IEEE round to nearest even
  uint16_t h;
  std::memcpy(&h, &v, 2);
  return h;
}
float BF16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
float RoundToHalf(float f) { return HalfToFloat(FloatToHalf(f)); }
float RoundToBF16(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return f;  // NaN stays NaN
  bits += 0x7fffu + ((bits >> 16) & 1u);             // round to nearest even
  return BF16ToFloat(static_cast<uint16_t>(bits >> 16));
}

Result<TypeLayout> LayoutOf(uint32_t type) {
  switch (type) {
    case kTypeF32: return TypeLayout{"F32", 1, 4};
    case kTypeF16: return TypeLayout{"F16", 1, 2};
    case kTypeBF16: return TypeLayout{"BF16", 1, 2};
    case kTypeQ8_0: return TypeLayout{"Q8_0", 32, 34};
    case kTypeQ4_0: return TypeLayout{"Q4_0", 32, 18};
    case kTypeQ4_1: return TypeLayout{"Q4_1", 32, 20};
    case kTypeQ5_0: return TypeLayout{"Q5_0", 32, 22};
    case kTypeQ5_1: return TypeLayout{"Q5_1", 32, 24};
    case kTypeIQ4_NL: return TypeLayout{"IQ4_NL", 32, 18};
    case kTypeMXFP4: return TypeLayout{"MXFP4", 32, 17};
    case kTypeQ2_K: return TypeLayout{"Q2_K", 256, 84};
    case kTypeQ3_K: return TypeLayout{"Q3_K", 256, 110};
    case kTypeQ4_K: return TypeLayout{"Q4_K", 256, 144};
    case kTypeQ5_K: return TypeLayout{"Q5_K", 256, 176};
    case kTypeQ6_K: return TypeLayout{"Q6_K", 256, 210};
    case kTypeIQ4_XS: return TypeLayout{"IQ4_XS", 256, 136};
    default: return UnimplementedError("tensor type " + std::to_string(type) + " not supported");
  }
}

void DequantizeRow(uint32_t type, const uint8_t* src, int64_t n, float* dst) {
  if (type == kTypeF32) {
    std::memcpy(dst, src, n * 4);
    return;
  }
  if (type == kTypeF16 || type == kTypeBF16) {
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t v = ReadU16(src + 2 * i);
      dst[i] = type == kTypeF16 ? HalfToFloat(v) : BF16ToFloat(v);
    }
    return;
  }
  const TypeLayout layout = LayoutOf(type).value();
  void (*block_fn)(const uint8_t*, float*) = nullptr;
  switch (type) {
    case kTypeQ8_0: block_fn = DequantQ8_0; break;
    case kTypeQ4_0: block_fn = DequantQ4_0; break;
    case kTypeQ4_1: block_fn = DequantQ4_1; break;
    case kTypeQ5_0: block_fn = DequantQ5_0; break;
    case kTypeQ5_1: block_fn = DequantQ5_1; break;
    case kTypeIQ4_NL: block_fn = DequantIQ4_NL; break;
    case kTypeMXFP4: block_fn = DequantMXFP4; break;
    case kTypeQ2_K: block_fn = DequantQ2_K; break;
    case kTypeQ3_K: block_fn = DequantQ3_K; break;
    case kTypeQ4_K: block_fn = DequantQ4_K; break;
    case kTypeQ5_K: block_fn = DequantQ5_K; break;
    case kTypeQ6_K: block_fn = DequantQ6_K; break;
    case kTypeIQ4_XS: block_fn = DequantIQ4_XS; break;
    default: CHECK(false) << "DequantizeRow: unchecked type " << type;
  }
  for (int64_t b = 0; b < n / layout.block_elems; ++b) {
    block_fn(src + b * layout.block_bytes, dst + b * layout.block_elems);
  }
}

void BlockMinimums(uint32_t type, const uint8_t* src, int64_t n, float* mins) {
  CHECK(type == kTypeQ4_1 || type == kTypeQ5_1) << "BlockMinimums on type " << type;
  const int64_t block_bytes = type == kTypeQ4_1 ? 20 : 24;
  for (int64_t b = 0; b < n / 32; ++b) mins[b] = ReadHalf(src + b * block_bytes + 2);
}

}  // namespace hearth::reference
