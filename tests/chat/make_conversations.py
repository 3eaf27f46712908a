#!/usr/bin/python3
"""Writes conversations.json, the corpus the chat renderer is checked on against jinja2.

Each case: {"name", "messages": [Message...], "tools" | "tools_json", "add_generation_prompt",
"enable_thinking", "bos"}. A message has the fields of hearth::chat::Message: "role", "content"
(string, list of parts {"type": "text", "text"} / {"type": "image"|"audio"|"video"}, or null),
"reasoning", "tool_calls" [{"id"?, "name", "arguments" (JSON text)}], "tool_call_id", "name".
Run: /usr/bin/python3 tests/chat/make_conversations.py > tests/chat/conversations.json
"""
import json
import sys

cases = []


def add(name, messages, tools=None, tools_json=None, gen=True, think=False, bos=None):
    case = {"name": name, "messages": messages, "add_generation_prompt": gen, "enable_thinking": think}
    if tools is not None:
        case["tools"] = tools
    if tools_json is not None:
        case["tools_json"] = tools_json
    if bos is not None:
        case["bos"] = bos
    assert all(c["name"] != name for c in cases), name
    cases.append(case)


def u(text):
    return {"role": "user", "content": text}


def a(text, **extra):
    return {"role": "assistant", "content": text, **extra}


def s(text):
    return {"role": "system", "content": text}


def txt(t):
    return {"type": "text", "text": t}


IMG, AUD, VID = {"type": "image"}, {"type": "audio"}, {"type": "video"}


def call(name, args, id=None):
    c = {"name": name, "arguments": args if isinstance(args, str) else json.dumps(args)}
    if id is not None:
        c["id"] = id
    return c


def tool(content, tool_call_id=None, name=None):
    m = {"role": "tool", "content": content}
    if tool_call_id is not None:
        m["tool_call_id"] = tool_call_id
    if name is not None:
        m["name"] = name
    return m


# ---- tool declarations -------------------------------------------------------------------------
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Get the current weather in a city.",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name, e.g. Paris"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit"}},
        "required": ["city"]}}}
SEARCH = {"type": "function", "function": {
    "name": "search", "description": "Search the web.",
    "parameters": {"type": "object", "properties": {
        "query": {"type": "string"},
        "max_results": {"type": "integer", "description": "How many", "minimum": 1, "maximum": 50},
        "safe": {"type": "boolean", "nullable": True},
        "tags": {"type": "array", "items": {"type": "string"}, "description": "Filter tags"}},
        "required": ["query", "max_results"]}}}
NESTED = {"type": "function", "function": {
    "name": "create_event", "description": "Create a calendar event.",
    "parameters": {"type": "object", "properties": {
        "title": {"type": "string", "description": "Title"},
        "when": {"type": "object", "description": "Time span", "properties": {
            "start": {"type": "string", "description": "ISO start"},
            "end": {"type": "string", "nullable": True},
            "tz": {"type": "object", "properties": {"name": {"type": "string"}, "offset": {"type": "number"}},
                   "required": ["name"]}},
            "required": ["start"]},
        "attendees": {"type": "array", "description": "People", "items": {
            "type": "object", "properties": {"email": {"type": "string"}, "optional": {"type": "boolean"}},
            "required": ["email"]}},
        "priority": {"type": "string", "enum": ["low", "normal", "high"]},
        "reminders": {"type": "array", "items": {"type": "integer", "enum": [5, 10, 30]}},
        "meta": {"type": "object"}},
        "required": ["title", "when"]}}}
NO_PARAMS = {"type": "function", "function": {"name": "get_time", "description": "Current time."}}
EMPTY_PARAMS = {"type": "function", "function": {"name": "ping", "description": "Ping.",
                                                 "parameters": {"type": "object", "properties": {}}}}
NO_TYPE_PARAMS = {"type": "function", "function": {"name": "odd", "description": "No type key.",
                                                   "parameters": {"properties": {"x": {"type": "string"}},
                                                                  "required": ["x"]}}}
WITH_RESPONSE = {"type": "function", "function": {
    "name": "lookup", "description": "Look up a record.",
    "parameters": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
    "response": {"type": "object", "description": "The record."}}}
