#!/usr/bin/env python3
"""gguf-py's numpy dequantization (gguf.quants.dequantize) of the one-tensor GGUF files that
weightlens-gguf-bench wrote, best of N; one line per type: `gguf-py TYPE best_ms`.

    numpy_dequant.py OUT [REPEATS]
"""
import glob
import os
import sys
import time

import gguf
import numpy as np

out = sys.argv[1]
repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 5
for path in sorted(glob.glob(os.path.join(out, "img_mlp0_*.gguf"))):
    t = gguf.GGUFReader(path).tensors[0]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        v = gguf.quants.dequantize(t.data, t.tensor_type)
        # F32 "dequantizes" to a view of the mapped bytes; copy so every type produces an array.
        v = np.array(v, dtype=np.float32, copy=True)
        best = min(best, time.perf_counter() - t0)
    print(f"gguf-py {t.tensor_type.name} {best * 1000:.2f}")
