#!/usr/bin/env python3
"""Writes the generated fuzz seeds into fuzz/corpus/<Target>/ (Python standard library only).

    python3 fuzz/make_seeds.py

Seeds are small (a few KB at most): valid files in each container's real layouts, copies of the
smallest real fixtures (Tests/Fixtures), and hand-made hostile cases that the readers must refuse
with a typed error. Torch containers are written without torch: the pickles name torch's globals
(`torch._utils._rebuild_tensor_v2`, `torch.FloatStorage`) through stand-in modules, with the
persistent ids torch writes, and the zip and legacy framing follow torch's serialization.
Re-running the script rewrites the same files (no randomness).
"""
import collections
import io
import json
import os
import pickle
import shutil
import struct
import sys
import types
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    assert len(data) <= 16384, (target, name, len(data))
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


def copy_fixture(target, relative, name=None):
    src = os.path.join(ROOT, relative)
    assert os.path.getsize(src) <= 16384, relative
    put(target, name or os.path.basename(relative), open(src, "rb").read())


# ---------------------------------------------------------------- safetensors

def safetensors(header, data=b"", raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":"))
    h = h if isinstance(h, bytes) else h.encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data


def st_file(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes)."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return safetensors(header, data)


def f32(*v):
    return struct.pack("<%df" % len(v), *v)