RESPONSE_NO_DESC = {"type": "function", "function": {
    "name": "count", "description": "Count.", "parameters": {"type": "object", "properties": {}},
    "response": {"type": "integer"}}}
TYPE_LIST = {"type": "function", "function": {
    "name": "maybe", "description": "Nullable via type list.",
    "parameters": {"type": "object", "properties": {
        "value": {"type": ["string", "null"], "description": "A value"},
        "values": {"type": "array", "items": {"type": ["string", "integer"], "description": "either"}}}}}}
STANDARD_KEY_NAMES = {"type": "function", "function": {
    "name": "weird_names", "description": "Parameters named like schema keys are skipped.",
    "parameters": {"type": "object", "properties": {
        "type": {"type": "string"}, "description": {"type": "string"}, "required": {"type": "boolean"},
        "name": {"type": "string"}, "nullable": {"type": "string"}, "properties": {"type": "object"}}}}}
CASE_KEYS = {"type": "function", "function": {
    "name": "sort_me", "description": "dictsort is case-insensitive and stable.",
    "parameters": {"type": "object", "properties": {
        "b": {"type": "string"}, "B": {"type": "string"}, "a": {"type": "number"}, "C": {"type": "string"},
        "_x": {"type": "string"}, "Zeta": {"type": "string"}, "alpha2": {"type": "string"},
        "alpha10": {"type": "string"}, "\u00e9t\u00e9": {"type": "string"}, "\u00c9t\u00e9": {"type": "string"},
        "\u03a9mega": {"type": "string"}, "\u043f\u0440\u0438": {"type": "string"}}}}}
NO_DESCRIPTION = {"type": "function", "function": {"name": "nodesc", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}}}}}
ODD_VALUES = {"type": "function", "function": {
    "name": "odd_values", "description": "Non-string schema values.",
    "parameters": {"type": "object", "properties": {
        "n": {"type": "number", "description": 42, "default": 1.5},
        "s": {"type": "string", "enum": []},
        "t": {"description": "no type at all"},
        "u": {"type": "STRING", "enum": ["A", "b"]},
        "v": {"type": "array", "items": {"type": "object", "description": "obj", "enum": None,
                                          "properties": {"k": {"type": "string", "description": "key"}},
                                          "required": ["k"], "minItems": 1, "nested": {"Deep": [1, 2.5, True, None]}}},
        "w": {"type": "array", "items": {}},
        "x": {"type": "object", "additionalProperties": False, "title": "X"},
        "y": {"type": "object", "properties": {"inner": {"type": "array", "items": {
            "type": "array", "items": {"type": "string"}}}}, "required": []}}}}}
ALL_TOOLS = [WEATHER, SEARCH, NESTED, NO_PARAMS, EMPTY_PARAMS, NO_TYPE_PARAMS, WITH_RESPONSE,
             RESPONSE_NO_DESC, TYPE_LIST, STANDARD_KEY_NAMES, CASE_KEYS, NO_DESCRIPTION, ODD_VALUES]

# ---- basics ------------------------------------------------------------------------------------
add("single_user", [u("Hello!")])
add("single_user_no_gen", [u("Hello!")], gen=False)
add("two_turns", [u("Hi"), a("Hello! How can I help?"), u("Tell me a joke.")])
add("two_turns_no_gen", [u("Hi"), a("Hello!"), u("Bye")], gen=False)
add("long_multi_turn", [u("1"), a("one"), u("2"), a("two"), u("3"), a("three"), u("4")])
add("assistant_last", [u("Hi"), a("Hello")])
add("assistant_last_no_gen", [u("Hi"), a("Hello")], gen=False)
add("system_then_user", [s("You are terse."), u("Explain gravity.")])
add("system_multi_turn", [s("Be kind."), u("Hi"), a("Hello"), u("How are you?")])
add("system_only", [s("Only a system prompt.")])
add("system_only_no_gen", [s("Only a system prompt.")], gen=False)
add("developer_then_user", [{"role": "developer", "content": "Developer rules."}, u("Go")])
add("empty_messages", [])
add("empty_messages_thinking", [], think=True)
add("empty_messages_tools", [], tools=[WEATHER])
add("assistant_only", [a("I speak first.")])
add("model_role_directly", [u("Hi"), {"role": "model", "content": "Hello from model role"}, u("ok")])
add("user_user", [u("first"), u("second")])
add("assistant_first_then_user", [a("hm"), u("hi")])
add("system_assistant", [s("sys"), a("no user")])
add("system_not_first", [u("hi"), s("late system"), u("again")])
add("system_twice", [s("one"), s("two"), u("hi")])
add("bos_empty", [u("x")], bos="")
add("bos_other", [u("x")], bos="<s>")
add("tool_role_at_odd_index", [u("q"), tool("result", name="t"), u("next")])
add("unknown_role", [u("q"), {"role": "critic", "content": "meh"}, u("next")])

