#!/usr/bin/env python3
"""Reference side of the engine benchmark (driven by run.sh; see docs/BENCHMARKS.md).

  reference.py prepare WORKDIR          write plan.json, the SVD matrices (raw little-endian
                                        float32, built with the formula shared with the accuracy
                                        tests) and their exact top-16 singular values (LAPACK,
                                        float64; cached because a full SVD of the 1280 x 11520
                                        matrix takes a minute and does not depend on timing)
  reference.py measure WORKDIR THREADS ROUND CORETYPE
                                        time numpy/OpenBLAS products and scikit-learn
                                        randomized_svd with THREADS threads; write
                                        reference-CORETYPE-ROUND.json (CORETYPE: "best", or the
                                        OPENBLAS_CORETYPE run.sh forced)
  reference.py summarize WORKDIR        best of all rounds per side and kernel path; print the
                                        tables, the ratios and each path against the best path
  reference.py inspect WORKDIR THREADS WEIGHTLENS CHECKPOINT PATH...
                                        `weightlens inspect --top-k 16 --json` (the whole command)
                                        per kernel path on two full-size SDXL layers, against
                                        numpy's randomized SVD (Halko, 4 power iterations) on the
                                        same matrices in the same run, errors against LAPACK

run.sh alternates `measure` rounds with the Swift engine's rounds, so both sides see the same
machine load (this machine is shared; single measurements swing by 2x).
"""
import glob
import json
import os
import resource
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Tests", "Fixtures", "reference"))
from make_reference import structured  # noqa: E402

SVD_MATRICES = [
    # name, rows, cols: an SDXL 3x3 conv at full width (1280 x 1280*9) and ff.net.0.proj (10240 x 1280)
    {"name": "conv_1280x11520", "rows": 1280, "cols": 11520},
    {"name": "ffproj_10240x1280", "rows": 10240, "cols": 1280},
]
PRODUCTS = [
    # C = op(A)·op(B), m x n, inner dimension k; the first four are the SVD's own products
    {"name": "A·B 1280x11520 · 11520x32", "form": "ab", "m": 1280, "k": 11520, "n": 32},
    {"name": "Aᵀ·B (1280x11520)ᵀ · 1280x32", "form": "atb", "m": 11520, "k": 1280, "n": 32},
    {"name": "A·Bᵀ 1280x11520 · (32x11520)ᵀ", "form": "abt", "m": 1280, "k": 11520, "n": 32},
    {"name": "A·B 10240x1280 · 1280x32", "form": "ab", "m": 10240, "k": 1280, "n": 32},
    {"name": "A·B 2048x2048 · 2048x2048", "form": "ab", "m": 2048, "k": 2048, "n": 2048},
]
TOLERANCES = [1e-2, 1e-3, 1e-5]
REPEATS = 5


def best_time(fn, repeats=REPEATS):
    """Best wall time, with the process CPU time (all threads) of that run."""
    best = (float("inf"), float("inf"))
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best[0]:
            best = (wall, cpu)
    return best


def prepare(workdir):
    os.makedirs(workdir, exist_ok=True)
    svd = []
    for spec in SVD_MATRICES:
        name, rows, cols = spec["name"], spec["rows"], spec["cols"]
        path = os.path.join(workdir, name + ".f32")
        cache = os.path.join(workdir, name + ".lapack.json")
        if not (os.path.exists(path) and os.path.exists(cache)):
            a = structured(rows, cols, 12, 0.7, 0.02, 101)
            a.astype("<f4").tofile(path)
            t0 = time.perf_counter()
            sv = np.linalg.svd(a.astype(np.float64), compute_uv=False)
            json.dump({"top16": [float(x) for x in sv[:16]], "seconds": time.perf_counter() - t0}, open(cache, "w"))
        exact = json.load(open(cache))
        svd.append(dict(spec, file=path, lapack_top16=exact["top16"], lapack_seconds=exact["seconds"]))
    plan = {"products": PRODUCTS, "svd": svd, "tolerances": TOLERANCES, "repeats": REPEATS}
    json.dump(plan, open(os.path.join(workdir, "plan.json"), "w"), indent=1)


