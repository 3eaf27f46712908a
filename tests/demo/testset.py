#!/usr/bin/env python3
"""Writes the demo model's held-out test sets (tools/demo-model/data.py, seed 1) into OUT/test and
checks every file against the digests recorded when PyTorch was scored on them
(tests/data/demo/testset.sha256), so the engine tests compare answers to the very same pictures,
clips and questions. --record rewrites the digest file instead.

    testset.py --out build/demo-data [--record]
"""

import argparse
import hashlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "tools", "demo-model"))
import data  # noqa: E402

DIGESTS = os.path.join(ROOT, "tests", "data", "demo", "testset.sha256")


def digests(test_dir):
    out = {}
    for base, _, files in os.walk(test_dir):
        for f in files:
            p = os.path.join(base, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, test_dir)] = hashlib.sha256(fh.read()).hexdigest()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--record", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    n = data.write_test(a.out, 1, 2)
    got = digests(os.path.join(a.out, "test"))
    if a.record:
        with open(DIGESTS, "w") as f:
            for k in sorted(got):
                f.write(f"{got[k]}  {k}\n")
        print(f"recorded {len(got)} digests")
        return 0
    want = {}
    with open(DIGESTS) as f:
        for line in f:
            h, k = line.rstrip("\n").split("  ", 1)
            want[k] = h
    bad = sorted(k for k in set(want) | set(got) if want.get(k) != got.get(k))
    if bad:
        print(f"{len(bad)} of {len(want)} test files differ from the ones PyTorch was scored on, e.g.:")
        for k in bad[:10]:
            print(f"  {k}: expected {want.get(k, 'absent')}, got {got.get(k, 'absent')}")
        print("(espeak-ng, sox, PIL or numpy may differ from the versions the digests were recorded with)")
        return 1
    print(f"{n} questions, {len(got)} files, all as recorded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
