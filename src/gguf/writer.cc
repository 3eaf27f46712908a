// GGUF v3 writer (gemma-gguf-spec.md §1): header, metadata in insertion order, tensor infos with
// offsets equal to the running padded sum, zero padding up to the alignment before the data
// section and after every tensor.
#include "gguf/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "gguf/parser.h"

namespace hearth::gguf {
namespace {

class Bytes {
 public:
  explicit Bytes(std::vector<uint8_t>* out) : out_(out) {}
  template <typename T>
  void Put(T v) {
    uint8_t b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // little-endian host (asserted in parser.cc)
    out_->insert(out_->end(), b, b + sizeof(T));
  }
  void PutRaw(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out_->insert(out_->end(), b, b + n);
  }
  void PutString(std::string_view s) {
    Put<uint64_t>(s.size());
    PutRaw(s.data(), s.size());
  }
  void PadTo(uint64_t align) { out_->resize((out_->size() + align - 1) / align * align, 0); }

 private:
  std::vector<uint8_t>* out_;
};

template <typename T>
std::vector<uint8_t> EncodeScalar(ValueType t, T v) {
  std::vector<uint8_t> e;
  Bytes b(&e);
  b.Put<uint32_t>(static_cast<uint32_t>(t));
  b.Put<T>(v);
  return e;
}

template <typename T>
std::vector<uint8_t> EncodeArray(ValueType elem, const std::vector<T>& v) {
  std::vector<uint8_t> e;
  Bytes b(&e);
  b.Put<uint32_t>(static_cast<uint32_t>(ValueType::kArray));
  b.Put<uint32_t>(static_cast<uint32_t>(elem));
  b.Put<uint64_t>(v.size());
  for (const T& x : v) b.Put<T>(x);
  return e;
}

constexpr size_t kMaxTensorNameBytes = internal::kMaxTensorNameBytes;

}  // namespace

void Writer::Put(const std::string& key, std::vector<uint8_t> encoded) {
  CHECK(!key.empty()) << "GGUF keys must be non-empty";
  for (Kv& kv : kvs_) {
    if (kv.key == key) {
      kv.encoded = std::move(encoded);
      return;
    }
  }
  kvs_.push_back(Kv{key, std::move(encoded)});
}

bool Writer::HasKey(const std::string& key) const {
  for (const Kv& kv : kvs_) {
    if (kv.key == key) return true;
  }
  return false;
}

void Writer::SetU8(const std::string& k, uint8_t v) { Put(k, EncodeScalar(ValueType::kU8, v)); }
void Writer::SetI8(const std::string& k, int8_t v) { Put(k, EncodeScalar(ValueType::kI8, v)); }
void Writer::SetU16(const std::string& k, uint16_t v) { Put(k, EncodeScalar(ValueType::kU16, v)); }
void Writer::SetI16(const std::string& k, int16_t v) { Put(k, EncodeScalar(ValueType::kI16, v)); }
void Writer::SetU32(const std::string& k, uint32_t v) { Put(k, EncodeScalar(ValueType::kU32, v)); }
void Writer::SetI32(const std::string& k, int32_t v) { Put(k, EncodeScalar(ValueType::kI32, v)); }
void Writer::SetU64(const std::string& k, uint64_t v) { Put(k, EncodeScalar(ValueType::kU64, v)); }
void Writer::SetI64(const std::string& k, int64_t v) { Put(k, EncodeScalar(ValueType::kI64, v)); }
void Writer::SetF32(const std::string& k, float v) { Put(k, EncodeScalar(ValueType::kF32, v)); }
void Writer::SetF64(const std::string& k, double v) { Put(k, EncodeScalar(ValueType::kF64, v)); }
void Writer::SetBool(const std::string& k, bool v) {
  Put(k, EncodeScalar<uint8_t>(ValueType::kBool, v ? 1 : 0));
}

void Writer::SetString(const std::string& key, const std::string& v) {
  std::vector<uint8_t> e;
  Bytes b(&e);
  b.Put<uint32_t>(static_cast<uint32_t>(ValueType::kString));
  b.PutString(v);
  Put(key, std::move(e));
}

void Writer::SetU8Array(const std::string& k, const std::vector<uint8_t>& v) { Put(k, EncodeArray(ValueType::kU8, v)); }
void Writer::SetI8Array(const std::string& k, const std::vector<int8_t>& v) { Put(k, EncodeArray(ValueType::kI8, v)); }
void Writer::SetU16Array(const std::string& k, const std::vector<uint16_t>& v) { Put(k, EncodeArray(ValueType::kU16, v)); }
void Writer::SetI16Array(const std::string& k, const std::vector<int16_t>& v) { Put(k, EncodeArray(ValueType::kI16, v)); }
void Writer::SetU32Array(const std::string& k, const std::vector<uint32_t>& v) { Put(k, EncodeArray(ValueType::kU32, v)); }
void Writer::SetI32Array(const std::string& k, const std::vector<int32_t>& v) { Put(k, EncodeArray(ValueType::kI32, v)); }
void Writer::SetU64Array(const std::string& k, const std::vector<uint64_t>& v) { Put(k, EncodeArray(ValueType::kU64, v)); }
void Writer::SetI64Array(const std::string& k, const std::vector<int64_t>& v) { Put(k, EncodeArray(ValueType::kI64, v)); }
void Writer::SetF32Array(const std::string& k, const std::vector<float>& v) { Put(k, EncodeArray(ValueType::kF32, v)); }
void Writer::SetF64Array(const std::string& k, const std::vector<double>& v) { Put(k, EncodeArray(ValueType::kF64, v)); }

void Writer::SetBoolArray(const std::string& key, const std::vector<bool>& v) {
  std::vector<uint8_t> bytes(v.begin(), v.end());
  std::vector<uint8_t> e = EncodeArray(ValueType::kU8, bytes);
  const uint32_t bool_type = static_cast<uint32_t>(ValueType::kBool);
  std::memcpy(e.data() + 4, &bool_type, 4);  // element type lives after the array type id
  Put(key, std::move(e));
}

void Writer::SetStringArray(const std::string& key, const std::vector<std::string>& v) {
  std::vector<uint8_t> e;
  Bytes b(&e);
  b.Put<uint32_t>(static_cast<uint32_t>(ValueType::kArray));
  b.Put<uint32_t>(static_cast<uint32_t>(ValueType::kString));
  b.Put<uint64_t>(v.size());
  for (const std::string& s : v) b.PutString(s);
  Put(key, std::move(e));
}

void Writer::SetValue(const std::string& key, const Value& v) {
  std::vector<uint8_t> e;
  Bytes b(&e);
  b.Put<uint32_t>(static_cast<uint32_t>(v.type));
  switch (v.type) {
    case ValueType::kU8: case ValueType::kI8: b.Put<uint8_t>(static_cast<uint8_t>(v.u)); break;
    case ValueType::kBool: b.Put<uint8_t>(v.b ? 1 : 0); break;
    case ValueType::kU16: case ValueType::kI16: b.Put<uint16_t>(static_cast<uint16_t>(v.u)); break;
    case ValueType::kU32: case ValueType::kI32: b.Put<uint32_t>(static_cast<uint32_t>(v.u)); break;
    case ValueType::kU64: case ValueType::kI64: b.Put<uint64_t>(v.u); break;
    case ValueType::kF32: b.Put<float>(static_cast<float>(v.f)); break;
    case ValueType::kF64: b.Put<double>(v.f); break;
    case ValueType::kString: b.PutString(v.str); break;
    case ValueType::kArray:
      CHECK(v.elem_type != ValueType::kArray) << "GGUF has no nested arrays";
      b.Put<uint32_t>(static_cast<uint32_t>(v.elem_type));
      b.Put<uint64_t>(v.count);
      if (v.elem_type == ValueType::kString) {
        CHECK(v.strings.size() == v.count) << "string array of " << v.count << " holds " << v.strings.size();
        for (std::string_view s : v.strings) b.PutString(s);
      } else if (v.count > 0) {
        b.PutRaw(v.elems, v.count * internal::ScalarSize(v.elem_type));
      }
      break;
  }
  if (key == "general.alignment") {
    CHECK(v.type == ValueType::kU32 && v.u != 0 && std::has_single_bit(v.u))
        << "general.alignment must be a u32 power of two";
    alignment_ = static_cast<uint32_t>(v.u);
  }
  Put(key, std::move(e));
}

void Writer::SetAlignment(uint32_t a) {
  CHECK(a != 0 && std::has_single_bit(a)) << "alignment " << a << " is not a power of two";
  alignment_ = a;
  SetU32("general.alignment", a);
}

Status Writer::AddTensor(const std::string& name, TensorType type, std::vector<int64_t> ne,
                         std::vector<uint8_t> data) {
  const std::string where = "gguf writer: tensor '" + name + "': ";
  if (name.size() > kMaxTensorNameBytes) {
    return InvalidArgumentError(where + "name is longer than " + std::to_string(kMaxTensorNameBytes) +
                                " bytes");
  }
  for (const Tensor& t : tensors_) {
    if (t.name == name) return InvalidArgumentError(where + "duplicate tensor name");
  }
  std::optional<TypeTraits> tr = GetTypeTraits(static_cast<uint32_t>(type));
  if (!tr) return InvalidArgumentError(where + "unknown type id " + std::to_string(static_cast<uint32_t>(type)));
  if (ne.empty() || ne.size() > 4) {
    return InvalidArgumentError(where + std::to_string(ne.size()) + " dims, expected 1..4");
  }
  unsigned __int128 nbytes = 1;
  for (size_t d = 0; d < ne.size(); ++d) {
    if (ne[d] < 0) return InvalidArgumentError(where + "ne[" + std::to_string(d) + "] is negative");
    nbytes *= static_cast<uint64_t>(d == 0 ? ne[0] / tr->block_elems : ne[d]);
    if (nbytes > UINT64_MAX) return InvalidArgumentError(where + "size overflows");
  }
  if (ne[0] % tr->block_elems != 0) {
    return InvalidArgumentError(where + "ne[0] = " + std::to_string(ne[0]) +
                                " is not a multiple of the " + std::string(tr->name) +
                                " block size " + std::to_string(tr->block_elems));
  }
  nbytes *= static_cast<uint64_t>(tr->block_bytes);
  if (nbytes != data.size()) {
    return InvalidArgumentError(where + "data holds " + std::to_string(data.size()) +
                                " bytes, the shape needs " + std::to_string(static_cast<uint64_t>(nbytes)));
  }
  tensors_.push_back(Tensor{name, type, std::move(ne), std::move(data)});
  return Status::Ok();
}

std::vector<uint8_t> Writer::Serialize() const {
  std::vector<uint8_t> out;
  Bytes b(&out);
  b.PutRaw("GGUF", 4);
  b.Put<uint32_t>(internal::kMaxVersion);
  b.Put<uint64_t>(tensors_.size());
  b.Put<uint64_t>(kvs_.size());
  for (const Kv& kv : kvs_) {
    b.PutString(kv.key);
    b.PutRaw(kv.encoded.data(), kv.encoded.size());
  }
  uint64_t offset = 0;
  for (const Tensor& t : tensors_) {
    b.PutString(t.name);
    b.Put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t n : t.ne) b.Put<uint64_t>(static_cast<uint64_t>(n));
    b.Put<uint32_t>(static_cast<uint32_t>(t.type));
    b.Put<uint64_t>(offset);
    offset += (t.data.size() + alignment_ - 1) / alignment_ * alignment_;
  }
  b.PadTo(alignment_);
  for (const Tensor& t : tensors_) {
    b.PutRaw(t.data.data(), t.data.size());
    b.PadTo(alignment_);
  }
  return out;
}

Status Writer::WriteFile(const std::string& path) const {
  const std::vector<uint8_t> bytes = Serialize();
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return InvalidArgumentError(tmp + ": cannot create: " + std::strerror(errno));
  }
  const auto fail = [&](const char* what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return Status(err == ENOSPC ? StatusCode::kResourceExhausted : StatusCode::kInternal,
                  tmp + ": " + what + ": " + std::strerror(err));
  };
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("write failed", errno);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) return fail("fsync failed", errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status(StatusCode::kInternal, tmp + ": close failed: " + std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return Status(StatusCode::kInternal, "cannot rename " + tmp + " to " + path + ": " + std::strerror(err));
  }
  return Status::Ok();
}

}  // namespace hearth::gguf
