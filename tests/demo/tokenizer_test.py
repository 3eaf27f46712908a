#!/usr/bin/env python3
"""The demo model's tokenizer as trained (tools/demo-model/tokenizer.py, the ids the model learned)
against the engine's reading of the shipped GGUF (`hearth tokenize`): every question and answer of
the held-out set, the chat-template pieces, and text outside the training distribution (other
characters, byte fallback, runs of spaces and newlines, special-token text) must get the same ids.

    tokenizer_test.py --hearth build/tools/hearth --model models/hearth-demo.gguf \
        --vocab tools/demo-model/trained/tokenizer.json --test build/demo-data/test
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools", "demo-model"))
from tokenizer import Tokenizer  # noqa: E402

EXTRA = [
    "<|turn>user\nWhat is in this picture?<turn|>\n<|turn>model\n<|channel>thought\n<channel|>",
    "  two  spaces and a tab\there", "\n\n\nthree newlines", "trailing space ", "UPPER case Words!",
    "café naïve — ünïcödé ✓ 日本語", "emoji 🙂 and a control\x07byte", "<|image><image|><|audio|>",
    "not special: <|turn without end", "numbers 1234567890 and 3.14159", "a" * 200,
    "orange circles, purple stars; and yellow triangles.", "<|\"|>quoted<|\"|>",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hearth", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--vocab", required=True)
    ap.add_argument("--test", required=True)
    a = ap.parse_args()
    tok = Tokenizer.load(a.vocab)
    texts = list(EXTRA)
    with open(os.path.join(a.test, "test.jsonl")) as f:
        for line in f:
            item = json.loads(line)
            texts += [item["question"], item["answer"]]
    texts = sorted(set(texts))

    def engine(text):
        r = subprocess.run([a.hearth, "tokenize", "-m", a.model, "--json", text],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"hearth tokenize failed on {text!r}: {r.stderr}")
        return json.loads(r.stdout)["ids"]

    with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        got = list(pool.map(engine, texts))
    bad = [(t, g, tok.encode(t)) for t, g in zip(texts, got) if g != tok.encode(t)]
    for t, g, w in bad[:10]:
        print(f"differs on {t!r}:\n  engine  {g}\n  python  {w}")
    print(f"{len(texts) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
