"""Turns a demo task into the exact token sequence hearth feeds the model.

hearth renders a user turn with the Gemma 4 chat template stored in the GGUF (the real 31B-it
template, tests/data/gemma4/chat-template-31B-it.jinja) and replaces each media placeholder by
begin marker + embedding rows + end marker (src/mm/prompt.cc). For one user message whose content
is media parts followed by text, with thinking off, that is:

    <bos><|turn>user\n{media blocks}{text, trimmed}<turn|>\n<|turn>model\n<|channel>thought\n<channel|>

and the model's answer ends with <turn|>. `hearth run --image A -p Q` and an OpenAI message with an
image part then a text part both produce this; text before media is also trained, as clients send
parts in either order.
"""

import numpy as np

GEN_PROMPT = "<turn|>\n<|turn>model\n<|channel>thought\n<channel|>"
PATCH = 48
FRAME = 640
IMAGE_MEAN = 0.5
IMAGE_STD = 0.5


def image_patches(img):
    """RGB PIL image (size a multiple of 48) → (patches [N, 6912] float32 channel-major, rows, cols),
    normalised as the mmproj's image_mean/std say."""
    a = np.asarray(img.convert("RGB"), dtype=np.float32)
    h, w = a.shape[0] // PATCH, a.shape[1] // PATCH
    a = (a / 255.0 - IMAGE_MEAN) / IMAGE_STD
    p = a.reshape(h, PATCH, w, PATCH, 3).transpose(0, 2, 4, 1, 3).reshape(h * w, 3 * PATCH * PATCH)
    rows = np.repeat(np.arange(h), w)
    cols = np.tile(np.arange(w), h)
    return p, rows, cols


def audio_frames(samples_i16, shift=0):
    """int16 samples → frames [ceil(n/640), 640] float32 (as libsndfile decodes 16-bit PCM: /32768),
    the last one zero-padded; `shift` zeros first (training augmentation)."""
    x = samples_i16.astype(np.float32) / 32768.0
    if shift:
        x = np.concatenate([np.zeros(shift, np.float32), x])
    n = (len(x) + FRAME - 1) // FRAME
    out = np.zeros((n, FRAME), np.float32)
    out.reshape(-1)[: len(x)] = x
    return out


class Example:
    """ids (-1 where media rows go), loss mask over next-token targets, media in order."""

    def __init__(self):
        self.ids = []
        self.target = []   # True where ids[i] is a token the model must predict
        self.media = []    # ("image", patches, rows, cols, start) / ("audio", frames, start)

    def text(self, tok, s, learn=False):
        ids = tok.encode(s)
        self.ids += ids
        self.target += [learn] * len(ids)

    def image(self, tok, patches, rows, cols):
        self.text(tok, "<|image>")
        self.media.append(("image", patches, rows, cols, len(self.ids)))
        self.ids += [-1] * len(patches)
        self.target += [False] * len(patches)
        self.text(tok, "<image|>")

    def audio(self, tok, frames):
        self.text(tok, "<|audio>")
        self.media.append(("audio", frames, len(self.ids)))
        self.ids += [-1] * len(frames)
        self.target += [False] * len(frames)
        self.text(tok, "<audio|>")


def build(tok, media, question, answer=None, text_first=False):
    """media: list of ("image", PIL image) / ("audio", frames). Returns an Example; with an answer
    the answer and its closing <turn|> are the targets."""
    ex = Example()
    ex.ids.append(tok.id_of["<bos>"])
    ex.target.append(False)
    ex.text(tok, "<|turn>user\n")
    q = question.strip()
    if text_first:
        ex.text(tok, q)
    for kind, m in media:
        if kind == "image":
            ex.image(tok, *image_patches(m))
        else:
            ex.audio(tok, m)
    if not text_first:
        ex.text(tok, q)
    ex.text(tok, GEN_PROMPT)
    if answer is not None:
        ex.text(tok, answer, learn=True)
        ex.text(tok, "<turn|>", learn=True)
    return ex
