"""Trains the demo model (a small Gemma 4 12B-unified-architecture model) on the demo tasks.

    python3 tools/demo-model/data.py --out /tmp/demo-data --seed 1        # spoken clips + test sets
    python3 tools/demo-model/train.py --data /tmp/demo-data --out /tmp/demo-run --seed 1

Deterministic for a given seed, step count and thread count (pictures, text tasks and the order
of spoken clips are drawn from generators seeded here; PyTorch runs single-process). Writes
OUT/tokenizer.json and OUT/model.pt (saved every --save-every steps and at the end).
"""

import argparse
import json
import math
import multiprocessing
import os
import random
import sys
import time

import numpy as np

# PyTorch already splits its operations over threads; a multi-threaded BLAS inside them only
# oversubscribes the cores (measured: 1.35x faster training with a single-threaded OpenBLAS).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import torch  # noqa: E402
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import data  # noqa: E402
import gemma4  # noqa: E402
import pack_clips  # noqa: E402
import prompts  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402

# Share of each kind of example in training.
MIX = [("image", 0.38), ("audio", 0.25), ("text", 0.25), ("both", 0.12)]
N_MERGES = 480
# The loss covers every text token: the answer (and its <turn|>) with weight 1, the prompt's
# tokens with this weight, so the model also learns the questions' language (it learns copying
# and reading a passage much sooner than from the answers alone).
PROMPT_WEIGHT = 0.2


def tokenizer_corpus(seed):
    """Text the vocabulary is trained on: every kind of question and answer, many draws."""
    rng = random.Random(seed)
    texts = [prompts.GEN_PROMPT, "<|turn>user\n", "<|turn>system\n"]
    for _ in range(1000):
        _, objects = data.make_image(rng)
        texts += list(data.image_qa(objects, rng))
        t = data.make_text_task(rng)
        texts += [t["prompt"], t["answer"]]
    for kind, words in (("number", data.NUMBERS), ("word", data.WORDS)):
        for w in words:
            for _ in range(10):
                texts += list(data.audio_qa(kind, w, rng))
                texts += list(data.both_qa(objects, kind, w, rng))
    return texts


def load_clips(data_dir):
    """The training clips: DIR/audio_train.npz as data.py writes it, or, where that is absent,
    the smaller parts pack_clips.py makes of it. Returns (int16 samples, offsets, kinds, texts)."""
    path = os.path.join(data_dir, "audio_train.npz")
    if not os.path.exists(path):
        return pack_clips.read_parts(data_dir)
    z = np.load(path)
    return z["audio"], z["offsets"], z["kind"], z["text"]


def speed_perturb(s, factor):
    """Plays int16 samples `factor` times faster (pitch and formants move with it, as for a
    smaller or larger speaker), by linear interpolation."""
    if factor == 1.0:
        return s
    n = int(len(s) / factor)
    x = np.interp(np.arange(n) * factor, np.arange(len(s)), s.astype(np.float32))
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


# Worker-process state (set before the pool forks).
_W = {}


def make_example(p):
    """Worker side: one example from its plan (pictures and prompt building are the slow part)."""
    tok, kind, q_rng = _W["tok"], p["kind"], random.Random(p["seed"])
    if kind in ("image", "both"):
        img, objects = data.make_image(q_rng)
    if kind in ("audio", "both"):
        i, shift, factor = p["clip"]
        a_kind, a_text = str(_W["kind"][i]), str(_W["text"][i])
        s = speed_perturb(_W["audio"][_W["offsets"][i]:_W["offsets"][i + 1]], factor)
        frames = prompts.audio_frames(s, shift=shift)
    if kind == "image":
        media, qa = [("image", img)], data.image_qa(objects, q_rng)
    elif kind == "audio":
        media, qa = [("audio", frames)], data.audio_qa(a_kind, a_text, q_rng)
    elif kind == "both":
        media, qa = [("image", img), ("audio", frames)], data.both_qa(objects, a_kind, a_text, q_rng)
    else:
        task = data.make_text_task(q_rng)
        media, qa = [], (task["prompt"], task["answer"])
    text_first = p["text_first"] and kind != "text"
    return kind, prompts.build(tok, media, qa[0], qa[1], text_first)


