#!/usr/bin/env python3
"""Writes corpus.json: the strings of hearth's real-vocabulary tokenizer oracle test.

Deterministic (own LCG, no library randomness): running it again gives the same file byte for byte.
  python3 tests/tokenizer/corpus/generate_corpus.py   # rewrites tests/tokenizer/corpus/corpus.json

The corpus deliberately avoids U+2581 (▁) next to a space or another ▁: there llama.cpp's Gemma 3
vocabulary (space runs stored as USER_DEFINED text of spaces) and the Hugging Face tokenizer
(literal ▁▁ matched as an added token, ▁ merged like a space) provably disagree; that case is tested
separately with its exact expected ids (tokenizer_spm_test.cc, LiteralLowerBlockDivergence).
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


class Lcg:
    def __init__(self, seed):
        self.s = seed & 0xFFFFFFFFFFFFFFFF

    def next(self):
        self.s = (self.s * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return self.s >> 33

    def below(self, n):
        return self.next() % n

    def pick(self, xs):
        return xs[self.below(len(xs))]


HAND = [
    "", " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", "\r", " \n ",
    "\n \n", "\t\n\t", " \t \t ", "a\u00a0b", "x\u3000y", "Hello world", " Hello world", "Hello  world",
    "Hello   world", "Hello\tworld", "Hello\nworld", "Hello\r\nworld", "Hello\n\n\nworld", "trailing space ",
    "trailing spaces   ", "   leading spaces", "\n\nleading newlines", "trailing newlines\n\n\n",
    "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "tHe QuIcK bRoWn FoX",
    "I'm can't won't y'all it's", "e.g. i.e. etc. Mr. Dr. St.", "#include <stdio.h>\nint main(void) {\n    printf(\"hi\\n\");\n    return 0;\n}\n",
    "def f(x):\n    return x ** 2  # square\n", "for (let i = 0; i < n; ++i) { sum += a[i]; }",
    "fn main() {\n    let v: Vec<u32> = (0..10).collect();\n    println!(\"{:?}\", v);\n}",
    "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hello\")\n}\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC;",
    "<div class=\"row\"><span>text</span></div>", "<table><tr><td>1</td><td>2</td></tr></table>",
    "<h1>Title</h1><p>para</p><strong>bold</strong><em>it</em><code>x</code>",
    "{\"key\": [1, 2.5, -3e10, true, null], \"nested\": {\"a\": \"b\"}}",
    "#!/bin/bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\"; done\n",
    "x = [i for i in range(10) if i % 2 == 0]", "a->b; c::d; e=>f; g<=h; i!=j; k&&l||m",
    "https://example.com/path/to/page?query=1&b=two#frag", "http://user:pass@host:8080/a%20b",
    "mailto:someone@example.org", "ftp://ftp.example.net/pub/file.tar.gz", "www.example.co.uk/index.html",
    "# Heading\n\n## Sub\n\n- item 1\n- item 2\n\n1. one\n2. two\n", "**bold** _it_ `code` ~~strike~~",
    "> quote\n> more", "```python\nprint('x')\n```", "| a | b |\n|---|---|\n| 1 | 2 |", "[link](http://x.y) ![img](a.png)",
    "0", "1", "12", "123", "1234", "12345", "123456789012345678901234567890", "3.14159", "-42", "+7", "1e-9",
    "0x1F", "0b1010", "1,234,567.89", "1.234.567,89", "50%", "$100", "€20", "£3.50", "¥1000", "₹500",
    "2024-01-15T10:30:00Z", "12:34:56", "+1 (555) 123-4567", "v1.2.3-beta+build.5",
    "你好，世界！", "我想在apple工作1314151天～", "中文分词测试，包括标点符号。", "繁體中文與简体中文",
    "こんにちは世界", "カタカナとひらがなと漢字", "東京は日本の首都です。", "ｶﾀｶﾅ 半角",
    "안녕하세요 세계", "한국어 문장입니다.", "مرحبا بالعالم", "اللغة العربية جميلة", "שלום עולם",
    "नमस्ते दुनिया", "हिन्दी भाषा", "สวัสดีชาวโลก", "ภาษาไทย", "Привет, мир!", "нещо на Български",
    "Γειά σου Κόσμε", "Ελληνικά", "Ողջույն", "გამარჯობა", "ሰላም ልዑል", "ᠮᠣᠩᠭᠣᠯ", "བོད་ཡིག",
    "Tiếng Việt có dấu", "Cửa Việt", "Äpfel Öl Über straße", "façade naïve coöperate", "ﬁ ﬂ ﬃ",
    "😀", "😀😃😄", "👍🏽", "👨‍👩‍👧‍👦", "👩🏾‍💻", "🏳️‍🌈", "🇺🇸🇯🇵🇫🇷", "🇩🇪", "1️⃣ #️⃣", "❤️", "✅", "🦙.cpp",
    "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ (only emoji that has its own token)",
    "e\u0301", "\u0301", "\u0301\u0301\u0301", "a\u0308\u0304", "\u200b", "a\u200bb", "\u200d", "\ufeffBOM",
    "\u202eRTL override", "x\u0000y", "\u0001\u0002\u007f", "\U0001F600\U0001F601", "\U00010348 gothic",
    "\U0001D400\U0001D401 math", "\ue000 private use", "\uffff\ufffe nonchar", "\ufffd replacement",
    "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n", "<bos>", "<eos>", "<pad>", "<unk>",
    "<mask>", "text <bos> inside", "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>",
    "<image_soft_token>", "<unused0>", "<unused42>", "<unused6241>", "[multimodal]", "</s>", "<s>", "</s>x<s>",
    "<start_of_turn><end_of_turn>", "<<bos>>", "<bos<eos>>", "<start_of_turn", "start_of_turn>",
    "<|endoftext|>", "<|im_start|>", "<|turn>", "<turn|>", "<0x41>", "<0x0A>", "<0xFF>", "<0x00><0x01>",
    "<0xZZ>", "<0x4>", "x<0x41>y", "<table>", "</table>", "<br>", "<p>", "<img src=x>",
    "supercalifragilisticexpialidocious", "Donaudampfschifffahrtsgesellschaftskapitänswitwe",
    "pneumonoultramicroscopicsilicovolcanoconiosis", "a" * 300, "ab" * 200, "xyz" * 150, "😀" * 100,
    "中" * 200, "-" * 120, "=" * 80, "." * 50, "!" * 40, "?!" * 30, "_" * 64, "#" * 70, "\t" * 40,
    "\n" * 45, " " * 70, "\r\n" * 20, " \t" * 30, "ied 4 ½ months", "' era", "\n =", " (", "!!!!!!",
    "w048 7tuijk dsdfhu", "កាន់តែពិសេសអាចខលចេញ", " discards", "3333333", "Hello, y'all! How are you 😁 ?",
    "\u2581", "a\u2581b", "x\u2581y\u2581z",
]

WORDS = ["the", "of", "and", "tokenizer", "Gemma", "model", "llama", "hearth", "engine", "quick", "fox",
         "über", "naïve", "café", "日本語", "中文", "한국어", "русский", "عربى", "हिंदी", "ελληνικά", "🙂",
         "🚀", "👨‍💻", "🇬🇧", "x86_64", "std::vector<int>", "foo_bar", "FooBar", "fooBar", "FOO_BAR",
         "__init__", "self.x", "i++", "a[i]", "0.5", "42", "1e10", "$x", "@user", "#tag", "C#", "F#",
         "node.js", "e-mail", "re-entry", "don't", "rock'n'roll", "—", "–", "…", "“quoted”", "«guillemets»",
         "『括弧』", "(paren)", "[bracket]", "{brace}", "<angle>", "<b>", "</i>", "<start_of_turn>", "<bos>",
         "<unused7>", "<0x20>", "http://a.b/c", "~/.config", "C:\\Windows\\path", "a/b/c.txt", "¿Qué?",
         "¡Hola!", "ß", "ǅ", "ﬀ", "Ⅻ", "①", "²", "½", "™", "©", "°C", "µs", "Ω", "∑", "∞", "≠", "→", "⇒"]
SEPS = [" ", " ", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", "", " \n", "\n ", ", ", ". ", "\t\t", "    "]
RANGES = [(0x20, 0x7E), (0xA0, 0x24F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F),
          (0xE00, 0xE7F), (0x1100, 0x11FF), (0x3040, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3),
          (0x2000, 0x206F), (0x20A0, 0x20CF), (0x2190, 0x22FF), (0x2500, 0x257F), (0x1F300, 0x1F6FF),
          (0x1F900, 0x1F9FF), (0x10000, 0x1007F), (0x1D400, 0x1D4FF), (0x300, 0x36F)]


def ok_char(c):
    return c not in (0x2581,) and not (0xD800 <= c <= 0xDFFF)


def random_text(r):
    n = 1 + r.below(8)
    parts = []
    for _ in range(n):
        parts.append(r.pick(WORDS))
        parts.append(r.pick(SEPS))
    if r.below(3) == 0:
        parts.insert(0, r.pick(SEPS))
    return "".join(parts)


def random_soup(r):
    n = 1 + r.below(24)
    out = []
    for _ in range(n):
        lo, hi = r.pick(RANGES)
        c = lo + r.below(hi - lo + 1)
        if ok_char(c):
            out.append(chr(c))
        if r.below(5) == 0:
            out.append(r.pick(SEPS))
    return "".join(out)


def mutate_special(r):
    specials = ["<start_of_turn>", "<end_of_turn>", "<bos>", "<eos>", "<pad>", "<unused3>", "</s>",
                "<table>", "[multimodal]", "<start_of_image>", "<mask>", "<0x41>", "<0xE4>"]
    s = r.pick(specials)
    k = r.below(4)
    if k == 0:
        return random_text(r) + s + random_text(r)
    if k == 1:
        return s + r.pick(SEPS) + s
    if k == 2:
        cut = 1 + r.below(len(s) - 1)
        return s[:cut] + r.pick(WORDS) + s[cut:]
    return "user" + s + "model\n" + random_text(r)


def long_text(r):
    return "".join(random_text(r) for _ in range(60 + r.below(60)))


def main():
    r = Lcg(20260412)
    corpus = list(HAND)
    for _ in range(1300):
        corpus.append(random_text(r))
    for _ in range(450):
        corpus.append(random_soup(r))
    for _ in range(200):
        corpus.append(mutate_special(r))
    for _ in range(20):
        corpus.append(long_text(r))
    for s in corpus:  # keep the documented divergence out (see the module docstring)
        assert "\u2581 " not in s and " \u2581" not in s and "\u2581\u2581" not in s, repr(s)
    with open(os.path.join(HERE, "corpus.json"), "w", encoding="utf-8") as f:
        json.dump(corpus, f, ensure_ascii=False, indent=0)
        f.write("\n")
    print(len(corpus), "strings")


if __name__ == "__main__":
    main()
