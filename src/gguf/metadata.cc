// Typed metadata getters of gguf::File. Conversion rules: an integer of any width and signedness
// converts to another integer type when the value fits; f32 and f64 convert to each other (f64 to
// f32 only when finite values stay finite); bool and string convert to nothing else.
#include <cmath>
#include <cstring>
#include <limits>

#include "gguf/file.h"
#include "gguf/parser.h"

namespace hearth::gguf {
namespace {

bool IsInteger(ValueType t) {
  switch (t) {
    case ValueType::kU8: case ValueType::kI8: case ValueType::kU16: case ValueType::kI16:
    case ValueType::kU32: case ValueType::kI32: case ValueType::kU64: case ValueType::kI64:
      return true;
    default:
      return false;
  }
}
bool IsSigned(ValueType t) {
  return t == ValueType::kI8 || t == ValueType::kI16 || t == ValueType::kI32 || t == ValueType::kI64;
}
bool IsFloat(ValueType t) { return t == ValueType::kF32 || t == ValueType::kF64; }

// An integer as (negative?, magnitude-or-value) so any target range can be tested exactly.
struct Int {
  bool negative;
  uint64_t u;  // the value when !negative
  int64_t i;   // the value when negative
};

Int LoadInt(ValueType t, const uint8_t* p) {
  switch (t) {
    case ValueType::kU8: { uint8_t x; std::memcpy(&x, p, 1); return {false, x, 0}; }
    case ValueType::kU16: { uint16_t x; std::memcpy(&x, p, 2); return {false, x, 0}; }
    case ValueType::kU32: { uint32_t x; std::memcpy(&x, p, 4); return {false, x, 0}; }
    case ValueType::kU64: { uint64_t x; std::memcpy(&x, p, 8); return {false, x, 0}; }
    case ValueType::kI8: { int8_t x; std::memcpy(&x, p, 1); return {x < 0, static_cast<uint64_t>(x), x}; }
    case ValueType::kI16: { int16_t x; std::memcpy(&x, p, 2); return {x < 0, static_cast<uint64_t>(x), x}; }
    case ValueType::kI32: { int32_t x; std::memcpy(&x, p, 4); return {x < 0, static_cast<uint64_t>(x), x}; }
    case ValueType::kI64: { int64_t x; std::memcpy(&x, p, 8); return {x < 0, static_cast<uint64_t>(x), x}; }
    default: CHECK(false) << "not an integer type"; return {};
  }
}

Int ScalarInt(const Value& v) {
  if (IsSigned(v.type)) return {v.i < 0, v.u, v.i};
  return {false, v.u, 0};
}

double LoadFloat(ValueType t, const uint8_t* p) {
  if (t == ValueType::kF32) { float x; std::memcpy(&x, p, 4); return x; }
  double x;
  std::memcpy(&x, p, 8);
  return x;
}

template <typename T>
bool Fits(const Int& x) {
  if (x.negative) return std::numeric_limits<T>::is_signed && x.i >= std::numeric_limits<T>::min();
  return x.u <= static_cast<uint64_t>(std::numeric_limits<T>::max());
}
template <typename T>
T Narrow(const Int& x) { return x.negative ? static_cast<T>(x.i) : static_cast<T>(x.u); }

std::string IntText(const Int& x) { return x.negative ? std::to_string(x.i) : std::to_string(x.u); }

bool FloatToF32(double d, float* out) {
  if (std::isfinite(d) && std::fabs(d) > std::numeric_limits<float>::max()) return false;
  *out = static_cast<float>(d);
  return true;
}

}  // namespace

std::string_view ValueTypeName(ValueType t) {
  switch (t) {
    case ValueType::kU8: return "u8";
    case ValueType::kI8: return "i8";
    case ValueType::kU16: return "u16";
    case ValueType::kI16: return "i16";
    case ValueType::kU32: return "u32";
    case ValueType::kI32: return "i32";
    case ValueType::kF32: return "f32";
    case ValueType::kBool: return "bool";
    case ValueType::kString: return "string";
    case ValueType::kArray: return "array";
    case ValueType::kU64: return "u64";
    case ValueType::kI64: return "i64";
    case ValueType::kF64: return "f64";
  }
  return "?";
}

// ---- lookup helpers ----

Status File::TypeError(std::string_view key, const Value& v, std::string_view wanted) const {
  std::string have(ValueTypeName(v.type));
  if (v.type == ValueType::kArray) have = "array of " + std::string(ValueTypeName(v.elem_type));
  return InvalidArgumentError(path_ + ": key '" + std::string(key) + "' has type " + have +
                              ", expected " + std::string(wanted));
}

Result<const Value*> File::Lookup(std::string_view key) const {
  const Value* v = Find(key);
  if (v == nullptr) return NotFoundError(path_ + ": key '" + std::string(key) + "' not found");
  return v;
}

template <typename T>
Result<T> File::GetInt(std::string_view key, std::string_view wanted) const {
  ASSIGN_OR_RETURN(const Value* v, Lookup(key));
  if (!IsInteger(v->type)) return TypeError(key, *v, wanted);
  Int x = ScalarInt(*v);
  if (!Fits<T>(x)) {
    return InvalidArgumentError(path_ + ": key '" + std::string(key) + "' value " + IntText(x) +
                                " (" + std::string(ValueTypeName(v->type)) + ") does not fit in " +
                                std::string(wanted));
  }
  return Narrow<T>(x);
}

// ---- scalars ----

Result<uint32_t> File::GetU32(std::string_view key) const { return GetInt<uint32_t>(key, "u32"); }
Result<uint64_t> File::GetU64(std::string_view key) const { return GetInt<uint64_t>(key, "u64"); }
Result<int64_t> File::GetI64(std::string_view key) const { return GetInt<int64_t>(key, "i64"); }

Result<float> File::GetF32(std::string_view key) const {
  ASSIGN_OR_RETURN(const Value* v, Lookup(key));
  float out = 0;
  if (!IsFloat(v->type)) return TypeError(key, *v, "f32");
  if (!FloatToF32(v->f, &out)) {
    return InvalidArgumentError(path_ + ": key '" + std::string(key) + "' f64 value " +
                                std::to_string(v->f) + " is outside the f32 range");
  }
  return out;
}

Result<bool> File::GetBool(std::string_view key) const {
  ASSIGN_OR_RETURN(const Value* v, Lookup(key));
  if (v->type != ValueType::kBool) return TypeError(key, *v, "bool");
  return v->b;
}

Result<std::string> File::GetString(std::string_view key) const {
  ASSIGN_OR_RETURN(const Value* v, Lookup(key));
  if (v->type != ValueType::kString) return TypeError(key, *v, "string");
  return std::string(v->str);
}

Result<uint32_t> File::GetU32Or(std::string_view key, uint32_t def) const {
  return Has(key) ? GetU32(key) : Result<uint32_t>(def);
}
Result<int64_t> File::GetI64Or(std::string_view key, int64_t def) const {
  return Has(key) ? GetI64(key) : Result<int64_t>(def);
}
Result<float> File::GetF32Or(std::string_view key, float def) const {
  return Has(key) ? GetF32(key) : Result<float>(def);
}
Result<bool> File::GetBoolOr(std::string_view key, bool def) const {
  return Has(key) ? GetBool(key) : Result<bool>(def);
}
Result<std::string> File::GetStringOr(std::string_view key, std::string def) const {
  return Has(key) ? GetString(key) : Result<std::string>(std::move(def));
}

// ---- arrays ----

Result<std::vector<int64_t>> File::GetIntArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const Value* v, Lookup(key));
  if (v->type != ValueType::kArray || !IsInteger(v->elem_type)) {
    return TypeError(key, *v, "array of integers");
  }
  const size_t size = internal::ScalarSize(v->elem_type);
  std::vector<int64_t> out;
  out.reserve(v->count);
  for (uint64_t j = 0; j < v->count; ++j) {
    Int x = LoadInt(v->elem_type, v->elems + j * size);
    if (!Fits<int64_t>(x)) {
      return InvalidArgumentError(path_ + ": key '" + std::string(key) + "' element " +
                                  std::to_string(j) + " = " + IntText(x) + " does not fit in i64");
    }
    out.push_back(Narrow<int64_t>(x));
  }
  return out;
}

