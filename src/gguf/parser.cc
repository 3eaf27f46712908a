// GGUF parsing and validation (gemma-gguf-spec.md §1), following the checks of llama.cpp's
// ggml/src/gguf.cpp: every count and length is compared with the bytes that are left before
// anything is allocated or read, so a hostile count such as 2^60 fails at once.
#include "gguf/parser.h"

#include <bit>
#include <cstring>
#include <limits>
#include <set>
#include <sstream>

namespace hearth::gguf::internal {
namespace {

static_assert(std::endian::native == std::endian::little, "GGUF values are read in place as LE");

// Smallest possible encodings, used to reject counts before looping over them.
constexpr uint64_t kMinKvBytes = 8 + 1 + 4 + 1;          // key length, 1-byte key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name length, n_dims, ne[0], type, offset
constexpr uint32_t kValueTypeCount = 13;

template <typename... Args>
std::string Cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// Printable form of a name taken from the file (may hold any bytes).
std::string Printable(std::string_view s) {
  constexpr size_t kMaxShown = 80;
  std::string out;
  for (size_t i = 0; i < s.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > kMaxShown) out += "...";
  return out;
}

uint64_t PadTo(uint64_t x, uint64_t align) { return (x + align - 1) / align * align; }

class Parser {
 public:
  Parser(const uint8_t* bytes, size_t size, std::string_view name)
      : p_(bytes), size_(size), name_(name) {}

  Result<ParsedShard> Run() {
    TRY(ParseHeader());
    TRY(ParseKvs());
    TRY(ParseAlignment());
    TRY(ParseTensorInfos());
    TRY(LayOutData());
    return std::move(out_);
  }

 private:
  // ---- errors ----
  Status Error(StatusCode code, std::string_view where, uint64_t at, const std::string& msg) const {
    return Status(code, Cat(name_, ": ", where, ": ", msg, " (at byte ", at, ")"));
  }
  // DataLoss unless `n` bytes are left at the cursor.
  Status Need(uint64_t n, std::string_view where, std::string_view what) const {
    if (n <= Left()) return Status::Ok();
    return Error(StatusCode::kDataLoss, where, pos_,
                 Cat(what, " needs ", n, " bytes but only ", Left(), " are left (file is truncated)"));
  }

