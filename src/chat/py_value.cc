#include "chat/py_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace hearth::chat::internal {
namespace {

// ---- UTF-8 --------------------------------------------------------------------------------------

// Decodes the code point at s[i] and its length; an invalid byte decodes as itself, length 1, so
// that nothing is ever lost (inputs are validated as UTF-8 before rendering anyway).
char32_t DecodeAt(std::string_view s, size_t i, size_t* len) {
  const auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    *len = 1;
    return b;
  }
  char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
  for (size_t k = 1; k < n; ++k) {
    const auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) {
      *len = 1;
      return b;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  *len = n;
  return cp;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Python's str.isspace(): bidirectional class WS, B or S, or category Zs.
bool IsPySpace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

// Python's str.isprintable() for repr, approximated: control, format, separator (but space),
// surrogate and private-use ranges are non-printable; unassigned code points are not known here.
bool IsPyPrintable(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD) return false;
  if ((c >= 0x600 && c <= 0x605) || c == 0x61C || c == 0x6DD || c == 0x70F || c == 0x180E) return false;
  if (c == 0x1680 || (c >= 0x2000 && c <= 0x200F) || (c >= 0x2028 && c <= 0x202F)) return false;
  if ((c >= 0x205F && c <= 0x206F) || c == 0x3000 || c == 0xFEFF) return false;
  if ((c >= 0xFFF9 && c <= 0xFFFB) || (c >= 0xD800 && c <= 0xF8FF) || c >= 0xF0000) return false;
  return true;
}

// Simple one-to-one case pairs: Latin-1, Latin Extended-A, Greek, Cyrillic.
char32_t ToUpperSimple(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 0x20;
  if (c < 0x80) return c;
  if (c == 0xB5) return 0x39C;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 0x20;
  if (c == 0xFF) return 0x178;
  if (c == 0x131) return 'I';
  if (c == 0x17F) return 'S';
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c & ~char32_t{1};
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c % 2 == 0) ? c - 1 : c;
  if (c == 0x3C2) return 0x3A3;
  if ((c >= 0x3B1 && c <= 0x3C1) || (c >= 0x3C3 && c <= 0x3CB)) return c - 0x20;
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 0x25;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 0x3F;
  if (c >= 0x430 && c <= 0x44F) return c - 0x20;
  if (c >= 0x450 && c <= 0x45F) return c - 0x50;
  return c;
}

char32_t ToLowerSimple(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 0x20;
  if (c < 0x80) return c;
  if (c >= 0xC0 && c <= 0xDE && c != 0xD7) return c + 0x20;
  if (c == 0x178) return 0xFF;
  if ((c >= 0x100 && c <= 0x137 && c != 0x130) || (c >= 0x14A && c <= 0x177)) return c | 1;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c % 2 == 1) ? c + 1 : c;
  if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB)) return c + 0x20;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 0x25;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 0x3F;
  if (c >= 0x410 && c <= 0x42F) return c + 0x20;
  if (c >= 0x400 && c <= 0x40F) return c + 0x50;
  return c;
}

void ReprString(std::string_view s, std::string* out) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  out->push_back(quote);
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    const char32_t c = DecodeAt(s, i, &len);
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c == '\t') {
      *out += "\\t";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (!IsPyPrintable(c)) {
      char buf[16];
      if (c < 0x100) {
        std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(c));
      } else if (c < 0x10000) {
        std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      } else {
        std::snprintf(buf, sizeof buf, "\\U%08x", static_cast<unsigned>(c));
      }
      *out += buf;
    } else {
      out->append(s.substr(i, len));
    }
    i += len;
  }
  out->push_back(quote);
}

void ReprInto(const Value& v, std::string* out) {
  switch (v.kind()) {
    case Value::Kind::kStr:
      ReprString(v.text(), out);
      return;
    case Value::Kind::kList: {
      out->push_back('[');
      bool first = true;
      for (const Value& item : v.list()) {
        if (!first) *out += ", ";
        first = false;
        ReprInto(item, out);
      }
      out->push_back(']');
      return;
    }
    case Value::Kind::kDict: {
      out->push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.dict()) {
        if (!first) *out += ", ";
        first = false;
        ReprString(key, out);
        *out += ": ";
        ReprInto(item, out);
      }
      out->push_back('}');
      return;
    }
    default:
      *out += Str(v);
  }
}

