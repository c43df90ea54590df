#!/usr/bin/env python3
"""Writes the seeds of GGUFFuzz and LoRAKeyMapFuzz into fuzz/corpus/<Target>/ with the real tools.

    .venv/bin/python fuzz/make_tool_seeds.py

Needs gguf (llama.cpp's gguf-py), safetensors and numpy; the committed seeds were written with
gguf 0.19.0, safetensors 0.8.0 and numpy 2.4.6 (the versions of Tests/Fixtures/tools/versions.txt).
Values come from a seeded generator; re-running the script rewrites the same files.

GGUFFuzz: small files written by gguf.GGUFWriter (every plain type, the legacy quants quantized by
gguf.quants.quantize, the K-quants as random blocks with finite half-precision scales as
Tests/Fixtures/tools/make_gguf_fixtures.py writes them, a key of every value type with nested
arrays, ComfyUI-GGUF's comfy.gguf.orig_shape.<name>, custom alignments, a type WeightLens does not
dequantize, no tensors at all), the v2 fixture, and hand-made hostile files (`bad-*`, each lying
in one place) that the reader must refuse.

LoRAKeyMapFuzz: the real-tool LoRA fixtures (peft + diffusers and LyCORIS, Tests/Fixtures/tools/lora)
cut down to their first modules with safetensors (their tensors and metadata unchanged), small
files in the other namings and kinds the reader knows (kohya LoCon with a Tucker mid, text
encoders, Flux kohya names, ComfyUI names, diffusers' old names, full diffs, DoRA, Tucker LoHa,
LoKr of factors), and hostile ones (`bad-*`) that must be refused.
"""
import os
import struct
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T, GGUFValueType as V
from safetensors.numpy import load_file, save_file
from safetensors import safe_open

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "tools")


def put(target, name, data, limit):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    assert len(data) <= limit, (target, name, len(data))
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- GGUF