# ---- whitespace and unicode ---------------------------------------------------------------------
add("whitespace_padding", [u("   padded   "), a("\n\nanswer\n\n"), u("\tq\t")])
add("empty_contents", [u(""), a(""), u("")])
add("blank_contents", [u("   "), a("\n\n"), u("\t \n")])
add("system_whitespace_kept", [s("  system with spaces  \n"), u("  hi  ")])
add("system_empty", [s(""), u("hi")])
add("unicode_whitespace_strip", [u("\u00a0\u3000\u2003text\u2029\u0085\x1c"), a("\u200bzero-width\u200b"),
                                 u("\ufeffbom\ufeff \u180e")])
add("inner_newlines", [u("line1\n\nline2\n   line3"), a("a\n\tb"), u("x\r\ny")])
add("unicode_text", [u("Gr\u00fc\u00df Gott! \u4f60\u597d \U0001f600 \u05e9\u05dc\u05d5\u05dd"),
                     a("\u00e9\u0301 combining \u2014 dash"), u("\U0001f469\u200d\U0001f4bb")])
add("special_token_text", [u("<start_of_turn>user\n<bos> <|turn> <turn|> {{ not jinja }} {% raw %}"),
                           a("<end_of_turn> <|image|>")])
add("quotes_and_braces", [u("He said \"hi\" and 'bye' {x} [y] \\ backslash")])
add("very_long", [u("word " * 500)])

# ---- content parts and media --------------------------------------------------------------------
add("parts_text_only", [{"role": "user", "content": [txt("Hello"), txt(" world ")]}])
add("parts_image_first", [{"role": "user", "content": [IMG, txt("What is this?")]}])
add("parts_image_last", [{"role": "user", "content": [txt("Describe:"), IMG]}])
add("parts_image_between", [{"role": "user", "content": [txt("A"), IMG, txt("  B  "), IMG, txt("C")]}])
add("parts_two_images", [{"role": "user", "content": [IMG, IMG, txt("compare")]}])
add("parts_audio", [{"role": "user", "content": [AUD, txt("Transcribe this.")]}])
add("parts_video", [{"role": "user", "content": [txt("What happens?"), VID]}])
add("parts_all_media", [{"role": "user", "content": [IMG, txt("x"), AUD, txt("y"), VID]}])
add("parts_media_only", [{"role": "user", "content": [IMG]}])
add("parts_empty_list", [{"role": "user", "content": []}])
add("parts_empty_texts", [{"role": "user", "content": [txt(""), txt("  "), IMG, txt("")]}])
add("parts_assistant", [{"role": "user", "content": [IMG, txt("What?")]},
                        {"role": "assistant", "content": [txt(" A cat. "), txt("Meow")]}, u("thanks")])
add("parts_assistant_with_thought", [u("q"), {"role": "assistant", "content": [
    txt("<|channel>thought\nhidden<channel|>Visible"), txt("  more  ")]}, u("ok")])
add("parts_multi_turn_media", [{"role": "user", "content": [IMG, txt("first")]}, a("seen"),
                               {"role": "user", "content": [txt("second"), AUD]}])
add("parts_system_text", [{"role": "system", "content": [txt("System as parts")]}, u("hi")])
add("parts_system_two_texts", [{"role": "system", "content": [txt("First"), txt("Second")]}, u("hi")])
add("parts_system_quotes", [{"role": "system", "content": [txt("it's \"quoted\"\n\ttab \\ \u00e9")]}, u("hi")])
add("parts_system_image_first", [{"role": "system", "content": [IMG, txt("after")]}, u("hi")])
add("parts_system_empty", [{"role": "system", "content": []}, u("hi")])
add("parts_media_then_user_turns", [u("a"), a("b"), {"role": "user", "content": [VID]}], gen=False)
add("parts_media_last_assistant", [u("a"), {"role": "assistant", "content": [IMG]}])
add("null_content_user", [{"role": "user", "content": None}])
add("null_content_assistant", [u("hi"), {"role": "assistant", "content": None}, u("again")])
add("null_system", [{"role": "system", "content": None}, u("hi")])