std::string MapCase(std::string_view s, bool upper) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t len = 0;
    const char32_t c = DecodeAt(s, i, &len);
    if (len == 1 && static_cast<unsigned char>(s[i]) >= 0x80) {
      out.push_back(s[i]);  // invalid byte: keep as is
    } else if (upper && c == 0xDF) {
      out += "SS";
    } else if (!upper && c == 0x130) {
      out += "i\xCC\x87";  // 'İ'.lower() == 'i' + U+0307
    } else {
      AppendUtf8(upper ? ToUpperSimple(c) : ToLowerSimple(c), &out);
    }
    i += len;
  }
  return out;
}

}  // namespace

// ---- Value --------------------------------------------------------------------------------------

Value Value::Bool(bool b) {
  Value v(Kind::kBool);
  v.b_ = b;
  return v;
}
Value Value::Int(std::string digits) {
  Value v(Kind::kInt);
  v.s_ = (digits == "-0") ? "0" : std::move(digits);
  return v;
}
Value Value::Float(double f) {
  Value v(Kind::kFloat);
  v.f_ = f;
  return v;
}
Value Value::Str(std::string s) {
  Value v(Kind::kStr);
  v.s_ = std::move(s);
  return v;
}
Value Value::MakeList(List items) {
  Value v(Kind::kList);
  v.list_ = std::make_shared<const List>(std::move(items));
  return v;
}
Value Value::MakeDict(Dict items) {
  Value v(Kind::kDict);
  v.dict_ = std::make_shared<const Dict>(std::move(items));
  return v;
}

const Value::List& Value::list() const {
  CHECK(kind_ == Kind::kList);
  return *list_;
}
const Value::Dict& Value::dict() const {
  CHECK(kind_ == Kind::kDict);
  return *dict_;
}

const Value* Value::Find(std::string_view key) const {
  if (kind_ != Kind::kDict) return nullptr;
  for (const auto& [k, v] : *dict_) {
    if (k == key) return &v;
  }
  return nullptr;
}

// ---- Jinja operations ---------------------------------------------------------------------------

Result<Value> Item(const Value& v, std::string_view key) {
  if (v.is_undefined()) {
    return InvalidArgumentError("template subscripts an undefined value with '" + std::string(key) + "'");
  }
  const Value* found = v.Find(key);
  return found ? *found : Value();
}

Value At(const Value& v, size_t index) {
  if (!v.is_list() || index >= v.list().size()) return Value();
  return v.list()[index];
}

bool IsSequence(const Value& v) {
  return v.is_str() || v.is_list() || v.is_dict() || v.is_undefined();
}

bool Truthy(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return false;
    case Value::Kind::kBool:
      return v.boolean();
    case Value::Kind::kInt:
      return v.text() != "0";
    case Value::Kind::kFloat:
      return v.number() != 0.0;
    case Value::Kind::kStr:
      return !v.text().empty();
    case Value::Kind::kList:
      return !v.list().empty();
    case Value::Kind::kDict:
      return !v.dict().empty();
  }
  return false;
}

std::string FloatRepr(double f) {
  if (std::isnan(f)) return "nan";
  if (std::isinf(f)) return f < 0 ? "-inf" : "inf";
  // Shortest round-trip digits, then Python's 'r' layout: fixed notation when the decimal point
  // position decpt satisfies -4 < decpt <= 16, else d.ddde±XX.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string_view sci(buf, res.ptr - buf);
  std::string out;
  if (!sci.empty() && sci[0] == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  const size_t e_pos = sci.find('e');
  std::string digits;
  for (char c : sci.substr(0, e_pos)) {
    if (c != '.') digits.push_back(c);
  }
  const int exp10 = std::stoi(std::string(sci.substr(e_pos + 1)));
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  const int decpt = exp10 + 1;
  const int nd = static_cast<int>(digits.size());
  if (decpt > -4 && decpt <= 16) {
    if (decpt <= 0) {
      out += "0." + std::string(-decpt, '0') + digits;
    } else if (decpt >= nd) {
      out += digits + std::string(decpt - nd, '0') + ".0";
    } else {
      out += digits.substr(0, decpt) + "." + digits.substr(decpt);
    }
  } else {
    out += digits.substr(0, 1);
    if (nd > 1) out += "." + digits.substr(1);
    const int e = decpt - 1;
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    out += ebuf;
  }
  return out;
}

std::string Str(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return "";
    case Value::Kind::kNone:
      return "None";
    case Value::Kind::kBool:
      return v.boolean() ? "True" : "False";
    case Value::Kind::kInt:
    case Value::Kind::kStr:
      return v.text();
    case Value::Kind::kFloat:
      return FloatRepr(v.number());
    case Value::Kind::kList:
    case Value::Kind::kDict:
      return Repr(v);
  }
  return "";
}