def safetensors_seeds():
    t = "SafeTensorsFuzz"
    put(t, "two-tensors", st_file([("a", "F32", [2], f32(1, 2)), ("b", "F16", [1, 2], b"\x00\x3c\x00\xc0")],
                                  {"format": "pt"}))
    put(t, "all-dtypes", st_file([(n, d, [2], b"\x01" * (2 * s)) for n, d, s in [
        ("f64", "F64", 8), ("f32", "F32", 4), ("f16", "F16", 2), ("bf16", "BF16", 2), ("i64", "I64", 8),
        ("i32", "I32", 4), ("i16", "I16", 2), ("i8", "I8", 1), ("u8", "U8", 1), ("b", "BOOL", 1),
        ("e4", "F8_E4M3", 1), ("e5", "F8_E5M2", 1)]]))
    put(t, "scalar-and-empty", st_file([("s", "F32", [], f32(3)), ("e", "F32", [0, 4], b""), ("e2", "F16", [2, 0], b"")]))
    put(t, "conv-weight", st_file([("model.diffusion_model.input_blocks.0.0.weight", "F16", [2, 1, 3, 3], b"\x00\x3c" * 18),
                                   ("model.diffusion_model.input_blocks.0.0.bias", "F16", [2], b"\x00\x3c" * 2)]))
    put(t, "empty-header", safetensors({}))
    # Hostile: each must be refused with a reason.
    put(t, "bad-huge-length", struct.pack("<Q", 2 ** 63) + b'{"a":1}')
    put(t, "bad-overflow-shape", safetensors({"a": {"dtype": "F32", "shape": [2 ** 32, 2 ** 32, 16], "data_offsets": [0, 8]}}, f32(1, 2)))
    put(t, "bad-overlap", safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                       "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, f32(1, 2)))
    put(t, "bad-offsets-past-end", safetensors({"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, f32(1, 2)))
    put(t, "bad-u64-offset", safetensors(None, f32(1, 2),
                                         raw_header='{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551615]}}'))
    put(t, "bad-deep-json", safetensors(None, b"", raw_header="{\"a\":" + "[" * 300 + "]" * 300 + "}"))
    put(t, "bad-dup-key", safetensors(None, f32(1, 2) * 2, raw_header='{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                                                        '"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}'))
    put(t, "bad-utf8", safetensors(None, b"", raw_header=b'{"\xff":{}}'))
    copy_fixture(t, "Tests/Fixtures/tools/scaled_fp8.safetensors")
    copy_fixture(t, "Tests/Fixtures/real/lpips_v0.0_alex.safetensors")


def sharded_seeds():
    t = "ShardedIndexFuzz"
    put(t, "both-shards", json.dumps({"metadata": {"total_size": 14},
                                      "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}}))
    put(t, "one-shard", json.dumps({"weight_map": {"z": "b.safetensors"}}))
    put(t, "bad-missing-key", json.dumps({"weight_map": {"q": "a.safetensors"}}))
    put(t, "bad-climb", json.dumps({"weight_map": {"x": "../a.safetensors"}}))
    put(t, "bad-absolute", json.dumps({"weight_map": {"x": "/etc/passwd"}}))
    put(t, "bad-not-string", json.dumps({"weight_map": {"x": 7}}))
    put(t, "bad-missing-shard", json.dumps({"weight_map": {"x": "c.safetensors"}}))
    put(t, "bad-empty", json.dumps({"weight_map": {}}))
    put(t, "bad-shard-is-index", json.dumps({"weight_map": {"x": "model.safetensors.index.json"}}))
    copy_fixture(t, "Tests/Fixtures/tools/diffusers_flux/transformer/diffusion_pytorch_model.safetensors.index.json",
                 "flux-diffusers-index")


# ---------------------------------------------------------------- torch pickles without torch

def _install_fake_torch():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise RuntimeError("never called")

    def _rebuild_tensor(*args):
        raise RuntimeError("never called")

    def _rebuild_parameter(*args):
        raise RuntimeError("never called")

    for f in (_rebuild_tensor_v2, _rebuild_tensor, _rebuild_parameter):
        f.__module__ = "torch._utils"
        f.__qualname__ = f.__name__
        setattr(utils, f.__name__, f)
    for name in ("FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "UntypedStorage"):
        cls = type(name, (), {"__module__": "torch"})
        setattr(torch, name, cls)
    torch._utils = utils
    sys.modules["torch"] = torch
    sys.modules["torch._utils"] = utils
    return torch, utils


TORCH, UTILS = _install_fake_torch()
ELEMENT = {"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "LongStorage": 8, "UntypedStorage": 1}


class Storage:
    def __init__(self, key, cls, count, legacy=False):
        self.key, self.cls, self.count, self.legacy = key, cls, count, legacy

    def data(self):
        return bytes((i * 7 + 1) & 0xFF for i in range(self.count * ELEMENT[self.cls]))


class Tensor:
    def __init__(self, storage, offset, shape, stride, v2=True, parameter=False):
        self.storage, self.offset, self.shape, self.stride = storage, offset, shape, stride
        self.v2, self.parameter = v2, parameter

    def __reduce_ex__(self, protocol):
        if self.v2:
            args = (self.storage, self.offset, tuple(self.shape), tuple(self.stride), False, collections.OrderedDict())
            inner = (UTILS._rebuild_tensor_v2, args)
        else:
            inner = (UTILS._rebuild_tensor, (self.storage, self.offset, tuple(self.shape), tuple(self.stride)))
        if self.parameter:
            return (UTILS._rebuild_parameter, (_Call(inner), False, collections.OrderedDict()))
        return inner


class _Call:
    def __init__(self, reduced):
        self.reduced = reduced

    def __reduce_ex__(self, protocol):
        return self.reduced


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            pid = ("storage", getattr(TORCH, obj.cls), obj.key, "cpu", obj.count)
            return pid + (None,) if obj.legacy else pid
        return None


def torch_pickle(obj, protocol=2):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=protocol).dump(obj)
    return buf.getvalue()


def state_dict(legacy=False):
    s0 = Storage("0", "FloatStorage", 24, legacy)
    s1 = Storage("1", "HalfStorage", 4, legacy)
    s2 = Storage("2", "LongStorage", 1, legacy)
    sd = collections.OrderedDict()
    sd["conv.weight"] = Tensor(s0, 0, [2, 1, 3, 3], [9, 9, 3, 1])
    sd["linear.weight"] = Tensor(s0, 18, [3, 2], [1, 3])             # transposed view of the same storage
    sd["linear.bias"] = Tensor(s1, 1, [3], [1], parameter=True)
    sd["steps"] = Tensor(s2, 0, [], [], v2=False)
    return sd, [s0, s1, s2]


def torch_zip(obj, storages, prefix="archive", force_zip64=False, extra=()):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as z:
        def add(name, data):
            with z.open(name, "w", force_zip64=force_zip64) as f:
                f.write(data)
        add(prefix + "/data.pkl", torch_pickle(obj))
        add(prefix + "/byteorder", b"little")
        for s in storages:
            add(prefix + "/data/" + s.key, s.data())
        add(prefix + "/version", b"3\n")
        for name, data in extra:
            add(name, data)
    return buf.getvalue()


def torch_legacy(obj, storages, protocol=2):
    out = pickle.dumps(0x1950A86A20F9469CFC6C, protocol=protocol)
    out += pickle.dumps(1001, protocol=protocol)
    out += pickle.dumps({"protocol_version": 1001, "little_endian": True,
                         "type_sizes": {"short": 2, "int": 4, "long": 4}}, protocol=protocol)
    out += torch_pickle(obj, protocol)
    out += pickle.dumps([s.key for s in storages], protocol=protocol)
    for s in storages:
        out += struct.pack("<q", s.count) + s.data()
    return out


def torch_seeds():
    sd, storages = state_dict()
    z = "TorchZipFuzz"
    put(z, "state-dict", torch_zip(sd, storages))
    put(z, "state-dict-zip64", torch_zip(sd, storages, force_zip64=True))
    put(z, "lightning", torch_zip({"epoch": 3, "state_dict": sd, "hyper_parameters": {"lr": 0.1}}, storages, prefix="mir-1k"))
    put(z, "bad-missing-record", torch_zip(sd, storages[:1]))
    put(z, "bad-two-pickles", torch_zip(sd, storages, extra=[("other/data.pkl", torch_pickle({}))]))
    put(z, "bad-climb", torch_zip(sd, storages, extra=[("../evil", b"x")]))
    bad = bytearray(torch_zip(sd, storages))
    bad[-12:-8] = struct.pack("<I", 0xFFFFFF00)        # central directory size past the file
    put(z, "bad-cd-size", bytes(bad))
    one = Storage("0", "FloatStorage", 1)
    put(z, "bad-huge-repeated-view", torch_zip({"w": Tensor(one, 0, [1 << 17, 1 << 17], [0, 0])}, [one]))
    put(z, "repeated-view", torch_zip({"w": Tensor(one, 0, [4, 3], [0, 0])}, [one]))
    compressed = io.BytesIO()
    with zipfile.ZipFile(compressed, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [("archive/data.pkl", torch_pickle(sd))] + [("archive/data/" + s.key, s.data()) for s in storages]:
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, compress_type=zipfile.ZIP_DEFLATED)
    put(z, "bad-deflated", compressed.getvalue())

    legacy_sd, legacy_storages = state_dict(legacy=True)
    l = "TorchLegacyFuzz"
    put(l, "state-dict-p2", torch_legacy(legacy_sd, legacy_storages, 2))
    put(l, "state-dict-p4", torch_legacy(legacy_sd, legacy_storages, 4))
    put(l, "bad-negative-count", torch_legacy(legacy_sd, legacy_storages)[:-(24 * 4 + 4 * 2 + 8 + 24)]
        + struct.pack("<q", -5))
    one = Storage("0", "HalfStorage", 1, legacy=True)
    put(l, "bad-huge-repeated-view", torch_legacy({"w": Tensor(one, 0, [1 << 13, 1 << 12], [0, 0])}, [one]))
    copy_fixture(l, "Tests/Fixtures/real/lpips_v0.1_alex.pth")
    copy_fixture(l, "Tests/Fixtures/real/lpips_v0.0_alex.pth")

    p = "PickleFuzz"
    put(p, "state-dict-p2", torch_pickle(sd, 2))
    put(p, "state-dict-p5", torch_pickle(sd, 5))
    put(p, "state-dict-p0", torch_pickle(legacy_sd, 0))
    put(p, "builtins", pickle.dumps({"a": [1, 2.5, None, True, b"xy", "é" * 3, (1, 2), frozenset([3]), {4},
                                           2 ** 70, -2 ** 63, bytearray(b"z")]}, protocol=4))
    put(p, "memo-and-cycle", _cyclic())
    put(p, "bad-os-system", b"cos\nsystem\n(S'echo pwned'\ntR.")
    put(p, "bad-builtins-eval", b"\x80\x02cbuiltins\neval\nq\x00X\x04\x00\x00\x001+1q\x01\x85q\x02Rq\x03.")
    put(p, "bad-stack-underflow", b"\x80\x02s.")
    put(p, "bad-deep-marks", b"\x80\x02" + b"(" * 8000 + b".")
    with zipfile.ZipFile(os.path.join(ROOT, "Tests/Fixtures/real/pesto_mir1k_g7.ckpt")) as zf:
        put(p, "pesto-lightning-omegaconf", zf.read("mir-1k_g7/data.pkl") if "mir-1k_g7/data.pkl" in zf.namelist()
            else zf.read([n for n in zf.namelist() if n.endswith("data.pkl")][0]))


def _cyclic():
    d = {"state_dict": {}}
    d["self"] = d
    lst = [d, d]
    return pickle.dumps({"outer": lst, "state_dict": {}}, protocol=2)


# ---------------------------------------------------------------- JSON, HTTP, graph inputs

def text_seeds():
    j = "OrderedJSONFuzz"
    put(j, "object", '{"b":1,"a":[true,false,null,-0.5e-3,"x\\u00e9\\ud83d\\ude00"],"c":{"":{}}}')
    put(j, "numbers", "[0,-1,1e308,1e309,-1e-400,123456789012345678901234567890,0.1,9007199254740993]")
    put(j, "escapes", '"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000"')
    put(j, "lone-surrogate", '"\\ud800"')
    put(j, "bad-deep", "[" * 100 + "]" * 100)
    put(j, "bad-trailing", '{"a":1,}')
    copy_fixture(j, "Tests/Fixtures/comfyui/ws_messages_execution_error.json")
    copy_fixture(j, "Tests/Fixtures/comfyui/post_prompt_success.json")

    m = "MultipartFuzz"
    body = ("--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
            "\x89PNG\r\n--b\r\nContent-Disposition: form-data; name=\"overwrite\"\r\n\r\ntrue\r\n--b--\r\n")
    put(m, "upload", "multipart/form-data; boundary=b\n" + body)
    put(m, "quoted-boundary", 'multipart/form-data; boundary="a b"\n--a b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--a b--')
    put(m, "bad-no-close", "multipart/form-data; boundary=b\n--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1")
    put(m, "bad-no-name", "multipart/form-data; boundary=b\n--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--")

    pd = "PercentDecodingFuzz"
    for i, s in enumerate(["/view?filename=a%20b.png&type=temp&subfolder=", "/a/%2e%2e/%2F/b/", "%C3%A9%E2%82%AC+x",
                           "%", "%G0", "%ff%fe", "a=1&b&=c&&d=%zz", "/api/userdata/workflows%2Fa.json"]):
        put(pd, "s%d" % i, s)

    b = "BlockGrammarFuzz"
    for i, s in enumerate([b"\x00IN04, M00, OUT08", b"\x04in4-out2", b"\x01D00-S12", b"\x02J3, J00-J37", b"\x00*",
                           b"\x00OUT08-IN00", b"\x00IN99999999999999999999", b"\x03 , ,-"]):
        put(b, "e%d" % i, s)

    w = "WorkflowConversionFuzz"
    for name in ["workflow_weight_visualization.json", "list_layers_by_block_demo.json", "visualize_attention_query_demo.json"]:
        copy_fixture(w, "workflows/" + name)
    put(w, "subgraph", json.dumps({
        "nodes": [{"id": 1, "type": "sg-1", "mode": 0, "inputs": [], "outputs": [], "widgets_values": []}],
        "links": [],
        "definitions": {"subgraphs": [{"id": "sg-1", "nodes": [
            {"id": 5, "type": "CheckpointLoaderSimple", "mode": 0, "inputs": [],
             "outputs": [{"name": "MODEL", "type": "MODEL", "links": [9]}], "widgets_values": ["sdxl_synthetic_fp16.safetensors"]},
            {"id": 6, "type": "LTListLayers", "mode": 0, "inputs": [{"name": "model", "type": "MODEL", "link": 9}],
             "outputs": [], "widgets_values": ["", 0]}],
            "links": [[9, 5, 0, 6, 0, "MODEL"]]}]}}))
    put(w, "bypass-and-reroute", json.dumps({
        "nodes": [{"id": 1, "type": "Reroute", "mode": 0, "inputs": [{"name": "", "type": "*", "link": 1}], "outputs": [{"links": [2]}]},
                  {"id": 2, "type": "CheckpointLoaderSimple", "mode": 4, "inputs": [], "outputs": [{"links": [1]}], "widgets_values": ["x"]},
                  {"id": 3, "type": "PrimitiveNode", "mode": 0, "outputs": [{"links": [3]}], "widgets_values": [7]},
                  {"id": 4, "type": "LTListLayers", "mode": 0, "inputs": [{"name": "model", "link": 2}], "widgets_values": []}],
        "links": [[1, 2, 0, 1, 0, "MODEL"], [2, 1, 0, 4, 0, "MODEL"], [3, 3, 0, 4, 1, "INT"]]}))
    put(w, "bad-link-cycle", json.dumps({"nodes": [{"id": 1, "type": "Reroute", "inputs": [{"link": 1}], "outputs": [{"links": [1]}]}],
                                         "links": [[1, 1, 0, 1, 0, "*"]]}))

    p = "PromptValidationFuzz"
    copy_fixture(p, "workflows/workflow_weight_visualization_api.json")
    copy_fixture(p, "workflows/visualize_attention_query_demo_api.json")
    put(p, "cycle", json.dumps({"1": {"class_type": "PreviewImage", "inputs": {"images": ["2", 0]}},
                                "2": {"class_type": "LTVisualizeWeights", "inputs": {"model": ["2", 0]}}}))
    put(p, "partial-targets", json.dumps({"prompt": {"1": {"class_type": "CheckpointLoaderSimple",
                                                           "inputs": {"ckpt_name": "sub/model.ckpt"}},
                                                     "2": {"class_type": "LTListLayers", "inputs": {"model": ["1", 0]}}},
                                          "partial_execution_targets": ["2"]}))
    put(p, "bad-class", json.dumps({"1": {"class_type": "os.system", "inputs": {}}}))
    put(p, "bad-link-types", json.dumps({"1": {"class_type": "PreviewImage", "inputs": {"images": ["9", "x"]}},
                                         "9": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": 5}}}))


if __name__ == "__main__":
    safetensors_seeds()
    sharded_seeds()
    torch_seeds()
    text_seeds()
    # The request and frame parsers keep their hand-written seeds; nothing else is touched.
    print("seeds written under", os.path.relpath(CORPUS, os.getcwd()))
