// The Gemma 4 templates' macros: format_argument, format_parameters, format_function_declaration,
// format_tool_response_block, strip_thinking. Tool schemas are written in Gemma 4's own notation,
// keys sorted case-insensitively (dictsort), strings quoted with <|"|>, JSON-schema types in upper
// case, e.g. declaration:get_weather{description:<|"|>...<|"|>,parameters:{properties:{city:{
// description:<|"|>City<|"|>,type:<|"|>STRING<|"|>}},required:[<|"|>city<|"|>],type:<|"|>OBJECT<|"|>}}
#include <array>
#include <string_view>

#include "chat/templates.h"

namespace hearth::chat::internal {
namespace {

constexpr std::string_view kQuote = "<|\"|>";

// v[key] for a v that is known not to be Undefined.
Value Get(const Value& v, std::string_view key) {
  const Value* found = v.Find(key);
  return found ? *found : Value();
}

bool IsStandardKey(std::string_view key) {
  static constexpr std::array<std::string_view, 5> kStandard = {"description", "type", "properties",
                                                                 "required", "nullable"};
  for (std::string_view k : kStandard) {
    if (k == key) return true;
  }
  return false;
}

// `{%- if add_comma %},{%- else -%} {%- set add_comma = true -%} {% endif -%}`
void Comma(bool* add_comma, std::string* out) {
  if (*add_comma) {
    out->push_back(',');
  } else {
    *add_comma = true;
  }
}

// `[<|"|>a<|"|>,<|"|>b<|"|>]` from `for item in list: <|"|>{{- item -}}<|"|>`.
Status QuotedList(const Value& list, std::string_view what, std::string* out) {
  ASSIGN_OR_RETURN(Value::List items, Iterate(list, what));
  out->push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out->push_back(',');
    *out += kQuote;
    *out += Str(items[i]);
    *out += kQuote;
  }
  out->push_back(']');
  return Status::Ok();
}

Status FormatParameters(const Value& properties, bool interleaved, std::string* out);

// The `items:{...}` body of an ARRAY property.
Status FormatItems(const Value& items, bool interleaved, std::string* out) {
  ASSIGN_OR_RETURN(Value::Dict sorted, DictSort(items, "tool schema items"));
  bool found_first = false;
  for (const auto& [item_key, item_value] : sorted) {
    if (item_value.is_none()) continue;
    if (found_first) out->push_back(',');
    found_first = true;
    if (item_key == "properties") {
      *out += "properties:{";
      if (IsMapping(item_value)) TRY(FormatParameters(item_value, interleaved, out));
      out->push_back('}');
    } else if (item_key == "required") {
      *out += "required:";
      TRY(QuotedList(item_value, "tool schema items.required", out));
    } else if (item_key == "type") {
      *out += "type:";
      if (IsString(item_value)) {
        TRY(FormatArgument(Value::Str(Upper(item_value.text())), true, out));
      } else {  // item_value | map('upper') | list
        ASSIGN_OR_RETURN(Value::List types, Iterate(item_value, "tool schema items.type"));
        for (Value& t : types) t = Value::Str(Upper(Str(t)));
        TRY(FormatArgument(Value::MakeList(std::move(types)), true, out));
      }
    } else {
      *out += item_key + ":";
      TRY(FormatArgument(item_value, true, out));
    }
  }
  return Status::Ok();
}

// format_parameters(properties, required): one `name:{...}` per non-standard key.
Status FormatParameters(const Value& properties, bool interleaved, std::string* out) {
  ASSIGN_OR_RETURN(Value::Dict sorted, DictSort(properties, "tool schema properties"));
  bool found_first = false;
  for (const auto& [key, value] : sorted) {
    if (IsStandardKey(key)) continue;
    bool add_comma = false;
    if (found_first) out->push_back(',');
    found_first = true;
    *out += key + ":{";
    const Value description = Get(value, "description");
    if (Truthy(description)) {
      *out += "description:";
      *out += kQuote;
      *out += Str(description);
      *out += kQuote;
      add_comma = true;
    }
    const std::string type = Upper(Str(Get(value, "type")));
    const Value nullable = Get(value, "nullable");
    const Value required = Get(value, "required");
    const Value props = Get(value, "properties");
    const Value items = Get(value, "items");
    if (interleaved && Truthy(nullable)) {
      Comma(&add_comma, out);
      *out += "nullable:true";
    }
    if (type == "STRING") {
      const Value enum_values = Get(value, "enum");
      if (Truthy(enum_values)) {
        Comma(&add_comma, out);
        *out += "enum:";
        TRY(FormatArgument(enum_values, true, out));
      }
    } else if (interleaved && type == "OBJECT") {
      // The interleaved revision writes leading commas here without touching add_comma.
      *out += ",properties:{";
      if (IsMapping(props)) {
        TRY(FormatParameters(props, interleaved, out));
      } else if (IsMapping(value)) {
        TRY(FormatParameters(value, interleaved, out));
      }
      out->push_back('}');
      if (Truthy(required)) {
        *out += ",required:";
        TRY(QuotedList(required, "tool schema required", out));
      }
    } else if (type == "ARRAY") {
      if (IsMapping(items) && Truthy(items)) {
        if (interleaved) {
          *out += ",items:{";
        } else {
          Comma(&add_comma, out);
          *out += "items:{";
        }
        TRY(FormatItems(items, interleaved, out));
        out->push_back('}');
      }
    }
    if (!interleaved) {
      if (Truthy(nullable)) {
        Comma(&add_comma, out);
        *out += "nullable:true";
      }
      if (type == "OBJECT") {
        if (IsMapping(props)) {
          Comma(&add_comma, out);
          *out += "properties:{";
          TRY(FormatParameters(props, interleaved, out));
          out->push_back('}');
        } else if (IsMapping(value)) {
          Comma(&add_comma, out);
          *out += "properties:{";
          TRY(FormatParameters(value, interleaved, out));
          out->push_back('}');
        }
        if (Truthy(required)) {
          Comma(&add_comma, out);
          *out += "required:";
          TRY(QuotedList(required, "tool schema required", out));
        }
      }
    }
    Comma(&add_comma, out);
    *out += "type:";
    *out += kQuote;
    *out += type;
    *out += kQuote;
    out->push_back('}');
  }
  return Status::Ok();
}

}  // namespace

