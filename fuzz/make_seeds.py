#!/usr/bin/env python3
"""Writes a seed corpus for gguf_fuzz from the golden GGUF files (tests/data/golden/*.gguf).

For each golden file it writes
  - a small valid GGUF with the same metadata keys (arrays cut to their first 8 elements) and the
    first 8 tensor infos with their real types, shrunk to one block per row and two rows;
  - the first 4 KiB of the file (a truncated prefix: exercises the truncation paths).
Usage: make_seeds.py GOLDEN_DIR OUT_DIR
"""
import os
import struct
import sys

SCALAR = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: 'B', 10: 'Q', 11: 'q', 12: 'd'}
BLOCK = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
         10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
         20: (32, 18), 23: (256, 136), 30: (1, 2), 39: (32, 17)}
MAX_ELEMS = 8
MAX_TENSORS = 8


class Reader:
    def __init__(self, b):
        self.b, self.p = b, 0

    def take(self, fmt):
        v = struct.unpack_from('<' + fmt, self.b, self.p)
        self.p += struct.calcsize('<' + fmt)
        return v[0]

    def string(self):
        n = self.take('Q')
        s = self.b[self.p:self.p + n]
        self.p += n
        return s


def read_value(r, t):
    if t == 8:
        return r.string()
    if t == 9:
        et, n = r.take('I'), r.take('Q')
        return (et, [read_value(r, et) for _ in range(n)])
    return r.take(SCALAR[t])


def enc_string(s):
    return struct.pack('<Q', len(s)) + s


def enc_value(t, v):
    if t == 8:
        return enc_string(v)
    if t == 9:
        et, items = v
        items = items[:MAX_ELEMS]
        return struct.pack('<IQ', et, len(items)) + b''.join(enc_value(et, x) for x in items)
    return struct.pack('<' + SCALAR[t], v)


def shrink(path):
    b = open(path, 'rb').read()
    r = Reader(b)
    assert r.take('I') == 0x46554747
    version, n_t, n_kv = r.take('I'), r.take('Q'), r.take('Q')
    kvs = []
    for _ in range(n_kv):
        k = r.string()
        t = r.take('I')
        kvs.append((k, t, read_value(r, t)))
    infos = []
    for _ in range(n_t):
        name = r.string()
        nd = r.take('I')
        ne = [r.take('Q') for _ in range(nd)]
        typ = r.take('I')
        r.take('Q')
        infos.append((name, typ))
    align = 32
    for k, t, v in kvs:
        if k == b'general.alignment':
            align = v
    tensors = [(n, t) for n, t in infos if t in BLOCK][:MAX_TENSORS]
    out = bytearray(b'GGUF' + struct.pack('<IQQ', 3, len(tensors), len(kvs)))
    for k, t, v in kvs:
        out += enc_string(k) + struct.pack('<I', t) + enc_value(t, v)
    offset, datas = 0, []
    for name, typ in tensors:
        elems, nbytes = BLOCK[typ]
        out += enc_string(name) + struct.pack('<IQQIQ', 2, elems, 2, typ, offset)
        data = bytes((i * 7) & 0xff for i in range(2 * nbytes))
        datas.append(data)
        offset += (len(data) + align - 1) // align * align
    for data in [b''] + datas:
        out += data
        out += b'\0' * ((-len(out)) % align)
    return bytes(out), b[:4096]


def main():
    golden, out_dir = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for f in sorted(os.listdir(golden)):
        if not f.endswith('.gguf'):
            continue
        small, prefix = shrink(os.path.join(golden, f))
        stem = f[:-5]
        open(os.path.join(out_dir, stem + '-small.gguf'), 'wb').write(small)
        open(os.path.join(out_dir, stem + '-prefix4k.gguf'), 'wb').write(prefix)
        print(f'{stem}: small seed {len(small)} bytes')


if __name__ == '__main__':
    main()
