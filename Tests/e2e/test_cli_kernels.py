"""The engine's kernel paths through the real CLI: WEIGHTLENS_KERNELS forces each path this machine
supports (same singular values on every path, the path named by --version), and a path the CPU
cannot run is refused with one sentence and exit status 1 (docs/ENGINE.md, "Kernel dispatch")."""
import json
import os
import platform
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "pysupport"))
from weightlens_binary import weightlens_binary  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "Fixtures", "real", "facenet_onet_f16.safetensors")
X86 = ["avx512", "avx2", "baseline"]


def run(args, kernels=None):
    env = dict(os.environ)
    env.pop("WEIGHTLENS_KERNELS", None)
    if kernels is not None:
        env["WEIGHTLENS_KERNELS"] = kernels
    return subprocess.run([weightlens_binary()] + args, env=env, capture_output=True, text=True, timeout=120)


def supported_paths():
    return [p for p in X86 + ["neon"] if run(["--version"], p).returncode == 0]


def test_default_is_the_best_supported_path_and_each_path_gives_the_same_values():
    paths = supported_paths()
    assert paths, "no kernel path runs"
    if platform.machine() in ("x86_64", "AMD64"):
        assert "baseline" in paths and "neon" not in paths
    default = run(["--version"])
    assert default.returncode == 0 and f"kernels: {paths[0]} " in default.stdout
    results = {}
    for path in paths:
        assert f"kernels: {path} " in run(["--version"], path).stdout
        out = run(["inspect", FIXTURE, "--layer", "conv3", "--top-k", "8", "--json"], path)
        assert out.returncode == 0, out.stderr
        results[path] = json.loads(out.stdout)["singular_values"]
    reference = results[paths[0]]
    for path, values in results.items():
        assert all(abs(a - b) <= 1e-4 * abs(b) for a, b in zip(values, reference)), (path, values, reference)


def test_a_path_this_machine_cannot_run_is_refused():
    lacking = "neon" if platform.machine() in ("x86_64", "AMD64") else "avx2"
    out = run(["inspect", FIXTURE, "--layer", "conv3"], lacking)
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().startswith(f"weightlens: The {lacking} kernels cannot run on this machine's CPU; it supports ")
    assert len(out.stderr.strip().splitlines()) == 1
    unknown = run(["--version"], "sse9")
    assert unknown.returncode == 1 and "WEIGHTLENS_KERNELS=sse9 is not a kernel path" in unknown.stderr