def measure(workdir, threads, round_, coretype="best"):
    from threadpoolctl import threadpool_limits
    from sklearn.utils.extmath import randomized_svd
    import sklearn

    plan = json.load(open(os.path.join(workdir, "plan.json")))
    from threadpoolctl import threadpool_info
    blas = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    out = {"numpy": np.__version__, "sklearn": sklearn.__version__, "threads": threads, "coretype": coretype,
           "openblas": (blas[0].get("version"), blas[0].get("architecture")) if blas else None, "products": {}, "svd": {}}
    rng = np.random.default_rng(0)
    with threadpool_limits(limits=threads):
        for p in plan["products"]:
            m, k, n, form = p["m"], p["k"], p["n"], p["form"]
            a = rng.standard_normal((k, m) if form == "atb" else (m, k), dtype=np.float32)
            b = rng.standard_normal((n, k) if form == "abt" else (k, n), dtype=np.float32)
            fn = {"ab": lambda: a @ b, "atb": lambda: a.T @ b, "abt": lambda: a @ b.T}[form]
            fn()
            wall, cpu = best_time(fn)
            out["products"][p["name"]] = {"seconds": wall, "cpu": cpu}
        for s in plan["svd"]:
            a = np.fromfile(s["file"], dtype="<f4").reshape(s["rows"], s["cols"])
            ref = np.array(s["lapack_top16"])
            result = {}

            def run():
                result["s"] = randomized_svd(a, 16, random_state=0)[1]

            wall, cpu = best_time(run, repeats=2)
            out["svd"][s["name"]] = {"seconds": wall, "cpu": cpu, "error": float(np.max(np.abs(result["s"] - ref) / ref))}
    json.dump(out, open(os.path.join(workdir, f"reference-{coretype}-{round_}.json"), "w"), indent=1)


def best_of(results, group, name):
    return min((r[group][name] for r in results), key=lambda x: x["seconds"])


def summarize(workdir):
    plan = json.load(open(os.path.join(workdir, "plan.json")))
    refs = {}
    for f in sorted(glob.glob(os.path.join(workdir, "reference-*.json"))):
        r = json.load(open(f))
        refs.setdefault(r["coretype"], []).append(r)
    engs = {}
    for f in sorted(glob.glob(os.path.join(workdir, "engine-*.json"))):
        e = json.load(open(f))
        engs.setdefault(e["path"], []).append(e)
    first = refs["best"][0]
    print(f"rounds: {len(refs['best'])}; best of all rounds per side; numpy {first['numpy']}, scikit-learn {first['sklearn']}, "
          f"{first['threads']} threads; OpenBLAS {first['openblas']}")
    coretypes = {"avx512": "best", "avx2": "Haswell", "baseline": "Prescott"}
    for path, runs in engs.items():
        same = coretypes.get(path, "best")
        same_refs = refs.get(same, refs["best"])
        same_arch = same_refs[0]["openblas"][1] if same_refs[0].get("openblas") else "?"
        print(f"\n== kernel path {runs[0]['build']}")
        print(f"matrix products (ratio = engine throughput / numpy's, wall and CPU time; numpy at its best "
              f"({first['openblas'][1] if first.get('openblas') else '?'}) and forced to the same instruction set ({same_arch}); target >= 0.70 with FMA)")
        for p in plan["products"]:
            flops = 2.0 * p["m"] * p["n"] * p["k"]
            e = best_of(runs, "products", p["name"])
            n = best_of(refs["best"], "products", p["name"])
            s_ = best_of(same_refs, "products", p["name"])
            print(f"  {p['name']:<32} engine {e['seconds'] * 1e3:7.2f} ms {flops / e['seconds'] / 1e9:5.1f} GFLOP/s cpu {e['cpu'] * 1e3:7.2f} ms"
                  f" | numpy best {n['seconds'] * 1e3:7.2f} ms, ratio wall {n['seconds'] / e['seconds']:.2f} cpu {n['cpu'] / e['cpu']:.2f}"
                  f" | numpy {same} {s_['seconds'] * 1e3:7.2f} ms, ratio wall {s_['seconds'] / e['seconds']:.2f} cpu {s_['cpu'] / e['cpu']:.2f}")
        print("top-16 SVD (error = max relative error of the 16 values vs LAPACK float64)")
        for sv in plan["svd"]:
            sk = best_of(refs["best"], "svd", sv["name"])
            print(f"  {sv['name']} ({sv['rows']} x {sv['cols']}): scikit-learn randomized_svd {sk['seconds'] * 1e3:.0f} ms "
                  f"(cpu {sk['cpu'] * 1e3:.0f} ms), error {sk['error']:.2e}")
            for tol in plan["tolerances"]:
                key = f"{tol:.0e}"
                b = min((e["svd"][sv["name"]][key] for e in runs), key=lambda x: x["seconds"])
                print(f"    engine tolerance {key}: {b['seconds'] * 1e3:6.0f} ms (cpu {b['cpu'] * 1e3:5.0f} ms), {b['steps']:2d} Krylov steps,"
                      f" error {b['error']:.2e} | {sk['seconds'] / b['seconds']:.1f}x faster than sklearn")
    # The widest instruction set first (the one the binary picks by default), whatever order the
    # result files were globbed in.
    preference = ["avx512", "avx2", "neon", "baseline"]
    paths = sorted(engs, key=lambda p: preference.index(p) if p in preference else len(preference))
    if len(paths) > 1:
        best = paths[0]
        print(f"\n== each path against the best path ({best}): time ratio best/path (1.00 = as fast; baseline target >= 0.25)")
        rows = [(p["name"], "products", p["name"]) for p in plan["products"]]
        rows += [(f"SVD {sv['name']} tol {tol:.0e}", "svd", sv["name"], f"{tol:.0e}") for sv in plan["svd"] for tol in plan["tolerances"]]
        print(f"  {'measure':<44}" + "".join(f"{p:>12}" for p in paths))
        for row in rows:
            def t(path):
                if row[1] == "products":
                    return best_of(engs[path], "products", row[2])["seconds"]
                return min(e["svd"][row[2]][row[3]]["seconds"] for e in engs[path])
            tb = t(best)
            print(f"  {row[0]:<44}" + "".join(f"{tb / t(p):12.2f}" for p in paths))


