"""A kohya-style SDXL LoRA for a checkpoint, written by the `safetensors` package (its numpy API) the
way kohya's sd-scripts lays such a file out: one module per adapted layer named `lora_unet_` + the
layer's LDM name with dots as underscores, `lora_down.weight` (rank x in, or rank x in x k x k for a
conv: LoCon), `lora_up.weight` (out x rank, or out x rank x 1 x 1), a scalar `alpha`, factors in
float16 and the `ss_*` training metadata. The factors are drawn at random with a fixed seed; the
shapes come from the checkpoint's own header, so the LoRA fits whatever layout the checkpoint has.

Used by the browser tests (a LoRA for the demo checkpoint in models/loras) and by
scripts/make-pictures (the lora_compare thumbnail and the LoRA pictures of docs/NODES.md)."""
import json

import numpy as np
from safetensors.numpy import save_file

# Layers of SDXL's U-Net a LoRA commonly adapts: attention projections of three blocks, a proj_in
# and one 3x3 conv (LoCon), in the demo checkpoint's LDM names.
SDXL_LAYERS = (
    "input_blocks.4.0.in_layers.2",
    "input_blocks.4.1.proj_in",
    "input_blocks.4.1.transformer_blocks.0.attn1.to_q",
    "input_blocks.4.1.transformer_blocks.0.attn1.to_k",
    "input_blocks.4.1.transformer_blocks.0.attn1.to_v",
    "input_blocks.4.1.transformer_blocks.0.attn1.to_out.0",
    "input_blocks.4.1.transformer_blocks.0.attn2.to_k",
    "middle_block.1.transformer_blocks.0.attn1.to_q",
    "output_blocks.0.1.transformer_blocks.0.attn2.to_v",
)
PREFIX = "model.diffusion_model."


def safetensors_shapes(path):
    """Tensor key -> shape from a safetensors header (the data is not read)."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    header.pop("__metadata__", None)
    return {key: info["shape"] for key, info in header.items()}


def write_kohya_lora(checkpoint, out, layers=SDXL_LAYERS, rank=4, alpha=2.0, seed=0):
    """Writes the LoRA to `out`; returns {layer: dW at strength 1 as float64} (alpha / rank applied)."""
    shapes = safetensors_shapes(checkpoint)
    rng = np.random.default_rng(seed)
    tensors, deltas = {}, {}
    for i, layer in enumerate(layers):
        shape = shapes.get(PREFIX + layer + ".weight")
        assert shape is not None, f"{checkpoint} has no layer {layer}"
        rows, kernel = shape[0], shape[1:]
        fan_in = int(np.prod(kernel))
        # Later layers change more, so the report's ordering by |dW| is not the file's order.
        down = (rng.standard_normal((rank, fan_in)) / np.sqrt(fan_in)).astype(np.float16)
        up = (rng.standard_normal((rows, rank)) * 0.02 * (1 + i)).astype(np.float16)
        module = "lora_unet_" + layer.replace(".", "_")
        tensors[module + ".lora_down.weight"] = down.reshape([rank] + kernel)
        tensors[module + ".lora_up.weight"] = up.reshape([rows, rank] + [1] * (len(kernel) - 1))
        tensors[module + ".alpha"] = np.array(alpha, dtype=np.float16)
        deltas[layer] = ((alpha / rank) * (up.astype(np.float64) @ down.astype(np.float64))).reshape(shape)
    metadata = {
        "ss_network_module": "networks.lora",
        "ss_network_dim": str(rank),
        "ss_network_alpha": str(alpha),
        "ss_base_model_version": "sdxl_base_v1-0",
        "ss_output_name": "weightlens_demo_lora",
        "ss_training_comment": "random factors for tests; no training",
    }
    save_file(tensors, str(out), metadata=metadata)
    return deltas
