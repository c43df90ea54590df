"""GET endpoints against a real `weightlens serve`: paths, aliases and transcript shapes."""
import json
import re

import pytest

from api_support import Server, new_client_id


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    s = Server(weightlens_bin, tmp_path_factory.mktemp("endpoints"))
    yield s
    s.stop()


@pytest.mark.parametrize("prefix", ["", "/api"])
def test_plain_gets_have_the_transcript_shapes(server, prefix):
    r = server.get(prefix + "/queue")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    assert r.json() == {"queue_running": [], "queue_pending": []}
    assert list(server.get(prefix + "/prompt").json()) == ["exec_info"]
    assert server.get(prefix + "/embeddings").json() == []
    features = server.get(prefix + "/features").json()
    assert features["supports_preview_metadata"] is True and features["max_upload_size"] == 104857600
    models = server.get(prefix + "/models").json()
    assert models[0] == "checkpoints" and "custom_nodes" in models
    assert server.get(prefix + "/models/checkpoints").json() == ["weightlens_demo_sdxl_synthetic.safetensors",
                                                                 "weightlens_real_mobilenetv2.safetensors"]
    assert server.get(prefix + "/models/nope").status_code == 404
    assert server.get(prefix + "/users").json() == {"storage": "server", "migrated": True}
    stats = server.get(prefix + "/system_stats").json()
    assert list(stats) == ["system", "devices"]
    for key in ["os", "ram_total", "ram_free", "comfyui_version", "required_frontend_version", "python_version",
                "pytorch_version", "embedded_python", "argv"]:
        assert key in stats["system"]
    assert all(isinstance(stats["devices"][0][k], int) for k in ["vram_total", "vram_free", "torch_vram_total", "torch_vram_free"])


def test_extensions_lists_only_served_scripts(server):
    for path in server.get("/api/extensions").json():
        assert server.get(path).status_code == 200, path


def test_object_info_keeps_declared_order_and_fills_checkpoints(server):
    info = server.get("/api/object_info").json()
    for name in ["CheckpointLoaderSimple", "LTListLayers", "LTVisualizeWeights", "ShowText|pysssss"]:
        assert name in info
        for key in ["input", "input_order", "output", "output_is_list", "output_name", "name", "display_name",
                    "description", "python_module", "category", "output_node"]:
            assert key in info[name], (name, key)
    viz = info["LTVisualizeWeights"]
    assert viz["input_order"]["required"][:4] == ["model", "layer_name", "num_filters", "visualization_mode"]
    assert list(viz["input"]["required"])[:4] == ["model", "layer_name", "num_filters", "visualization_mode"]
    assert info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] == [
        "weightlens_demo_sdxl_synthetic.safetensors", "weightlens_real_mobilenetv2.safetensors"]
    one = server.get("/object_info/LTListLayers").json()
    assert list(one) == ["LTListLayers"] and one["LTListLayers"] == info["LTListLayers"]
    assert server.get("/object_info/NoSuchNode").json() == {}


def test_unknown_routes_are_404(server):
    for path in ["/nope", "/api/nope", "/api/history/a/b", "/internal/nothing", "/extensions/other/x.js"]:
        assert server.get(path).status_code == 404, path


def test_frontend_boot_calls_answer(server):
    assert server.get("/api/i18n").json() == {}
    assert server.get("/api/global_subgraphs").json() == {}
    assert isinstance(server.get("/api/workflow_templates").json(), dict)
    assert server.get("/api/userdata?dir=subgraphs&recurse=true&split=false&full_info=true").status_code in (200, 404)
    assert server.get("/api/userdata/comfy.templates.json").status_code == 404
    assert "checkpoints" in server.get("/internal/folder_paths").json()
    exp = server.get("/api/experiment/models").json()
    assert {"name": "checkpoints", "folders": exp[0]["folders"]} == exp[0]
    assert all(e["name"] not in ("configs", "custom_nodes") for e in exp)
    jobs = server.get("/api/jobs?status=completed,failed,cancelled&limit=64&offset=0")
    assert jobs.status_code == 200 and list(jobs.json()) == ["jobs", "pagination"]
    assert server.get("/api/jobs?status=in_progress,pending&limit=200&offset=0").status_code == 200
    r = server.post("/api/settings/Comfy.TutorialCompleted", "true", headers={"Content-Type": "text/plain"})
    assert r.status_code == 200
    assert server.get("/api/settings").json()["Comfy.TutorialCompleted"] is True


def test_root_serves_a_page(server):
    r = server.get("/")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    import requests
    viewer = server.get("/viewer")
    assert viewer.status_code == 200 and viewer.headers["Content-Type"].startswith("text/html")
    assert server.get("/viewer/viewer.js").headers["Content-Type"].startswith("application/javascript")
    assert server.get("/viewer/../Package.swift").status_code == 404
    head = requests.head(server.url + "/api/queue", timeout=10)
    assert head.status_code == 200 and head.content == b""


def test_websocket_first_message_is_status_with_sid(server):
    cid = new_client_id()
    ws, first = server.connect(cid)
    assert first == {"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": cid}}
    ws.send(json.dumps({"type": "feature_flags", "data": {"supports_preview_metadata": True}}))
    reply = json.loads(ws.recv())
    assert reply["type"] == "feature_flags" and reply["data"]["supports_preview_metadata"] is True
    ws.close()
    ws, first = server.connect()
    assert re.fullmatch(r"[0-9a-f]{32}", first["data"]["sid"])
    ws.close()


