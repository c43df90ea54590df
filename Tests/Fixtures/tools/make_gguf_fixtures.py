#!/usr/bin/env python3
"""Writes the GGUF files the GGUF reader tests read, with llama.cpp's `gguf` package (gguf-py).

    .venv/bin/python Tests/Fixtures/tools/make_gguf_fixtures.py

Needs gguf (and numpy); the versions used are recorded in versions.txt. Values come from a seeded
generator (no downloaded weights). Files, in gguf/:

- types.gguf            GGUF v3 from gguf.GGUFWriter: one [4, 512] tensor per GGML type WeightLens
                        reads (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K..Q6_K), a 4-D F16
                        conv weight [8, 4, 3, 3], a 5-D weight stored flattened as Q8_0 with
                        ComfyUI-GGUF's `comfy.gguf.orig_shape.<name>`, an IQ4_NL tensor (a type
                        WeightLens does not dequantize) and one metadata key of every value type.
                        F32..Q8_0 are gguf.quants.quantize of the values; gguf-py 0.19 cannot
                        quantize K-quants, so their blocks are seeded random bytes with finite
                        half-precision scales (every scale and quant bit pattern occurs).
- types.expected.f32    gguf-py's own values: gguf.GGUFReader reads types.gguf back and
                        gguf.quants.dequantize turns each tensor to float32 (little-endian, in
                        the order and shapes of types.expected.json).
- types.expected.json   name, type, shape, offset and count of each tensor in types.expected.f32,
                        and the metadata keys with the values gguf-py reads; for the tensors
                        gguf-py quantized, source_offset into types.source.f32.
- types.source.f32      the float32 values gguf-py quantized into the F32..Q8_0 tensors, so
                        WeightLens's quantizer can be checked byte for byte against gguf-py's.
- v2_align64.gguf       a GGUF with general.alignment 64 (GGUFWriter.add_custom_alignment) whose
                        version field is rewritten to 2: v2 and v3 share this layout
                        (v3 only added big-endian files), and gguf-py reads both.
"""
import json
import os
import struct

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V

HERE = os.environ.get("GGUF_FIXTURES_OUT") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "gguf")

QUANTIZED = [T.BF16, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]
K_QUANTS = [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]
# Byte offsets of the half-precision scales in each K-quant block (gguf-py's block layouts).
K_HALVES = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def weights(rng, shape):
    """Gaussian values with a different scale per row, a zero row part and a few outliers."""
    x = rng.standard_normal(shape).astype(np.float32)
    x *= np.float32(0.02) * (1 + np.arange(shape[0], dtype=np.float32)).reshape((-1,) + (1,) * (len(shape) - 1))
    flat = x.reshape(-1)
    flat[:40] = 0
    flat[100] = 0.9
    flat[-7] = -1.3
    return x


