#!/usr/bin/env python3
"""Reference values for the Analysis accuracy tests (Tests/AnalysisTests/ReferenceAccuracyTests.swift).

Writes svd_reference.json beside this script: the top singular values of a set of matrices,
computed by LAPACK (numpy.linalg.svd) in float64 from the float32 data the Swift tests see.

  * "structured" matrices are regenerated from a formula shared with the Swift tests
    (TestMatrices.structured / hashUniform): smooth low-rank factors with geometrically decaying
    strengths plus integer-hash noise, in shapes of SDXL layers (scaled down so debug-build tests
    stay fast). Every operation is plain IEEE double arithmetic in the same order as the Swift
    code, so both sides build bit-identical float32 matrices.
  * "safetensors" matrices are real trained weights from Tests/Fixtures/real, read here with a
    minimal safetensors parser (header length, JSON header, little-endian float32 data), viewed as
    (out, in*kh*kw).

With scikit-learn installed it also writes nmf_reference.json: the relative error of
sklearn.decomposition.NMF (rank 3, nndsvda init, coordinate descent, tol 1e-6, 2000 iterations)
on the non-negative split [max(X, 0); max(-X, 0)] of real conv weights arranged as
((out*kh*kw) x in). The Swift test checks our HALS NMF is within 1.1x of those numbers.

Run from anywhere:  python3 Tests/Fixtures/reference/make_reference.py
"""
import json
import math
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REAL = os.path.join(HERE, "..", "real")
MASK = (1 << 64) - 1


def hash_uniform(seed, count):
    """Uniform in [-1, 1) from a SplitMix-style mix of (seed, index); same as the Swift tests."""
    idx = np.arange(count, dtype=np.uint64)
    z = np.uint64((seed * 0x9E3779B97F4A7C15) & MASK) + idx * np.uint64(0xD1B54A32D192ED03)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 52) - 1.0


def structured(rows, cols, rank, decay, noise, seed):
    s = np.zeros((rows, cols), dtype=np.float64)
    for r in range(rank):
        fr = float(r + 1)
        u = np.array([math.sin(float(i) * 0.37 * fr / float(rows) * 10 + fr) for i in range(rows)])
        w = np.array([math.cos(float(j) * 0.53 * fr / float(cols) * 10 + 2 * fr) for j in range(cols)])
        s = s + (math.pow(decay, float(r)) * u)[:, None] * w[None, :]
    s = s + noise * hash_uniform(seed, rows * cols).reshape(rows, cols)
    return s.astype(np.float32)


def load_tensor(name, key):
    """A float32 tensor from a safetensors file, in its stored shape."""
    with open(os.path.join(REAL, name), "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    e = header[key]
    assert e["dtype"] == "F32", (name, key, e["dtype"])
    begin, end = e["data_offsets"]
    return np.frombuffer(data[8 + n + begin : 8 + n + end], dtype="<f4").reshape(e["shape"])


def load_safetensors(name, key):
    """The tensor viewed as a matrix (out, in*kh*kw)."""
    t = load_tensor(name, key)
    return t.reshape(t.shape[0], -1)


STRUCTURED = [
    # name, rows, cols, rank, decay, noise, seed
    ("conv3x3_320_scaled", 320, 2880, 12, 0.7, 0.02, 101),   # SDXL conv 320->320 3x3, (out, in*9)
    ("ff_proj_tall", 1024, 160, 10, 0.75, 0.02, 102),        # ff.net.0.proj-like, rows >> cols
    ("attn_to_q_square", 192, 192, 20, 0.85, 0.01, 103),
    ("small_exact", 60, 500, 8, 0.6, 0.05, 104),
]

REAL_CASES = [
    ("facenet_onet.safetensors", "dense5.weight"),   # 256 x 1152
    ("facenet_onet.safetensors", "conv4.weight"),    # 128 x 256
    ("facenet_onet.safetensors", "conv3.weight"),    # 64 x 576
    ("facenet_rnet.safetensors", "dense4.weight"),   # 128 x 576
    ("facenet_rnet.safetensors", "conv2.weight"),    # 48 x 252
    ("pesto_mir1k_g7.safetensors", "encoder.prefilt_layers.0.0.weight"),  # 40 x 1560
]


def svd_case(name, source, a):
    a64 = a.astype(np.float64)
    sv = np.linalg.svd(a64, compute_uv=False)
    top = min(16, min(a.shape))
    return {
        "name": name,
        "source": source,
        "rows": int(a.shape[0]),
        "cols": int(a.shape[1]),
        "singular_values": [float(x) for x in sv[:top]],
        "frobenius_norm_squared": float(np.sum(a64 * a64)),
    }


def main():
    cases = []
    for name, rows, cols, rank, decay, noise, seed in STRUCTURED:
        a = structured(rows, cols, rank, decay, noise, seed)
        src = {"kind": "structured", "rank": rank, "decay": decay, "noise": noise, "seed": seed}
        cases.append(svd_case(name, src, a))
    for file, key in REAL_CASES:
        a = load_safetensors(file, key)
        cases.append(svd_case(f"{file}:{key}", {"kind": "safetensors", "file": file, "key": key}, a))
    out = {"generator": "make_reference.py", "numpy": np.__version__, "cases": cases}
    with open(os.path.join(HERE, "svd_reference.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} SVD cases")

    try:
        import sklearn
        from sklearn.decomposition import NMF
    except ImportError:
        print("scikit-learn not installed: nmf_reference.json left unchanged")
        return
    nmf_cases = []
    for file, key in [("facenet_onet.safetensors", "conv2.weight"), ("facenet_onet.safetensors", "conv3.weight"),
                      ("facenet_rnet.safetensors", "conv2.weight")]:
        w = load_tensor(file, key)
        # [out, in, kh, kw] -> rows (out, kh, kw), columns in: the layout of oneSidedNMF.
        t = w.transpose(0, 2, 3, 1).reshape(-1, w.shape[1]).astype(np.float64)
        x = np.vstack([np.maximum(t, 0), np.maximum(-t, 0)])
        model = NMF(n_components=3, init="nndsvda", solver="cd", tol=1e-6, max_iter=2000, random_state=0)
        wm = model.fit_transform(x)
        err = float(np.linalg.norm(x - wm @ model.components_) / np.linalg.norm(x))
        nmf_cases.append({"file": file, "key": key, "rank": 3, "sklearn_relative_error": err})
    with open(os.path.join(HERE, "nmf_reference.json"), "w") as f:
        json.dump({"generator": "make_reference.py", "sklearn": sklearn.__version__, "cases": nmf_cases}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(nmf_cases)} NMF cases")


if __name__ == "__main__":
    main()
