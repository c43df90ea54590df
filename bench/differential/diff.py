#!/usr/bin/env python3
"""Differential check of the safetensors reader against the reference library.

Starting from real files, each round makes a mutated file that stays valid — new values (bit
patterns including NaN, infinities, subnormals), dtypes, shapes (scalars, zero-size dimensions),
keys (escapes, quotes, non-ASCII, long names), tensors added or dropped, metadata, and a rewritten
header (entries in another order, data laid out in another order, spacing and padding) — keeps it
only if the Python `safetensors` library opens it, and compares every tensor: key, dtype, shape
and the FNV-1a checksum of the values as float32 (`weightlens tensors --json`, docs/CLI.md).

BF16 and FP8 tensors are left out: numpy, which the reference library returns, has no such dtype.
Prints the counts per mutation kind and exits non-zero on any disagreement.
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
from safetensors.numpy import load_file, save_file

DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
          "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
NAME_OF = {np.dtype(v): k for k, v in DTYPES.items()}
KINDS = ["values", "dtype", "shape", "keys", "add-drop", "metadata", "header-layout"]


def fnv1a64_f32(array):
    with np.errstate(over="ignore", invalid="ignore"):     # F64 beyond float32 becomes inf, as ours does
        a = np.ascontiguousarray(array, dtype=np.float32).reshape(-1).copy()
    a[np.isnan(a)] = np.frombuffer(struct.pack("<I", 0x7FC00000), dtype=np.float32)[0]
    h = 0xCBF29CE484222325
    for b in a.astype("<f4").tobytes():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def random_bits(rng, dtype, shape):
    n = int(np.prod(shape)) if shape else 1
    size = np.dtype(dtype).itemsize
    raw = bytearray(rng.getrandbits(8) for _ in range(n * size))
    arr = np.frombuffer(bytes(raw), dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
    if dtype == np.bool_:
        arr = (np.frombuffer(bytes(raw), dtype=np.uint8) & 1).astype(np.bool_)
    if np.issubdtype(dtype, np.floating) and n:
        specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, np.finfo(dtype).tiny / 4, np.finfo(dtype).max],
                            dtype=dtype)
        idx = [rng.randrange(n) for _ in range(min(n, 4))]
        arr = arr.copy()
        arr[idx] = specials[[rng.randrange(len(specials)) for _ in idx]]
    return arr.reshape(shape)


def random_shape(rng, count):
    """A shape with `count` elements, or a new small one when count is None."""
    if count is None:
        dims = [rng.choice([0, 1, 2, 3, 5]) for _ in range(rng.randrange(0, 4))]
        return tuple(dims)
    if count == 0:
        return (0,) if rng.random() < 0.5 else (3, 0)
    dims, rest = [], count
    for f in (2, 3, 5, 7):
        while rest % f == 0 and rng.random() < 0.5:
            dims.append(f)
            rest //= f
    dims.append(rest)
    rng.shuffle(dims)
    if rng.random() < 0.3:
        dims.insert(rng.randrange(len(dims) + 1), 1)
    return tuple(dims)


def random_key(rng, i):
    pool = ["model.diffusion_model.input_blocks.%d.0.weight" % i, 'quote"and\\backslash.%d' % i,
            "unicode.\u00e9\u4e2d\U0001F600.%d" % i, "ctrl\t\n\x01.%d" % i, "x" * rng.randrange(1, 300) + str(i),
            "__metadata__x%d" % i, "%d" % i]
    return rng.choice(pool)


def mutate(rng, tensors, metadata, kind):
    t = dict(tensors)
    keys = list(t)
    if kind == "values":
        for k in rng.sample(keys, max(1, len(keys) // 3)):
            t[k] = random_bits(rng, t[k].dtype.type, t[k].shape)
    elif kind == "dtype":
        for k in rng.sample(keys, max(1, len(keys) // 3)):
            new = DTYPES[rng.choice(list(DTYPES))]
            t[k] = t[k].astype(new) if rng.random() < 0.5 else random_bits(rng, new, t[k].shape)
    elif kind == "shape":
        for k in rng.sample(keys, max(1, len(keys) // 3)):
            t[k] = t[k].reshape(random_shape(rng, t[k].size))
    elif kind == "keys":
        t = {random_key(rng, i) if rng.random() < 0.5 else k: v for i, (k, v) in enumerate(t.items())}
    elif kind == "add-drop":
        for k in rng.sample(keys, min(len(keys) - 1, rng.randrange(0, 3))):
            del t[k]
        for i in range(rng.randrange(1, 4)):
            dt = DTYPES[rng.choice(list(DTYPES))]
            t["added.%d.%d" % (i, rng.randrange(1000))] = random_bits(rng, dt, random_shape(rng, None))
    elif kind == "metadata":
        metadata = {random_key(rng, i): random_key(rng, i + 7) for i in range(rng.randrange(0, 5))}
    return t, metadata


def rewrite_header(rng, path):
    """Same tensors, another valid layout: entry order, data order, spacing, trailing padding."""
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    meta = header.pop("__metadata__", None)
    names = list(header)
    layout = names[:]
    rng.shuffle(layout)
    blobs, offset, out_data = {}, 0, b""
    for k in layout:
        b, e = header[k]["data_offsets"]
        chunk = data[b:e]
        header[k] = dict(header[k], data_offsets=[offset, offset + len(chunk)])
        out_data += chunk
        offset += len(chunk)
    order = names[:]
    rng.shuffle(order)
    items = [(k, header[k]) for k in order]
    if meta is not None:
        items.insert(rng.randrange(len(items) + 1), ("__metadata__", meta))
    sep = rng.choice([(",", ":"), (", ", ": "), (",\n  ", " : ")])
    fields = []
    for k, v in items:
        if k != "__metadata__":
            inner = list(v.items())
            rng.shuffle(inner)
            v = dict(inner)
        fields.append(json.dumps(k, ensure_ascii=rng.random() < 0.5) + sep[1] + json.dumps(v, separators=sep, ensure_ascii=rng.random() < 0.5))
    text = ("{" + sep[0].join(fields) + "}").encode()
    text += b" " * rng.choice([0, -len(text) % 8, 13])
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + out_data)


def ours(binary, path):
    r = subprocess.run([binary, "tensors", path, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        return None, r.stderr.strip()
    return {row["key"]: row for row in json.loads(r.stdout)}, None


def theirs(path):
    loaded = load_file(path)
    return {k: {"key": k, "dtype": NAME_OF[v.dtype], "shape": list(v.shape), "count": int(v.size),
                "fnv1a64": fnv1a64_f32(v)} for k, v in loaded.items()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("seeds", nargs="+", help="valid safetensors files to start from")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    bases = []
    for s in args.seeds:
        loaded = load_file(s)
        kept = {k: v for k, v in loaded.items() if v.dtype in NAME_OF}
        if kept:
            bases.append((os.path.basename(s), kept))

    def make(i, kind, path):
        name, tensors = rng.choice(bases)
        metadata = {"format": "pt"}
        tensors, metadata = mutate(rng, tensors, metadata, kind if kind != "header-layout" else "values")
        save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, path, metadata=metadata or None)
        if kind == "header-layout":
            rewrite_header(rng, path)
        return name

    sys.exit(run_rounds(args.bin, args.rounds, KINDS, make, theirs, "safetensors", "differential"))


def run_rounds(binary, rounds, kinds, make, reference, ext, label):
    """Makes `rounds` mutated files (kinds in turn) and compares ours with the reference on each.

    make(i, kind, path) writes a file and returns the name of the file it started from; it raises
    when the reference tool refuses to write the mutation, and `reference(path)` raises when the
    tool cannot read it back: such files are not valid and are not compared. Prints the counts per
    kind and the first failures; returns the exit status (1 on any disagreement).
    """
    work = tempfile.mkdtemp(prefix="wl-diff-")
    counts = {k: {"made": 0, "valid": 0, "same": 0, "differ": 0} for k in kinds}
    failures = []
    try:
        for i in range(rounds):
            kind = kinds[i % len(kinds)]
            path = os.path.join(work, "m%04d.%s" % (i, ext))
            counts[kind]["made"] += 1
            try:
                name = make(i, kind, path)
                expected = reference(path)
            except Exception:  # noqa: BLE001 - the reference refused: not a valid file, not compared
                continue
            counts[kind]["valid"] += 1
            got, error = ours(binary, path)
            if got == expected:
                counts[kind]["same"] += 1
                os.remove(path)
                continue
            counts[kind]["differ"] += 1
            keep = os.path.join(work, "differ-%04d.%s" % (i, ext))
            os.rename(path, keep)
            if error:
                detail = "weightlens refused it: " + error
            else:
                bad = sorted(set(got) ^ set(expected)) or [k for k in expected if got[k] != expected[k]]
                detail = f"first difference at {bad[0]!r}: ours {got.get(bad[0])} reference {expected.get(bad[0])}"
            failures.append(f"round {i} ({kind}, from {name}): {detail} [kept {keep}]")
    finally:
        if not failures:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{'mutation':15s} {'made':>6s} {'valid':>6s} {'same':>6s} {'differ':>6s}")
    for k in kinds:
        c = counts[k]
        print(f"{k:15s} {c['made']:6d} {c['valid']:6d} {c['same']:6d} {c['differ']:6d}")
    total = {f: sum(c[f] for c in counts.values()) for f in ("made", "valid", "same", "differ")}
    print(f"{'total':15s} {total['made']:6d} {total['valid']:6d} {total['same']:6d} {total['differ']:6d}")
    for f in failures[:20]:
        print("!! " + f)
    print(f"{label}: {total['valid']} valid mutated files, {total['same']} identical, {total['differ']} differ")
    return 1 if failures else 0


if __name__ == "__main__":
    main()
