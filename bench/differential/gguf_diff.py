#!/usr/bin/env python3
"""Differential check of the GGUF reader against llama.cpp's `gguf` package (gguf-py).

Starting from the gguf-py-written fixtures (Tests/Fixtures/tools/gguf), each round makes a mutated
file that stays valid and writes it with gguf.GGUFWriter: new values (random bit patterns, so
half-precision scales that are NaN, infinite or subnormal too), another GGML type among those
WeightLens reads (F32, F16, BF16, F64, I8-I64, Q4_0-Q8_0, Q2_K-Q6_K), other shapes (1 to 4
dimensions, rows whole blocks), ComfyUI-GGUF's `comfy.gguf.orig_shape.<name>`, metadata of every
value type (strings, nested and long arrays), tensors added and dropped, other names, another
`general.alignment`, and version 2. A file counts only if gguf.GGUFReader reads it back; then
every tensor is compared: key, dtype, shape, element count and the FNV-1a checksum of the values
as float32 (`weightlens tensors --json`), against gguf.quants.dequantize of the tensor's data.

Prints the counts per mutation kind and exits non-zero on any disagreement.
"""
import argparse
import os
import random
import struct
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from diff import fnv1a64_f32, run_rounds  # noqa: E402 - the safetensors check's checksum and round loop

PLAIN = {T.F32: np.float32, T.F16: np.float16, T.F64: np.float64, T.I8: np.int8, T.I16: np.int16,
         T.I32: np.int32, T.I64: np.int64}
LEGACY = [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.BF16]
K_QUANTS = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
READABLE = list(PLAIN) + LEGACY + K_QUANTS
KINDS = ["values", "type", "shape", "orig-shape", "metadata", "add-drop", "names", "alignment", "version-2"]
K_HALVES = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


class Tensor:
    """One tensor to write: name, GGML type, shape in GGUF order reversed (rows last), data."""

    def __init__(self, name, qtype, shape, data):
        self.name, self.qtype, self.shape, self.data = name, qtype, tuple(shape), data


def block(qtype):
    return gguf.GGML_QUANT_SIZES[qtype][0]


def floats(rng, shape, scale=0.1):
    n = int(np.prod(shape))
    return np.array([rng.gauss(0, scale) for _ in range(n)], dtype=np.float32).reshape(shape)


def random_bytes(rng, n):
    return np.frombuffer(bytes(rng.getrandbits(8) for _ in range(n)), dtype=np.uint8)


