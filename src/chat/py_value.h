// Internal: the values a chat template sees, with the Python/Jinja semantics the templates rely on.
//
// The Gemma renderers are hand translations of the models' Jinja templates. Those templates walk
// messages, tool schemas and tool-call arguments as Python objects: they print them with str(),
// test their truth, sort dict keys case-insensitively (`dictsort`), upper-case them, strip them.
// Value is that object model (None, bool, int, float, str, list, dict in insertion order, and Jinja's
// Undefined), and the free functions below reproduce the Python behaviour byte for byte for the
// cases our inputs can produce. Known approximations (documented where they live): Unicode case
// mapping covers Latin, Greek and Cyrillic; repr's "printable" test knows the common non-printable
// ranges, not the whole Unicode database.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace hearth::chat::internal {

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kStr, kList, kDict };
  using List = std::vector<Value>;
  using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order, unique keys

  Value() = default;  // Undefined
  static Value None() { return Value(Kind::kNone); }
  static Value Bool(bool b);
  // `digits`: a Python int's decimal text ("-12", "0"); JSON integers keep their full precision.
  static Value Int(std::string digits);
  static Value Float(double f);
  static Value Str(std::string s);
  static Value MakeList(List items);
  static Value MakeDict(Dict items);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_str() const { return kind_ == Kind::kStr; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_list() const { return kind_ == Kind::kList; }

  bool boolean() const { return b_; }
  double number() const { return f_; }
  const std::string& text() const { return s_; }  // kStr: the string; kInt: the digits
  const List& list() const;
  const Dict& dict() const;

  // Dict key lookup; nullptr when absent or when this is not a dict.
  const Value* Find(std::string_view key) const;

 private:
  explicit Value(Kind k) : kind_(k) {}
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<const List> list_;
  std::shared_ptr<const Dict> dict_;
};

// ---- Jinja operations --------------------------------------------------------------------------

// `v[key]` as Jinja evaluates it: a dict's entry, else Undefined (Jinja falls back to attributes,
// none of which the templates' keys name). Subscripting Undefined is an error (UndefinedError).
Result<Value> Item(const Value& v, std::string_view key);
// `v[index]` on a list; out of range gives Undefined as in Jinja.
Value At(const Value& v, size_t index);

// Jinja tests.
inline bool IsMapping(const Value& v) { return v.is_dict(); }
inline bool IsString(const Value& v) { return v.is_str(); }
// `is sequence`: anything with len() and [] — str, list, dict, and Undefined.
bool IsSequence(const Value& v);

// Python truth value (Undefined is false).
bool Truthy(const Value& v);
// `{{ v }}`: Python str(v); Undefined prints as "".
std::string Str(const Value& v);
// Python repr(v).
std::string Repr(const Value& v);
// Python float repr ("1.0", "1e+16", "1.5e-05").
std::string FloatRepr(double f);

// `for x in v`: list items, dict keys, a string's characters; Undefined iterates as empty. Other
// kinds are not iterable (an error in the template).
Result<Value::List> Iterate(const Value& v, std::string_view what);
// `v | dictsort`: (key, value) pairs sorted by lower-cased key, stable. Error unless a dict.
Result<Value::Dict> DictSort(const Value& v, std::string_view what);
// `needle in haystack` for a string needle: dict key, list element, substring; Undefined contains
// nothing. Other kinds are an error, as in Python.
Result<bool> Contains(const Value& haystack, std::string_view needle, std::string_view what);

// ---- Python string methods ---------------------------------------------------------------------

// str.strip(): removes Unicode whitespace (str.isspace) at both ends.
std::string Strip(std::string_view s);
// str.upper() / str.lower() (Latin, Greek and Cyrillic mappings, including 'ß' -> "SS").
std::string Upper(std::string_view s);
std::string Lower(std::string_view s);
// str.split(sep) for a non-empty separator.
std::vector<std::string_view> Split(std::string_view s, std::string_view sep);

}  // namespace hearth::chat::internal
