#!/usr/bin/python3
"""Oracle for the chat renderer: renders conversations through a real chat template with jinja2.

Usage: /usr/bin/python3 render_reference.py TEMPLATE CONVERSATIONS.json
  TEMPLATE: a .jinja file, or a tokenizer_config.json whose "chat_template" field is used.
Prints a JSON array, one entry per conversation: {"name", "ok": true, "text"} or
{"name", "ok": false, "error_type", "error"}.

The Jinja environment is the one transformers' apply_chat_template builds (chat_template_utils
`_compile_jinja_template`): an ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the
loopcontrols extension, a `tojson` filter that is json.dumps(ensure_ascii=False, ...), and the globals
`raise_exception` (raises TemplateError) and `strftime_now`. (transformers also installs its
AssistantTracker extension for the `{% generation %}` tag, which no Gemma template uses.)

Conversations use the shape of hearth::chat::Message; they are turned into template messages exactly as
src/chat/template_input.cc documents:
  content string / null -> "content": the same; parts -> [{"type": "text", "text": ...} | {"type": kind}]
  reasoning (non-empty)  -> "reasoning_content"
  tool_calls (non-empty) -> [{"id"?, "type": "function", "function": {"name", "arguments"}}], where
                            arguments is the parsed JSON object when the text is a JSON object, else the
                            raw text (NaN, Infinity and numbers overflowing a double count as invalid
                            JSON, as in nlohmann-json)
  tool_call_id, name     -> copied when present
"""
import datetime
import json
import math
import sys

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.datetime.now().strftime(fmt)


def make_env():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def reject_constant(name):
    # nlohmann-json (our side) rejects NaN/Infinity; make Python agree.
    raise ValueError("not JSON: " + name)


def finite_float(text):
    # nlohmann-json rejects numbers that overflow a double (1e400); json.loads would give inf.
    value = float(text)
    if math.isinf(value):
        raise ValueError("number overflow: " + text)
    return value


def loads(text):
    return json.loads(text, parse_constant=reject_constant, parse_float=finite_float)


def decode_arguments(text):
    try:
        value = loads(text)
    except ValueError:
        return text
    return value if isinstance(value, dict) else text


def to_template_message(m):
    out = {"role": m["role"]}
    content = m.get("content")
    if isinstance(content, list):
        parts = []
        for p in content:
            if p["type"] == "text":
                parts.append({"type": "text", "text": p.get("text", "")})
            else:
                parts.append({"type": p["type"]})
        content = parts
    out["content"] = content
    if m.get("reasoning"):
        out["reasoning_content"] = m["reasoning"]
    if m.get("tool_calls"):
        calls = []
        for tc in m["tool_calls"]:
            call = {}
            if "id" in tc:
                call["id"] = tc["id"]
            call["type"] = "function"
            call["function"] = {"name": tc["name"], "arguments": decode_arguments(tc.get("arguments", ""))}
            calls.append(call)
        out["tool_calls"] = calls
    if "tool_call_id" in m:
        out["tool_call_id"] = m["tool_call_id"]
    if "name" in m:
        out["name"] = m["name"]
    return out


def tools_of(case):
    if "tools_json" in case:
        text = case["tools_json"]
        return loads(text) if text else None
    return case.get("tools")


def main():
    path, corpus_path = sys.argv[1], sys.argv[2]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        text = json.loads(text)["chat_template"]
    template = make_env().from_string(text)
    with open(corpus_path, encoding="utf-8") as f:
        corpus = json.load(f)
    results = []
    for case in corpus:
        entry = {"name": case["name"]}
        try:
            entry["text"] = template.render(
                messages=[to_template_message(m) for m in case["messages"]],
                tools=tools_of(case),
                add_generation_prompt=case.get("add_generation_prompt", True),
                enable_thinking=case.get("enable_thinking", False),
                bos_token=case.get("bos", "<bos>"),
                eos_token="<eos>")
            entry["ok"] = True
        except Exception as e:  # every template failure is an expected outcome to compare
            entry["ok"] = False
            entry["error_type"] = type(e).__name__
            entry["error"] = str(e)
        results.append(entry)
    json.dump(results, sys.stdout, ensure_ascii=True, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
