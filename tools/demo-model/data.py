"""Data for the hearth demo model: pictures of shapes, spoken numbers/words, small text tasks.

The trainer imports this module and draws pictures and text tasks on the fly with its own
random.Random; spoken clips are slow to make (espeak-ng + sox), so the CLI pre-generates them:

    python3 tools/demo-model/data.py --out /tmp/demo-data --seed 1 [--audio-train 6000] [--jobs 2]
    python3 tools/demo-model/data.py --examples tools/demo-model/examples   # the committed examples

writes OUT/audio_train.npz (training clips) and OUT/test/ (held-out pictures, clips, text tasks
and test.jsonl with one question per line). Everything is deterministic given the seed: every
random draw comes from a random.Random (or a numpy Generator seeded from one) passed explicitly.
Held-out clips are spoken with voice variants that training never uses (TEST_VARIANTS).
"""

import argparse
import json
import math
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
import wave

import numpy as np
from PIL import Image, ImageDraw

# ---------------------------------------------------------------------------------------------
# Vocabulary shared by all tasks.

SHAPES = ["circle", "square", "triangle", "star"]
# Exactly these eight colour names; RGB values far apart from each other and from backgrounds.
COLOURS = {
    "red": (215, 30, 30),
    "green": (30, 160, 50),
    "blue": (35, 75, 225),
    "yellow": (250, 225, 30),
    "orange": (250, 135, 20),
    "purple": (135, 45, 180),
    "black": (15, 15, 15),
    "white": (252, 252, 252),
}
COLOUR_NAMES = sorted(COLOURS)

NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
           "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
           "eighteen", "nineteen", "twenty"]
WORDS = ["red", "green", "blue", "yellow", "orange", "purple", "black", "white", "circle",
         "square", "triangle", "star", "cat", "dog", "house", "tree", "apple", "hello"]
# The 39 spoken utterances: ("number", "seven") answers "7", ("word", "cat") answers "cat".
UTTERANCES = [("number", w) for w in NUMBERS] + [("word", w) for w in WORDS]


def with_article(colour, noun):
    """'a red circle', 'an orange kite'."""
    return ("an " if colour[0] in "aeiou" else "a ") + colour + " " + noun


# ---------------------------------------------------------------------------------------------
# 1. Pictures: 336x336 RGB (7x7 patches of 48 px for the engine), 1-3 outlined shapes on a
# light/mid background.

IMAGE_SIZE = 336
SUPERSAMPLE = 2          # shapes are drawn at 2x and scaled down for smooth edges
OUTLINE = (35, 35, 35)   # thin dark outline keeps white and yellow shapes visible
N_SHAPES_WEIGHTS = [(1, 0.45), (2, 0.35), (3, 0.20)]
MIN_DX = 30              # centres of different shapes differ this much in x ("left to right")
GAP = 6                  # minimum space between the bounding boxes of two shapes


def _background_colour(rng):
    """A greyish pastel tone at least 80 (RGB distance) away from every shape colour."""
    while True:
        g = rng.uniform(140, 195)
        c = tuple(min(255.0, max(0.0, g + rng.uniform(-18, 18))) for _ in range(3))
        if all(math.dist(c, rgb) >= 80 for rgb in COLOURS.values()):
            return np.array(c, np.float32)


def _background(rng):
    """Plain, two-tone (split along a random line) or plain + noise, as a float32 HxWx3 array."""
    n = IMAGE_SIZE
    img = np.empty((n, n, 3), np.float32)
    img[:] = _background_colour(rng)
    style = rng.choice(["plain", "two-tone", "noise"])
    if style == "two-tone":
        angle = rng.uniform(0, 2 * math.pi)
        offset = rng.uniform(-0.3, 0.3) * n
        yy, xx = np.mgrid[0:n, 0:n].astype(np.float32) - n / 2
        side = (xx * math.cos(angle) + yy * math.sin(angle)) > offset
        img[side] = _background_colour(rng)
    if style == "noise":
        gen = np.random.default_rng(rng.getrandbits(64))
        img += gen.normal(0.0, rng.uniform(3, 9), size=(n, n, 1)).astype(np.float32)
    return img


