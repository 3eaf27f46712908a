"""Splits data.py's audio_train.npz into smaller parts that train.py reads in its place.

    python3 tools/demo-model/pack_clips.py --data /tmp/demo-data --parts 3 --out DIR

Part i holds clips i, i+N, i+2N, ... (so each part covers every utterance) as LZMA-compressed
8-bit mu-law, about a quarter of the int16 size. This is how the clips were carried to the GPU
machine that trained the shipped model, where each transfer is limited to a few tens of MB.
8-bit mu-law adds noise about 38 dB below the signal, under the 15-35 dB noise already mixed in.
train.py --data DIR uses DIR/audio_train.npz when it exists, else DIR/audio_train-*.npz.
"""

import argparse
import glob
import lzma
import os
import sys

import numpy as np


def mulaw_encode(samples_i16):
    x = samples_i16.astype(np.float64) / 32768.0
    mu = np.sign(x) * np.log1p(255 * np.abs(x)) / np.log1p(255)
    return np.clip(np.round(mu * 127), -127, 127).astype(np.int8)


def mulaw_decode(levels_i8):
    m = levels_i8.astype(np.float64) / 127
    x = np.sign(m) * np.expm1(np.abs(m) * np.log1p(255)) / 255
    return np.clip(np.round(x * 32768), -32768, 32767).astype(np.int16)


def read_parts(data_dir):
    """DIR/audio_train-*.npz as written here → (int16 samples, offsets, kinds, texts)."""
    parts = sorted(glob.glob(os.path.join(data_dir, "audio_train-*.npz")))
    if not parts:
        sys.exit(f"no audio_train.npz (run data.py) and no audio_train-*.npz parts in {data_dir}")
    audio, offsets, kind, text = [], [0], [], []
    for p in parts:
        z = np.load(p)
        audio.append(mulaw_decode(np.frombuffer(lzma.decompress(z["mulaw_xz"].tobytes()), np.int8)))
        offsets += list(offsets[-1] + z["offsets"][1:])
        kind += list(z["kind"])
        text += list(z["text"])
    return np.concatenate(audio), np.array(offsets), np.array(kind), np.array(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True, help="folder holding audio_train.npz")
    ap.add_argument("--parts", type=int, default=3)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    z = np.load(os.path.join(a.data, "audio_train.npz"))
    audio, off, kind, text = z["audio"], z["offsets"], z["kind"], z["text"]
    for part in range(a.parts):
        idx = np.arange(part, len(kind), a.parts)
        clips = [audio[off[i]:off[i + 1]] for i in idx]
        offsets = np.concatenate([[0], np.cumsum([len(c) for c in clips])])
        packed = lzma.compress(mulaw_encode(np.concatenate(clips)).tobytes(), preset=6)
        path = os.path.join(a.out, f"audio_train-{part}.npz")
        np.savez(path, mulaw_xz=np.frombuffer(packed, np.uint8), offsets=offsets, kind=kind[idx], text=text[idx])
        print(f"{path}: {len(idx)} clips, {len(packed) / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
