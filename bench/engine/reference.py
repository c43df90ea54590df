#!/usr/bin/env python3
"""Reference side of the engine benchmark (see run.sh and docs/BENCHMARKS.md).

Writes into WORKDIR:
  * the benchmark matrices as raw little-endian float32 (NAME.f32), built with the structured
    formula shared with the accuracy tests (Tests/Fixtures/reference/make_reference.py);
  * exact top-16 singular values from LAPACK in float64 (cached in WORKDIR: a full SVD of the
    1280 x 11520 matrix takes tens of seconds and does not depend on timing);
  * reference.json: numpy/OpenBLAS matrix-product times on the same shapes, and
    scikit-learn randomized_svd times and errors, measured now with the thread count given.

Usage: reference.py WORKDIR THREADS
"""
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "Fixtures", "reference"))
from make_reference import structured  # noqa: E402

SVD_MATRICES = [
    # name, rows, cols: an SDXL 3x3 conv at full width (1280 x 1280*9) and ff.net.0.proj (10240 x 1280)
    ("conv_1280x11520", 1280, 11520),
    ("ffproj_10240x1280", 10240, 1280),
]
PRODUCTS = [
    # name, form, m, k, n  (C = op(A) op(B) is m x n with inner dimension k)
    ("A·B 1280x11520·11520x32", "ab", 1280, 11520, 32),
    ("Aᵀ·B 11520x1280·1280x32", "atb", 11520, 1280, 32),
    ("A·Bᵀ 1280x11520·(32x11520)ᵀ", "abt", 1280, 11520, 32),
    ("A·B 10240x1280·1280x32", "ab", 10240, 1280, 32),
    ("A·B 2048x2048·2048x2048", "ab", 2048, 2048, 2048),
]
REPEATS = 7


def best_time(fn, repeats=REPEATS):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main():
    workdir, threads = sys.argv[1], int(sys.argv[2])
    os.makedirs(workdir, exist_ok=True)
    from threadpoolctl import threadpool_limits

    out = {"threads": threads, "numpy": np.__version__, "svd": [], "products": []}
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=threads):
        for name, form, m, k, n in PRODUCTS:
            a_shape = (k, m) if form == "atb" else (m, k)
            b_shape = (n, k) if form == "abt" else (k, n)
            a = rng.standard_normal(a_shape, dtype=np.float32)
            b = rng.standard_normal(b_shape, dtype=np.float32)
            fn = {"ab": lambda: a @ b, "atb": lambda: a.T @ b, "abt": lambda: a @ b.T}[form]
            fn()
            t = best_time(fn)
            out["products"].append({"name": name, "form": form, "m": m, "k": k, "n": n, "seconds": t,
                                    "gflops": 2.0 * m * n * k / t / 1e9})
            print(f"numpy {name}: {t * 1e3:.2f} ms, {2.0 * m * n * k / t / 1e9:.1f} GFLOP/s", flush=True)

        from sklearn.utils.extmath import randomized_svd
        import sklearn
        out["sklearn"] = sklearn.__version__
        for name, rows, cols in SVD_MATRICES:
            a = structured(rows, cols, 12, 0.7, 0.02, 101)
            path = os.path.join(workdir, name + ".f32")
            if not os.path.exists(path):
                a.astype("<f4").tofile(path)
            cache = os.path.join(workdir, name + ".lapack.json")
            if os.path.exists(cache):
                exact = json.load(open(cache))
            else:
                t0 = time.perf_counter()
                sv = np.linalg.svd(a.astype(np.float64), compute_uv=False)
                exact = {"top16": [float(x) for x in sv[:16]], "seconds": time.perf_counter() - t0}
                json.dump(exact, open(cache, "w"))
            ref = np.array(exact["top16"])
            result = {}

            def run():
                result["s"] = randomized_svd(a, 16, random_state=0)[1]

            t = best_time(run, repeats=3)
            err = float(np.max(np.abs(result["s"] - ref) / ref))
            out["svd"].append({"name": name, "rows": rows, "cols": cols, "file": path, "lapack_top16": exact["top16"],
                               "lapack_seconds_float64_values_only": exact["seconds"],
                               "sklearn_seconds": t, "sklearn_max_relative_error": err})
            print(f"sklearn randomized_svd {name}: {t * 1e3:.0f} ms, max relative error {err:.2e} "
                  f"(LAPACK values-only float64 SVD: {exact['seconds']:.1f} s, cached)", flush=True)
    json.dump(out, open(os.path.join(workdir, "reference.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