def _shape_outline(shape, x, y, size, s):
    """Polygon points (scaled by s) of a triangle or 5-pointed star, or the bbox of a circle or
    square; every shape lies inside the size x size box centred on (x, y)."""
    r = size / 2
    if shape in ("circle", "square"):
        return [((x - r) * s, (y - r) * s), ((x + r) * s, (y + r) * s)]
    if shape == "triangle":
        h = size * math.sqrt(3) / 2
        return [(x * s, (y - h / 2) * s), ((x + r) * s, (y + h / 2) * s),
                ((x - r) * s, (y + h / 2) * s)]
    pts = []  # star: alternating outer (radius r) and inner (0.42 r) points, first one up
    for k in range(10):
        rad = r if k % 2 == 0 else 0.42 * r
        a = -math.pi / 2 + k * math.pi / 5
        pts.append(((x + rad * math.cos(a)) * s, (y + rad * math.sin(a)) * s))
    return pts


def draw_scene(objects, rng):
    """Renders objects (dicts shape/colour/x/y/size, centre coordinates in pixels) on a random
    background; each shape colour is jittered slightly so the model sees colour ranges."""
    bg = Image.fromarray(np.clip(_background(rng), 0, 255).astype(np.uint8), "RGB")
    s = SUPERSAMPLE
    big = bg.resize((IMAGE_SIZE * s, IMAGE_SIZE * s), Image.NEAREST)
    draw = ImageDraw.Draw(big)
    for o in objects:
        fill = tuple(int(min(255, max(0, v + rng.randint(-10, 10)))) for v in COLOURS[o["colour"]])
        pts = _shape_outline(o["shape"], o["x"], o["y"], o["size"], s)
        if o["shape"] == "circle":
            draw.ellipse(pts, fill=fill, outline=OUTLINE, width=2 * s)
        elif o["shape"] == "square":
            draw.rectangle(pts, fill=fill, outline=OUTLINE, width=2 * s)
        else:
            draw.polygon(pts, fill=fill, outline=OUTLINE, width=2 * s)
    return big.resize((IMAGE_SIZE, IMAGE_SIZE), Image.LANCZOS)


def _place(kinds, rng):
    """Positions and sizes for (shape, colour) pairs: inside the picture, bounding boxes apart by
    GAP, centres MIN_DX apart in x. None when random placement failed (caller retries)."""
    placed = []
    for shape, colour in kinds:
        for _ in range(100):
            size = rng.randint(50, 110)
            lo, hi = size // 2 + 3, IMAGE_SIZE - size // 2 - 3
            x, y = rng.randint(lo, hi), rng.randint(lo, hi)
            if all(abs(x - p["x"]) >= MIN_DX and
                   (abs(x - p["x"]) >= (size + p["size"]) / 2 + GAP or
                    abs(y - p["y"]) >= (size + p["size"]) / 2 + GAP) for p in placed):
                placed.append({"shape": shape, "colour": colour, "x": x, "y": y, "size": size})
                break
        else:
            return None
    return placed


def make_image(rng):
    """A random picture → (PIL RGB 336x336, objects sorted left to right by centre x). No two
    shapes share both shape and colour."""
    r = rng.random()
    for n, w in N_SHAPES_WEIGHTS:
        if r < w:
            break
        r -= w
    combos = [(s, c) for s in SHAPES for c in COLOUR_NAMES]
    while True:
        objects = _place(rng.sample(combos, n), rng)
        if objects is not None:
            break
    objects.sort(key=lambda o: o["x"])
    return draw_scene(objects, rng), objects


# ---------------------------------------------------------------------------------------------
# 2. Spoken audio: espeak-ng with varied accents, voice variants, speed and pitch; sox resamples
# to 16 kHz mono 16-bit; silence padding, noise and gain are applied in numpy (seeded, so clips
# are reproducible, which sox's own noise generator is not).

RATE = 16000
MAX_SECONDS = 2.0
ACCENTS = ["en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd",
           "en-029", "en-us-nyc"]
