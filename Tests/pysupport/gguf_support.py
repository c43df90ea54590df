"""Writes GGUF files the way ComfyUI-GGUF's converter lays them out, with llama.cpp's gguf-py:
state-dict keys unchanged, 2-D weights block-quantized when their rows are whole blocks, the rest
kept as F32, `general.architecture` naming the model."""
import json

import numpy as np
import gguf


def read_safetensors_f32(path):
    """The tensors of an F32 safetensors file (as `weightlens make-checkpoint --dtype f32` writes)."""
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for key, info in header.items():
        assert info["dtype"] == "F32", info
        begin, end = info["data_offsets"]
        out[key] = np.frombuffer(raw[8 + n + begin:8 + n + end], dtype="<f4").reshape(info["shape"])
    return out


def write_gguf(tensors, path, arch="flux", quant=lambda key: gguf.GGMLQuantizationType.Q8_0):
    """Writes `tensors` (key -> float32 array); `quant(key)` picks the type of each 2-D weight."""
    w = gguf.GGUFWriter(str(path), arch=arch)
    types = {}
    for key, value in tensors.items():
        q = quant(key)
        block = gguf.GGML_QUANT_SIZES[q][0]
        if value.ndim == 2 and key.endswith(".weight") and value.shape[-1] % block == 0:
            w.add_tensor(key, gguf.quants.quantize(value, q), raw_dtype=q)
            types[key] = q.name
        else:
            w.add_tensor(key, np.ascontiguousarray(value, dtype=np.float32))
            types[key] = "F32"
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return types