std::string Repr(const Value& v) {
  std::string out;
  ReprInto(v, &out);
  return out;
}

Result<Value::List> Iterate(const Value& v, std::string_view what) {
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      return Value::List{};
    case Value::Kind::kList:
      return v.list();
    case Value::Kind::kDict: {
      Value::List keys;
      for (const auto& [k, unused] : v.dict()) keys.push_back(Value::Str(k));
      return keys;
    }
    case Value::Kind::kStr: {
      Value::List chars;
      const std::string& s = v.text();
      for (size_t i = 0; i < s.size();) {
        size_t len = 0;
        DecodeAt(s, i, &len);
        chars.push_back(Value::Str(s.substr(i, len)));
        i += len;
      }
      return chars;
    }
    default:
      return InvalidArgumentError(std::string(what) + ": " + Repr(v) + " is not iterable");
  }
}

Result<Value::Dict> DictSort(const Value& v, std::string_view what) {
  if (!v.is_dict()) {
    return InvalidArgumentError(std::string(what) + ": dictsort needs an object, got " + Repr(v));
  }
  std::vector<std::pair<std::string, size_t>> order;  // (lower-cased key, original index)
  for (size_t i = 0; i < v.dict().size(); ++i) order.emplace_back(Lower(v.dict()[i].first), i);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  Value::Dict sorted;
  for (const auto& [unused, i] : order) sorted.push_back(v.dict()[i]);
  return sorted;
}

Result<bool> Contains(const Value& haystack, std::string_view needle, std::string_view what) {
  if (haystack.is_undefined()) return false;
  if (haystack.is_dict()) return haystack.Find(needle) != nullptr;
  if (haystack.is_str()) return haystack.text().find(needle) != std::string::npos;
  if (haystack.is_list()) {
    return std::any_of(haystack.list().begin(), haystack.list().end(),
                       [&](const Value& x) { return x.is_str() && x.text() == needle; });
  }
  return InvalidArgumentError(std::string(what) + ": 'in' needs a container, got " + Repr(haystack));
}

// ---- Python string methods ----------------------------------------------------------------------

std::string Strip(std::string_view s) {
  size_t begin = 0;
  while (begin < s.size()) {
    size_t len = 0;
    if (!IsPySpace(DecodeAt(s, begin, &len))) break;
    begin += len;
  }
  size_t end = s.size();
  while (end > begin) {
    size_t start = end - 1;  // step back to the start of the last code point
    while (start > begin && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t len = 0;
    const char32_t c = DecodeAt(s, start, &len);
    if (start + len != end || !IsPySpace(c)) break;
    end = start;
  }
  return std::string(s.substr(begin, end - begin));
}

std::string Upper(std::string_view s) { return MapCase(s, /*upper=*/true); }
std::string Lower(std::string_view s) { return MapCase(s, /*upper=*/false); }

std::vector<std::string_view> Split(std::string_view s, std::string_view sep) {
  CHECK(!sep.empty());
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (true) {
    const size_t next = s.find(sep, pos);
    if (next == std::string_view::npos) break;
    parts.push_back(s.substr(pos, next - pos));
    pos = next + sep.size();
  }
  parts.push_back(s.substr(pos));
  return parts;
}

}  // namespace hearth::chat::internal