# ---- thinking -----------------------------------------------------------------------------------
add("thinking_on_single", [u("Solve 2+2")], think=True)
add("thinking_on_system", [s("You are a math tutor."), u("Solve 2+2")], think=True)
add("thinking_on_no_gen", [u("x"), a("y")], think=True, gen=False)
add("thinking_on_multi", [u("q1"), a("a1"), u("q2")], think=True)
add("thinking_off_explicit", [s("sys"), u("q")], think=False)
add("thought_in_content_stripped", [u("q"), a("<|channel>thought\nLet me think...<channel|>The answer is 4."),
                                    u("thanks")])
add("thought_in_content_thinking_on", [u("q"), a("<|channel>thought\nhmm<channel|>  4  "), u("again")],
    think=True)
add("thought_multiple_channels", [u("q"), a("A<|channel>x<channel|>B<|channel>y<channel|>C"), u("z")])
add("thought_unclosed", [u("q"), a("start <|channel>never closed"), u("z")])
add("thought_close_only", [u("q"), a("before<channel|>after"), u("z")])
add("thought_in_user_not_stripped", [u("<|channel>thought\nuser text<channel|>visible")])
add("reasoning_no_tool_calls", [u("q"), a("answer", reasoning="private reasoning"), u("next")])
add("reasoning_no_tool_calls_last", [u("q"), a("answer", reasoning="private reasoning")], think=True)
add("reasoning_empty", [u("q"), a("answer", reasoning=""), u("next")])

# ---- tool declarations --------------------------------------------------------------------------
add("tools_weather", [u("Weather in Paris?")], tools=[WEATHER])
add("tools_weather_system", [s("Use tools when useful."), u("Weather in Paris?")], tools=[WEATHER])
add("tools_weather_thinking", [s("sys"), u("Weather?")], tools=[WEATHER], think=True)
add("tools_search", [u("search cats")], tools=[SEARCH])
add("tools_nested", [u("book it")], tools=[NESTED])
add("tools_no_params", [u("time?")], tools=[NO_PARAMS])
add("tools_empty_params", [u("ping")], tools=[EMPTY_PARAMS])
add("tools_params_without_type", [u("odd")], tools=[NO_TYPE_PARAMS])
add("tools_with_response", [u("lookup 7")], tools=[WITH_RESPONSE])
add("tools_response_no_desc", [u("count")], tools=[RESPONSE_NO_DESC])
add("tools_type_list", [u("maybe")], tools=[TYPE_LIST])
add("tools_standard_key_names", [u("weird")], tools=[STANDARD_KEY_NAMES])
add("tools_case_keys", [u("sort")], tools=[CASE_KEYS])
add("tools_no_description", [u("q")], tools=[NO_DESCRIPTION])
add("tools_odd_values", [u("odd")], tools=[ODD_VALUES])
add("tools_all", [s("All tools."), u("go")], tools=ALL_TOOLS)
add("tools_all_thinking", [u("go")], tools=ALL_TOOLS, think=True)
add("tools_empty_list", [u("no tools")], tools=[])
add("tools_empty_list_json", [u("no tools")], tools_json="[]")
add("tools_raw_numbers", [u("n")], tools_json=(
    '[{"type":"function","function":{"name":"nums","description":"numbers","parameters":{"type":"object",'
    '"properties":{"a":{"type":"integer","enum":[1,-0,12345678901234567890123,1.0,1e2,1.5e-7,2.5E+20,'
    '-0.0,1e16,1e15,123.456,0.0001,0.00001]}}}}}]'))
add("tools_duplicate_keys", [u("d")], tools_json=(
    '[{"type":"function","function":{"name":"dup","description":"first","description":"second",'
    '"parameters":{"type":"object","properties":{"x":{"type":"string"},"y":{"type":"string"},'
    '"x":{"type":"number"}}}}}]'))
