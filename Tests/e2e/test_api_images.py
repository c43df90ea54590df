"""POST /upload/mask and GET /view?channel= against a real `weightlens serve`."""
import json

import pytest
import requests

from api_support import Server
from png_support import decode, encode_rgba


@pytest.fixture(scope="module")
def server(weightlens_bin, tmp_path_factory):
    s = Server(weightlens_bin, tmp_path_factory.mktemp("images"))
    yield s
    s.stop()


def upload(server, path, name, data, **fields):
    return requests.post(server.url + path, files={"image": (name, data, "image/png")}, data=fields)


def test_mask_upload_applies_the_alpha_the_way_the_mask_editor_uses_it(server):
    original = [(x * 40, y * 40, 9, 255) for y in range(3) for x in range(4)]
    assert upload(server, "/upload/image", "orig.png", encode_rgba(4, 3, original)).status_code == 200
    mask = [(1, 2, 3, x * 60 + y) for y in range(3) for x in range(4)]
    ref = json.dumps({"filename": "orig.png", "subfolder": "", "type": "input"})
    r = upload(server, "/api/upload/mask", "clipspace-mask.png", encode_rgba(4, 3, mask),
               type="input", subfolder="clipspace", original_ref=ref)
    assert r.status_code == 200
    assert r.json() == {"name": "clipspace-mask.png", "subfolder": "clipspace", "type": "input"}
    saved = server.get("/view?filename=clipspace-mask.png&subfolder=clipspace&type=input")
    assert decode(saved.content) == (4, 3, [o[:3] + (m[3],) for o, m in zip(original, mask)])

    # The frontend reads the mask back with channel=a and the picture with channel=rgb.
    alpha = server.get("/api/view?filename=clipspace-mask.png&subfolder=clipspace&type=input&channel=a&rand=0.1")
    assert alpha.status_code == 200 and alpha.headers["Content-Type"] == "image/png"
    assert decode(alpha.content) == (4, 3, [(0, 0, 0, m[3]) for m in mask])
    rgb = server.get("/api/view?filename=clipspace-mask.png&subfolder=clipspace&type=input&channel=rgb")
    assert decode(rgb.content) == (4, 3, original)
    assert server.get("/view?filename=clipspace-mask.png&subfolder=clipspace&type=input&channel=rgba").content == saved.content
    assert server.get("/view?filename=clipspace-mask.png&subfolder=clipspace&type=input&preview=webp;50").content == saved.content


def test_mask_of_another_size_is_scaled_nearest_neighbour(server):
    upload(server, "/upload/image", "big.png", encode_rgba(4, 2, [(5, 5, 5, 255)] * 8))
    ref = json.dumps({"filename": "big.png", "type": "input"})
    r = upload(server, "/upload/mask", "small-mask.png", encode_rgba(2, 1, [(0, 0, 0, 10), (0, 0, 0, 200)]), original_ref=ref)
    assert r.status_code == 200
    _, _, pixels = decode(server.get("/view?filename=small-mask.png&type=input").content)
    assert [p[3] for p in pixels] == [10, 10, 200, 200, 10, 10, 200, 200]


def test_mask_upload_refuses_bad_input_with_a_reason(server):
    upload(server, "/upload/image", "ok.png", encode_rgba(1, 1, [(1, 1, 1, 255)]))
    ref = json.dumps({"filename": "ok.png", "type": "input"})
    not_png = upload(server, "/upload/mask", "m.png", b"\xff\xd8\xff\xe0jpeg", original_ref=ref)
    assert not_png.status_code == 400 and "not a PNG" in not_png.json()["error"]
    missing = upload(server, "/upload/mask", "m.png", encode_rgba(1, 1, [(0, 0, 0, 0)]),
                     original_ref=json.dumps({"filename": "gone.png", "type": "input"}))
    assert missing.status_code == 404 and "gone.png" in missing.json()["error"]
    assert upload(server, "/upload/mask", "m.png", encode_rgba(1, 1, [(0, 0, 0, 0)])).status_code == 400
    escape = json.dumps({"filename": "ok.png", "type": "input", "subfolder": "../.."})
    assert upload(server, "/upload/mask", "m.png", encode_rgba(1, 1, [(0, 0, 0, 0)]), original_ref=escape).status_code == 403
    assert server.get("/view?filename=m.png&type=input").status_code == 404
