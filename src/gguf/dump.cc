// DescribeFile / DescribeValue: text summaries of GGUF metadata and tensors.
#include "gguf/dump.h"

#include <cstring>
#include <sstream>

#include "gguf/parser.h"

namespace hearth::gguf {
namespace {

constexpr size_t kMaxStringShown = 60;  // bytes of a string value shown before "..."
constexpr uint64_t kMaxElemsShown = 4;  // array elements shown after the [type × count] tag

void AppendQuoted(std::ostringstream& os, std::string_view s) {
  os << '"';
  for (size_t i = 0; i < s.size() && i < kMaxStringShown; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      os << '\\' << s[i];
    } else if (c == '\n') {
      os << "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      os << "\\x" << kHex[c >> 4] << kHex[c & 15];
    } else {
      os << s[i];  // UTF-8 bytes pass through
    }
  }
  if (s.size() > kMaxStringShown) os << "...";
  os << '"';
}

void AppendElement(std::ostringstream& os, ValueType t, const uint8_t* p) {
  switch (t) {
    case ValueType::kU8: { uint8_t x; std::memcpy(&x, p, 1); os << unsigned{x}; break; }
    case ValueType::kI8: { int8_t x; std::memcpy(&x, p, 1); os << int{x}; break; }
    case ValueType::kU16: { uint16_t x; std::memcpy(&x, p, 2); os << x; break; }
    case ValueType::kI16: { int16_t x; std::memcpy(&x, p, 2); os << x; break; }
    case ValueType::kU32: { uint32_t x; std::memcpy(&x, p, 4); os << x; break; }
    case ValueType::kI32: { int32_t x; std::memcpy(&x, p, 4); os << x; break; }
    case ValueType::kU64: { uint64_t x; std::memcpy(&x, p, 8); os << x; break; }
    case ValueType::kI64: { int64_t x; std::memcpy(&x, p, 8); os << x; break; }
    case ValueType::kF32: { float x; std::memcpy(&x, p, 4); os << x; break; }
    case ValueType::kF64: { double x; std::memcpy(&x, p, 8); os << x; break; }
    case ValueType::kBool: os << (p[0] != 0 ? "true" : "false"); break;
    case ValueType::kString: case ValueType::kArray: os << "?"; break;
  }
}

}  // namespace

std::string DescribeValue(const Value& v) {
  std::ostringstream os;
  os.precision(9);
  switch (v.type) {
    case ValueType::kString: AppendQuoted(os, v.str); break;
    case ValueType::kBool: os << (v.b ? "true" : "false"); break;
    case ValueType::kF32: case ValueType::kF64: os << v.f << " (" << ValueTypeName(v.type) << ")"; break;
    case ValueType::kI8: case ValueType::kI16: case ValueType::kI32: case ValueType::kI64:
      os << v.i << " (" << ValueTypeName(v.type) << ")";
      break;
    case ValueType::kU8: case ValueType::kU16: case ValueType::kU32: case ValueType::kU64:
      os << v.u << " (" << ValueTypeName(v.type) << ")";
      break;
    case ValueType::kArray: {
      os << "[" << ValueTypeName(v.elem_type) << " \u00d7 " << v.count << "]";
      const uint64_t shown = v.count < kMaxElemsShown ? v.count : kMaxElemsShown;
      const size_t size = internal::ScalarSize(v.elem_type);
      for (uint64_t j = 0; j < shown; ++j) {
        os << (j == 0 ? " " : ", ");
        if (v.elem_type == ValueType::kString) {
          if (j < v.strings.size()) AppendQuoted(os, v.strings[j]);
        } else {
          AppendElement(os, v.elem_type, v.elems + j * size);
        }
      }
      if (v.count > shown) os << ", ...";
      break;
    }
  }
  return os.str();
}

std::string DescribeFile(const File& file, bool with_tensors) {
  std::ostringstream os;
  const auto text = [&](std::string_view key) -> std::string {
    const Value* v = file.Find(key);
    return v != nullptr && v->type == ValueType::kString ? std::string(v->str) : "?";
  };
  os << "file: " << file.path() << " (" << file.shard_count()
     << (file.shard_count() == 1 ? " shard, " : " shards, ") << file.total_bytes() << " bytes)\n";
  os << "architecture: " << text("general.architecture") << "   name: " << text("general.name")
     << "   version: " << file.version() << "   alignment: " << file.alignment() << "\n";
  os << "keys: " << file.metadata().size() << "\n";
  for (const auto& [key, value] : file.metadata()) {
    os << "  " << key << " = " << DescribeValue(value) << "\n";
  }
  os << "tensors: " << file.tensors().size() << "\n";
  if (with_tensors) {
    for (const TensorInfo& t : file.tensors()) {
      os << "  " << t.name << "  " << TypeName(t.type) << "  [";
      for (uint32_t d = 0; d < t.n_dims; ++d) os << (d ? ", " : "") << t.ne[d];
      os << "]  " << t.nbytes << " bytes";
      if (file.shard_count() > 1) os << "  (shard " << t.shard + 1 << ")";
      os << "\n";
    }
  }
  return os.str();
}

}  // namespace hearth::gguf