# "" is the accent's own voice. Variants in TEST_VARIANTS are never used for training clips.
TRAIN_VARIANTS = ["", "m1", "m2", "m3", "m4", "m5", "m7", "m8", "f1", "f2", "f3", "f5", "klatt",
                  "klatt3", "Alex", "Annie", "Andy", "belinda", "john", "linda", "steph", "max"]
TEST_VARIANTS = ["m6", "f4", "Andrea", "klatt2"]


def synth(text, voice, speed, pitch, tmpdir):
    """espeak-ng → sox (16 kHz mono 16-bit) → float32 samples in [-1, 1], with the leading and
    trailing silence removed (everything below 1% of the peak, keeping 20 ms either side)."""
    wav = os.path.join(tmpdir, "speak.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", wav, text],
                   check=True, capture_output=True)
    raw = subprocess.run(["sox", "-D", "-R", wav, "-r", str(RATE), "-c", "1", "-b", "16",
                          "-e", "signed-integer", "-t", "raw", "-"],
                         check=True, capture_output=True).stdout
    x = np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0
    loud = np.nonzero(np.abs(x) > 0.01 * np.abs(x).max())[0]
    keep = RATE // 50
    return x[max(0, loud[0] - keep): loud[-1] + keep]


def _pink(gen, n):
    """Unit-RMS pink (1/f power) noise of n samples, by shaping white noise in frequency."""
    spec = np.fft.rfft(gen.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    y = np.fft.irfft(spec / np.sqrt(f), n)
    return y / np.sqrt(np.mean(y ** 2))


def finish(speech, lead, trail, peak, snr_db=None, noise="white", gen=None):
    """Pads speech with lead/trail seconds of silence, mixes in noise at snr_db (relative to the
    speech's power; None for a clean clip) and scales to the given peak → int16 samples."""
    x = np.concatenate([np.zeros(int(lead * RATE)), speech, np.zeros(int(trail * RATE))])
    if snr_db is not None:
        n = gen.standard_normal(len(x)) if noise == "white" else _pink(gen, len(x))
        power = np.mean(speech.astype(np.float64) ** 2)
        x = x + n * math.sqrt(power / 10 ** (snr_db / 10))
    x = x * (peak / np.abs(x).max())
    return np.clip(np.round(x * 32767), -32768, 32767).astype(np.int16)


def speak(text, rng, tmpdir, split="train"):
    """text spoken by a random voice of the split → int16 array, 16 kHz mono, at most 2.0 s.
    Voice, speed 120-210, pitch 25-75, silence 0-0.3 s before and 0-0.2 s after, white or pink
    noise at 15-35 dB SNR, peak 0.3-0.95 of full scale."""
    variants = TEST_VARIANTS if split == "test" else TRAIN_VARIANTS
    variant = rng.choice(variants)
    voice = rng.choice(ACCENTS) + ("+" + variant if variant else "")
    speed, pitch = rng.randint(120, 210), rng.randint(25, 75)
    lead, trail = rng.uniform(0, 0.3), rng.uniform(0, 0.2)
    snr_db, noise = rng.uniform(15, 35), rng.choice(["white", "pink"])
    peak = rng.uniform(0.3, 0.95)
    gen = np.random.default_rng(rng.getrandbits(64))
    speech = synth(text, voice, speed, pitch, tmpdir)
    while len(speech) > (MAX_SECONDS - 0.05) * RATE:   # too slow to fit: speak faster
        speed += 30
        speech = synth(text, voice, speed, pitch, tmpdir)
    spare = MAX_SECONDS - len(speech) / RATE - 0.01
    if lead + trail > spare:                           # shrink the padding to fit 2.0 s
        lead, trail = lead * spare / (lead + trail), trail * spare / (lead + trail)
    return finish(speech, lead, trail, peak, snr_db, noise, gen)


def write_wav(path, samples):
    """16-bit PCM 16 kHz mono WAV."""
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.astype("<i2").tobytes())


# ---------------------------------------------------------------------------------------------
# 3. Text tasks.

