"""Writes a full-size synthetic SDXL LoRA for bench/lora/run.sh: rank R (default 128) on every
attention and convolution layer of the SDXL U-Net, under kohya's key names.

The layers come from the bundled SDXL manifest (Sources/ModelCatalog/Resources/manifests): every
Linear inside the transformers (attn1/attn2 q, k, v, out, ff, proj_in/out) and every convolution of
the resnets, downsamplers and upsamplers (kohya's LoRA + LoCon `conv_dim` targets); not conv_in,
conv_out or the time/label embeddings. Each module is `lora_down.weight` [R, in(, kh, kw)],
`lora_up.weight` [out, R(, 1, 1)] and `alpha`, as sd-scripts writes them: for SDXL kohya names
modules after the original (LDM) U-Net, e.g. lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q.

Values are Gaussian (seeded), fp16; the file is written tensor by tensor in the safetensors layout
(8-byte header length, JSON header, data), so it never sits in memory whole.

Usage: python3 make_sdxl_lora.py OUT [--rank 128] [--seed 0]
"""
import argparse
import json
import pathlib
import struct

import numpy as np

MANIFEST = pathlib.Path(__file__).resolve().parents[2] / "Sources/ModelCatalog/Resources/manifests/sdxl_base.json"
PREFIX = "model.diffusion_model."


def targets():
    """(kohya module name, weight shape) of every attention and convolution layer LoRA trainers adapt."""
    for t in json.loads(MANIFEST.read_text())["tensors"]:
        key, shape = t["key"], t["shape"]
        if not key.startswith(PREFIX) or not key.endswith(".weight") or len(shape) < 2:
            continue
        name = key[len(PREFIX):-len(".weight")]
        in_transformer = ".transformer_blocks." in name or name.endswith((".proj_in", ".proj_out"))
        is_conv = len(shape) == 4 and name not in ("input_blocks.0.0", "out.2")
        if in_transformer or is_conv:
            yield "lora_unet_" + name.replace(".", "_"), shape


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--rank", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    r = args.rank
    tensors = []  # (key, shape, maker)
    for module, shape in targets():
        out, fan_in = shape[0], int(np.prod(shape[1:]))
        down = [r] + shape[1:]
        up = [out, r] + ([1, 1] if len(shape) == 4 else [])
        tensors.append((module + ".alpha", [], ("alpha", r / 2)))
        tensors.append((module + ".lora_down.weight", down, ("normal", 1 / np.sqrt(fan_in))))
        tensors.append((module + ".lora_up.weight", up, ("normal", 0.01 / np.sqrt(r))))
    tensors.sort(key=lambda t: t[0])
    header = {"__metadata__": {"ss_network_module": "networks.lora", "ss_network_dim": str(r), "ss_network_alpha": str(r / 2),
                               "ss_base_model_version": "sdxl_base_v1-0", "ss_output_name": "bench_sdxl_r%d" % r}}
    offset = 0
    for key, shape, _ in tensors:
        n = 2 * int(np.prod(shape)) if shape else 2
        header[key] = {"dtype": "F16", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    rng = np.random.default_rng(args.seed)
    with open(args.out, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for key, shape, (kind, value) in tensors:
            if kind == "alpha":
                f.write(np.float16(value).tobytes())
            else:
                f.write((rng.standard_normal(int(np.prod(shape)), dtype=np.float32) * np.float32(value)).astype(np.float16).tobytes())
    modules = sum(1 for k, _, _ in tensors if k.endswith(".alpha"))
    print(f"{args.out}: {modules} modules, rank {r}, {8 + len(raw) + offset} bytes")


if __name__ == "__main__":
    main()
