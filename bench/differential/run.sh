#!/usr/bin/env bash
# Differential check: mutated-but-valid files read by WeightLens and by the reference library must
# give the same tensors (key, dtype, shape, float32 values). Release build, like every bench.
#   bash bench/differential/run.sh [ROUNDS] [safetensors|gguf|all]   (default 700 all; SEED=n picks another sequence)
# safetensors: the Python `safetensors` package writes and validates every file; the seeds are the
# real fixtures. gguf: llama.cpp's `gguf` package (gguf-py) writes and reads back every file; the
# seeds are its fixtures in Tests/Fixtures/tools/gguf. Counts per mutation kind go to docs/SECURITY.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS="${1:-700}"
WHICH="${2:-all}"
scratch=(--scratch-path "${SCRATCH_PATH:-.build}")
if [ -z "${WEIGHTLENS_BIN:-}" ]; then
    echo "== swift build -c release" >&2
    swift build -c release "${scratch[@]}" --product weightlens >&2
    WEIGHTLENS_BIN="$(swift build -c release "${scratch[@]}" --show-bin-path)/weightlens"
fi
python="${PYTHON:-python3}"
[ -x .venv/bin/python ] && python=.venv/bin/python
"$python" -c "import safetensors, numpy" 2>/dev/null || "$python" -m pip install -q --disable-pip-version-check safetensors numpy
status=0
if [ "$WHICH" != gguf ]; then
    echo "== safetensors $("$python" -c 'import safetensors; print(safetensors.__version__)'), numpy $("$python" -c 'import numpy; print(numpy.__version__)')"
    F=Tests/Fixtures
    "$python" bench/differential/diff.py --bin "$WEIGHTLENS_BIN" --rounds "$ROUNDS" --seed "${SEED:-1}" \
        $F/real/lpips_v0.1_alex.safetensors $F/real/lpips_v0.1_squeeze.safetensors $F/real/facenet_pnet.safetensors \
        $F/real/pesto_mir1k.safetensors $F/tools/diffusers_flux/transformer/diffusion_pytorch_model-00005-of-00005.safetensors \
        || status=1
fi
if [ "$WHICH" != safetensors ]; then
    # The version the fixtures were written with (Tests/Fixtures/tools/versions.txt).
    "$python" -c "import gguf" 2>/dev/null || "$python" -m pip install -q --disable-pip-version-check "gguf==0.19.0"
    echo "== gguf $("$python" -c 'import importlib.metadata as m; print(m.version("gguf"))'), numpy $("$python" -c 'import numpy; print(numpy.__version__)')"
    "$python" bench/differential/gguf_diff.py --bin "$WEIGHTLENS_BIN" --rounds "$ROUNDS" --seed "${SEED:-1}" \
        Tests/Fixtures/tools/gguf/types.gguf Tests/Fixtures/tools/gguf/v2_align64.gguf || status=1
fi
exit $status
