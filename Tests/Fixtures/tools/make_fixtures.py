#!/usr/bin/env python3
"""Writes the small model files the DiT / diffusers / scaled-fp8 tests read, with the real tools.

    .venv/bin/python Tests/Fixtures/tools/make_fixtures.py

Needs torch (CPU), diffusers and safetensors; the versions used are recorded in versions.txt.
The models are tiny, randomly initialised with a fixed seed (no downloaded weights):

- diffusers_flux/transformer/          FluxTransformer2DModel.save_pretrained, sharded with an index
- diffusers_sd3/transformer/           SD3Transformer2DModel.save_pretrained, one file
- diffusers_unet/unet/                 UNet2DConditionModel.save_pretrained, one file
- *.layers.txt                         the modules that own a `.weight`, in `named_modules()` order
- scaled_fp8.safetensors               float8 weights with ComfyUI-style scales (safetensors.torch)
- scaled_fp8.expected.json             the same weights as float32 x scale, computed by torch
"""
import json
import os
import sys

import torch
import diffusers
import safetensors
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))


def layers(model):
    keys = set(model.state_dict().keys())
    return [name for name, _ in model.named_modules() if name and name + ".weight" in keys]


def save(model, folder, **kwargs):
    path = os.path.join(HERE, folder)
    model.save_pretrained(path, safe_serialization=True, **kwargs)
    with open(path.rstrip("/").rsplit("/", 1)[0] + ".layers.txt", "w") as f:
        f.write("\n".join(layers(model)) + "\n")


def main():
    torch.manual_seed(0)
    flux = diffusers.FluxTransformer2DModel(
        patch_size=1, in_channels=4, num_layers=2, num_single_layers=3, attention_head_dim=8,
        num_attention_heads=2, joint_attention_dim=8, pooled_projection_dim=8, guidance_embeds=True,
        axes_dims_rope=(2, 2, 4))
    save(flux, "diffusers_flux/transformer", max_shard_size="40KB")

    sd3 = diffusers.SD3Transformer2DModel(
        sample_size=8, patch_size=2, in_channels=4, num_layers=3, attention_head_dim=4, num_attention_heads=2,
        joint_attention_dim=8, caption_projection_dim=8, pooled_projection_dim=8, out_channels=4,
        pos_embed_max_size=8, qk_norm="rms_norm")
    save(sd3, "diffusers_sd3/transformer")

    unet = diffusers.UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(8, 16),
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=8, norm_num_groups=4, attention_head_dim=2)
    save(unet, "diffusers_unet/unet")

    # ComfyUI's scaled fp8: weight stored as float8, its float32 scale beside it. `scale_weight` is a
    # scalar (comfy/ops.py scaled_fp8_ops); `weight_scale` here is one value per output channel.
    g = torch.Generator().manual_seed(1)
    w1 = torch.randn(4, 6, generator=g) * 0.2
    s1 = torch.tensor(0.05, dtype=torch.float32)
    w2 = torch.randn(3, 5, generator=g) * 0.5
    s2 = torch.tensor([0.5, 2.0, 0.125], dtype=torch.float32)
    q1 = (w1 / s1).to(torch.float8_e4m3fn)
    q2 = (w2 / s2[:, None]).to(torch.float8_e5m2)
    tensors = {
        "model.diffusion_model.scaled_fp8": torch.empty(0, dtype=torch.float8_e4m3fn),
        "model.diffusion_model.img_in.weight": q1,
        "model.diffusion_model.img_in.scale_weight": s1,
        "model.diffusion_model.img_in.bias": torch.zeros(4, dtype=torch.bfloat16),
        "model.diffusion_model.txt_in.weight": q2,
        "model.diffusion_model.txt_in.weight_scale": s2,
        "model.diffusion_model.plain.weight": q1.clone(),
    }
    save_file(tensors, os.path.join(HERE, "scaled_fp8.safetensors"))
    expected = {
        "img_in": (q1.to(torch.float32) * s1).flatten().tolist(),
        "txt_in": (q2.to(torch.float32) * s2[:, None]).flatten().tolist(),
        "plain": q1.to(torch.float32).flatten().tolist(),
    }
    with open(os.path.join(HERE, "scaled_fp8.expected.json"), "w") as f:
        json.dump(expected, f)

    with open(os.path.join(HERE, "versions.txt"), "w") as f:
        f.write(f"python {sys.version.split()[0]}\ntorch {torch.__version__}\ndiffusers {diffusers.__version__}\n"
                f"safetensors {safetensors.__version__}\n")


if __name__ == "__main__":
    main()
