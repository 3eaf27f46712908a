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
import prompts  # noqa: E402
from PIL import Image  # noqa: E402
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


def draw_picture(job):
    """Worker side: the picture and its question for one example, from its own seed."""
    seed, both = job
    rng = random.Random(seed)
    img, objects = data.make_image(rng)
    return np.asarray(img, dtype=np.uint8), objects, (None if both else data.image_qa(objects, rng))


class Sampler:
    """Draws training examples: pictures and text tasks made on the fly, spoken clips from the
    pre-generated set (shifted by a random number of samples so frame boundaries vary).

    Every random choice is made here, in order, from one generator; pictures (the slow part) are
    drawn by a worker process from per-picture seeds, one pool of examples ahead of training, so
    the examples do not depend on timing."""

    def __init__(self, tok, data_dir, seed):
        self.tok = tok
        self.rng = random.Random(seed)
        z = np.load(os.path.join(data_dir, "audio_train.npz"))
        self.audio, self.offsets = z["audio"], z["offsets"]
        self.kind, self.text = z["kind"], z["text"]
        self.pool = multiprocessing.get_context("fork").Pool(1)
        self.pending = None

    def close(self):
        self.pool.terminate()

    def clip(self):
        i = self.rng.randrange(len(self.kind))
        s = self.audio[self.offsets[i]:self.offsets[i + 1]]
        frames = prompts.audio_frames(s, shift=self.rng.randrange(prompts.FRAME))
        return str(self.kind[i]), str(self.text[i]), frames

    def plan(self, n):
        """n example plans (kind, text_first, picture seed, clip, text task or question rng seed)."""
        plans = []
        for _ in range(n):
            r, acc = self.rng.random(), 0.0
            for kind, w in MIX:
                acc += w
                if r < acc:
                    break
            p = {"kind": kind, "text_first": self.rng.random() < 0.2, "seed": self.rng.getrandbits(63)}
            if kind in ("audio", "both"):
                p["clip"] = self.clip()
            plans.append(p)
        jobs = [(p["seed"], p["kind"] == "both") for p in plans if p["kind"] in ("image", "both")]
        return plans, self.pool.map_async(draw_picture, jobs)

    def examples(self, n):
        """The next n examples; the following n are already being drawn."""
        if self.pending is None:
            self.pending = self.plan(n)
        plans, pictures = self.pending
        self.pending = self.plan(n)
        pictures = iter(pictures.get())
        out = []
        for p in plans:
            kind, q_rng = p["kind"], random.Random(p["seed"])
            if kind in ("image", "both"):
                arr, objects, qa = next(pictures)
                img = Image.fromarray(arr, "RGB")
            if kind == "image":
                media = [("image", img)]
            elif kind == "audio":
                k, t, frames = p["clip"]
                media = [("audio", frames)]
                qa = data.audio_qa(k, t, q_rng)
            elif kind == "both":
                k, t, frames = p["clip"]
                media = [("image", img), ("audio", frames)]
                qa = data.both_qa(objects, k, t, q_rng)
            else:
                task = data.make_text_task(q_rng)
                media, qa = [], (task["prompt"], task["answer"])
            text_first = p["text_first"] and kind != "text"
            out.append((kind, prompts.build(self.tok, media, qa[0], qa[1], text_first)))
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
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    tok_path = os.path.join(a.out, "tokenizer.json")
    t0 = time.time()
    tok = Tokenizer.train(tokenizer_corpus(a.seed), N_MERGES)
    tok.save(tok_path)
    print(f"tokenizer: {len(tok.tokens)} tokens, {len(tok.merges)} merges ({time.time() - t0:.0f} s)")
    cfg = gemma4.Config(n_vocab=len(tok.tokens))
    model = gemma4.Gemma4(cfg)
    init_weights(model, a.seed)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    keep = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": keep, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98), eps=1e-8, foreach=True)
    sampler = Sampler(tok, a.data, a.seed)
    step = 0
    ckpt = os.path.join(a.out, "model.pt")
    def lr_at(s):
        warm = 200
        if s < warm:
            return a.lr * (s + 1) / warm
        f = (s - warm) / max(1, a.steps - warm)
        return a.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, f))))

    def save():
        torch.save({"model": model.state_dict(), "step": step, "config": cfg.__dict__}, ckpt + ".tmp")
        os.replace(ckpt + ".tmp", ckpt)

    t0, seen_tok = time.time(), 0
    loss_by_kind = {k: [] for k, _ in MIX}
    queue = []
    while step < a.steps:
        if not queue:
            # Draw four batches' worth, sort by length and cut: padding stays small.
            pool = sorted(sampler.examples(4 * a.batch), key=lambda ke: len(ke[1].ids))
            queue = [pool[i:i + a.batch] for i in range(0, len(pool), a.batch)]
            sampler.rng.shuffle(queue)
        drawn = queue.pop()
        batch = collate([e for _, e in drawn], cfg.n_swa)
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
        # Per-kind answer loss for the log: each example's targets are contiguous in `select` order.
        with torch.no_grad():
            i = 0
            for (kind, _), n in zip(drawn, batch["counts"]):
                w = batch["weight"][i:i + n] == 1.0
                loss_by_kind[kind].append(per[i:i + n][w].mean().item())
                i += n
        if step % 25 == 0 or step == a.steps:
            dt = time.time() - t0
            parts = " ".join(f"{k} {np.mean(v[-200:]):.3f}" for k, v in loss_by_kind.items() if v)
            print(f"step {step}/{a.steps} loss {loss.item():.3f} [{parts}] lr {lr_at(step):.2e} "
                  f"{seen_tok / dt:.0f} tok/s {dt / 60:.1f} min", flush=True)
        if step % a.save_every == 0 or step == a.steps:
            save()
    sampler.close()
    with open(os.path.join(a.out, "train_log.json"), "w") as f:
        json.dump({"steps": step, "minutes": (time.time() - t0) / 60, "seed": a.seed, "batch": a.batch,
                   "threads": a.threads, "config": cfg.__dict__}, f, indent=1)


if __name__ == "__main__":
    main()
