"""Model files the browser tests drop into the frontend server's folders, as a user would: a LoRA
for the demo checkpoint in models/loras (written by the `safetensors` package with kohya's key
names, Tests/pysupport/lora_support.py) and a Flux-layout GGUF in models/unet (written by llama.cpp's
`gguf` package, Tests/pysupport/gguf_support.py). The server lists its folders on every request,
so files written after it started are offered by the loader nodes' combos."""
import os
import subprocess
import tempfile

import gguf

from gguf_support import read_safetensors_f32, write_gguf
from lora_support import write_kohya_lora

DEMO_CHECKPOINT = "weightlens_demo_sdxl_synthetic.safetensors"
LORA_NAME = "sdxl_demo_kohya_lora.safetensors"
GGUF_NAME = "flux_dev_s32_q8_0.gguf"


class ModelFiles:
    def __init__(self, base, binary):
        models = os.path.join(base, "models")
        loras = os.path.join(models, "loras")
        os.makedirs(loras, exist_ok=True)
        self.lora_deltas = write_kohya_lora(os.path.join(models, "checkpoints", DEMO_CHECKPOINT),
                                            os.path.join(loras, LORA_NAME))
        unet = os.path.join(models, "unet")
        os.makedirs(unet, exist_ok=True)
        with tempfile.TemporaryDirectory() as work:
            # Scale 32: every Linear of the Flux layout has rows of whole 32-element blocks.
            twin = os.path.join(work, "flux.safetensors")
            subprocess.run([binary, "make-checkpoint", "--layout", "flux", "--scale", "32", "--parts",
                            "diffusion-model", "--dtype", "f32", "--out", twin], check=True, capture_output=True)
            self.gguf_types = write_gguf(read_safetensors_f32(twin), os.path.join(unet, GGUF_NAME),
                                         quant=lambda key: gguf.GGMLQuantizationType.Q4_0 if ".img_mlp." in key
                                         else gguf.GGMLQuantizationType.Q8_0)
        self.gguf_path = os.path.join(unet, GGUF_NAME)