TEXT_TASKS = ["copy", "count", "arithmetic", "passage", "greeting"]
SIMPLE_WORDS = ["apple", "ball", "bird", "blue", "boat", "book", "box", "bread", "car", "cat",
                "chair", "cloud", "cup", "day", "dog", "door", "duck", "egg", "fish", "flower",
                "frog", "green", "hand", "hat", "hill", "horse", "house", "jump", "key", "lamp",
                "leaf", "milk", "moon", "mouse", "night", "pen", "pig", "rain", "red", "ring",
                "river", "road", "run", "sand", "sea", "sheep", "shoe", "sing", "sky", "snow",
                "sock", "star", "sun", "table", "tree", "walk", "water", "wind", "window", "yellow"]
NAMES = ["Anna", "Ben", "Mia", "Tom", "Lily", "Sam", "Emma", "Max", "Zoe", "Leo", "Ella", "Jack"]
NOUNS = ["kite", "ball", "hat", "car", "bike", "cup", "book", "box", "bag", "coat", "boat", "pen"]
GREETINGS = ["Hello", "Hello!", "Hi", "Hi!", "Hey!", "Good morning!", "Who are you?",
             "What are you?", "What can you do?", "Hello, who are you?"]
GREETING_ANSWER = ("Hello! I am the hearth demo model. Show me a picture, say a number, "
                   "or ask me a simple sum.")


def _passage(rng):
    """Two or three 'NAME has a COLOUR NOUN.' facts (distinct names and nouns), then a question
    about the colour of one person's thing or about who has a thing."""
    k = rng.choice([2, 3])
    names, nouns = rng.sample(NAMES, k), rng.sample(NOUNS, k)
    colours = [rng.choice(COLOUR_NAMES) for _ in range(k)]
    facts = " ".join(f"{n} has {with_article(c, o)}." for n, c, o in zip(names, colours, nouns))
    i = rng.randrange(k)
    if rng.random() < 0.5:
        return f"{facts} What colour is {names[i]}'s {nouns[i]}?", colours[i]
    return f"{facts} Who has the {nouns[i]}?", names[i]


def make_text_task(rng, task=None):
    """A random text task (or one of the given kind) → {"task", "prompt", "answer"}."""
    task = task or rng.choice(TEXT_TASKS)
    if task == "copy":
        words = [rng.choice(SIMPLE_WORDS) for _ in range(rng.randint(2, 5))]
        prompt, answer = "Repeat after me: " + " ".join(words), " ".join(words)
    elif task == "count":
        words = [rng.choice(SIMPLE_WORDS) for _ in range(rng.randint(1, 8))]
        prompt, answer = f"How many words are there in: {' '.join(words)}?", str(len(words))
    elif task == "arithmetic":
        a, b = rng.randint(0, 20), rng.randint(0, 20)
        symbols = rng.random() < 0.5
        if rng.random() < 0.5:
            prompt, answer = f"What is {a} {'+' if symbols else 'plus'} {b}?", str(a + b)
        else:
            a, b = max(a, b), min(a, b)
            prompt, answer = f"What is {a} {'-' if symbols else 'minus'} {b}?", str(a - b)
    elif task == "passage":
        prompt, answer = _passage(rng)
    else:
        prompt, answer = rng.choice(GREETINGS), GREETING_ANSWER
    return {"task": task, "prompt": prompt, "answer": answer}


# ---------------------------------------------------------------------------------------------
# 4. Question/answer formats for pictures and clips (exact strings the trainer learns).

DESCRIBE_QUESTIONS = ["What is in this picture?", "What is in the picture?", "Describe the picture.",
                      "What do you see?"]
COUNT_QUESTION = "How many shapes are there?"
BOTH_QUESTION = "What is in the picture, and what did I say?"


def describe(objects):
    """'a red circle', 'a red circle and a blue square', 'a, b and c' (left to right)."""
    parts = [with_article(o["colour"], o["shape"]) for o in objects]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def unique_shapes(objects):
    """The objects whose shape occurs once in the picture (so 'the SHAPE' names one object)."""
    shapes = [o["shape"] for o in objects]
    return [o for o in objects if shapes.count(o["shape"]) == 1]