  // ---- cursor ----
  uint64_t Left() const { return size_ - pos_; }
  template <typename T>
  T Take() {  // caller has checked Need(sizeof(T))
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <typename T>
  Status Read(T* v, std::string_view where, std::string_view what) {
    TRY(Need(sizeof(T), where, what));
    *v = Take<T>();
    return Status::Ok();
  }
  Status ReadString(std::string_view* s, std::string_view where, std::string_view what) {
    uint64_t n = 0;
    TRY(Read(&n, where, Cat(what, " length")));
    if (n > Left()) {
      return Error(StatusCode::kDataLoss, where, pos_ - 8,
                   Cat(what, " length ", n, " exceeds the ", Left(), " bytes left"));
    }
    *s = std::string_view(reinterpret_cast<const char*>(p_ + pos_), n);
    pos_ += n;
    return Status::Ok();
  }

  // ---- sections ----
  Status ParseHeader() {
    constexpr std::string_view kWhere = "header";
    if (size_ < 4) {
      return Error(StatusCode::kDataLoss, kWhere, 0,
                   Cat("file is ", size_, " bytes, too short for the GGUF magic"));
    }
    if (std::memcmp(p_, "GGUF", 4) != 0) {
      return Error(StatusCode::kInvalidArgument, kWhere, 0,
                   Cat("not a GGUF file: magic is \"",
                       Printable(std::string_view(reinterpret_cast<const char*>(p_), 4)),
                       "\", expected \"GGUF\""));
    }
    pos_ = 4;
    uint32_t version = 0;
    TRY(Read(&version, kWhere, "version"));
    if ((version & 0xffff) == 0) {
      return Error(StatusCode::kInvalidArgument, kWhere, 4,
                   Cat("version ", version, " has zero low 16 bits: the file was written with the "
                       "other endianness (or is corrupt)"));
    }
    if (version == 1) {
      return Error(StatusCode::kInvalidArgument, kWhere, 4, "GGUFv1 is no longer supported");
    }
    if (version > kMaxVersion) {
      return Error(StatusCode::kInvalidArgument, kWhere, 4,
                   Cat("version ", version, " is newer than the newest supported (", kMaxVersion, ")"));
    }
    out_.version = version;
    TRY(Read(&n_tensors_, kWhere, "n_tensors"));
    TRY(Read(&n_kv_, kWhere, "n_kv"));
    // Both sections must fit in what is left, each entry taking at least its minimal encoding.
    if (n_kv_ > Left() / kMinKvBytes) {
      return Error(StatusCode::kDataLoss, kWhere, 16,
                   Cat("n_kv = ", n_kv_, " cannot fit in the ", Left(), " bytes left"));
    }
    if (n_tensors_ > Left() / kMinTensorInfoBytes ||
        n_kv_ * kMinKvBytes + n_tensors_ * kMinTensorInfoBytes > Left()) {
      return Error(StatusCode::kDataLoss, kWhere, 8,
                   Cat("n_tensors = ", n_tensors_, " (with n_kv = ", n_kv_, ") cannot fit in the ",
                       Left(), " bytes left"));
    }
    return Status::Ok();
  }

  Status ParseKvs() {
    for (uint64_t i = 0; i < n_kv_; ++i) {
      const uint64_t start = pos_;
      std::string where = Cat("key #", i);
      std::string_view key;
      TRY(ReadString(&key, where, "key"));
      if (key.empty()) return Error(StatusCode::kInvalidArgument, where, start, "key is empty");
      where = Cat("key '", Printable(key), "'");
      if (out_.kv.find(key) != out_.kv.end()) {
        return Error(StatusCode::kInvalidArgument, where, start, "duplicate key");
      }
      uint32_t type = 0;
      TRY(Read(&type, where, "value type"));
      if (type >= kValueTypeCount) {
        return Error(StatusCode::kInvalidArgument, where, pos_ - 4, Cat("invalid value type ", type));
      }
      if (key == "general.alignment") alignment_pos_ = start;
      Value v;
      v.type = static_cast<ValueType>(type);
      TRY(ReadValue(&v, where));
      out_.kv.emplace(std::string(key), std::move(v));
    }
    return Status::Ok();
  }

  Status ReadScalar(Value* v, ValueType t, std::string_view where) {
    const std::string what = Cat(ValueTypeName(t), " value");
    switch (t) {
      case ValueType::kU8: { uint8_t x; TRY(Read(&x, where, what)); v->u = x; v->i = x; break; }
      case ValueType::kI8: { int8_t x; TRY(Read(&x, where, what)); v->i = x; v->u = static_cast<uint64_t>(v->i); break; }
      case ValueType::kU16: { uint16_t x; TRY(Read(&x, where, what)); v->u = x; v->i = x; break; }
      case ValueType::kI16: { int16_t x; TRY(Read(&x, where, what)); v->i = x; v->u = static_cast<uint64_t>(v->i); break; }
      case ValueType::kU32: { uint32_t x; TRY(Read(&x, where, what)); v->u = x; v->i = x; break; }
      case ValueType::kI32: { int32_t x; TRY(Read(&x, where, what)); v->i = x; v->u = static_cast<uint64_t>(v->i); break; }
      case ValueType::kU64: { uint64_t x; TRY(Read(&x, where, what)); v->u = x; v->i = static_cast<int64_t>(x); break; }
      case ValueType::kI64: { int64_t x; TRY(Read(&x, where, what)); v->i = x; v->u = static_cast<uint64_t>(x); break; }
      case ValueType::kF32: { float x; TRY(Read(&x, where, what)); v->f = x; break; }
      case ValueType::kF64: { double x; TRY(Read(&x, where, what)); v->f = x; break; }
      case ValueType::kBool: { uint8_t x; TRY(Read(&x, where, what)); v->b = x != 0; v->u = x; break; }
      case ValueType::kString: TRY(ReadString(&v->str, where, "string value")); break;
      case ValueType::kArray: CHECK(false) << "arrays are not scalars"; break;
    }
    return Status::Ok();
  }

  Status ReadValue(Value* v, std::string_view where) {
    if (v->type != ValueType::kArray) return ReadScalar(v, v->type, where);
    uint32_t elem = 0;
    TRY(Read(&elem, where, "array element type"));
    if (elem == static_cast<uint32_t>(ValueType::kArray)) {
      return Error(StatusCode::kInvalidArgument, where, pos_ - 4, "nested arrays are not allowed");
    }
    if (elem >= kValueTypeCount) {
      return Error(StatusCode::kInvalidArgument, where, pos_ - 4,
                   Cat("invalid array element type ", elem));
    }
    v->elem_type = static_cast<ValueType>(elem);
    TRY(Read(&v->count, where, "array count"));
    const size_t elem_size = v->elem_type == ValueType::kString ? 8 : ScalarSize(v->elem_type);
    if (v->count > Left() / elem_size) {
      return Error(StatusCode::kDataLoss, where, pos_ - 8,
                   Cat("array of ", v->count, " ", ValueTypeName(v->elem_type),
                       " cannot fit in the ", Left(), " bytes left"));
    }
    if (v->elem_type != ValueType::kString) {
      v->elems = p_ + pos_;
      pos_ += v->count * elem_size;
      return Status::Ok();
    }
    v->strings.reserve(v->count);  // bounded by the file size / 8 (checked above)
    for (uint64_t j = 0; j < v->count; ++j) {
      std::string_view s;
      TRY(ReadString(&s, where, Cat("string #", j)));
      v->strings.push_back(s);
    }
    return Status::Ok();
  }

  Status ParseAlignment() {
    auto it = out_.kv.find("general.alignment");
    if (it == out_.kv.end()) return Status::Ok();
    const Value& v = it->second;
    constexpr std::string_view kWhere = "key 'general.alignment'";
    if (v.type != ValueType::kU32) {
      return Error(StatusCode::kInvalidArgument, kWhere, alignment_pos_,
                   Cat("must be u32, found ", ValueTypeName(v.type)));
    }
    if (v.u == 0 || !std::has_single_bit(v.u)) {
      return Error(StatusCode::kInvalidArgument, kWhere, alignment_pos_,
                   Cat("alignment ", v.u, " is not a non-zero power of two"));
    }
    out_.alignment = static_cast<uint32_t>(v.u);
    return Status::Ok();
  }

  Status ParseTensorInfos() {
    out_.tensors.reserve(n_tensors_);  // bounded by the file size / 32 (checked in the header)
    std::set<std::string_view> names;
    for (uint64_t i = 0; i < n_tensors_; ++i) {
      const uint64_t start = pos_;
      std::string where = Cat("tensor #", i);
      std::string_view name;
      TRY(ReadString(&name, where, "tensor name"));
      where = Cat("tensor '", Printable(name), "'");
      if (name.size() > kMaxTensorNameBytes) {
        return Error(StatusCode::kInvalidArgument, where, start,
                     Cat("name is ", name.size(), " bytes, longer than the ggml limit of ",
                         kMaxTensorNameBytes));
      }
      if (!names.insert(name).second) {
        return Error(StatusCode::kInvalidArgument, where, start, "duplicate tensor name");
      }
      TensorInfo t;
      t.name = std::string(name);
      TRY(Read(&t.n_dims, where, "n_dims"));
      if (t.n_dims < 1 || t.n_dims > 4) {
        return Error(StatusCode::kInvalidArgument, where, pos_ - 4,
                     Cat("n_dims = ", t.n_dims, " is outside 1..4"));
      }
      int64_t n_elements = 1;
      for (uint32_t d = 0; d < t.n_dims; ++d) {
        TRY(Read(&t.ne[d], where, Cat("ne[", d, "]")));
        if (t.ne[d] < 0) {
          return Error(StatusCode::kInvalidArgument, where, pos_ - 8,
                       Cat("ne[", d, "] = ", static_cast<uint64_t>(t.ne[d]), " is negative as int64"));
        }
        if (t.ne[d] != 0 && n_elements > std::numeric_limits<int64_t>::max() / t.ne[d]) {
          return Error(StatusCode::kInvalidArgument, where, pos_ - 8,
                       "element count overflows int64");
        }
        n_elements *= t.ne[d];
      }
      uint32_t type = 0;
      TRY(Read(&type, where, "type"));
      if (type >= kTensorTypeCount) {
        return Error(StatusCode::kInvalidArgument, where, pos_ - 4,
                     Cat("type id ", type, " is out of range (ggml has ", kTensorTypeCount, ")"));
      }
      std::optional<TypeTraits> tr = GetTypeTraits(type);
      if (!tr) {
        return Error(StatusCode::kInvalidArgument, where, pos_ - 4,
                     Cat("type id ", type, " is a retired ggml type"));
      }
      t.type = static_cast<TensorType>(type);
      if (t.ne[0] % tr->block_elems != 0) {
        return Error(StatusCode::kInvalidArgument, where, start,
                     Cat("ne[0] = ", t.ne[0], " is not a multiple of the ", tr->name,
                         " block size ", tr->block_elems));
      }
      // nbytes = blocks per row × block bytes × rows, checked for overflow.
      unsigned __int128 nbytes = static_cast<unsigned __int128>(t.ne[0] / tr->block_elems) *
                                 static_cast<unsigned __int128>(tr->block_bytes);
      for (int d = 1; d < 4; ++d) {
        nbytes *= static_cast<uint64_t>(t.ne[d]);
        if (nbytes > std::numeric_limits<int64_t>::max()) {
          return Error(StatusCode::kInvalidArgument, where, start, "byte size overflows int64");
        }
      }
      if (nbytes > std::numeric_limits<int64_t>::max()) {
        return Error(StatusCode::kInvalidArgument, where, start, "byte size overflows int64");
      }
      t.nbytes = static_cast<uint64_t>(nbytes);
      TRY(Read(&t.offset, where, "offset"));
      info_pos_.push_back(start);
      out_.tensors.push_back(std::move(t));
    }
    return Status::Ok();
  }

  // Offsets must be exactly the running padded sum; data must lie within the file.
  Status LayOutData() {
    const uint64_t align = out_.alignment;
    out_.data_offset = PadTo(pos_, align);  // pos_ <= size_ < 2^63: no overflow
    uint64_t expected = 0;
    for (size_t i = 0; i < out_.tensors.size(); ++i) {
      TensorInfo& t = out_.tensors[i];
      const std::string where = Cat("tensor '", Printable(t.name), "'");
      if (t.offset != expected) {
        return Error(StatusCode::kDataLoss, where, info_pos_[i],
                     Cat("offset ", t.offset, " is not the expected ", expected,
                         " (offsets must be the running sum of sizes padded to ", align, ")"));
      }
      const unsigned __int128 end =
          static_cast<unsigned __int128>(out_.data_offset) + t.offset + t.nbytes;
      if (end > size_) {
        return Error(StatusCode::kDataLoss, where, info_pos_[i],
                     Cat("data [", out_.data_offset + t.offset, ", +", t.nbytes,
                         ") runs past the end of the file (", size_, " bytes)"));
      }
      t.data = p_ + out_.data_offset + t.offset;
      // Within the file, so neither sum can overflow.
      expected += PadTo(t.nbytes, align);
    }
    return Status::Ok();
  }

  const uint8_t* p_;
  uint64_t size_;
  std::string_view name_;
  uint64_t pos_ = 0;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
  uint64_t alignment_pos_ = 0;      // byte position of the general.alignment key
  std::vector<uint64_t> info_pos_;  // byte position of each tensor-info record
  ParsedShard out_;
};

}  // namespace

size_t ScalarSize(ValueType t) {
  switch (t) {
    case ValueType::kU8: case ValueType::kI8: case ValueType::kBool: return 1;
    case ValueType::kU16: case ValueType::kI16: return 2;
    case ValueType::kU32: case ValueType::kI32: case ValueType::kF32: return 4;
    case ValueType::kU64: case ValueType::kI64: case ValueType::kF64: return 8;
    case ValueType::kString: case ValueType::kArray: return 0;
  }
  return 0;
}

Result<ParsedShard> ParseShard(const uint8_t* bytes, size_t size, std::string_view name) {
  if (bytes == nullptr) size = 0;
  static const uint8_t kEmpty = 0;
  Parser parser(bytes != nullptr ? bytes : &kEmpty, size, name);
  return parser.Run();
}

}  // namespace hearth::gguf::internal
