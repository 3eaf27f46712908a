"""Rounds a train.py checkpoint's weights to float16, halving its size (21 MB -> 10.5 MB).

    python3 tools/demo-model/half_init.py --ckpt RUN/model.pt --out init16.pt

Stages 5 and 6 of the shipped model started from stage 4's weights carried to the GPU machine
this way: a call there carries at most 64 MiB, the clips included. train.py --init reads the
result as it reads any checkpoint (the weights go back to float32 as they load); the rounding
(relative 2^-11) is far below what the first steps of training change.
"""

import argparse

import torch


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    ck = torch.load(a.ckpt, map_location="cpu")
    ck["model"] = {k: (v.half() if v.is_floating_point() else v) for k, v in ck["model"].items()}
    torch.save(ck, a.out)
    print(f"{a.out}: {len(ck['model'])} tensors, step {ck.get('step')}")


if __name__ == "__main__":
    main()