def test_view_refuses_traversal(server):
    assert server.get("/view?filename=nope.png&type=temp").status_code == 404
    assert server.get("/view?type=temp").status_code == 404
    assert server.get("/view?filename=../etc/passwd&type=temp").status_code == 400
    assert server.get("/view?filename=/etc/passwd").status_code == 400
    assert server.get("/view?filename=x.png&type=other").status_code == 400
    assert server.get("/view?filename=passwd&type=temp&subfolder=../../../../../etc").status_code == 403


def test_userdata_with_encoded_slashes(server):
    body = b'{"last_node_id": 0, "nodes": []}'
    r = server.post("/api/userdata/workflows%2Fmine%2Fa.json?overwrite=true&full_info=true", body)
    assert r.status_code == 200 and r.json()["path"] == "workflows/mine/a.json"
    assert server.post("/api/userdata/workflows%2Fmine%2Fa.json?overwrite=false", body).status_code == 409
    assert server.get("/api/userdata/workflows%2Fmine%2Fa.json").content == body
    listing = server.get("/api/userdata?dir=workflows&recurse=true&split=false&full_info=true").json()
    assert any(e["path"] == "mine/a.json" and isinstance(e["modified"], int) for e in listing)
    moved = server.post("/api/userdata/workflows%2Fmine%2Fa.json/move/workflows%2Fb.json")
    assert moved.status_code == 200 and moved.json()["path"] == "workflows/b.json"
    assert server.get("/api/userdata/workflows%2Fmine%2Fa.json").status_code == 404
    assert server.post("/api/userdata/..%2F..%2Fescape.json", body).status_code == 403
    import requests
    assert requests.delete(server.url + "/api/userdata/workflows%2Fb.json").status_code == 204


def test_upload_image_renames_on_conflict(server):
    png = b"\x89PNG\r\n\x1a\nfake"
    import requests
    r1 = requests.post(server.url + "/upload/image", files={"image": ("up.png", png, "image/png")})
    assert r1.json() == {"name": "up.png", "subfolder": "", "type": "input"}
    r2 = requests.post(server.url + "/upload/image", files={"image": ("up.png", png, "image/png")})
    assert r2.json()["name"] == "up.png"  # identical content is reused
    r3 = requests.post(server.url + "/upload/image", files={"image": ("up.png", png + b"2", "image/png")})
    assert r3.json()["name"] == "up (1).png"
    assert server.get("/view?filename=up%20(1).png&type=input").content == png + b"2"


def test_extra_model_paths_and_no_demo_when_a_checkpoint_exists(weightlens_bin, tmp_path):
    other = tmp_path / "comfy"
    (other / "models" / "checkpoints" / "sub").mkdir(parents=True)
    (other / "models" / "checkpoints" / "sub" / "mine.safetensors").write_bytes(b"\x08" + b"\x00" * 7 + b"{}      ")
    config = tmp_path / "extra_model_paths.yaml"
    config.write_text("comfyui:\n    base_path: comfy\n    checkpoints: models/checkpoints\n")
    s = Server(weightlens_bin, tmp_path / "base", ["--extra-model-paths-config", str(config)])
    try:
        assert s.get("/api/models/checkpoints").json() == ["sub/mine.safetensors"]
        assert str(other / "models" / "checkpoints") in s.get("/internal/folder_paths").json()["checkpoints"]
        # A file added while the server runs shows up without a restart.
        (tmp_path / "base" / "models" / "checkpoints" / "late.ckpt").write_bytes(b"x")
        assert s.get("/api/models/checkpoints").json() == ["late.ckpt", "sub/mine.safetensors"]
    finally:
        s.stop()


def test_temp_is_emptied_at_start_and_bad_config_refuses_to_start(weightlens_bin, tmp_path):
    (tmp_path / "base" / "temp").mkdir(parents=True)
    (tmp_path / "base" / "temp" / "old.png").write_bytes(b"x")
    s = Server(weightlens_bin, tmp_path / "base")
    try:
        assert not (tmp_path / "base" / "temp" / "old.png").exists()
    finally:
        s.stop()
    bad = tmp_path / "bad.yaml"
    bad.write_text("- just\n- a list\n")
    import subprocess
    p = subprocess.run([weightlens_bin, "serve", "--port", "0", "--base-directory", str(tmp_path / "base"),
                        "--extra-model-paths-config", str(bad)], capture_output=True, text=True, timeout=60)
    assert p.returncode != 0 and "extra model paths" in p.stderr


def test_tls_serves_api_and_websocket(weightlens_bin, tmp_path):
    import shutil
    import ssl
    import subprocess
    import requests
    import websocket
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost"], check=True, capture_output=True)
    s = Server(weightlens_bin, tmp_path / "base", ["--no-demo-checkpoint", "--tls-keyfile", str(key), "--tls-certfile", str(cert)])
    try:
        assert s.url.startswith("https://")
        assert requests.get(s.url + "/api/queue", verify=False, timeout=10).json() == {"queue_running": [], "queue_pending": []}
        ws = websocket.create_connection(s.ws_url + "/ws?clientId=tls", sslopt={"cert_reqs": ssl.CERT_NONE}, timeout=10)
        assert json.loads(ws.recv())["data"]["sid"] == "tls"
        ws.close()
    finally:
        s.stop()