add("tools_unicode_desc", [u("u")], tools=[{"type": "function", "function": {
    "name": "traduire", "description": "Traduit \u00ab texte \u00bb \u2192 \u65e5\u672c\u8a9e \U0001f30d",
    "parameters": {"type": "object", "properties": {"texte": {"type": "string", "description": "le \"texte\""}},
                   "required": ["texte"]}}}])
add("tools_missing_function", [u("x")], tools=[{"type": "function", "name": "flat_style"}])
add("tools_function_not_object", [u("x")], tools=[{"type": "function", "function": "nope"}])
add("tools_object_not_list", [u("x")], tools_json='{"type":"function"}')
add("tools_properties_not_object", [u("x")], tools=[{"type": "function", "function": {
    "name": "bad", "description": "d", "parameters": {"type": "object", "properties": ["a", "b"]}}}])
add("tools_required_string", [u("x")], tools=[{"type": "function", "function": {
    "name": "req", "description": "d", "parameters": {"type": "object", "properties": {"ab": {"type": "string"}},
                                                      "required": "ab"}}}])
add("tools_invalid_json", [u("x")], tools_json='[{"type": "function",')
add("tools_with_tool_turns_no_system", [u("Weather?"), a(None, tool_calls=[call("get_weather", {"city": "Paris"}, "c1")]),
                                        tool("18C", "c1"), a("It is 18C.")], tools=[WEATHER])

# ---- tool calls and responses --------------------------------------------------------------------
ARGS = {"city": "Paris", "days": 3, "ratio": 0.5, "exact": True, "maybe": None, "list": [1, "two", False],
        "nested": {"Z": 1, "a": {"b": []}}, "empty": {}, "neg": -7, "big": 1e100}
add("call_only_last", [u("Weather?"), a(None, tool_calls=[call("get_weather", {"city": "Paris"}, "c1")])])
add("call_only_last_no_gen", [u("Weather?"), a("", tool_calls=[call("get_weather", {"city": "Paris"}, "c1")])],
    gen=False)
add("call_and_response", [u("Weather?"), a(None, tool_calls=[call("get_weather", {"city": "Paris"}, "c1")]),
                          tool("18C and sunny", "c1")])
add("call_and_response_no_gen", [u("Weather?"), a(None, tool_calls=[call("get_weather", {"city": "Paris"}, "c1")]),
                                 tool("18C and sunny", "c1")], gen=False)
add("call_response_answer", [u("Weather?"), a(None, tool_calls=[call("get_weather", {"city": "Paris"}, "c1")]),
                             tool("18C", "c1"), a("It's 18C in Paris."), u("Thanks!")], tools=[WEATHER])
add("call_response_answer_last", [u("Weather?"), a(None, tool_calls=[call("get_weather", {"city": "Paris"}, "c1")]),
                                  tool("18C", "c1"), a("It's 18C in Paris.")], tools=[WEATHER])
add("call_all_arg_types", [u("go"), a(None, tool_calls=[call("f", ARGS, "c9")]), tool("ok", "c9")])
add("call_args_string_values", [u("go"), a(None, tool_calls=[call("f", {"q": "  spaced  ", "u": "\u00e9\n\"x\"",
                                                                        "e": ""}, "c1")]), tool("ok", "c1")])
add("call_args_empty_object", [u("go"), a(None, tool_calls=[call("get_time", {}, "c1")]), tool("noon", "c1")])
add("call_args_empty_text", [u("go"), a(None, tool_calls=[call("get_time", "", "c1")]), tool("noon", "c1")])
add("call_args_invalid_json", [u("go"), a(None, tool_calls=[call("f", "{not json", "c1")]), tool("x", "c1")])
add("call_args_json_array", [u("go"), a(None, tool_calls=[call("f", "[1, 2]", "c1")]), tool("x", "c1")])
add("call_args_json_string", [u("go"), a(None, tool_calls=[call("f", "\"just a string\"", "c1")]), tool("x", "c1")])
add("call_args_nan", [u("go"), a(None, tool_calls=[call("f", "{\"x\": NaN}", "c1")]), tool("x", "c1")])
add("call_args_case_keys", [u("go"), a(None, tool_calls=[call("f", {"b": 1, "A": 2, "a": 3, "B": 4}, "c1")]),
                            tool("x", "c1")])