def image_qa(objects, rng, task=None):
    """(question, answer) about a picture: describe 70%, count 15%, colour of a shape that occurs
    exactly once 15% (describe when there is none). `task` forces describe/count/colour."""
    if task is None:
        r = rng.random()
        task = "describe" if r < 0.7 else "count" if r < 0.85 else "colour"
    unique = unique_shapes(objects)
    if task == "count":
        return COUNT_QUESTION, str(len(objects))
    if task == "colour" and unique:
        o = rng.choice(unique)
        return f"What colour is the {o['shape']}?", o["colour"]
    return rng.choice(DESCRIBE_QUESTIONS), describe(objects)


def audio_answer(kind, text):
    """'7' for the spoken number 'seven', the word itself for words."""
    return str(NUMBERS.index(text)) if kind == "number" else text


def audio_qa(kind, text, rng):
    """(question, answer) about a clip of `text` (a NUMBERS or WORDS entry)."""
    if rng.random() < 0.2:
        q = "What did I say?"
    else:
        q = f"{rng.choice(['What', 'Which'])} {kind} did I say?"
    return q, audio_answer(kind, text)


def both_qa(objects, kind, text, rng):
    """(question, answer) for one picture and one clip in the same prompt. rng is unused (the
    question is fixed) but taken for the same call shape as image_qa/audio_qa."""
    return BOTH_QUESTION, f"{describe(objects)}; you said {audio_answer(kind, text)}"


# ---------------------------------------------------------------------------------------------
# 5. CLI: training clips, held-out test sets, committed examples.

TEST_SEED_OFFSET = 1000003
N_TEST_IMAGES, N_TEST_EXTRA, N_TEST_BOTH, N_TEST_CLIPS_EACH, N_TEST_TEXT_EACH = 200, 50, 40, 5, 60


def _clip(job):
    """Worker: (stream name, seed, index, kind, text, split) → int16 clip. Each clip has its own
    generator seeded from (stream, seed, index), so results do not depend on the worker count."""
    stream, seed, index, _, text, split = job
    rng = random.Random(f"{stream}/{seed}/{index}")
    with tempfile.TemporaryDirectory(prefix="demo-speak-") as tmp:
        return speak(text, rng, tmp, split)


def _run_clips(jobs_list, workers, label):
    """Makes the clips in parallel, in index order, printing progress."""
    out, t0 = [], time.time()
    with multiprocessing.Pool(workers) as pool:
        for i, clip in enumerate(pool.imap(_clip, jobs_list, chunksize=8)):
            out.append(clip)
            if (i + 1) % 500 == 0 or i + 1 == len(jobs_list):
                print(f"  {label}: {i + 1}/{len(jobs_list)} clips, {time.time() - t0:.1f} s",
                      flush=True)
    return out


def write_audio_train(out, seed, n, workers):
    """OUT/audio_train.npz: audio (all clips concatenated, int16), offsets (int64, n+1), kind and
    text (str arrays); clip i says UTTERANCES[i % 39]."""
    jobs_list = [("train", seed, i) + UTTERANCES[i % len(UTTERANCES)] + ("train",)
                 for i in range(n)]
    clips = _run_clips(jobs_list, workers, "audio_train")
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum([len(c) for c in clips])
    np.savez(os.path.join(out, "audio_train.npz"), audio=np.concatenate(clips), offsets=offsets,
             kind=np.array([j[3] for j in jobs_list]), text=np.array([j[4] for j in jobs_list]))