class Sampler:
    """Draws training examples: pictures and text tasks made on the fly, spoken clips from the
    pre-generated set (at a random speed of 0.88-1.12, shifted by a random number of samples so
    frame boundaries vary).

    Every random choice is made here, in order, from one generator; the examples are built by
    worker processes from per-example seeds, one pool of examples ahead of training, so the
    examples depend on neither timing nor the number of workers."""

    def __init__(self, tok, data_dir, seed, workers):
        self.rng = random.Random(seed)
        _W["audio"], _W["offsets"], _W["kind"], _W["text"] = load_clips(data_dir)
        _W["tok"] = tok
        self.n_clips = len(_W["kind"])
        self.pool = multiprocessing.get_context("fork").Pool(workers)
        self.pending = None

    def close(self):
        self.pool.terminate()

    def plan(self, n):
        plans = []
        for _ in range(n):
            r, acc = self.rng.random(), 0.0
            for kind, w in MIX:
                acc += w
                if r < acc:
                    break
            p = {"kind": kind, "text_first": self.rng.random() < 0.2, "seed": self.rng.getrandbits(63)}
            if kind in ("audio", "both"):
                p["clip"] = (self.rng.randrange(self.n_clips), self.rng.randrange(prompts.FRAME),
                             round(self.rng.uniform(0.88, 1.12), 3))
            plans.append(p)
        return self.pool.map_async(make_example, plans, chunksize=8)

    def examples(self, n):
        """The next n (kind, Example) pairs; the following n are already being built."""
        if self.pending is None:
            self.pending = self.plan(n)
        out = self.pending.get()
        self.pending = self.plan(n)
        return out


def collate(examples, n_swa):
    """Pads a list of Examples into tensors for Gemma4.forward."""
    B = len(examples)
    T = max(len(e.ids) for e in examples)
    ids = torch.zeros(B, T, dtype=torch.long)
    patches, prow, pcol, p_at, frames, f_at, spans = [], [], [], [], [], [], []
    sel, tgt, wgt, counts = [], [], [], []  # counts: targets per example, in order
    for b, e in enumerate(examples):
        row = [max(i, 0) for i in e.ids]
        ids[b, : len(row)] = torch.tensor(row)
        sp = []
        for m in e.media:
            if m[0] == "image":
                _, p, r, c, start = m
                patches.append(p)
                prow.append(r)
                pcol.append(c)
                p_at.append(b * T + start + np.arange(len(p)))
                sp.append((start, start + len(p)))
            else:
                _, f, start = m
                frames.append(f)
                f_at.append(b * T + start + np.arange(len(f)))
        spans.append(sp)
        for i in range(1, len(e.ids)):
            if e.ids[i] >= 0 and e.ids[i - 1] != -1 or e.target[i]:
                sel.append(b * T + i - 1)
                tgt.append(e.ids[i])
                wgt.append(1.0 if e.target[i] else PROMPT_WEIGHT)
        counts.append(len(sel) - sum(counts))
    full, swa = gemma4.build_masks(T, [len(e.ids) for e in examples], spans, n_swa)
    batch = {"ids": ids, "full": full, "swa": swa, "select": torch.tensor(sel), "target": torch.tensor(tgt),
             "weight": torch.tensor(wgt), "counts": counts}
    batch["patches"] = torch.from_numpy(np.concatenate(patches)) if patches else None
    batch["prow"] = torch.from_numpy(np.concatenate(prow)) if patches else None
    batch["pcol"] = torch.from_numpy(np.concatenate(pcol)) if patches else None
    batch["p_at"] = torch.from_numpy(np.concatenate(p_at)) if patches else None
    batch["frames"] = torch.from_numpy(np.concatenate(frames)) if frames else None
    batch["f_at"] = torch.from_numpy(np.concatenate(f_at)) if frames else None
    return batch


