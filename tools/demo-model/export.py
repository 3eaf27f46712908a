"""Exports a trained demo model to GGUF in the layout of a real Gemma 4 12B unified file.

    python3 tools/demo-model/export.py --run /tmp/demo-run --pack build/tools/hearth-pack-gguf \
        --out models/hearth-demo.gguf --mmproj models/mmproj-hearth-demo.gguf

Writes the text model (arch `gemma4`; metadata keys, tensor names and order as llama.cpp's
converter writes them, gemma-gguf-spec.md §5.2-5.3; 2-D weights in F16 by default) and the mmproj
(arch `clip`, projectors `gemma4uv` + `gemma4ua`, §6.3-6.4; linear weights F16, the rest F32).
The tensors go through the project's own GGUF writer and quantizer (hearth-pack-gguf).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gemma4  # noqa: E402
import prompts  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "..", "tests", "data", "gemma4", "chat-template-31B-it.jinja")


class Manifest:
    def __init__(self):
        self.metadata, self.tensors, self.blob = [], [], bytearray()

    def key(self, key, type_, value):
        self.metadata.append({"key": key, "type": type_, "value": value})

    def tensor(self, name, t, type_):
        """t: a torch tensor in PyTorch's row-major layout; GGUF's ne is its shape reversed."""
        a = np.ascontiguousarray(t.detach().float().numpy(), dtype=np.float32)
        ne = list(reversed(a.shape)) if a.ndim else [1]
        self.tensors.append({"name": name, "ne": ne, "type": type_, "offset": len(self.blob)})
        self.blob += a.tobytes()

    def pack(self, pack_tool, out):
        with tempfile.TemporaryDirectory() as d:
            mf, bf = os.path.join(d, "manifest.json"), os.path.join(d, "data.bin")
            with open(mf, "w") as f:
                json.dump({"metadata": self.metadata, "tensors": self.tensors}, f)
            with open(bf, "wb") as f:
                f.write(self.blob)
            subprocess.run([pack_tool, mf, bf, "-o", out], check=True)


def vocab_keys(m, tok, template):
    """tokenizer.* keys in the order the converter writes them (Gemma4Model.set_vocab)."""
    m.key("tokenizer.ggml.model", "string", "gemma4")
    m.key("tokenizer.ggml.tokens", "string[]", tok.tokens)
    scores = [0.0 if ty != 1 else -float(i) for i, ty in enumerate(tok.types)]
    m.key("tokenizer.ggml.scores", "f32[]", scores)
    m.key("tokenizer.ggml.token_type", "i32[]", tok.types)
    m.key("tokenizer.ggml.merges", "string[]", tok.merges)
    for k, t in (("bos", "<bos>"), ("eos", "<eos>"), ("unknown", "<unk>"), ("padding", "<pad>")):
        m.key(f"tokenizer.ggml.{k}_token_id", "u32", tok.id_of[t])
    m.key("tokenizer.ggml.add_bos_token", "bool", True)
    m.key("tokenizer.ggml.add_eos_token", "bool", False)
    m.key("tokenizer.chat_template", "string", template)
    m.key("tokenizer.ggml.add_space_prefix", "bool", False)
    # The 12B unified GGUF suppresses the media end markers in sampling.
    m.key("tokenizer.ggml.suppress_tokens", "i32[]", [tok.id_of["<image|>"], tok.id_of["<audio|>"]])


def text_model(model, c, tok, wtype, name):
    m = Manifest()
    K = lambda k: "gemma4." + k  # noqa: E731
    m.key("general.architecture", "string", "gemma4")
    m.key("general.name", "string", name)
    m.key("general.file_type", "u32", {"f32": 0, "f16": 1, "q8_0": 7}[wtype])
    m.key("general.quantization_version", "u32", 2)
    m.key(K("context_length"), "u32", 8192)
    m.key(K("embedding_length"), "u32", c.n_embd)
    m.key(K("block_count"), "u32", c.n_layer)
    m.key(K("feed_forward_length"), "u32", c.n_ff)
    m.key(K("attention.head_count"), "u32", c.n_head)
    m.key(K("attention.layer_norm_rms_epsilon"), "f32", c.eps)
    m.key(K("attention.sliding_window"), "u32", c.n_swa)
    m.key(K("attention.head_count_kv"), "u32[]",
          [c.kv_swa if c.sliding(i) else c.kv_full for i in range(c.n_layer)])
    m.key(K("attention.key_length"), "u32", c.hd_full)
    m.key(K("attention.value_length"), "u32", c.hd_full)
    m.key(K("attention.key_length_swa"), "u32", c.hd_swa)
    m.key(K("attention.value_length_swa"), "u32", c.hd_swa)
    m.key(K("attention.sliding_window_pattern"), "bool[]", [c.sliding(i) for i in range(c.n_layer)])
    m.key(K("attention.shared_kv_layers"), "u32", 0)
    m.key(K("embedding_length_per_layer_input"), "u32", 0)
    m.key(K("rope.freq_base"), "f32", c.rope_full)
    m.key(K("rope.freq_base_swa"), "f32", c.rope_swa)
    m.key(K("rope.dimension_count"), "u32", c.hd_full)
    m.key(K("rope.dimension_count_swa"), "u32", c.hd_swa)
    m.key(K("final_logit_softcapping"), "f32", c.softcap)
    with open(TEMPLATE) as f:
        vocab_keys(m, tok, f.read())

    m.tensor("token_embd.weight", model.embd.weight, wtype)
    m.tensor("output_norm.weight", model.out_norm, "f32")
    # rope_freqs: 1.0 for the rotating quarter of the full head's pairs, 1e30 ("do not rotate") after.
    n_rot = int(c.hd_full * c.partial) // 2
    freqs = torch.full((c.hd_full // 2,), 1e30)
    freqs[:n_rot] = 1.0
    m.tensor("rope_freqs.weight", freqs, "f32")
    for il, L in enumerate(model.layers):
        p = f"blk.{il}."
        m.tensor(p + "attn_norm.weight", L.attn_norm, "f32")
        m.tensor(p + "attn_q.weight", L.q.weight, wtype)
        m.tensor(p + "attn_k.weight", L.k.weight, wtype)
        if L.v is not None:
            m.tensor(p + "attn_v.weight", L.v.weight, wtype)
        m.tensor(p + "attn_k_norm.weight", L.k_norm, "f32")
        m.tensor(p + "attn_q_norm.weight", L.q_norm, "f32")
        m.tensor(p + "attn_output.weight", L.o.weight, wtype)
        m.tensor(p + "post_attention_norm.weight", L.post_attn_norm, "f32")
        m.tensor(p + "ffn_norm.weight", L.ffn_norm, "f32")
        m.tensor(p + "ffn_gate.weight", L.gate.weight, wtype)
        m.tensor(p + "ffn_up.weight", L.up.weight, wtype)
        m.tensor(p + "ffn_down.weight", L.down.weight, wtype)
        m.tensor(p + "post_ffw_norm.weight", L.post_ffn_norm, "f32")
        m.tensor(p + "layer_output_scale.weight", L.out_scale, "f32")
    return m


def mmproj(model, c, name):
    m = Manifest()
    v, a = model.vision, model.audio
    m.key("general.architecture", "string", "clip")
    m.key("general.type", "string", "mmproj")
    m.key("general.name", "string", name)
    m.key("general.file_type", "u32", 1)
    m.key("general.quantization_version", "u32", 2)
    m.key("clip.has_vision_encoder", "bool", True)
    m.key("clip.has_audio_encoder", "bool", True)
    m.key("clip.vision.projector_type", "string", "gemma4uv")
    m.key("clip.vision.projection_dim", "u32", c.n_embd)
    m.key("clip.vision.image_size", "u32", 224)
    m.key("clip.vision.patch_size", "u32", 16)
    m.key("clip.vision.embedding_length", "u32", c.v_embd)
    m.key("clip.vision.feed_forward_length", "u32", 0)
    m.key("clip.vision.block_count", "u32", 0)
    m.key("clip.vision.attention.head_count", "u32", 0)
    m.key("clip.vision.attention.layer_norm_epsilon", "f32", c.eps)
    m.key("clip.vision.image_mean", "f32[]", [prompts.IMAGE_MEAN] * 3)
    m.key("clip.vision.image_std", "f32[]", [prompts.IMAGE_STD] * 3)
    m.tensor("v.patch_norm.1.weight", v.norm1.weight, "f32")
    m.tensor("v.patch_norm.1.bias", v.norm1.bias, "f32")
    m.tensor("v.patch_embd.weight", v.embd.weight, "f16")
    m.tensor("v.patch_embd.bias", v.embd.bias, "f32")
    m.tensor("v.patch_norm.2.weight", v.norm2.weight, "f32")
    m.tensor("v.patch_norm.2.bias", v.norm2.bias, "f32")
    m.tensor("v.position_embd.weight", v.pos, "f32")  # [axis, index, E] → ne (E, index, 2)
    m.tensor("v.patch_norm.3.weight", v.norm3.weight, "f32")
    m.tensor("v.patch_norm.3.bias", v.norm3.bias, "f32")
    m.tensor("mm.input_projection.weight", v.proj.weight, "f16")
    m.key("clip.audio.projector_type", "string", "gemma4ua")
    m.key("clip.audio.projection_dim", "u32", c.n_embd)
    m.key("clip.audio.embedding_length", "u32", c.frame)
    m.key("clip.audio.feed_forward_length", "u32", 0)
    m.key("clip.audio.block_count", "u32", 0)
    m.key("clip.audio.attention.head_count", "u32", 0)
    m.key("clip.audio.attention.layer_norm_epsilon", "f32", c.eps)
    m.key("clip.audio.num_mel_bins", "u32", c.frame)
    m.tensor("mm.a.input_projection.weight", a.proj.weight, "f16")
    return m


def round_as_exported(model, wtype):
    """Rounds in place the weights the GGUF files store in F16 (the mmproj's linears, and the text
    model's 2-D weights when wtype is f16), so that PyTorch scores the model hearth runs."""
    with torch.no_grad():
        mats = [model.vision.embd.weight, model.vision.proj.weight, model.audio.proj.weight]
        if wtype == "f16":
            mats.append(model.embd.weight)
            for L in model.layers:
                mats += [m.weight for m in (L.q, L.k, L.v, L.o, L.gate, L.up, L.down) if m is not None]
        for w in mats:
            w.copy_(w.half().float())


def load(run):
    st = torch.load(os.path.join(run, "model.pt"))
    c = gemma4.Config(**st["config"])
    model = gemma4.Gemma4(c)
    model.load_state_dict(st["model"])
    model.eval()
    return model, c, Tokenizer.load(os.path.join(run, "tokenizer.json"))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True, help="training output folder (model.pt, tokenizer.json)")
    ap.add_argument("--pack", required=True, help="path to the hearth-pack-gguf binary")
    ap.add_argument("--out", required=True)
    ap.add_argument("--mmproj", required=True)
    ap.add_argument("--type", default="f16", choices=["f32", "f16", "q8_0"])
    a = ap.parse_args()
    model, c, tok = load(a.run)
    text_model(model, c, tok, a.type, "hearth demo (Gemma 4 12B unified architecture)").pack(a.pack, a.out)
    mmproj(model, c, "hearth demo mmproj (gemma4uv + gemma4ua)").pack(a.pack, a.mmproj)
    for p in (a.out, a.mmproj):
        print(f"{p}: {os.path.getsize(p) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