def random_blocks(rng, qtype, rows, cols):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(rows, cols // block, size), dtype=np.uint8)
    for offset in K_HALVES.get(qtype, []):
        scale = (rng.standard_normal((rows, cols // block)) * 0.01).astype(np.float16)
        raw[:, :, offset:offset + 2] = scale.view(np.uint8).reshape(rows, cols // block, 2)
    return raw.reshape(rows, -1)


def write_types(path, sources):
    rng = np.random.default_rng(11)
    w = gguf.GGUFWriter(path, arch="flux")
    # One key of every value type (general.architecture is the writer's own string).
    w.add_uint8("test.uint8", 200)
    w.add_int8("test.int8", -100)
    w.add_uint16("test.uint16", 60000)
    w.add_int16("test.int16", -30000)
    w.add_uint32("test.uint32", 4000000000)
    w.add_int32("test.int32", -2000000000)
    w.add_float32("test.float32", 0.25)
    w.add_uint64("test.uint64", 18000000000000000000)
    w.add_int64("test.int64", -9000000000000000000)
    w.add_float64("test.float64", -1.5)
    w.add_bool("test.bool", True)
    w.add_string("test.string", "Grüße, GGUF")
    w.add_array("test.array_int", [1, -2, 3])
    w.add_array("test.array_string", ["a", "bc"])
    w.add_key_value("test.array_nested", [[1, 2], [3]], V.ARRAY, sub_type=V.ARRAY)
    w.add_array("test.array_long", list(range(100)))

    shape = (4, 512)
    sources["w.F32"] = weights(rng, shape)
    w.add_tensor("w.F32", sources["w.F32"])
    sources["w.F16"] = weights(rng, shape)
    w.add_tensor("w.F16", sources["w.F16"].astype(np.float16))
    for q in QUANTIZED:
        sources[f"w.{q.name}"] = weights(rng, shape)
        w.add_tensor(f"w.{q.name}", gguf.quants.quantize(sources[f"w.{q.name}"], q), raw_dtype=q)
    for q in K_QUANTS:
        w.add_tensor(f"w.{q.name}", random_blocks(rng, q, *shape), raw_dtype=q)
    # A conv weight, stored natively: GGUF dims [3, 3, 4, 8].
    w.add_tensor("conv.weight", weights(rng, (8, 4, 3, 3)).astype(np.float16))
    # ComfyUI-GGUF's convert flattens tensors of more than 4 dimensions and records the shape.
    five = weights(rng, (32, 4, 2, 2, 2))
    w.add_tensor("five.weight", gguf.quants.quantize(five.reshape(32, 32), T.Q8_0), raw_dtype=T.Q8_0)
    w.add_array("comfy.gguf.orig_shape.five.weight", [32, 4, 2, 2, 2])
    w.add_tensor("iq.weight", random_blocks(rng, T.IQ4_NL, 2, 64), raw_dtype=T.IQ4_NL)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_expected(path, out_values, out_index, sources, out_sources):
    r = gguf.GGUFReader(path)
    index, blob, offset, source_blob = [], bytearray(), 0, bytearray()
    for t in r.tensors:
        if t.tensor_type == T.IQ4_NL:
            continue
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype("<f4").reshape(-1)
        shape = [int(d) for d in reversed(t.shape.tolist())]
        field = r.get_field("comfy.gguf.orig_shape." + t.name)
        if field is not None:
            shape = [int(field.parts[i][0]) for i in field.data]
        index.append({"name": t.name, "type": t.tensor_type.name, "shape": shape, "offset": offset, "count": int(values.size)})
        if t.name in sources:
            index[-1]["source_offset"] = len(source_blob) // 4
            source_blob += sources[t.name].astype("<f4").tobytes()
        blob += values.tobytes()
        offset += int(values.size)
    metadata = {}
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name.startswith("comfy."):
            continue
        if f.types[0] == V.STRING:
            metadata[name] = bytes(f.parts[f.data[0]]).decode("utf-8")
        elif f.types[0] == V.ARRAY and f.types[1] in (V.ARRAY,):
            metadata[name] = "nested"
        elif f.types[0] == V.ARRAY and f.types[1] == V.STRING:
            metadata[name] = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        elif f.types[0] == V.ARRAY:
            metadata[name] = [f.parts[i][0].item() for i in f.data]
        else:
            metadata[name] = f.parts[f.data[0]][0].item()
    with open(out_values, "wb") as fh:
        fh.write(bytes(blob))
    with open(out_sources, "wb") as fh:
        fh.write(bytes(source_blob))
    with open(out_index, "w") as fh:
        json.dump({"tensors": index, "metadata": metadata}, fh, indent=1)
        fh.write("\n")


def write_v2(path):
    rng = np.random.default_rng(12)
    w = gguf.GGUFWriter(path, arch="flux")
    w.add_custom_alignment(64)
    w.add_tensor("a.weight", gguf.quants.quantize(weights(rng, (2, 64)), T.Q8_0), raw_dtype=T.Q8_0)
    w.add_tensor("b.bias", np.arange(3, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with open(path, "r+b") as fh:
        fh.seek(4)
        assert struct.unpack("<I", fh.read(4))[0] == 3
        fh.seek(4)
        fh.write(struct.pack("<I", 2))
    r = gguf.GGUFReader(path)  # gguf-py reads the v2 file
    assert r.fields["GGUF.version"].parts[0][0] == 2 and r.alignment == 64


def main():
    os.makedirs(HERE, exist_ok=True)
    types = os.path.join(HERE, "types.gguf")
    sources = {}
    write_types(types, sources)
    write_expected(types, os.path.join(HERE, "types.expected.f32"), os.path.join(HERE, "types.expected.json"),
                   sources, os.path.join(HERE, "types.source.f32"))
    write_v2(os.path.join(HERE, "v2_align64.gguf"))


if __name__ == "__main__":
    main()