GGUF_LIMIT = 16384
K_HALVES = {T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def gguf_bytes(build, alignment=None):
    """Runs build(writer) on a gguf.GGUFWriter and returns the file it writes."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "seed.gguf")
        w = gguf.GGUFWriter(path, arch="flux")
        if alignment:
            w.add_custom_alignment(alignment)
        build(w)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        gguf.GGUFReader(path)  # gguf-py reads back what it wrote
        return open(path, "rb").read()


def random_blocks(rng, qtype, rows, cols):
    block, size = gguf.GGML_QUANT_SIZES[qtype]
    raw = rng.integers(0, 256, size=(rows, cols // block, size), dtype=np.uint8)
    for offset in K_HALVES.get(qtype, []):
        scale = (rng.standard_normal((rows, cols // block)) * 0.01).astype(np.float16)
        raw[:, :, offset:offset + 2] = scale.view(np.uint8).reshape(rows, cols // block, 2)
    return raw.reshape(rows, -1)


def gguf_seeds():
    rng = np.random.default_rng(5)
    target = "GGUFFuzz"

    def plain(w):
        w.add_tensor("f32", rng.standard_normal(3).astype(np.float32))
        w.add_tensor("f16", rng.standard_normal((2, 2)).astype(np.float16))
        w.add_tensor("f64", rng.standard_normal(2).astype(np.float64))
        w.add_tensor("i8", np.arange(-3, 3, dtype=np.int8))
        w.add_tensor("i16", np.arange(4, dtype=np.int16))
        w.add_tensor("i32", np.arange(3, dtype=np.int32).reshape(1, 3))
        w.add_tensor("i64", np.array([-1, 2**40], dtype=np.int64))
        bf16 = (rng.standard_normal(32).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
        w.add_tensor("bf16", bf16.view(np.uint8).reshape(1, 64), raw_dtype=T.BF16)
    put(target, "plain-types.gguf", gguf_bytes(plain), GGUF_LIMIT)

    def legacy(w):
        for q in [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0]:
            x = (rng.standard_normal((2, 32)) * 0.05).astype(np.float32)
            w.add_tensor(f"w.{q.name}", gguf.quants.quantize(x, q), raw_dtype=q)
    put(target, "legacy-quants.gguf", gguf_bytes(legacy), GGUF_LIMIT)

    def kquants(w):
        for q in [T.Q2_K, T.Q3_K, T.Q4_K, T.Q5_K, T.Q6_K]:
            w.add_tensor(f"w.{q.name}", random_blocks(rng, q, 1, 256), raw_dtype=q)
    put(target, "k-quants.gguf", gguf_bytes(kquants), GGUF_LIMIT)

    def metadata(w):
        w.add_uint8("t.uint8", 200)
        w.add_int8("t.int8", -100)
        w.add_uint16("t.uint16", 60000)
        w.add_int16("t.int16", -30000)
        w.add_uint32("t.uint32", 4000000000)
        w.add_int32("t.int32", -2000000000)
        w.add_float32("t.float32", 0.25)
        w.add_uint64("t.uint64", 18000000000000000000)
        w.add_int64("t.int64", -9000000000000000000)
        w.add_float64("t.float64", -1.5)
        w.add_bool("t.bool", True)
        w.add_string("t.string", "Grüße, GGUF")
        w.add_array("t.array_int", [1, -2, 3])
        w.add_array("t.array_string", ["a", "bc"])
        w.add_key_value("t.array_nested", [[1, 2], [3]], V.ARRAY, sub_type=V.ARRAY)
        w.add_array("t.array_long", list(range(70)))
        w.add_tensor("x", np.ones(4, dtype=np.float32))
    put(target, "metadata-types.gguf", gguf_bytes(metadata), GGUF_LIMIT)

    def orig_shape(w):
        five = (rng.standard_normal((2, 2, 2, 2, 4)) * 0.1).astype(np.float32)
        w.add_tensor("five.weight", gguf.quants.quantize(five.reshape(1, 64), T.Q8_0), raw_dtype=T.Q8_0)
        w.add_array("comfy.gguf.orig_shape.five.weight", [2, 2, 2, 2, 4])
        w.add_tensor("conv.weight", rng.standard_normal((2, 1, 3, 3)).astype(np.float16))
    put(target, "comfy-orig-shape.gguf", gguf_bytes(orig_shape), GGUF_LIMIT)

    def two(w):
        w.add_tensor("a.weight", gguf.quants.quantize(rng.standard_normal((1, 32)).astype(np.float32), T.Q4_0), raw_dtype=T.Q4_0)
        w.add_tensor("b.bias", np.arange(5, dtype=np.float32))
    for a in (8, 64, 256):
        put(target, f"alignment-{a}.gguf", gguf_bytes(two, alignment=a), GGUF_LIMIT)

    def flux_like(w):
        # ComfyUI-GGUF's converter keeps the state-dict keys and quantizes 2-D weights.
        w.add_tensor("double_blocks.0.img_attn.qkv.weight",
                     gguf.quants.quantize(rng.standard_normal((6, 32)).astype(np.float32), T.Q8_0), raw_dtype=T.Q8_0)
        w.add_tensor("double_blocks.0.img_attn.qkv.bias", rng.standard_normal(6).astype(np.float32))
        w.add_tensor("img_in.weight", random_blocks(rng, T.Q4_K, 2, 256), raw_dtype=T.Q4_K)
        w.add_string("general.name", "tiny")
    put(target, "flux-keys.gguf", gguf_bytes(flux_like), GGUF_LIMIT)

    def unsupported(w):
        w.add_tensor("iq.weight", random_blocks(rng, T.IQ4_NL, 1, 32), raw_dtype=T.IQ4_NL)
        w.add_tensor("ok", np.zeros(2, dtype=np.float32))
    put(target, "iq4nl-not-dequantized.gguf", gguf_bytes(unsupported), GGUF_LIMIT)

    put(target, "no-tensors.gguf", gguf_bytes(lambda w: w.add_uint32("t.n", 7)), GGUF_LIMIT)
    put(target, "v2-align64.gguf", open(os.path.join(FIXTURES, "gguf", "v2_align64.gguf"), "rb").read(), GGUF_LIMIT)

    for name, data in gguf_hostile():
        put(target, name, data, GGUF_LIMIT)


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def ghead(tensors, kvs, version=3):
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs)


def ginfo(name, dims, gtype=0, offset=0):
    return gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", gtype, offset)


def gpad(b, a=32):
    return b + b"\0" * (-len(b) % a)


def gguf_hostile():
    f32 = struct.pack("<2f", 1, 2)
    ok_tensor = ginfo("a", [2])
    out = [
        ("bad-magic", b"GGUG" + gpad(ghead(1, 0)[4:] + ok_tensor) + f32),
        ("bad-version-1", gpad(ghead(1, 0, version=1) + ok_tensor) + f32),
        ("bad-big-endian", gpad(b"GGUF" + struct.pack(">IQQ", 3, 1, 0) + ok_tensor) + f32),
        ("bad-huge-tensor-count", ghead(2**63, 0)),
        ("bad-huge-kv-count", ghead(0, 2**40)),
        ("bad-huge-string", ghead(0, 1) + struct.pack("<Q", 2**60) + b"k"),
        ("bad-unknown-value-type", ghead(0, 1) + gstr("k") + struct.pack("<II", 13, 0)),
        ("bad-bool-byte", ghead(0, 1) + gstr("k") + struct.pack("<IB", 7, 2)),
        ("bad-array-too-deep", ghead(0, 1) + gstr("k") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 5 + struct.pack("<IQ", 0, 0)),
        ("bad-array-count", ghead(0, 1) + gstr("k") + struct.pack("<IIQ", 9, 6, 2**30)),
        ("bad-duplicate-key", ghead(0, 2) + (gstr("k") + struct.pack("<II", 4, 1)) * 2),
        ("bad-non-utf8-key", ghead(0, 1) + gstr(b"\xff\xfe") + struct.pack("<II", 4, 1)),
        ("bad-alignment-3", gpad(ghead(1, 1) + gstr("general.alignment") + struct.pack("<II", 4, 3) + ok_tensor) + f32),
        ("bad-alignment-type", gpad(ghead(1, 1) + gstr("general.alignment") + struct.pack("<IQ", 10, 32) + ok_tensor) + f32),
        ("bad-unknown-ggml-type", gpad(ghead(1, 0) + ginfo("a", [32], gtype=4)) + b"\0" * 32),
        ("bad-duplicate-tensor", gpad(ghead(2, 0) + ginfo("a", [2]) + ginfo("a", [2], offset=32)) + f32 + b"\0" * 24 + f32),
        ("bad-misaligned-offset", gpad(ghead(1, 0) + ginfo("a", [2], offset=4)) + b"\0" * 12),
        ("bad-overlap", gpad(ghead(2, 0) + ginfo("a", [16]) + ginfo("b", [2], offset=32)) + b"\0" * 64),
        ("bad-truncated-data", gpad(ghead(1, 0) + ginfo("a", [4])) + f32),
        ("bad-offset-past-end", gpad(ghead(1, 0) + ginfo("a", [2], offset=2**62)) + f32),
        ("bad-not-whole-blocks", gpad(ghead(1, 0) + ginfo("q", [16], gtype=8)) + b"\0" * 34),
        ("bad-nine-dims", gpad(ghead(1, 0) + ginfo("a", [1] * 9)) + b"\0" * 4),
        ("bad-dims-overflow", gpad(ghead(1, 0) + ginfo("a", [2**32, 2**32])) + f32),
        # Zero elements innermost first, 2^64 outermost first: the entry's shape is the reverse.
        ("bad-zero-dim-overflow", gpad(ghead(1, 0) + ginfo("a", [0, 2**32, 2**32]))),
        ("bad-orig-shape-mismatch", gpad(ghead(1, 1) + gstr("comfy.gguf.orig_shape.a") + struct.pack("<IIQ3i", 9, 5, 3, 2, 2, 2)
                                         + ginfo("a", [2])) + f32),
        ("bad-orig-shape-negative", gpad(ghead(1, 1) + gstr("comfy.gguf.orig_shape.a") + struct.pack("<IIQ2i", 9, 5, 2, -1, -2)
                                         + ginfo("a", [2])) + f32),
        ("bad-orig-shape-type", gpad(ghead(1, 1) + gstr("comfy.gguf.orig_shape.a") + struct.pack("<IIQ2I", 9, 4, 2, 1, 2)
                                     + ginfo("a", [2])) + f32),
    ]
    return out


# ---------------------------------------------------------------- LoRA

LORA_LIMIT = 65536


def st_bytes(tensors, metadata=None):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "seed.safetensors")
        save_file(tensors, path, metadata=metadata)
        return open(path, "rb").read()


def cut(fixture, modules, size=12000):
    """The first `modules` modules of a real-tool LoRA fixture (whole modules, tensors unchanged)."""
    path = os.path.join(FIXTURES, "lora", fixture)
    tensors = load_file(path)
    with safe_open(path, framework="numpy") as f:
        metadata = f.metadata()
    order = []
    for key in tensors:
        m = key.split(".lora_")[0].rsplit(".hada_", 1)[0].rsplit(".lokr_", 1)[0].rsplit(".alpha", 1)[0]
        if m not in order:
            order.append(m)
    keep = set(order[:modules])
    kept = {k: v for k, v in tensors.items()
            if k.split(".lora_")[0].rsplit(".hada_", 1)[0].rsplit(".lokr_", 1)[0].rsplit(".alpha", 1)[0] in keep}
    data = st_bytes(kept, metadata)
    while len(data) > size and len(keep) > 1:
        keep = set(sorted(keep, key=order.index)[:-1])
        kept = {k: v for k, v in kept.items()
                if k.split(".lora_")[0].rsplit(".hada_", 1)[0].rsplit(".lokr_", 1)[0].rsplit(".alpha", 1)[0] in keep}
        data = st_bytes(kept, metadata)
    return data


def lora_seeds():
    rng = np.random.default_rng(9)
    target = "LoRAKeyMapFuzz"

    def r(*shape, dtype=np.float32):
        return (rng.standard_normal(shape) * 0.1).astype(dtype)

    for fixture, n in [("peft_unet.safetensors", 6), ("peft_flux.safetensors", 8), ("lycoris_lora.safetensors", 6),
                       ("lycoris_loha.safetensors", 5), ("lycoris_lokr.safetensors", 8)]:
        put(target, fixture.replace(".safetensors", "-cut.safetensors"), cut(fixture, n), LORA_LIMIT)
    put(target, "peft_flux.safetensors", open(os.path.join(FIXTURES, "lora", "peft_flux.safetensors"), "rb").read(), LORA_LIMIT)

    one = lambda: np.array(2.0, dtype=np.float32)
    made = {
        "kohya-locon-tucker.safetensors": {
            "lora_unet_conv_in.lora_up.weight": r(8, 2, 1, 1), "lora_unet_conv_in.lora_down.weight": r(2, 4, 1, 1),
            "lora_unet_conv_in.lora_mid.weight": r(2, 2, 3, 3), "lora_unet_conv_in.alpha": one()},
        "kohya-text-encoders.safetensors": {
            "lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight": r(8, 2, dtype=np.float16),
            "lora_te1_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight": r(2, 8, dtype=np.float16),
            "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": r(8, 2),
            "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": r(2, 8),
            "lora_te2_text_model_encoder_layers_0_mlp_fc1.alpha": one()},
        "kohya-flux.safetensors": {
            "lora_transformer_single_transformer_blocks_0_attn_to_q.lora_up.weight": r(16, 2),
            "lora_transformer_single_transformer_blocks_0_attn_to_q.lora_down.weight": r(2, 16),
            "lora_unet_double_blocks_0_img_attn_qkv.lora_up.weight": r(48, 2),
            "lora_unet_double_blocks_0_img_attn_qkv.lora_down.weight": r(2, 16)},
        "comfyui-names.safetensors": {
            "diffusion_model.input_blocks.1.1.proj_in.lora_up.weight": r(8, 2),
            "diffusion_model.input_blocks.1.1.proj_in.lora_down.weight": r(2, 8),
            "text_encoders.clip_l.transformer.text_model.encoder.layers.0.self_attn.k_proj.lora_B.weight": r(8, 2),
            "text_encoders.clip_l.transformer.text_model.encoder.layers.0.self_attn.k_proj.lora_A.weight": r(2, 8)},
        "diffusers-old-names.safetensors": {
            "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.up.weight": r(8, 2),
            "unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_q_lora.down.weight": r(2, 8),
            "unet.down_blocks.0.attentions.0.proj_in.lora_linear_layer.up.weight": r(8, 2),
            "unet.down_blocks.0.attentions.0.proj_in.lora_linear_layer.down.weight": r(2, 8),
            "base_model.model.conv_in.lora_B.default.weight": r(8, 2, 1, 1),
            "base_model.model.conv_in.lora_A.default.weight": r(2, 4, 3, 3)},
        "diff-dora.safetensors": {
            "diffusion_model.out.2.diff": r(4, 8, 3, 3), "diffusion_model.out.2.diff_b": r(4),
            "lora_unet_conv_in.lora_up.weight": r(8, 2, 1, 1), "lora_unet_conv_in.lora_down.weight": r(2, 4, 3, 3),
            "lora_unet_conv_in.dora_scale": r(8, 1, 1, 1), "lora_unet_conv_out.alpha": one()},
        "loha-tucker.safetensors": {
            "lycoris_conv_in.hada_w1_a": r(2, 8), "lycoris_conv_in.hada_w1_b": r(2, 4), "lycoris_conv_in.hada_t1": r(2, 2, 3, 3),
            "lycoris_conv_in.hada_w2_a": r(2, 8), "lycoris_conv_in.hada_w2_b": r(2, 4), "lycoris_conv_in.hada_t2": r(2, 2, 3, 3),
            "lycoris_conv_in.alpha": one()},
        "lokr-factors.safetensors": {
            "lycoris_conv_in.lokr_w1_a": r(2, 1), "lycoris_conv_in.lokr_w1_b": r(1, 1),
            "lycoris_conv_in.lokr_w2_a": r(2, 4), "lycoris_conv_in.lokr_w2_b": r(2, 4), "lycoris_conv_in.lokr_t2": r(2, 2, 3, 3),
            "lycoris_conv_in.alpha": one()},
    }
    for name, tensors in made.items():
        put(target, name, st_bytes(tensors, {"ss_network_module": "networks.lora"}), LORA_LIMIT)

    hostile = {
        "bad-not-a-lora": {"model.diffusion_model.input_blocks.0.0.weight": r(2, 2)},
        "bad-missing-down": {"lora_unet_conv_in.lora_up.weight": r(8, 2)},
        "bad-zero-rank": {"m.lora_up.weight": np.zeros((8, 0), np.float32), "m.lora_down.weight": np.zeros((0, 8), np.float32)},
        "bad-rank-too-large": {"m.lora_up.weight": r(2, 100), "m.lora_down.weight": r(100, 2)},
        "bad-rank-mismatch": {"m.lora_up.weight": r(8, 4), "m.lora_down.weight": r(3, 8)},
        "bad-nan-alpha": {"m.lora_up.weight": r(4, 2), "m.lora_down.weight": r(2, 4), "m.alpha": np.array(np.nan, np.float32)},
        "bad-vector-alpha": {"m.lora_up.weight": r(4, 2), "m.lora_down.weight": r(2, 4), "m.alpha": np.ones(2, np.float32)},
        "bad-integer-factors": {"m.lora_up.weight": np.ones((4, 2), np.int32), "m.lora_down.weight": np.ones((2, 4), np.int32)},
        "bad-loha-mismatch": {"x.hada_w1_a": r(4, 2), "x.hada_w1_b": r(2, 4), "x.hada_w2_a": r(4, 3), "x.hada_w2_b": r(2, 4)},
        "bad-tucker-mid": {"m.lora_up.weight": r(8, 2, 1, 1), "m.lora_down.weight": r(2, 4, 1, 1), "m.lora_mid.weight": r(3, 2, 3, 3)},
        "bad-lokr-missing-w1": {"m.lokr_w2": r(4, 4)},
        # kron(w1, w2) of w1 = [129, 1] x [1, 128] and w2 = [128, 1] x [1, 128]: a 2 KB file whose
        # ΔW would hold 2^28 + 2^21 elements, above the limit.
        "bad-lokr-too-large": {"m.lokr_w1_a": r(129, 1), "m.lokr_w1_b": r(1, 128), "m.lokr_w2_a": r(128, 1), "m.lokr_w2_b": r(1, 128)},
    }
    for name, tensors in hostile.items():
        put(target, name, st_bytes(tensors), LORA_LIMIT)


if __name__ == "__main__":
    gguf_seeds()
    lora_seeds()
