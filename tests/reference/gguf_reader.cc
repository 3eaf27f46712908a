#include "reference/gguf_reader.h"

#include <cstdio>
#include <cstring>

#include "reference/dequant.h"

namespace hearth::reference {
namespace {

// Bounds-checked little-endian cursor over the file bytes.
class Cursor {
 public:
  Cursor(const std::vector<uint8_t>& bytes) : bytes_(bytes) {}
  uint64_t pos() const { return pos_; }

  Status Need(uint64_t n, const char* what) const {
    if (n > bytes_.size() - pos_) {
      return DataLossError(std::string("truncated file reading ") + what + " at byte " +
                           std::to_string(pos_));
    }
    return Status::Ok();
  }
  template <typename T>
  Result<T> Read(const char* what) {
    TRY(Need(sizeof(T), what));
    T v;
    std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  Result<std::string> ReadString(const char* what) {
    ASSIGN_OR_RETURN(uint64_t len, Read<uint64_t>(what));
    TRY(Need(len, what));
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), len);
    pos_ += len;
    return s;
  }

 private:
  const std::vector<uint8_t>& bytes_;
  uint64_t pos_ = 0;
};

template <typename T>
Status ReadNumber(Cursor& c, GgufValue& v) {
  ASSIGN_OR_RETURN(T x, c.Read<T>("metadata value"));
  v.number = static_cast<double>(x);
  v.integer = static_cast<int64_t>(x);
  return Status::Ok();
}

Status ReadValue(Cursor& c, uint32_t type, GgufValue& v, bool in_array) {
  v.type = type;
  switch (type) {
    case kGgufU8: return ReadNumber<uint8_t>(c, v);
    case kGgufI8: return ReadNumber<int8_t>(c, v);
    case kGgufU16: return ReadNumber<uint16_t>(c, v);
    case kGgufI16: return ReadNumber<int16_t>(c, v);
    case kGgufU32: return ReadNumber<uint32_t>(c, v);
    case kGgufI32: return ReadNumber<int32_t>(c, v);
    case kGgufF32: return ReadNumber<float>(c, v);
    case kGgufBool: return ReadNumber<uint8_t>(c, v);
    case kGgufU64: return ReadNumber<uint64_t>(c, v);
    case kGgufI64: return ReadNumber<int64_t>(c, v);
    case kGgufF64: return ReadNumber<double>(c, v);
    case kGgufString: {
      ASSIGN_OR_RETURN(v.str, c.ReadString("string value"));
      return Status::Ok();
    }
    case kGgufArray: {
      if (in_array) return InvalidArgumentError("nested array");
      ASSIGN_OR_RETURN(v.array_type, c.Read<uint32_t>("array type"));
      ASSIGN_OR_RETURN(uint64_t count, c.Read<uint64_t>("array count"));
      // Every element takes at least one byte: a count larger than the rest of the file is bad.
      TRY(c.Need(count, "array elements"));
      v.array.resize(count);
      for (uint64_t i = 0; i < count; ++i) TRY(ReadValue(c, v.array_type, v.array[i], true));
      return Status::Ok();
    }
    default: return InvalidArgumentError("unknown value type " + std::to_string(type));
  }
}

}  // namespace