Status FormatArgument(const Value& argument, bool escape_keys, std::string* out) {
  if (IsString(argument)) {
    *out += kQuote;
    *out += argument.text();
    *out += kQuote;
  } else if (argument.kind() == Value::Kind::kBool) {
    *out += argument.boolean() ? "true" : "false";
  } else if (IsMapping(argument)) {
    ASSIGN_OR_RETURN(Value::Dict sorted, DictSort(argument, "argument"));
    out->push_back('{');
    bool first = true;
    for (const auto& [key, value] : sorted) {
      if (!first) out->push_back(',');
      first = false;
      if (escape_keys) {
        *out += kQuote;
        *out += key;
        *out += kQuote;
      } else {
        *out += key;
      }
      out->push_back(':');
      TRY(FormatArgument(value, escape_keys, out));
    }
    out->push_back('}');
  } else if (IsSequence(argument)) {  // a list (or Undefined, which iterates as empty)
    ASSIGN_OR_RETURN(Value::List items, Iterate(argument, "argument"));
    out->push_back('[');
    for (size_t i = 0; i < items.size(); ++i) {
      if (i > 0) out->push_back(',');
      TRY(FormatArgument(items[i], escape_keys, out));
    }
    out->push_back(']');
  } else {
    *out += Str(argument);  // numbers print as Python does; null prints as None
  }
  return Status::Ok();
}

Status FormatFunctionDeclaration(const Value& tool, bool interleaved, std::string* out) {
  ASSIGN_OR_RETURN(Value function, Item(tool, "function"));
  ASSIGN_OR_RETURN(Value name, Item(function, "name"));
  ASSIGN_OR_RETURN(Value description, Item(function, "description"));
  *out += "declaration:" + Str(name) + "{description:";
  *out += kQuote;
  *out += Str(description);
  *out += kQuote;
  ASSIGN_OR_RETURN(Value params, Item(function, "parameters"));
  if (Truthy(params)) {
    *out += ",parameters:{";
    const Value properties = Get(params, "properties");
    if (Truthy(properties)) {
      *out += "properties:{";
      TRY(FormatParameters(properties, interleaved, out));
      *out += "},";
    }
    const Value required = Get(params, "required");
    if (Truthy(required)) {
      *out += "required:";
      TRY(QuotedList(required, "tool parameters.required", out));
      out->push_back(',');
    }
    const Value type = Get(params, "type");
    if (Truthy(type)) {  // the closing '}' of parameters is written only here, as in the template
      *out += "type:";
      *out += kQuote;
      *out += Upper(Str(type));
      *out += kQuote;
      out->push_back('}');
    }
  }
  ASSIGN_OR_RETURN(bool has_response, Contains(function, "response", "tool function"));
  if (has_response) {
    ASSIGN_OR_RETURN(Value response, Item(function, "response"));
    *out += ",response:{";
    ASSIGN_OR_RETURN(Value response_description, Item(response, "description"));
    if (Truthy(response_description)) {
      *out += "description:";
      *out += kQuote;
      *out += Str(response_description);
      *out += kQuote;
      out->push_back(',');
    }
    ASSIGN_OR_RETURN(Value response_type, Item(response, "type"));
    if (Upper(Str(response_type)) == "OBJECT") {
      *out += "type:";
      *out += kQuote;
      *out += "OBJECT";
      *out += kQuote;
      out->push_back('}');
    }
  }
  out->push_back('}');
  return Status::Ok();
}

Status FormatToolResponseBlock(const Value& tool_name, const Value& response, std::string* out) {
  if (!IsString(tool_name)) {  // 'response:' + tool_name fails in Python for a non-string
    return InvalidArgumentError("tool response: the tool's name is " + Repr(tool_name) +
                                " (a tool message needs a name or a tool_call_id matching a call)");
  }
  *out += "<|tool_response>response:" + tool_name.text() + "{";
  if (IsMapping(response)) {
    ASSIGN_OR_RETURN(Value::Dict sorted, DictSort(response, "tool response"));
    for (size_t i = 0; i < sorted.size(); ++i) {
      if (i > 0) out->push_back(',');
      *out += sorted[i].first + ":";
      TRY(FormatArgument(sorted[i].second, false, out));
    }
  } else {
    *out += "value:";
    TRY(FormatArgument(response, false, out));
  }
  *out += "}<tool_response|>";
  return Status::Ok();
}

std::string StripThinking(const std::string& text) {
  std::string result;
  for (std::string_view part : Split(text, "<channel|>")) {
    const size_t open = part.find("<|channel>");
    result += part.substr(0, open);  // npos keeps the whole part
  }
  return Strip(result);
}

}  // namespace hearth::chat::internal
