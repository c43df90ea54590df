"""`weightlens make-checkpoint --format gguf --quant TYPE`, checked with llama.cpp's gguf-py:
gguf-py reads every file; for F32, F16, BF16 and Q4_0..Q8_0 the whole file is byte for byte the
one gguf-py's GGUFWriter writes from the same float32 values (those of `--dtype f32`) with
gguf.quants.quantize; K-quants dequantize (gguf-py) close to the values."""
import subprocess

import gguf
import numpy as np
import pytest

from gguf_support import read_safetensors_f32

EXACT = ["F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0"]
# Bound on the RMS error relative to each tensor's RMS, for the K-quants (ours round each value
# to the nearest level of scales chosen to cover its sub-block, docs/FORMATS.md).
K_QUANTS = {"Q2_K": 0.45, "Q3_K": 0.25, "Q4_K": 0.12, "Q5_K": 0.06, "Q6_K": 0.03}


@pytest.fixture(scope="module")
def twin(weightlens_bin, tmp_path_factory):
    d = tmp_path_factory.mktemp("make_gguf")
    path = d / "flux_s32_f32.safetensors"
    subprocess.run([weightlens_bin, "make-checkpoint", "--layout", "flux", "--scale", "32", "--parts",
                    "diffusion-model", "--dtype", "f32", "--out", str(path)], check=True, capture_output=True)
    return d, read_safetensors_f32(path)


def make(weightlens_bin, folder, quant):
    out = folder / f"flux_s32_{quant}.gguf"
    r = subprocess.run([weightlens_bin, "make-checkpoint", "--layout", "flux", "--scale", "32", "--parts",
                        "diffusion-model", "--format", "gguf", "--quant", quant, "--out", str(out)],
                       check=True, capture_output=True, text=True)
    assert f"GGUF {quant}" in r.stdout
    return out


@pytest.mark.parametrize("quant", EXACT)
def test_gguf_file_is_byte_for_byte_gguf_py(weightlens_bin, twin, quant):
    folder, values = twin
    ours = make(weightlens_bin, folder, quant)
    reader = gguf.GGUFReader(str(ours))
    assert reader.fields["general.architecture"].contents() == "flux"
    assert len(reader.tensors) == len(values)
    # Rewrite the same tensors, in the same order and types, with gguf-py's writer and quantizer.
    again = folder / f"gguf_py_{quant}.gguf"
    w = gguf.GGUFWriter(str(again), arch="flux")
    w.add_quantization_version(2)
    if "general.file_type" in reader.fields:
        w.add_file_type(int(reader.fields["general.file_type"].contents()))
    quantized = 0
    for t in reader.tensors:
        v = values[t.name]
        q = t.tensor_type
        if q == gguf.GGMLQuantizationType.F32:
            w.add_tensor(t.name, v)
        elif q == gguf.GGMLQuantizationType.F16:
            w.add_tensor(t.name, v.astype(np.float16))
        else:
            w.add_tensor(t.name, gguf.quants.quantize(v, q), raw_dtype=q)
            quantized += 1
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    assert quantized > 0 or quant in ("F32", "F16")
    assert ours.read_bytes() == again.read_bytes()


@pytest.mark.parametrize("quant", sorted(K_QUANTS))
def test_k_quants_read_by_gguf_py_close_to_the_values(weightlens_bin, twin, quant):
    folder, values = twin
    reader = gguf.GGUFReader(str(make(weightlens_bin, folder, quant)))
    seen = 0
    for t in reader.tensors:
        if t.tensor_type.name != quant:
            continue
        seen += 1
        got = gguf.quants.dequantize(t.data, t.tensor_type).reshape(values[t.name].shape)
        want = values[t.name]
        rms = float(np.sqrt(np.mean(want.astype(np.float64) ** 2)))
        err = float(np.sqrt(np.mean((got.astype(np.float64) - want) ** 2)))
        assert err <= K_QUANTS[quant] * rms, (t.name, err, rms)
    assert seen >= 3  # at scale 32 only rows of 256, 768… are whole K blocks