def media_rows(model, batch):
    rows, at = [], []
    if batch["patches"] is not None:
        rows.append(model.vision(batch["patches"], batch["prow"], batch["pcol"]))
        at.append(batch["p_at"])
    if batch["frames"] is not None:
        rows.append(model.audio(batch["frames"]))
        at.append(batch["f_at"])
    if not rows:
        return None, None
    return torch.cat(rows), torch.cat(at)


def init_weights(model, seed):
    g = torch.Generator().manual_seed(seed)
    for name, p in model.named_parameters():
        if p.dim() == 2 and "embd.weight" != name:
            fan_in = p.shape[1]
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(fan_in))
    with torch.no_grad():
        model.embd.weight.copy_(torch.randn(model.embd.weight.shape, generator=g) * 0.05)
        # Residual branches start small (their post-norm weights), so the input rows reach the
        # last layers clearly while the branches learn.
        for L in model.layers:
            L.post_attn_norm.fill_(0.25)
            L.post_ffn_norm.fill_(0.25)
        model.vision.pos.copy_(torch.randn(model.vision.pos.shape, generator=g) * 0.02)
        model.audio.proj.weight.copy_(filter_bank(model.c.n_embd, model.c.frame))


def filter_bank(n_out, frame, rate=16000, lo=100.0, hi=7600.0):
    """A starting point for the gemma4ua projection, which sees raw 40 ms frames: Hann-windowed
    cosine and sine rows (unit norm) at n_out/2 mel-spaced frequencies from lo to hi Hz, so the
    first layers get a frame's spectrum (as |X|² = cos² + sin², which the GeGLU can form) rather
    than a random mix of its samples."""
    mel = lambda f: 2595 * math.log10(1 + f / 700)
    m = torch.linspace(mel(lo), mel(hi), n_out // 2, dtype=torch.float64)
    f = 700 * (10 ** (m / 2595) - 1)
    t = torch.arange(frame, dtype=torch.float64) / rate
    hann = 0.5 - 0.5 * torch.cos(2 * math.pi * (torch.arange(frame, dtype=torch.float64) + 0.5) / frame)
    ang = 2 * math.pi * f[:, None] * t[None, :]
    rows = torch.stack([hann * torch.cos(ang), hann * torch.sin(ang)], dim=1).reshape(n_out, frame)
    return (rows / rows.norm(dim=1, keepdim=True)).float()


def set_mix(spec):
    """Replaces MIX from "image=0.3,audio=0.4,...": every kind named once, shares summing to 1."""
    global MIX
    shares = {}
    for part in spec.split(","):
        k, _, w = part.partition("=")
        if k not in dict(MIX) or k in shares or not w:
            sys.exit(f"--mix: '{part}' is not KIND=SHARE with KIND one of {', '.join(dict(MIX))}, each once")
        shares[k] = float(w)
    if set(shares) != set(dict(MIX)) or abs(sum(shares.values()) - 1) > 1e-6 or min(shares.values()) < 0:
        sys.exit(f"--mix: give every kind ({', '.join(dict(MIX))}) a share >= 0, summing to 1")
    MIX = [(k, shares[k]) for k, _ in MIX]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=1300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--save-every", type=int, default=250)
    ap.add_argument("--tokenizer", metavar="JSON", help="use this vocabulary instead of training one")
    ap.add_argument("--init", metavar="PT", help="start from this model.pt's weights (a new optimizer)")
    ap.add_argument("--warmup", type=int, default=200, help="steps of linear learning-rate warm-up")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the shipped model: cuda)")
    ap.add_argument("--workers", type=int, default=1, help="processes building examples")
    ap.add_argument("--mix", metavar="KIND=SHARE,...",
                    help="shares of image, audio, text and both examples (default: %s)"
                    % ",".join(f"{k}={w}" for k, w in MIX))
    ap.add_argument("--minutes", type=float, default=0,
                    help="train for this long instead: after 60 steps --steps is set from the measured rate")
    a = ap.parse_args()
    if a.mix:
        set_mix(a.mix)
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    dev = torch.device(a.device)

    tok_path = os.path.join(a.out, "tokenizer.json")
    t0 = time.time()
    if a.tokenizer:
        tok = Tokenizer.load(a.tokenizer)
    else:
        tok = Tokenizer.train(tokenizer_corpus(a.seed), N_MERGES)
    tok.save(tok_path)
    print(f"tokenizer: {len(tok.tokens)} tokens, {len(tok.merges)} merges ({time.time() - t0:.0f} s)")
    cfg = gemma4.Config(n_vocab=len(tok.tokens))
    model = gemma4.Gemma4(cfg)
    init_weights(model, a.seed)
    if a.init:
        model.load_state_dict(torch.load(a.init, map_location="cpu")["model"])
    model.to(dev)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    keep = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": keep, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-8, foreach=True)
    sampler = Sampler(tok, a.data, a.seed, a.workers)
    step = 0
    ckpt = os.path.join(a.out, "model.pt")
    def lr_at(s):
        warm = a.warmup
        if s < warm:
            return a.lr * (s + 1) / warm
        f = (s - warm) / max(1, a.steps - warm)
        return a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, f))))

    def save():
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        torch.save({"model": state, "step": step, "config": cfg.__dict__}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    t0, seen_tok = time.time(), 0
    kinds = [k for k, _ in MIX]
    # Per-kind answer loss (sum, count) since the last log line, kept on the device.
    acc = torch.zeros(2, len(kinds), device=dev)
    queue = []
    while step < a.steps:
        if not queue:
            # Draw four batches' worth, sort by length and cut: padding stays small.
            pool = sorted(sampler.examples(4 * a.batch), key=lambda ke: len(ke[1].ids))
            queue = [pool[i:i + a.batch] for i in range(0, len(pool), a.batch)]
            sampler.rng.shuffle(queue)
        drawn = queue.pop()
        batch = collate([e for _, e in drawn], cfg.n_swa)
        kind_of = torch.repeat_interleave(torch.tensor([kinds.index(k) for k, _ in drawn]),
                                          torch.tensor(batch["counts"]))
        batch = {k: (v.to(dev, non_blocking=True) if torch.is_tensor(v) else v) for k, v in batch.items()}
        kind_of = kind_of.to(dev)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        rows, at = media_rows(model, batch)
        logits = model(batch["ids"], rows, at, batch["full"], batch["swa"], select=batch["select"])
        per = F.cross_entropy(logits, batch["target"], reduction="none")
        loss = (per * batch["weight"]).sum() / batch["weight"].sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        seen_tok += batch["ids"].numel()
        with torch.no_grad():
            answer = (batch["weight"] == 1.0).float()
            acc[0].index_add_(0, kind_of, per.detach() * answer)
            acc[1].index_add_(0, kind_of, answer)
        if a.minutes and step == 60:
            rate = 40 / (time.time() - t20)
            a.steps = int(60 + rate * (a.minutes * 60 - (time.time() - t0)))
            print(f"{rate:.2f} steps/s: training for {a.steps} steps", flush=True)
        if step == 20:
            t20 = time.time()
        if step % 25 == 0 or step == a.steps:
            dt = time.time() - t0
            s, n = acc.tolist()
            parts = " ".join(f"{k} {s[i] / n[i]:.3f}" for i, k in enumerate(kinds) if n[i])
            acc.zero_()
            print(f"step {step}/{a.steps} loss {loss.item():.3f} [{parts}] lr {lr_at(step):.2e} "
                  f"{seen_tok / dt:.0f} tok/s {dt / 60:.1f} min", flush=True)
        if step % a.save_every == 0 or step == a.steps:
            save()
    sampler.close()
    with open(os.path.join(a.out, "train_log.json"), "w") as f:
        json.dump({"steps": step, "minutes": (time.time() - t0) / 60, "seed": a.seed, "batch": a.batch,
                   "threads": a.threads, "device": a.device, "workers": a.workers,
                   "lr": a.lr, "warmup": a.warmup, "init": a.init, "mix": dict(MIX), "config": cfg.__dict__},
                  f, indent=1)


if __name__ == "__main__":
    main()
