#!/usr/bin/env python3
"""End-to-end accuracy of the shipped demo model through `hearth run` (the engine, not PyTorch).

Runs every held-out question of the test set (tests/demo/testset.py writes it) through `hearth run --json` (greedy)
with its picture and/or spoken clip, and fails unless
- the accuracy of each kind of question (image, audio, both, text) reaches its threshold, and
- the engine's answer equals PyTorch's (tests/data/demo/pytorch_answers.jsonl, written by
  tools/demo-model/eval.py on the same questions) for at least --min-agreement of them.

    accuracy.py --hearth build/tools/hearth --model models/hearth-demo.gguf \
        --mmproj models/mmproj-hearth-demo.gguf --test build/demo-data/test \
        --pytorch tests/data/demo/pytorch_answers.jsonl
"""

import argparse
import collections
import concurrent.futures
import json
import os
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
EXAMPLES = os.path.join(ROOT, "tools", "demo-model", "examples")
# Per task, 5 points below what PyTorch scores on the same questions (tools/demo-model/README.md),
# shared with tests/node/server_demo.test.mjs.
with open(os.path.join(ROOT, "tests", "data", "demo", "thresholds.json")) as _f:
    THRESHOLDS = json.load(_f)


def ask(args, item):
    cmd = [args.hearth, "run", "-m", args.model, "--mmproj", args.mmproj, "-t", "1", "--temp", "0",
           "-n", "32", "--json", "-p", item["question"]]
    if item.get("image"):
        cmd += ["--image", os.path.join(args.test, item["image"])]
    if item.get("audio"):
        cmd += ["--audio", os.path.join(args.test, item["audio"])]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError(f"{item['id']}: hearth run failed ({r.returncode}): {r.stderr.strip()}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    return out["text"].strip()


def first_run(args, torch_answer):
    """The shipped examples (tools/demo-model/examples/examples.jsonl), asked as scripts/demo.sh
    (the README's first command) asks them: with no -m, so hearth must find the demo model and its
    projector by itself. The answers must be PyTorch's, and right."""
    failed = []
    with open(os.path.join(EXAMPLES, "examples.jsonl")) as f:
        examples = [json.loads(line) for line in f]
    for ex in examples:
        opts = []
        if ex.get("image"):
            opts += ["--image", os.path.join(EXAMPLES, ex["image"])]
        if ex.get("audio"):
            opts += ["--audio", os.path.join(EXAMPLES, ex["audio"])]
        r = subprocess.run([args.hearth, "run", "--temp", "0", "--json", "-p", ex["question"]] + opts,
                           capture_output=True, text=True, timeout=120)
        got = json.loads(r.stdout.strip().splitlines()[-1])["text"].strip() if r.returncode == 0 else None
        want_torch = torch_answer[ex["id"]]
        ok = got == want_torch == ex["answer"] and "using the demo model" in r.stderr
        verdict = "right" if got == ex["answer"] else f"wrong, the example's answer is {ex['answer']!r}"
        print(f"first run: {ex['question']!r} {ex.get('image') or ''} {ex.get('audio') or ''} -> {got!r} ({verdict})")
        if not ok:
            print(f"  FAILED: PyTorch says {want_torch!r}; stderr: {r.stderr.strip()}")
            failed.append(f"first-run example {ex['id']}")
    return failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hearth", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--mmproj", required=True)
    ap.add_argument("--test", required=True, help="the test set folder (test.jsonl and media)")
    ap.add_argument("--pytorch", required=True, help="PyTorch's answers (eval.py --answers)")
    ap.add_argument("--min-agreement", type=float, default=0.99)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    with open(os.path.join(args.test, "test.jsonl")) as f:
        items = [json.loads(line) for line in f]
    with open(args.pytorch) as f:
        torch_answer = {a["id"]: a["answer"] for a in map(json.loads, f)}
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        answers = list(pool.map(lambda it: ask(args, it), items))
    right, total = collections.Counter(), collections.Counter()
    agree, disagreements = 0, []
    for item, ans in zip(items, answers):
        for key in (item["kind"], item["kind"] + "/" + item["task"]):
            total[key] += 1
            right[key] += ans == item["answer"]
        if ans == torch_answer[item["id"]]:
            agree += 1
        else:
            disagreements.append((item["id"], ans, torch_answer[item["id"]]))
    failed = first_run(args, torch_answer)
    for key in sorted(total):
        acc = right[key] / total[key]
        need = THRESHOLDS.get(key)
        mark = "" if need is None else f"  (threshold {need:.2f})"
        print(f"{key:22s} {right[key]:4d}/{total[key]:<4d} = {acc:.3f}{mark}")
        if need is not None and acc < need:
            failed.append(f"{key} accuracy {acc:.3f} < {need}")
    share = agree / len(items)
    print(f"engine = PyTorch on {agree}/{len(items)} = {share:.4f} (threshold {args.min_agreement})")
    for d in disagreements[:20]:
        print(f"  differs on {d[0]}: engine {d[1]!r}, PyTorch {d[2]!r}")
    if share < args.min_agreement:
        failed.append(f"agreement {share:.4f} < {args.min_agreement}")
    if failed:
        print("FAILED: " + "; ".join(failed))
        return 1
    print("all thresholds met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