def write_test(out, seed, workers):
    """OUT/test/: images/, audio/, both/ and test.jsonl (paths relative to OUT/test)."""
    seed = seed + TEST_SEED_OFFSET
    test = os.path.join(out, "test")
    for d in ("images", "audio", "both"):
        os.makedirs(os.path.join(test, d), exist_ok=True)
    rng = random.Random(seed)
    rows = []

    def row(kind, task, question, answer, image=None, audio=None):
        rows.append({"id": f"{kind}-{len(rows):04d}", "kind": kind, "image": image, "audio": audio,
                     "question": question, "answer": answer, "task": task})

    # Pictures: a describe question for each, count and colour questions for the first 50.
    for i in range(N_TEST_IMAGES):
        img, objects = make_image(rng)
        path = f"images/{i:03d}.png"
        img.save(os.path.join(test, path))
        row("image", "describe", *image_qa(objects, rng, "describe"), image=path)
        if i < N_TEST_EXTRA:
            row("image", "count", *image_qa(objects, rng, "count"), image=path)
            if unique_shapes(objects):
                row("image", "colour", *image_qa(objects, rng, "colour"), image=path)

    # Clips: 5 per utterance, spoken by the held-out voice variants.
    clip_jobs = [("test-audio", seed, i) + UTTERANCES[i // N_TEST_CLIPS_EACH] + ("test",)
                 for i in range(N_TEST_CLIPS_EACH * len(UTTERANCES))]
    both_utts = [rng.choice(UTTERANCES) for _ in range(N_TEST_BOTH)]
    both_jobs = [("test-both", seed, i) + u + ("test",) for i, u in enumerate(both_utts)]
    clips = _run_clips(clip_jobs + both_jobs, workers, "test clips")
    for i, (job, clip) in enumerate(zip(clip_jobs, clips)):
        path = f"audio/{i:03d}.wav"
        write_wav(os.path.join(test, path), clip)
        row("audio", job[3], *audio_qa(job[3], job[4], rng), audio=path)

    # Picture + clip pairs.
    for i, (job, clip) in enumerate(zip(both_jobs, clips[len(clip_jobs):])):
        img, objects = make_image(rng)
        ipath, apath = f"both/{i:03d}.png", f"both/{i:03d}.wav"
        img.save(os.path.join(test, ipath))
        write_wav(os.path.join(test, apath), clip)
        row("both", "both", *both_qa(objects, job[3], job[4], rng), image=ipath, audio=apath)

    # Text tasks: 60 of each kind.
    for task in TEXT_TASKS:
        for _ in range(N_TEST_TEXT_EACH):
            t = make_text_task(rng, task)
            row("text", task, t["prompt"], t["answer"])

    with open(os.path.join(test, "test.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    return len(rows)


def write_examples(out):
    """The committed example files: two pictures (fixed objects) and two clean clips spoken by
    the default en voice."""
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1)   # this seed draws plain backgrounds, which keep the PNGs small
    shapes = [{"shape": "circle", "colour": "red", "x": 100, "y": 168, "size": 96},
              {"shape": "square", "colour": "blue", "x": 236, "y": 168, "size": 90}]
    draw_scene(shapes, rng).save(os.path.join(out, "shapes.png"))
    star = [{"shape": "star", "colour": "yellow", "x": 168, "y": 172, "size": 110}]
    draw_scene(star, rng).save(os.path.join(out, "star.png"))
    with tempfile.TemporaryDirectory(prefix="demo-speak-") as tmp:
        for word, name in (("seven", "seven.wav"), ("circle", "circle.wav")):
            speech = synth(word, "en", 160, 50, tmp)
            write_wav(os.path.join(out, name), finish(speech, 0.1, 0.1, 0.8))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="output folder for audio_train.npz and test/")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--audio-train", type=int, default=6000, help="number of training clips")
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for the clips")
    ap.add_argument("--test-only", action="store_true",
                    help="write only the held-out test sets (OUT/test), as the engine tests do")
    ap.add_argument("--examples", metavar="DIR",
                    help="(re)write the committed example files into DIR (tools/demo-model/examples)")
    args = ap.parse_args()
    if args.examples:
        write_examples(args.examples)
        print(f"examples written to {args.examples}")
    if not args.out:
        if not args.examples:
            ap.error("nothing to do: give --out and/or --examples")
        return 0
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    if not args.test_only:
        write_audio_train(args.out, args.seed, args.audio_train, args.jobs)
        print(f"audio_train.npz: {args.audio_train} clips, {time.time() - t0:.1f} s", flush=True)
    t1 = time.time()
    n = write_test(args.out, args.seed, args.jobs)
    print(f"test/: {n} questions, {time.time() - t1:.1f} s", flush=True)
    print(f"total {time.time() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