def safetensors_matrix(path, key):
    """One tensor of a safetensors file as a float32 matrix (out, in·kh·kw), read with numpy alone."""
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    entry = header[key]
    dtype = {"F16": "<f2", "BF16": None, "F32": "<f4"}[entry["dtype"]]
    begin, end = entry["data_offsets"]
    data = np.memmap(path, dtype=dtype, mode="r", offset=8 + n + begin, shape=((end - begin) // np.dtype(dtype).itemsize,))
    shape = entry["shape"]
    return np.asarray(data, dtype=np.float32).reshape(shape[0], -1)


def halko(a, k=16, oversample=10, power=4, seed=0):
    """Randomized SVD (Halko, Martinsson & Tropp 2011) with `power` QR-normalised power iterations."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(a @ rng.standard_normal((a.shape[1], k + oversample), dtype=np.float32))
    for _ in range(power):
        z, _ = np.linalg.qr(a.T @ q)
        q, _ = np.linalg.qr(a @ z)
    return np.linalg.svd(q.T @ a, compute_uv=False)[:k]


INSPECT_LAYERS = ["middle_block.0.in_layers.2", "output_blocks.0.1.transformer_blocks.0.ff.net.0.proj"]


def inspect(workdir, threads, binary, checkpoint, paths, repeats=5):
    import subprocess
    from threadpoolctl import threadpool_limits
    print(f"\n== weightlens inspect --top-k 16 --json (whole command, process start included; best of {repeats}) "
          f"vs numpy randomized SVD (Halko, 10 oversamples, 4 power iterations, {threads} threads; matrix already in memory)")
    for layer in INSPECT_LAYERS:
        key = f"model.diffusion_model.{layer}.weight"
        a = safetensors_matrix(checkpoint, key)
        cache = os.path.join(workdir, f"inspect-{layer}.lapack.json")
        if not os.path.exists(cache):
            # Top values from LAPACK's symmetric eigensolver on the short side's Gram matrix in
            # float64 (dsyevd): exact to ~1e-12 relative for the top 16.
            a64 = a.astype(np.float64)
            g = a64 @ a64.T if a.shape[0] <= a.shape[1] else a64.T @ a64
            top = np.sqrt(np.maximum(np.linalg.eigvalsh(g)[::-1][:16], 0))
            json.dump([float(x) for x in top], open(cache, "w"))
        exact = np.array(json.load(open(cache)))
        with threadpool_limits(limits=threads):
            halko(a)
            result = {}
            wall, cpu = best_time(lambda: result.__setitem__("s", halko(a)), repeats)
        herr = float(np.max(np.abs(result["s"] - exact) / exact))
        print(f"  {layer} {a.shape[0]}x{a.shape[1]}: numpy Halko {wall * 1e3:.0f} ms (cpu {cpu * 1e3:.0f} ms), error {herr:.1e}")
        for path in paths:
            env = dict(os.environ, WEIGHTLENS_KERNELS=path)
            for extra in ([], ["--effective-rank"]):
                if extra and path != paths[0]:
                    continue
                times, cpus, out = [], [], None
                for _ in range(repeats if not extra else 3):
                    t0 = time.perf_counter()
                    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    out = subprocess.run([binary, "inspect", checkpoint, "--layer", layer, "--top-k", "16", "--json"] + extra,
                                         env=env, check=True, capture_output=True, text=True).stdout
                    times.append(time.perf_counter() - t0)
                    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    # CPU time of both threads: on a shared machine it moves far less than wall time.
                    cpus.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
                values = np.array(json.loads(out)["singular_values"], dtype=np.float64)
                err = float(np.max(np.abs(values - exact) / exact))
                best = min(times)
                label = f"{path}{' --effective-rank' if extra else ''}"
                verdict = "" if extra else f" | {'meets' if best <= 0.3 and best <= 1.5 * wall and err <= 1e-4 else 'MISSES'} <= 300 ms, <= 1.5x numpy, error <= 1e-4"
                print(f"    weightlens inspect [{label:>24}] best {best * 1e3:6.0f} ms (cpu {min(cpus) * 1e3:.0f} ms), median {sorted(times)[len(times) // 2] * 1e3:6.0f} ms,"
                      f" {best / wall:.2f}x numpy's time, error {err:.1e}{verdict}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prepare":
        prepare(sys.argv[2])
    elif cmd == "measure":
        measure(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "best")
    elif cmd == "inspect":
        inspect(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6:])
    elif cmd == "summarize":
        summarize(sys.argv[2])
    else:
        sys.exit(__doc__)