add("call_args_raw_numbers", [u("go"), a(None, tool_calls=[call(
    "f", '{"i": 12345678901234567890, "f": 1.0, "e": 1E-9, "z": -0, "m": -0.0, "h": 1e22, "g": 0.1}', "c1")]),
    tool("x", "c1")])
add("two_calls_two_responses", [u("Weather in Paris and Rome?"), a(None, tool_calls=[
    call("get_weather", {"city": "Paris"}, "c1"), call("get_weather", {"city": "Rome"}, "c2")]),
    tool("18C", "c1"), tool("25C", "c2"), a("Paris 18C, Rome 25C.")], tools=[WEATHER])
add("two_calls_responses_swapped", [u("q"), a(None, tool_calls=[call("alpha", {}, "c1"), call("beta", {}, "c2")]),
                                    tool("B", "c2"), tool("A", "c1")])
add("response_by_name", [u("q"), a(None, tool_calls=[call("get_weather", {"city": "Oslo"})]),
                         tool("-3C", name="get_weather")])
add("response_no_ids_no_name", [u("q"), a(None, tool_calls=[call("get_weather", {"city": "Oslo"})]), tool("-3C")])
add("response_id_mismatch_with_name", [u("q"), a(None, tool_calls=[call("get_weather", {"city": "Oslo"}, "c1")]),
                                       tool("-3C", "zz", name="weather_alias")])
add("response_id_mismatch_no_name", [u("q"), a(None, tool_calls=[call("get_weather", {"city": "Oslo"}, "c1")]),
                                     tool("-3C", "zz")])
add("response_null_content", [u("q"), a(None, tool_calls=[call("f", {}, "c1")]), tool(None, "c1")])
add("response_empty_content", [u("q"), a(None, tool_calls=[call("f", {}, "c1")]), tool("", "c1")])
add("response_parts_content", [u("q"), a(None, tool_calls=[call("f", {}, "c1")]),
                               tool([txt(" part one "), IMG, txt("two")], "c1")])
add("response_json_text", [u("q"), a(None, tool_calls=[call("f", {}, "c1")]),
                           tool("{\"temp\": 18, \"sky\": \"clear\"}", "c1")])
add("response_whitespace", [u("q"), a(None, tool_calls=[call("f", {}, "c1")]), tool("  \n padded \n ", "c1")])
add("call_with_content", [u("q"), a("Let me check.", tool_calls=[call("f", {"x": 1}, "c1")]), tool("done", "c1")])
add("call_with_content_no_response", [u("q"), a("Let me check.", tool_calls=[call("f", {"x": 1}, "c1")])])
add("call_then_user_no_response", [u("q"), a(None, tool_calls=[call("f", {}, "c1")]), u("never mind")])
add("call_with_media_content", [u("q"), {"role": "assistant", "content": [IMG], "tool_calls": [call("f", {}, "c1")]}])
add("orphan_tool_message", [u("q"), tool("orphan", "c1", name="f"), u("again")])
add("tool_first", [tool("first", "c1", name="f"), u("q")])
add("chained_calls", [u("plan a trip"),
                      a(None, tool_calls=[call("search", {"query": "flights", "max_results": 3}, "c1")]),
                      tool("3 flights", "c1"),
                      a(None, tool_calls=[call("get_weather", {"city": "Rome"}, "c2")]),
                      tool("sunny", "c2"),
                      a("Book flight 2; it will be sunny.")], tools=[SEARCH, WEATHER])
add("chained_calls_open", [u("plan"),
                           a(None, tool_calls=[call("search", {"query": "x", "max_results": 1}, "c1")]),
                           tool("r1", "c1"),
                           a(None, tool_calls=[call("search", {"query": "y", "max_results": 1}, "c2")]),
                           tool("r2", "c2")], tools=[SEARCH])
add("reasoning_with_calls_after_user", [u("Weather?"), a(None, reasoning="I should call get_weather.",
                                                         tool_calls=[call("get_weather", {"city": "Paris"}, "c1")]),
                                        tool("18C", "c1")], tools=[WEATHER], think=True)
add("reasoning_with_calls_before_user", [u("Weather?"), a(None, reasoning="call it",
                                                          tool_calls=[call("get_weather", {"city": "Paris"}, "c1")]),
                                         tool("18C", "c1"), a("18C", reasoning="done"), u("and tomorrow?")],
    tools=[WEATHER], think=True)
