#!/usr/bin/env python3
"""Writes the Flux.1-dev and SD3.5-large key layouts (key, shape, dtype; no weights) that
`weightlens make-checkpoint --layout flux|sd35` fills with synthetic weights.

Standard library only. Run from the repository root:

    python3 scripts/make_dit_manifests.py

Where the numbers come from (published architecture hyper-parameters, not weights):

Flux.1-dev (Black Forest Labs' flux repository, `flux/util.py` configs "flux-dev" and
"flux-schnell"; the same numbers as diffusers' FluxTransformer2DModel config of
black-forest-labs/FLUX.1-dev and ComfyUI's model detection in `comfy/model_detection.py`):
  in_channels 64 (16 latent channels x 2x2 patch), out 64, vec_in_dim 768 (CLIP-L pooled),
  context_in_dim 4096 (T5-XXL), hidden_size 3072, mlp_ratio 4.0, num_heads 24 (head dim 128),
  depth 19 double-stream blocks, depth_single_blocks 38, axes_dim [16, 56, 56], qkv_bias True,
  guidance_embed True (dev; False for schnell, which therefore has no guidance_in).
  Module shapes follow the classes of `flux/modules/layers.py`: MLPEmbedder (in_layer, out_layer),
  Modulation (lin: 6H for double, 3H for single blocks), SelfAttention (qkv 3H with bias, QKNorm
  RMSNorm `scale` of head dim, proj), SingleStreamBlock (linear1: 3H + mlp, linear2: H + mlp -> H),
  LastLayer (linear -> patch^2 * out, adaLN_modulation 2H). LayerNorms there have no parameters.

SD3.5-large (Stability AI's sd3.5 reference code `mmditx.py`, diffusers' SD3Transformer2DModel
config of stabilityai/stable-diffusion-3.5-large, ComfyUI's `mmdit.py` and model detection):
  depth 38 joint blocks, hidden 64 x depth = 2432, num_heads 38 (head dim 64), patch 2,
  in/out channels 16, pos_embed_max_size 192 (pos_embed [1, 192*192, 2432]), context 4096
  (joint_attention_dim), adm_in_channels 2048 (CLIP-L + CLIP-G pooled), mlp_ratio 4 (9728),
  qk_norm "rms" (ln_q / ln_k weights of head dim), qkv with bias, the last block's context
  branch is pre-only (adaLN 2H, qkv and q/k norms, no proj and no MLP). TimestepEmbedder uses
  256 frequencies. Norms without affine parameters hold no tensors.

Keys are the names those files use inside a single-file checkpoint (under
`model.diffusion_model.`); `make-checkpoint --parts diffusion-model` strips that prefix, as the
diffusion-model-only files in models/diffusion_models name them. dtype is BF16, as the published
files store these models; the generator may override float dtypes.
"""
import json
import math
import os

PREFIX = "model.diffusion_model."


def linear(out, tensors, name, o, i, bias=True):
    out.append((f"{name}.weight", [o, i]))
    if bias:
        out.append((f"{name}.bias", [o]))


def flux_dev():
    h, heads, mlp, depth, single = 3072, 24, 3072 * 4, 19, 38
    head = h // heads
    t = []
    linear(t, None, "img_in", h, 64)
    for emb, width in (("time_in", 256), ("vector_in", 768), ("guidance_in", 256)):
        linear(t, None, f"{emb}.in_layer", h, width)
        linear(t, None, f"{emb}.out_layer", h, h)
    linear(t, None, "txt_in", h, 4096)
    for i in range(depth):
        b = f"double_blocks.{i}"
        for stream in ("img", "txt"):
            linear(t, None, f"{b}.{stream}_mod.lin", 6 * h, h)
            linear(t, None, f"{b}.{stream}_attn.qkv", 3 * h, h)
            t.append((f"{b}.{stream}_attn.norm.query_norm.scale", [head]))
            t.append((f"{b}.{stream}_attn.norm.key_norm.scale", [head]))
            linear(t, None, f"{b}.{stream}_attn.proj", h, h)
            linear(t, None, f"{b}.{stream}_mlp.0", mlp, h)
            linear(t, None, f"{b}.{stream}_mlp.2", h, mlp)
    for i in range(single):
        b = f"single_blocks.{i}"
        linear(t, None, f"{b}.linear1", 3 * h + mlp, h)
        linear(t, None, f"{b}.linear2", h, h + mlp)
        t.append((f"{b}.norm.query_norm.scale", [head]))
        t.append((f"{b}.norm.key_norm.scale", [head]))
        linear(t, None, f"{b}.modulation.lin", 3 * h, h)
    linear(t, None, "final_layer.linear", 64, h)
    linear(t, None, "final_layer.adaLN_modulation.1", 2 * h, h)
    return t