def make_data(rng, qtype, shape, values=None, raw=False):
    """Data for `shape` (rows last) in `qtype`: quantized from values, or random bit patterns."""
    rows = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
    cols = shape[-1]
    if qtype in PLAIN:
        dt = np.dtype(PLAIN[qtype])
        if raw or values is None:
            return random_bytes(rng, rows * cols * dt.itemsize).view(dt.newbyteorder("<")).astype(dt).reshape(shape)
        with np.errstate(over="ignore", invalid="ignore"):
            if np.issubdtype(dt, np.integer):
                return np.clip(np.round(values * 100), -100, 100).astype(dt).reshape(shape)
            return values.astype(dt).reshape(shape)
    qblock, size = gguf.GGML_QUANT_SIZES[qtype]
    if qtype in K_QUANTS or raw or values is None:
        data = random_bytes(rng, rows * (cols // qblock) * size).reshape(rows, cols // qblock, size).copy()
        if not raw:
            # Finite scales as real files have; `raw` keeps every bit pattern (NaN, inf, subnormal).
            for off in K_HALVES.get(qtype, [0] if qtype != T.BF16 else []):
                s = np.array([rng.gauss(0, 0.01) for _ in range(rows * (cols // qblock))], dtype=np.float16)
                data[:, :, off:off + 2] = s.view(np.uint8).reshape(rows, cols // qblock, 2)
        return data.reshape(rows, -1)
    return gguf.quants.quantize(values.reshape(rows, cols).astype(np.float32), qtype)


def base_tensors(path):
    """The tensors of a gguf-py fixture that WeightLens reads, as float32 values to re-encode."""
    r = gguf.GGUFReader(path)
    out = []
    for t in r.tensors:
        if t.tensor_type not in READABLE:
            continue
        raw = t.data if t.tensor_type in PLAIN else gguf.quants.dequantize(t.data, t.tensor_type)
        values = raw.astype(np.float32)
        shape = tuple(int(d) for d in reversed(t.shape.tolist()))
        out.append((t.name, t.tensor_type, shape, values.reshape(shape)))
    return out


def random_shape(rng, qtype, count=None):
    """1-4 dimensions, the last (innermost) a whole number of blocks; `count` elements when given."""
    b = block(qtype)
    if count is not None and count % b == 0:
        rows = count // b
        dims = []
        for f in (2, 3, 5):
            while rows % f == 0 and rng.random() < 0.5 and len(dims) < 2:
                dims.append(f)
                rows //= f
        dims.append(rows)
        rng.shuffle(dims)
        inner = b
        while dims and dims[-1] % 2 == 0 and rng.random() < 0.4:
            dims[-1] //= 2
            inner *= 2
        return tuple(d for d in dims if d != 1 or rng.random() < 0.5) + (inner,)
    lead = [rng.choice([1, 2, 3]) for _ in range(rng.randrange(0, 3))]
    return tuple(lead) + (b * rng.choice([1, 1, 2]),)


def random_name(rng, i):
    pool = ["model.diffusion_model.input_blocks.%d.0.weight" % i, "double_blocks.%d.img_attn.qkv.weight" % i,
            "unicode.\u00e9\u4e2d\U0001F600.%d" % i, "x" * rng.randrange(1, 50) + str(i), "%d" % i,
            "sp ace/and:colon.%d" % i]
    return rng.choice(pool)


def add_metadata(rng, w, i):
    k = "mut.%d." % i
    w.add_uint8(k + "u8", rng.randrange(256))
    w.add_int16(k + "i16", rng.randrange(-32768, 32768))
    w.add_uint32(k + "u32", rng.randrange(2**32))
    w.add_int64(k + "i64", rng.randrange(-2**63, 2**63))
    w.add_uint64(k + "u64", rng.randrange(2**64))
    w.add_float32(k + "f32", rng.choice([0.5, -1e38, float("inf"), float("nan")]))
    w.add_float64(k + "f64", rng.gauss(0, 1e300))
    w.add_bool(k + "bool", rng.random() < 0.5)
    w.add_string(k + "str", rng.choice(["", "Grüße", "\u4e2d" * rng.randrange(1, 50), "tab\tand\nnewline"]))
    w.add_array(k + "ints", [rng.randrange(-100, 100) for _ in range(rng.randrange(1, 100))])
    w.add_array(k + "strs", [random_name(rng, j) for j in range(rng.randrange(1, 80))])
    w.add_key_value(k + "nested", [[1, 2], [3]], gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.ARRAY)
    w.add_array(k + "floats", [rng.gauss(0, 1) for _ in range(rng.randrange(1, 200))])


def build(rng, base, kind):
    """The tensors, extra metadata and options of one mutated file."""
    tensors = [Tensor(n, q, s, make_data(rng, q, s, v)) for n, q, s, v in base]
    values = {n: v for n, _, _, v in base}
    opts = {"metadata": 0, "alignment": None, "version": 3, "orig": {}}
    pick = lambda: rng.sample(range(len(tensors)), max(1, len(tensors) // 3))
    if kind == "values":
        for i in pick():
            t = tensors[i]
            t.data = make_data(rng, t.qtype, t.shape, raw=True)
    elif kind == "type":
        for i in pick():
            t = tensors[i]
            q = rng.choice(READABLE)
            count = int(np.prod(t.shape))
            shape = t.shape if t.shape[-1] % block(q) == 0 else random_shape(rng, q, count)
            v = values[t.name].reshape(-1)
            v = v[:int(np.prod(shape))] if v.size >= int(np.prod(shape)) else floats(rng, shape).reshape(-1)
            tensors[i] = Tensor(t.name, q, shape, make_data(rng, q, shape, v.reshape(shape), raw=rng.random() < 0.3))
    elif kind == "shape":
        for i in pick():
            t = tensors[i]
            shape = random_shape(rng, t.qtype, int(np.prod(t.shape)))
            tensors[i] = Tensor(t.name, t.qtype, shape, make_data(rng, t.qtype, shape, values[t.name].reshape(shape)))
    elif kind == "orig-shape":
        # ComfyUI-GGUF stores a tensor of more than 4 dimensions flattened and records its shape.
        for i in pick():
            t = tensors[i]
            count = int(np.prod(t.shape))
            dims = [count]
            while len(dims) < 5 and dims[0] % 2 == 0 and dims[0] > 1:
                dims[0] //= 2
                dims.append(2)
            rng.shuffle(dims)
            opts["orig"][t.name] = dims
    elif kind == "metadata":
        opts["metadata"] = rng.randrange(1, 4)
    elif kind == "add-drop":
        for i in sorted(rng.sample(range(len(tensors)), min(len(tensors) - 1, rng.randrange(0, 3))), reverse=True):
            del tensors[i]
        for j in range(rng.randrange(1, 4)):
            q = rng.choice(READABLE)
            shape = random_shape(rng, q)
            tensors.append(Tensor("added.%d.%d" % (j, rng.randrange(1000)), q, shape, make_data(rng, q, shape, floats(rng, shape))))
    elif kind == "names":
        for i in pick():
            tensors[i].name = random_name(rng, i)
    elif kind == "alignment":
        opts["alignment"] = rng.choice([1, 2, 8, 16, 64, 128, 512, 4096])
    elif kind == "version-2":
        opts["version"] = 2
    seen = set()
    tensors = [t for t in tensors if not (t.name in seen or seen.add(t.name))]
    return tensors, opts


def write(path, rng, tensors, opts):
    w = gguf.GGUFWriter(path, arch="flux")
    if opts["alignment"]:
        w.add_custom_alignment(opts["alignment"])
    for i in range(opts["metadata"]):
        add_metadata(rng, w, i)
    for name, dims in opts["orig"].items():
        w.add_array("comfy.gguf.orig_shape." + name, dims)
    for t in tensors:
        if t.qtype in PLAIN:
            w.add_tensor(t.name, np.ascontiguousarray(t.data))
        else:
            # Bytes shaped [..., bytes per row]: gguf-py derives the element shape from that.
            raw = np.ascontiguousarray(t.data).view(np.uint8).reshape(tuple(t.shape[:-1]) + (-1,))
            w.add_tensor(t.name, raw, raw_dtype=t.qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if opts["version"] == 2:
        with open(path, "r+b") as fh:
            fh.seek(4)
            fh.write(struct.pack("<I", 2))


def theirs(path):
    r = gguf.GGUFReader(path)
    out = {}
    for t in r.tensors:
        # Plain types are the stored elements (gguf.quants has no F64 / integer "dequantization").
        with np.errstate(over="ignore", invalid="ignore"):
            values = t.data if t.tensor_type in PLAIN else gguf.quants.dequantize(t.data, t.tensor_type)
        shape = [int(d) for d in reversed(t.shape.tolist())]
        field = r.get_field("comfy.gguf.orig_shape." + t.name)
        if field is not None:
            shape = [int(field.parts[i][0]) for i in field.data]
        dtype = t.tensor_type.name if t.tensor_type in PLAIN or t.tensor_type == T.BF16 else "F32"
        out[t.name] = {"key": t.name, "dtype": dtype, "shape": shape, "count": int(values.size),
                       "fnv1a64": fnv1a64_f32(values)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("seeds", nargs="+", help="gguf-py-written files to start from")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    bases = [(os.path.basename(s), base_tensors(s)) for s in args.seeds]

    def make(i, kind, path):
        name, base = rng.choice(bases)
        tensors, opts = build(rng, base, kind)
        write(path, rng, tensors, opts)
        return name

    sys.exit(run_rounds(args.bin, args.rounds, KINDS, make, theirs, "gguf", "differential (gguf)"))


if __name__ == "__main__":
    main()