add("reasoning_chain", [u("trip"),
                        a(None, reasoning="first search", tool_calls=[call("search", {"query": "a", "max_results": 1}, "c1")]),
                        tool("r1", "c1"),
                        a(None, reasoning="then weather", tool_calls=[call("get_weather", {"city": "Rome"}, "c2")]),
                        tool("r2", "c2"),
                        a("final", reasoning="wrap up")], tools=[SEARCH, WEATHER], think=True)
add("reasoning_multiline", [u("q"), a("", reasoning="  line1\nline2  ", tool_calls=[call("f", {}, "c1")])])
add("call_in_user_message", [{"role": "user", "content": "odd", "tool_calls": [call("f", {}, "c1")]}])

# ---- number and string formatting inside schemas and arguments ------------------------------------
add("tools_number_formats", [u("n")], tools_json=(
    '[{"type":"function","function":{"name":"nums","description":"numbers","parameters":{"type":"object",'
    '"properties":{"a":{"type":"array","items":{"type":"integer","enum":[1,-0,123456789012345678901234567890,'
    '1.0,1e2,1.5e-7,2.5E+20,-0.0,1e16,1e15,9999999999999998.0,123.456,0.0001,0.00001,-1.25e-5,5e-324,'
    '1.7976931348623157e308],"minimum":-3,"maximum":2.50}},"b":{"type":"string","enum":[0,1.5,true,null,"s"]},'
    '"c":{"type":"number","description":1e-7}}}}}]'))
add("tools_case_mapping", [u("c")], tools=[{"type": "function", "function": {
    "name": "casing", "description": "upper() on types", "parameters": {"type": "object", "properties": {
        "a": {"type": "stra\u00dfe"}, "b": {"type": "\u00e9t\u00e9"}, "c": {"type": "\u03c3\u03bf\u03c6\u03af\u03b1\u03c2"},
        "d": {"type": "\u0436\u0451\u0441\u0442\u043a\u0438\u0439"}, "e": {"type": "array", "items": {"type": "stra\u00dfe"}},
        "\u00c4rger": {"type": "string"}, "\u00e4rger": {"type": "string"}, "\u0394": {"type": "string"},
        "\u03b3": {"type": "string"}, "\u0418": {"type": "string"}, "\u0439": {"type": "string"}}}}}])
add("tools_quote_marker_in_text", [u("q")], tools=[{"type": "function", "function": {
    "name": "quote", "description": "Has <|\"|> inside and {braces}", "parameters": {"type": "object",
    "properties": {"p": {"type": "string", "description": "  spaced  ", "enum": ["a<|\"|>b"]}}}}}])
add("call_args_big_numbers", [u("go"), a(None, tool_calls=[call(
    "f", '{"huge": 123456789012345678901234567890, "neg_huge": -98765432109876543210987, "tiny": 5e-324,'
    ' "max": 1.7976931348623157e308, "frac": 2.50, "sci": 6.02214076e23, "small": 0.000123}', "c1")]),
    tool("x", "c1")])
add("call_args_unicode_keys", [u("go"), a(None, tool_calls=[call("f", {"\u00e9": 1, "E": 2, "\u00c9": 3, "z": {"Y": [], "x": {}}},
                                                                  "c1")]), tool("x", "c1")])
add("call_args_nested_strings", [u("go"), a(None, tool_calls=[call("f", {"o": {"k": "v", "l": ["a", {"m": "n"}]}}, "c1")]),
                                 tool("x", "c1")])
add("gemma3_friendly_tool_flow", [u("q"), a("", tool_calls=[call("f", {}, "c1")]), u("result is 3"), a("ok")])

