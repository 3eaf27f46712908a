"""The demo model's tokenizer: a small vocabulary of the Gemma 4 kind.

Gemma 4 GGUFs carry `tokenizer.ggml.model = "gemma4"`: BPE over UTF-8 characters with merges
applied by rank (gemma-gguf-spec.md §8.2). This module trains such a vocabulary on the demo
tasks' text and encodes exactly as the engine does, so that the token ids the model is trained on
are the ids hearth feeds it:

1. special-token splitting: CONTROL / USER_DEFINED token texts (longest first) become single ids;
2. every space becomes U+2581 (no prefix space);
3. the fragment is split into runs of newlines and runs of anything else; a newline run that is a
   token is emitted whole;
4. other pieces start from characters and merge the adjacent pair of lowest merge rank (ties:
   leftmost) until no pair has a rank; a symbol with no id falls back to <0xXX> byte tokens.

Training keeps merges inside "▁word" units and never merges digits (Gemma splits numbers into
single digits), so a merge never spans two words.
"""

import collections
import functools
import json

SPACE = "\u2581"

# Token types as GGUF stores them (tokenizer.ggml.token_type).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# The real Gemma 4 special tokens (by text; the engine looks them up by string).
CONTROL_TOKENS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>", "<|turn>", "<turn|>", "<|think|>",
                  "<|image>", "<image|>", "<|audio>", "<audio|>", "<|image|>", "<|audio|>",
                  "<|video|>", "<|tool>", "<tool|>"]
# Forced to USER_DEFINED by the converter (always rendered as text, always matched in input).
USER_TOKENS = ["<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|tool_response>",
               "<tool_response|>", '<|"|>']

# Every character the tasks use, plus the rest of printable ASCII so user input stays in-vocab.
BASE_CHARS = ["\n", "\n\n", SPACE] + [chr(c) for c in range(33, 127)]


def units(text):
    """Splits text (spaces already escaped) into the "▁word" units merges are learned within."""
    out, cur = [], ""
    for ch in text:
        if ch == SPACE and cur:
            out.append(cur)
            cur = ""
        cur += ch
    if cur:
        out.append(cur)
    return out


class Tokenizer:
    def __init__(self, tokens, types, merges):
        self.tokens = tokens
        self.types = types
        self.merges = merges
        self.id_of = {t: i for i, t in enumerate(tokens)}
        self.rank = {}
        for r, m in enumerate(merges):
            a, b = m.split(" ", 1)
            self.rank.setdefault((a, b), r)
        specials = [t for t, ty in zip(tokens, types) if ty in (CONTROL, USER_DEFINED, UNKNOWN)]
        self.specials = sorted(specials, key=len, reverse=True)

    # ---- training ----
    @staticmethod
    def train(texts, n_merges):
        counts = collections.Counter()
        for t in texts:
            for line in t.replace(" ", SPACE).split("\n"):
                for u in units(line):
                    counts[u] += 1
        words = {u: list(u) for u in counts}
        merges = []
        for _ in range(n_merges):
            pairs = collections.Counter()
            for u, syms in words.items():
                for a, b in zip(syms, syms[1:]):
                    if any(c.isdigit() for c in a + b):
                        continue
                    pairs[(a, b)] += counts[u]
            if not pairs:
                break
            # Most frequent pair; ties broken by the pair's text so training is deterministic.
            (a, b), n = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))
            if n < 2:
                break
            merges.append((a, b))
            for u, syms in words.items():
                i, out = 0, []
                while i < len(syms):
                    if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                        out.append(a + b)
                        i += 2
                    else:
                        out.append(syms[i])
                        i += 1
                words[u] = out
        tokens, types = [], []
        for t in CONTROL_TOKENS:
            tokens.append(t)
            types.append(UNKNOWN if t == "<unk>" else CONTROL)
        for t in USER_TOKENS:
            tokens.append(t)
            types.append(USER_DEFINED)
        for b in range(256):
            tokens.append("<0x%02X>" % b)
            types.append(BYTE)
        for c in BASE_CHARS:
            tokens.append(c)
            types.append(NORMAL)
        seen = set(tokens)
        for a, b in merges:
            if a + b not in seen:
                tokens.append(a + b)
                types.append(NORMAL)
                seen.add(a + b)
        return Tokenizer(tokens, types, ["%s %s" % m for m in merges])

    # ---- encoding (the engine's algorithm) ----
    def _bpe(self, piece):
        syms = list(piece)
        while len(syms) > 1:
            best, at = None, -1
            for i in range(len(syms) - 1):
                r = self.rank.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best):
                    best, at = r, i
            if best is None:
                break
            syms[at:at + 2] = [syms[at] + syms[at + 1]]
        out = []
        for s in syms:
            if s in self.id_of:
                out.append(self.id_of[s])
            else:
                out.extend(self.id_of["<0x%02X>" % b] for b in s.encode("utf-8"))
        return out

    def _plain(self, text):
        s = text.replace(" ", SPACE)
        out, i = [], 0
        while i < len(s):
            nl = s[i] == "\n"
            j = i
            while j < len(s) and (s[j] == "\n") == nl:
                j += 1
            piece = s[i:j]
            if nl and piece in self.id_of:
                out.append(self.id_of[piece])
            else:
                out.extend(self._bpe(piece))
            i = j
        return out

    def encode(self, text, parse_special=True):
        """Token ids of `text` (no BOS). Special tokens are matched when parse_special is true
        (USER_DEFINED ones always)."""
        return list(self._encode(text, parse_special))

    @functools.lru_cache(maxsize=65536)
    def _encode(self, text, parse_special):
        out, start, i = [], 0, 0
        while i < len(text):
            hit = None
            for sp in self.specials:
                if text.startswith(sp, i):
                    if parse_special or self.types[self.id_of[sp]] == USER_DEFINED:
                        hit = sp
                        break
            if hit is None:
                i += 1
                continue
            if i > start:
                out.extend(self._plain(text[start:i]))
            out.append(self.id_of[hit])
            i += len(hit)
            start = i
        if start < len(text):
            out.extend(self._plain(text[start:]))
        return tuple(out)

    def decode(self, ids):
        b = bytearray()
        for i in ids:
            t = self.tokens[i]
            if self.types[i] == BYTE:
                b.append(int(t[3:5], 16))
            elif self.types[i] == CONTROL:
                continue
            else:
                b.extend(t.replace(SPACE, " ").encode("utf-8"))
        return b.decode("utf-8", errors="replace")

    def save(self, path):
        with open(path, "w") as f:
            json.dump({"tokens": self.tokens, "types": self.types, "merges": self.merges}, f)

    @staticmethod
    def load(path):
        with open(path) as f:
            d = json.load(f)
        return Tokenizer(d["tokens"], d["types"], d["merges"])