Result<std::vector<float>> File::GetF32Array(std::string_view key) const {
  ASSIGN_OR_RETURN(const Value* v, Lookup(key));
  if (v->type != ValueType::kArray || !IsFloat(v->elem_type)) {
    return TypeError(key, *v, "array of f32");
  }
  const size_t size = internal::ScalarSize(v->elem_type);
  std::vector<float> out(v->count);
  for (uint64_t j = 0; j < v->count; ++j) {
    if (!FloatToF32(LoadFloat(v->elem_type, v->elems + j * size), &out[j])) {
      return InvalidArgumentError(path_ + ": key '" + std::string(key) + "' element " +
                                  std::to_string(j) + " is outside the f32 range");
    }
  }
  return out;
}

Result<std::vector<bool>> File::GetBoolArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const Value* v, Lookup(key));
  if (v->type != ValueType::kArray || v->elem_type != ValueType::kBool) {
    return TypeError(key, *v, "array of bool");
  }
  std::vector<bool> out(v->count);
  for (uint64_t j = 0; j < v->count; ++j) out[j] = v->elems[j] != 0;
  return out;
}

Result<std::vector<std::string_view>> File::GetStringArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const Value* v, Lookup(key));
  if (v->type != ValueType::kArray || v->elem_type != ValueType::kString) {
    return TypeError(key, *v, "array of string");
  }
  return v->strings;
}

}  // namespace hearth::gguf