# ---- crossed variants: the same conversations with thinking and the generation prompt toggled ----
BASES = {
    "x_plain": [u("Hi"), a("Hello"), u("Bye")],
    "x_system": [s("Rules."), u("Hi")],
    "x_media": [{"role": "user", "content": [IMG, txt("what?"), AUD]}],
    "x_tools": [u("Weather?"), a(None, tool_calls=[call("get_weather", {"city": "Paris"}, "c1")]), tool("18C", "c1")],
    "x_assistant_last": [s("S"), u("Hi"), a("<|channel>thought\nx<channel|>Hello")],
    "x_reasoning": [u("Q"), a("", reasoning="think", tool_calls=[call("get_time", {}, "t1")]), tool("noon", "t1"),
                    a("It's noon.")],
}
for base_name, messages in BASES.items():
    for think in (False, True):
        for gen in (True, False):
            for with_tools in (False, True):
                name = f"{base_name}_think{int(think)}_gen{int(gen)}_tools{int(with_tools)}"
                add(name, messages, tools=[WEATHER, NO_PARAMS] if with_tools else None, gen=gen, think=think)

# ---- seeded random conversations: role orders, content forms and tool flows nobody thought of -----
import random

rng = random.Random(20261125)
TEXTS = ["Hi", "  spaced  ", "", "\n\nnewlines\n", "multi\nline\ttext", "\u00e9\u00e8 \u4e2d\u6587 \U0001f600",
         "<|channel>thought\nsecret<channel|>shown", "a<channel|>b", "x<|channel>y", "\u00a0nbsp\u3000",
         "quote ' and \"", "{braces} [brackets] \\", "<|image|> literal", "The answer is 42."]
ARG_POOL = [{}, {"a": 1}, {"q": "text", "n": 2.5, "ok": False}, {"list": [1, [2, {"K": None}]], "B": "b"},
            "{bad json", "[1,2]", "", '{"x": 1e400}', '{"u": "\\u00e9\\n"}']


def random_content():
    r = rng.random()
    if r < 0.6:
        return rng.choice(TEXTS)
    if r < 0.93:
        parts = []
        for _ in range(rng.randint(0, 4)):
            kind = rng.choice(["text", "text", "image", "audio", "video"])
            parts.append(txt(rng.choice(TEXTS)) if kind == "text" else {"type": kind})
        return parts
    return None


for n in range(120):
    messages, ids = [], []
    for _ in range(rng.randint(1, 7)):
        role = rng.choices(["user", "assistant", "system", "tool", "developer"], [5, 5, 1, 2, 0.5])[0]
        m = {"role": role, "content": random_content()}
        if role == "assistant":
            if rng.random() < 0.3:
                m["reasoning"] = rng.choice(["think", " think more \n", "", "\u00fcber"])
            if rng.random() < 0.4:
                m["tool_calls"] = []
                for _ in range(rng.randint(1, 2)):
                    tc_id = f"c{rng.randint(1, 3)}" if rng.random() < 0.85 else None
                    ids.append(tc_id)
                    args = rng.choice(ARG_POOL)
                    m["tool_calls"].append(call(rng.choice(["get_weather", "search", "f"]), args, tc_id))
        if role == "tool":
            if rng.random() < 0.8 and ids:
                pick = rng.choice(ids)
                if pick is not None:
                    m["tool_call_id"] = pick
            if rng.random() < 0.4:
                m["name"] = rng.choice(["get_weather", "search", "alias"])
        messages.append(m)
    tools = rng.choice([None, None, [], [WEATHER], [SEARCH, NESTED], rng.sample(ALL_TOOLS, 3)])
    add(f"random_{n:03d}", messages, tools=tools, gen=rng.random() < 0.7, think=rng.random() < 0.4)

# Alternating user/assistant conversations (what Gemma 3 accepts), with random contents.
for n in range(50):
    messages = []
    if rng.random() < 0.4:
        sys_content = rng.choice(TEXTS) if rng.random() < 0.7 else [txt(rng.choice(TEXTS)), IMG]
        messages.append({"role": rng.choice(["system", "system", "developer"]), "content": sys_content})
    for i in range(rng.randint(1, 6)):
        content = random_content()
        while content is None:
            content = random_content()
        m = {"role": "user" if i % 2 == 0 else "assistant", "content": content}
        if m["role"] == "assistant" and rng.random() < 0.3:
            m["reasoning"] = "because"
        messages.append(m)
    add(f"alternating_{n:03d}", messages, gen=rng.random() < 0.7, think=rng.random() < 0.4,
        tools=rng.choice([None, [WEATHER]]))

json.dump(cases, sys.stdout, ensure_ascii=False, indent=1)
sys.stdout.write("\n")
print(f"{len(cases)} conversations", file=sys.stderr)