def sd35_large():
    depth = 38
    h, head, mlp, patch, ch = 64 * depth, 64, 64 * depth * 4, 2, 16
    t = []
    t.append(("pos_embed", [1, 192 * 192, h]))
    t.append(("x_embedder.proj.weight", [h, ch, patch, patch]))
    t.append(("x_embedder.proj.bias", [h]))
    linear(t, None, "t_embedder.mlp.0", h, 256)
    linear(t, None, "t_embedder.mlp.2", h, h)
    linear(t, None, "y_embedder.mlp.0", h, 2048)
    linear(t, None, "y_embedder.mlp.2", h, h)
    linear(t, None, "context_embedder", h, 4096)
    for i in range(depth):
        for branch in ("context_block", "x_block"):
            b = f"joint_blocks.{i}.{branch}"
            pre_only = branch == "context_block" and i == depth - 1
            linear(t, None, f"{b}.adaLN_modulation.1", (2 if pre_only else 6) * h, h)
            linear(t, None, f"{b}.attn.qkv", 3 * h, h)
            t.append((f"{b}.attn.ln_q.weight", [head]))
            t.append((f"{b}.attn.ln_k.weight", [head]))
            if not pre_only:
                linear(t, None, f"{b}.attn.proj", h, h)
                linear(t, None, f"{b}.mlp.fc1", mlp, h)
                linear(t, None, f"{b}.mlp.fc2", h, mlp)
    linear(t, None, "final_layer.linear", patch * patch * ch, h)
    linear(t, None, "final_layer.adaLN_modulation.1", 2 * h, h)
    return t


def write(path, model, note, tensors):
    rows = sorted(((PREFIX + k, s) for k, s in tensors), key=lambda r: r[0])
    params = sum(math.prod(s) for _, s in rows)
    doc = {
        "model": model,
        "order": "alphabetical by key; a file written by the safetensors library lays its data out by dtype (widest first), then by key name",
        "note": note,
        "source": "scripts/make_dit_manifests.py (see its docstring for where every number comes from)",
        "tensor_count": len(rows),
        "parameter_count_total": params,
        "tensors": [{"key": k, "shape": s, "dtype": "BF16"} for k, s in rows],
    }
    with open(path, "w") as f:
        f.write("{\n")
        items = [(k, v) for k, v in doc.items() if k != "tensors"]
        for k, v in items:
            f.write(f" {json.dumps(k)}: {json.dumps(v)},\n")
        f.write(' "tensors": [\n')
        f.write(",\n".join("  " + json.dumps(t) for t in doc["tensors"]))
        f.write("\n ]\n}\n")
    print(f"{path}: {len(rows)} tensors, {params} parameters")


if __name__ == "__main__":
    folder = os.path.join("Sources", "ModelCatalog", "Resources", "manifests")
    write(os.path.join(folder, "flux1_dev.json"), "Flux.1-dev diffusion model (single-file checkpoint names)",
          "Built from the published Flux.1 architecture (hidden 3072, 19 double + 38 single blocks, guidance "
          "embedder); make-checkpoint's flux-schnell layout drops guidance_in.", flux_dev())
    write(os.path.join(folder, "sd35_large.json"), "SD3.5-large diffusion model (single-file checkpoint names)",
          "Built from the published SD3.5-large MMDiT architecture (38 joint blocks of width 2432, RMS q/k norms, "
          "pre-only context branch in the last block).", sd35_large())
