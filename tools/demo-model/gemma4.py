"""A small Gemma 4 "12B unified" model in PyTorch, computing exactly what hearth computes.

Architecture (gemma-gguf-spec.md §5, §6.3, §6.4), scaled down:
- decoder: token rows × sqrt(n_embd) (media rows as given); per layer RMSNorm → Q/K/V with
  per-head RMSNorm on Q and K and a weightless RMSNorm on V, NEOX RoPE (sliding layers: θ=10000 over
  the whole head; full layers: θ=1e6 over a quarter of the pairs, the "proportional" partial
  rotation that `rope_freqs` encodes), attention scale 1, GQA; full layers have no V projection
  (V is the raw K projection); post-attention norm; GeGLU FFN with pre/post norms; a learned
  per-layer output scale; final norm, tied head, logit soft-cap 30. Norm weights are raw (no +1).
- gemma4uv vision: 48×48 patches ordered channel-major → LayerNorm → linear+bias → LayerNorm →
  + x/y position rows → LayerNorm → weightless RMSNorm → linear to n_embd. No transformer.
- gemma4ua audio: 640-sample frames → weightless RMSNorm → linear to n_embd.
Image blocks attend bidirectionally among themselves (as llama.cpp and hearth decode them).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Config:
    def __init__(self, **kw):
        self.n_vocab = 1024
        self.n_embd = 256
        self.n_layer = 6
        self.n_head = 4
        self.kv_swa = 2
        self.kv_full = 1
        self.hd_swa = 64
        self.hd_full = 128
        self.n_ff = 512
        self.n_swa = 512
        self.period = 6           # 5 sliding layers then 1 full
        self.rope_swa = 10000.0
        self.rope_full = 1e6
        self.partial = 0.25       # fraction of the full head's dims that rotate
        self.softcap = 30.0
        self.eps = 1e-6
        self.v_embd = 128         # gemma4uv patch embedding width
        self.v_pos = 1120         # rows of each position table
        self.patch = 48
        self.frame = 640          # gemma4ua samples per token
        self.__dict__.update(kw)

    def sliding(self, il):
        return (il % self.period) < self.period - 1


def rms_norm(x, w, eps):
    x = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
    return x if w is None else x * w


def gelu_tanh(x):
    """0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³))), as one fused operation."""
    return F.gelu(x, approximate="tanh")


def rope_tables(n_pos, hd, base, n_rot_pairs):
    """cos/sin [n_pos, hd/2] for NEOX pairs (i, i + hd/2); pairs >= n_rot_pairs do not rotate."""
    half = hd // 2
    i = torch.arange(half, dtype=torch.float64)
    inv = base ** (-2.0 * i / hd)
    ang = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv[None, :]
    ang[:, n_rot_pairs:] = 0.0
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x, cos, sin):
    # x [B, H, T, hd]; cos/sin [T, hd/2]
    half = x.shape[-1] // 2
    a, b = x[..., :half], x[..., half:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class Layer(nn.Module):
    def __init__(self, c, il):
        super().__init__()
        self.c = c
        self.sliding = c.sliding(il)
        self.hd = c.hd_swa if self.sliding else c.hd_full
        self.kv = c.kv_swa if self.sliding else c.kv_full
        E = c.n_embd
        self.attn_norm = nn.Parameter(torch.ones(E))
        self.q = nn.Linear(E, c.n_head * self.hd, bias=False)
        self.k = nn.Linear(E, self.kv * self.hd, bias=False)
        self.v = nn.Linear(E, self.kv * self.hd, bias=False) if self.sliding else None
        self.q_norm = nn.Parameter(torch.ones(self.hd))
        self.k_norm = nn.Parameter(torch.ones(self.hd))
        self.o = nn.Linear(c.n_head * self.hd, E, bias=False)
        self.post_attn_norm = nn.Parameter(torch.ones(E))
        self.ffn_norm = nn.Parameter(torch.ones(E))
        self.gate = nn.Linear(E, c.n_ff, bias=False)
        self.up = nn.Linear(E, c.n_ff, bias=False)
        self.down = nn.Linear(c.n_ff, E, bias=False)
        self.post_ffn_norm = nn.Parameter(torch.ones(E))
        self.out_scale = nn.Parameter(torch.ones(1))

    def forward(self, x, mask, cos, sin):
        c = self.c
        B, T, E = x.shape
        a = rms_norm(x, self.attn_norm, c.eps)
        q = self.q(a).view(B, T, c.n_head, self.hd)
        kr = self.k(a).view(B, T, self.kv, self.hd)
        vr = self.v(a).view(B, T, self.kv, self.hd) if self.v is not None else kr
        q = rms_norm(q, self.q_norm, c.eps).transpose(1, 2)
        k = rms_norm(kr, self.k_norm, c.eps).transpose(1, 2)
        v = rms_norm(vr, None, c.eps).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        rep = c.n_head // self.kv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        s = q @ k.transpose(-1, -2)  # attention scale 1 (Q and K are normalised)
        s = s.masked_fill(~mask[:, None], float("-inf"))
        o = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, -1)
        h = x + rms_norm(self.o(o), self.post_attn_norm, c.eps)
        f = rms_norm(h, self.ffn_norm, c.eps)
        f = self.down(gelu_tanh(self.gate(f)) * self.up(f))
        y = h + rms_norm(f, self.post_ffn_norm, c.eps)
        return y * self.out_scale


class VisionProjector(nn.Module):
    """gemma4uv: patches [N, 3·48·48] (channel-major) with their (row, col) → rows [N, n_embd]."""

    def __init__(self, c):
        super().__init__()
        D = 3 * c.patch * c.patch
        self.norm1 = nn.LayerNorm(D, eps=1e-5)
        self.embd = nn.Linear(D, c.v_embd)
        self.norm2 = nn.LayerNorm(c.v_embd, eps=1e-5)
        self.pos = nn.Parameter(torch.randn(2, c.v_pos, c.v_embd) * 0.02)  # [x|y, index, E]
        self.norm3 = nn.LayerNorm(c.v_embd, eps=1e-5)
        self.proj = nn.Linear(c.v_embd, c.n_embd, bias=False)
        self.eps = c.eps

    def forward(self, patches, rows, cols):
        h = self.norm2(self.embd(self.norm1(patches)))
        h = self.norm3(h + self.pos[0, cols] + self.pos[1, rows])
        return self.proj(rms_norm(h, None, self.eps))


class AudioProjector(nn.Module):
    """gemma4ua: frames [N, 640] → rows [N, n_embd]."""

    def __init__(self, c):
        super().__init__()
        self.proj = nn.Linear(c.frame, c.n_embd, bias=False)

    def forward(self, frames):
        return self.proj(rms_norm(frames, None, 1e-6))


class Gemma4(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embd = nn.Embedding(c.n_vocab, c.n_embd)
        nn.init.normal_(self.embd.weight, std=0.02)
        self.layers = nn.ModuleList([Layer(c, il) for il in range(c.n_layer)])
        self.out_norm = nn.Parameter(torch.ones(c.n_embd))
        self.vision = VisionProjector(c)
        self.audio = AudioProjector(c)
        self._rope = {}

    def rope(self, T, sliding):
        key = (T, sliding)
        if key not in self._rope:
            c = self.c
            if sliding:
                t = rope_tables(T, c.hd_swa, c.rope_swa, c.hd_swa // 2)
            else:
                t = rope_tables(T, c.hd_full, c.rope_full, int(c.hd_full * c.partial) // 2)
            self._rope[key] = tuple(x.to(self.embd.weight.device) for x in t)
        return self._rope[key]

    def forward(self, ids, media_rows, media_at, mask_full, mask_swa, select=None):
        """ids [B, T] (media positions hold any valid id), media_rows [M, n_embd] placed at the
        flat positions media_at [M] of the [B·T] grid; masks [B, T, T] bool (True = may attend).
        Returns logits after the soft-cap: [B, T, n_vocab], or [S, n_vocab] for the flat
        positions `select`."""
        c = self.c
        B, T = ids.shape
        x = self.embd(ids) * math.sqrt(c.n_embd)
        if media_rows is not None and media_rows.shape[0] > 0:
            x = x.reshape(B * T, -1).index_copy(0, media_at, media_rows).reshape(B, T, -1)
        for il, layer in enumerate(self.layers):
            cos, sin = self.rope(T, layer.sliding)
            x = layer(x, mask_swa if layer.sliding else mask_full, cos, sin)
        x = rms_norm(x, self.out_norm, c.eps)
        if select is not None:
            x = x.reshape(B * T, -1)[select]
        logits = x @ self.embd.weight.t()
        return c.softcap * torch.tanh(logits / c.softcap)


def build_masks(T, lengths, image_spans, n_swa):
    """Causal masks [B, T, T] for full and sliding layers, with bidirectional image blocks.
    image_spans[b] = list of (start, end) position ranges of image embedding rows."""
    B = len(lengths)
    pos = torch.arange(T)
    causal = pos[None, :] <= pos[:, None]
    full = causal[None].repeat(B, 1, 1)
    for b, spans in enumerate(image_spans):
        for s, e in spans:
            full[b, s:e, s:e] = True
    near = (pos[:, None] - pos[None, :]) < n_swa
    swa = full & near[None]
    return full, swa
