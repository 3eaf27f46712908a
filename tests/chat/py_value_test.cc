// The Python semantics the templates rely on; every expectation here is what CPython 3.11 prints.
#include <string>

#include <gtest/gtest.h>

#include "chat/py_value.h"
#include "chat/value_json.h"

namespace hearth::chat::internal {
namespace {

TEST(PyValue, FloatReprFollowsPython) {
  EXPECT_EQ(FloatRepr(1.0), "1.0");
  EXPECT_EQ(FloatRepr(100.0), "100.0");
  EXPECT_EQ(FloatRepr(0.1), "0.1");
  EXPECT_EQ(FloatRepr(-0.0), "-0.0");
  EXPECT_EQ(FloatRepr(1.5e-7), "1.5e-07");
  EXPECT_EQ(FloatRepr(0.0001), "0.0001");
  EXPECT_EQ(FloatRepr(0.00001), "1e-05");
  EXPECT_EQ(FloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(FloatRepr(1e16), "1e+16");
  EXPECT_EQ(FloatRepr(2.5e20), "2.5e+20");
  EXPECT_EQ(FloatRepr(123.456), "123.456");
  EXPECT_EQ(FloatRepr(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(FloatRepr(5e-324), "5e-324");
}

TEST(PyValue, StrAndRepr) {
  EXPECT_EQ(Str(Value()), "");
  EXPECT_EQ(Str(Value::None()), "None");
  EXPECT_EQ(Str(Value::Bool(true)), "True");
  EXPECT_EQ(Str(Value::Int("-12")), "-12");
  EXPECT_EQ(Str(Value::Int("-0")), "0");
  EXPECT_EQ(Repr(Value::Str("it's")), "\"it's\"");
  EXPECT_EQ(Repr(Value::Str("a'b\"c\\\n\t\x01\xC2\xA0")), "'a\\'b\"c\\\\\\n\\t\\x01\\xa0'");
  const Value parts = Value::MakeList({Value::MakeDict({{"type", Value::Str("text")},
                                                        {"text", Value::Str("hi")}}),
                                       Value::MakeDict({{"n", Value::Float(2.0)},
                                                        {"b", Value::Bool(false)},
                                                        {"z", Value::None()}})});
  EXPECT_EQ(Str(parts), "[{'type': 'text', 'text': 'hi'}, {'n': 2.0, 'b': False, 'z': None}]");
}

TEST(PyValue, TruthFollowsPython) {
  EXPECT_FALSE(Truthy(Value()));
  EXPECT_FALSE(Truthy(Value::None()));
  EXPECT_FALSE(Truthy(Value::Int("0")));
  EXPECT_TRUE(Truthy(Value::Int("-1")));
  EXPECT_FALSE(Truthy(Value::Float(0.0)));
  EXPECT_FALSE(Truthy(Value::Str("")));
  EXPECT_TRUE(Truthy(Value::Str(" ")));
  EXPECT_FALSE(Truthy(Value::MakeList({})));
  EXPECT_FALSE(Truthy(Value::MakeDict({})));
}

TEST(PyValue, StripRemovesUnicodeWhitespaceOnly) {
  EXPECT_EQ(Strip(" \t\n\r\v\fx y\n"), "x y");
  // U+00A0, U+3000, U+2003, U+2029, U+0085, U+001C are whitespace; U+200B and U+FEFF are not.
  EXPECT_EQ(Strip("\xC2\xA0\xE3\x80\x80\xE2\x80\x83" "a\xE2\x80\xA9\xC2\x85\x1C"), "a");
  EXPECT_EQ(Strip("\xE2\x80\x8B" "a\xEF\xBB\xBF"), "\xE2\x80\x8B" "a\xEF\xBB\xBF");
  EXPECT_EQ(Strip("   "), "");
  EXPECT_EQ(Strip(""), "");
}

TEST(PyValue, CaseMapping) {
  EXPECT_EQ(Upper("string"), "STRING");
  EXPECT_EQ(Upper("stra\xC3\x9F" "e"), "STRASSE");                    // ß -> SS
  EXPECT_EQ(Upper("\xC3\xA9t\xC3\xA9"), "\xC3\x89T\xC3\x89");         // été -> ÉTÉ
  EXPECT_EQ(Upper("\xCF\x82"), "\xCE\xA3");                            // final sigma
  EXPECT_EQ(Lower("\xD0\x98\xD0\x81"), "\xD0\xB8\xD1\x91");            // ИЁ -> иё
  EXPECT_EQ(Lower("MiXeD"), "mixed");
}

TEST(PyValue, DictSortIsCaseInsensitiveAndStable) {
  const Value d = Value::MakeDict({{"b", Value::Int("1")},
                                   {"B", Value::Int("2")},
                                   {"a", Value::Int("3")},
                                   {"_x", Value::Int("4")},
                                   {"C", Value::Int("5")}});
  Result<Value::Dict> sorted = DictSort(d, "test");
  ASSERT_TRUE(sorted.ok());
  std::string keys;
  for (const auto& [k, v] : *sorted) keys += k + ",";
  EXPECT_EQ(keys, "_x,a,b,B,C,");
  EXPECT_FALSE(DictSort(Value::MakeList({}), "test").ok());
}

TEST(PyValue, SubscriptingUndefinedIsAnError) {
  EXPECT_FALSE(Item(Value(), "role").ok());
  Result<Value> missing = Item(Value::None(), "role");  // Jinja: None['role'] is Undefined
  ASSERT_TRUE(missing.ok());
  EXPECT_TRUE(missing->is_undefined());
}

TEST(ValueJson, ParsesLikeJsonLoads) {
  Result<Value> v = ParseJson(
      R"({"b": 1, "a": [1.0, 12345678901234567890123, -0, 1e2, null, true], "b": "last"})", "test");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(Str(*v), "{'b': 'last', 'a': [1.0, 12345678901234567890123, 0, 100.0, None, True]}");
}

TEST(ValueJson, RejectsBadAndTooDeepInput) {
  Result<Value> bad = ParseJson("[1, 2", "tools_json");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("tools_json"), std::string::npos);
  const std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_FALSE(ParseJson(deep, "deep").ok());
  const std::string ok_depth = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(ok_depth, "deep").ok());
  EXPECT_FALSE(ParseJson("{\"x\": NaN}", "nan").ok());
}

}  // namespace
}  // namespace hearth::chat::internal
