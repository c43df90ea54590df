#!/usr/bin/env python3
"""Writes the two small checkpoints the model-comparison tests read, with torch and safetensors,
and the metrics numpy computes for them.

    .venv/bin/python Tests/Fixtures/tools/make_compare_fixtures.py

Needs torch (CPU), safetensors and numpy; the versions used are appended to compare.versions.txt.
The weights are random with fixed seeds (no downloaded weights):

- compare_a.safetensors   model A, written by safetensors.torch.save_file (f16, bf16 and f32 weights)
- compare_b.pt            model B, written by torch.save (zip): A plus changes of several kinds;
                          some weights are stored as transposed (non-contiguous) views and one in
                          another dtype than A's, so the readers' strided and converting paths are
                          exercised. Layers only in A, only in B, with another shape, and a linear
                          weight stored as a 1x1 conv in B (same values) are included.
- compare.expected.json   per layer, from numpy in float64 on the float32 values:
                          relative_change = |B-A|/|A|, cosine = <A,B>/(|A||B|), delta_l2 = |B-A|,
                          delta_spectral_norm = the largest singular value of (B-A) reshaped to
                          (out, in*kh*kw) (numpy.linalg.norm(..., 2)), and the status of the
                          layers that cannot be compared.
"""
import json
import os
import sys

import numpy as np
import safetensors
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
P = "model.diffusion_model."


def main():
    g = torch.Generator().manual_seed(13)

    def randn(*shape, scale=0.1):
        return torch.randn(*shape, generator=g) * scale

    a = {
        "input_blocks.0.0": randn(32, 4, 3, 3).to(torch.float16),
        "input_blocks.1.0.in_layers.2": randn(32, 32, 3, 3).to(torch.float16),
        "input_blocks.1.1.proj_in": randn(32, 32).to(torch.bfloat16),
        "input_blocks.1.1.transformer_blocks.0.attn1.to_q": randn(32, 32).to(torch.float16),
        "input_blocks.1.1.transformer_blocks.0.attn1.to_k": randn(32, 32).to(torch.float16),
        "input_blocks.1.1.transformer_blocks.0.ff.net.0.proj": randn(256, 32).to(torch.float16),
        "input_blocks.1.1.transformer_blocks.0.norm1": (1 + randn(32)).to(torch.float32),
        "middle_block.1.proj_out": randn(32, 32).to(torch.float16),
        "out.2": randn(4, 32, 3, 3).to(torch.float32),
        "only_in_a.linear": randn(8, 8).to(torch.float16),
        "reshaped.linear": randn(16, 24).to(torch.float16),
        "linear_as_conv": randn(16, 8).to(torch.float16),
    }
    b = {}
    for name, w in a.items():
        b[name] = w.clone()
    # Unchanged: input_blocks.0.0. A small dense change, a low-rank (LoRA-like) change, a big one.
    b["input_blocks.1.0.in_layers.2"] = (a["input_blocks.1.0.in_layers.2"].float() + randn(32, 32, 3, 3, scale=0.01)).to(torch.float16)
    up, down = randn(32, 4, scale=0.3), randn(4, 32, scale=0.3)
    b["input_blocks.1.1.transformer_blocks.0.attn1.to_q"] = (a["input_blocks.1.1.transformer_blocks.0.attn1.to_q"].float() + up @ down).to(torch.float16)
    b["input_blocks.1.1.transformer_blocks.0.attn1.to_k"] = -a["input_blocks.1.1.transformer_blocks.0.attn1.to_k"]
    b["input_blocks.1.1.transformer_blocks.0.ff.net.0.proj"] = (a["input_blocks.1.1.transformer_blocks.0.ff.net.0.proj"].float() * 1.5).to(torch.float16)
    b["input_blocks.1.1.transformer_blocks.0.norm1"] = a["input_blocks.1.1.transformer_blocks.0.norm1"] + randn(32, scale=0.05)
    # Another dtype in B than in A (f16 → f32 with a change).
    b["input_blocks.1.1.proj_in"] = a["input_blocks.1.1.proj_in"].float() + randn(32, 32, scale=0.02)
    b["out.2"] = a["out.2"] + randn(4, 32, 3, 3, scale=0.05)
    del b["only_in_a.linear"]
    b["only_in_b.linear"] = randn(8, 8).to(torch.float16)
    b["reshaped.linear"] = randn(24, 16).to(torch.float16)
    b["linear_as_conv"] = a["linear_as_conv"].reshape(16, 8, 1, 1).clone()

    # Non-contiguous views in B's torch file: the transpose of a transposed copy has the same values
    # and C-order shape but Fortran-order strides.
    def strided(w):
        return w.t().contiguous().t() if w.dim() == 2 else w.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2)

    for name in ["input_blocks.1.1.transformer_blocks.0.attn1.to_q", "input_blocks.1.1.transformer_blocks.0.ff.net.0.proj",
                 "input_blocks.1.0.in_layers.2"]:
        b[name] = strided(b[name])
        assert not b[name].is_contiguous()

    save_file({P + k + ".weight": v.contiguous() for k, v in a.items()}, os.path.join(HERE, "compare_a.safetensors"))
    torch.save({P + k + ".weight": v for k, v in b.items()}, os.path.join(HERE, "compare_b.pt"))

    expected = {}
    for name in list(a) + [k for k in b if k not in a]:
        if name not in b:
            expected[name] = {"status": "only_in_a"}
            continue
        if name not in a:
            expected[name] = {"status": "only_in_b"}
            continue
        wa = a[name].float().numpy().astype(np.float64)
        wb = b[name].float().numpy().astype(np.float64)
        if wa.size != wb.size or wa.shape[0] != wb.shape[0]:
            expected[name] = {"status": "shape_mismatch"}
            continue
        wa = wa.reshape(wa.shape[0], -1)
        wb = wb.reshape(wb.shape[0], -1)
        d = wb - wa
        na, nb, nd = np.linalg.norm(wa), np.linalg.norm(wb), np.linalg.norm(d)
        expected[name] = {
            "status": "compared",
            "relative_change": nd / na,
            "cosine": float((wa * wb).sum() / (na * nb)),
            "delta_l2": nd,
            "delta_spectral_norm": float(np.linalg.norm(d, 2)) if a[name].dim() >= 2 else None,
        }
    with open(os.path.join(HERE, "compare.expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    with open(os.path.join(HERE, "compare.versions.txt"), "w") as f:
        f.write(f"python {sys.version.split()[0]}\ntorch {torch.__version__}\nsafetensors {safetensors.__version__}\n"
                f"numpy {np.__version__}\n")


if __name__ == "__main__":
    main()