Result<GgufFile> GgufFile::Open(const std::string& path) {
  GgufFile file;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return NotFoundError("cannot open " + path);
  std::fseek(f, 0, SEEK_END);
  const long size = std::ftell(f);
  std::fseek(f, 0, SEEK_SET);
  file.bytes_.resize(size > 0 ? size : 0);
  const size_t got = std::fread(file.bytes_.data(), 1, file.bytes_.size(), f);
  std::fclose(f);
  if (got != file.bytes_.size()) return DataLossError("short read of " + path);

  Cursor c(file.bytes_);
  ASSIGN_OR_RETURN(uint32_t magic, c.Read<uint32_t>("magic"));
  if (magic != 0x46554747u) return InvalidArgumentError(path + ": not a GGUF file (bad magic)");
  ASSIGN_OR_RETURN(uint32_t version, c.Read<uint32_t>("version"));
  if (version != 2 && version != 3) {
    return UnimplementedError(path + ": GGUF version " + std::to_string(version));
  }
  ASSIGN_OR_RETURN(uint64_t n_tensors, c.Read<uint64_t>("tensor count"));
  ASSIGN_OR_RETURN(uint64_t n_kv, c.Read<uint64_t>("metadata count"));
  TRY(c.Need(n_kv, "metadata"));
  for (uint64_t i = 0; i < n_kv; ++i) {
    ASSIGN_OR_RETURN(std::string key, c.ReadString("metadata key"));
    ASSIGN_OR_RETURN(uint32_t type, c.Read<uint32_t>("metadata type"));
    GgufValue value;
    Status s = ReadValue(c, type, value, false);
    if (!s.ok()) return s.WithContext(path + ": key " + key);
    if (key.empty() || file.metadata_.count(key)) {
      return InvalidArgumentError(path + ": empty or duplicate key '" + key + "'");
    }
    file.metadata_[key] = std::move(value);
  }

  TRY(c.Need(n_tensors, "tensor infos"));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensor t;
    ASSIGN_OR_RETURN(t.name, c.ReadString("tensor name"));
    ASSIGN_OR_RETURN(uint32_t n_dims, c.Read<uint32_t>("tensor n_dims"));
    if (n_dims < 1 || n_dims > 4) {
      return InvalidArgumentError(path + ": tensor " + t.name + " has " + std::to_string(n_dims) +
                                  " dims");
    }
    t.ne.assign(4, 1);
    for (uint32_t d = 0; d < n_dims; ++d) {
      ASSIGN_OR_RETURN(uint64_t ne, c.Read<uint64_t>("tensor shape"));
      if (ne == 0 || ne > (1ull << 40)) {
        return InvalidArgumentError(path + ": tensor " + t.name + " bad dimension");
      }
      t.ne[d] = static_cast<int64_t>(ne);
    }
    ASSIGN_OR_RETURN(t.type, c.Read<uint32_t>("tensor type"));
    ASSIGN_OR_RETURN(t.offset, c.Read<uint64_t>("tensor offset"));
    Result<TypeLayout> layout = LayoutOf(t.type);
    if (!layout.ok()) return layout.status().WithContext(path + ": tensor " + t.name);
    if (t.ne[0] % layout->block_elems != 0) {
      return InvalidArgumentError(path + ": tensor " + t.name + " row length " +
                                  std::to_string(t.ne[0]) + " not a multiple of the block size");
    }
    t.nbytes = static_cast<uint64_t>(t.ne[0] / layout->block_elems * layout->block_bytes) *
               t.ne[1] * t.ne[2] * t.ne[3];
    if (file.tensor_index_.count(t.name)) {
      return InvalidArgumentError(path + ": duplicate tensor " + t.name);
    }
    file.tensor_index_[t.name] = file.tensors_.size();
    file.tensors_.push_back(std::move(t));
  }

  uint64_t alignment = 32;
  if (const GgufValue* a = file.Find("general.alignment")) {
    if (a->type != kGgufU32 || a->integer == 0 || (a->integer & (a->integer - 1)) != 0) {
      return InvalidArgumentError(path + ": general.alignment must be a u32 power of two");
    }
    alignment = static_cast<uint64_t>(a->integer);
  }
  const uint64_t data_start = (c.pos() + alignment - 1) / alignment * alignment;
  for (GgufTensor& t : file.tensors_) {
    if (data_start > file.bytes_.size() || t.offset > file.bytes_.size() - data_start ||
        t.nbytes > file.bytes_.size() - data_start - t.offset) {
      return DataLossError(path + ": tensor " + t.name + " data lies outside the file");
    }
    t.data = file.bytes_.data() + data_start + t.offset;
  }
  return file;
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace hearth::reference
