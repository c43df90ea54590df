"""End-to-end HTTP tests of the socket layer through `weightlens serve-static` with real clients."""
import gzip
import http.client
import os
import signal
import socket
import subprocess
import threading
import time

import pytest
import requests

from server_support import ServedDirectory, raw, status_of


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "root"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "assets" / "app.js").write_text("export const x = 1;\n")
    (root / "data.json").write_text('{"ok": true}')
    (root / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    (tmp_path / "secret.txt").write_text("top secret")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    return root


@pytest.fixture
def server(weightlens_bin, site):
    s = ServedDirectory(weightlens_bin, site, "--echo-ws", "--max-upload-size", "1",
                        "--header-timeout", "0.5", "--body-timeout", "0.5", "--idle-timeout", "2")
    yield s
    assert s.stop() == 0


def test_keep_alive_reuses_one_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/data.json")
    first = conn.getresponse()
    assert first.status == 200 and first.read() == b'{"ok": true}'
    sock = conn.sock
    for _ in range(10):
        conn.request("GET", "/assets/app.js")
        r = conn.getresponse()
        assert r.status == 200
        assert r.getheader("Content-Type") == "application/javascript; charset=utf-8"
        r.read()
    assert conn.sock is sock, "the connection was not kept alive"
    conn.close()


def test_pipelined_requests_answer_in_order(server):
    reqs = b"".join(f"GET /inspect/{i} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for i in range(20))
    reqs += b"GET /data.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    data = raw(server.port, reqs)
    bodies = [part for part in data.split(b"HTTP/1.1 200 OK") if part]
    assert len(bodies) == 21
    for i in range(20):
        assert f"segment {i}\n".encode() in bodies[i]
    assert bodies[20].endswith(b'{"ok": true}')


def test_chunked_upload_with_requests_is_reassembled(server):
    def gen():
        for i in range(50):
            yield (f"piece{i};" * 100).encode()
    r = requests.post(server.url + "/echo", data=gen(), timeout=5)
    assert r.status_code == 200
    assert r.content == b"".join((f"piece{i};" * 100).encode() for i in range(50))


def test_multipart_upload_is_parsed(server):
    files = {"image": ("photo.png", b"\x89PNG" + bytes(5000), "image/png")}
    r = requests.post(server.url + "/multipart", files=files, data={"overwrite": "true"}, timeout=5)
    assert r.status_code == 200
    assert r.text.splitlines() == ["overwrite - 4", "image photo.png 5004"]


def test_percent_encoded_slash_and_query(server):
    r = requests.get(server.url + "/inspect/workflows%2Fmy%20flow.json?dir=a+b&x=%E2%9C%93", timeout=5)
    assert r.text.splitlines() == ["segment inspect", "segment workflows/my flow.json", "query dir=a b", "query x=✓"]


def test_header_too_large_gets_431(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/data.json", headers={"X-Big": "a" * 20000})
    assert conn.getresponse().status == 431


def test_body_too_large_gets_413(server):
    r = requests.post(server.url + "/echo", data=b"x" * (2 * 1024 * 1024), timeout=5)
    assert r.status_code == 413


@pytest.mark.parametrize("request_bytes,status", [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n", 501),
    (b"TRACE / HTTP/1.1\r\nHost: x\r\n\r\n", 405),
    (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n", 400),
])
def test_malformed_requests_get_their_status(server, request_bytes, status):
    assert status_of(raw(server.port, request_bytes)) == status


def test_slowloris_header_times_out_with_408_while_others_are_served(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
    started = time.time()
    # Meanwhile a normal client is answered at once.
    assert requests.get(server.url + "/data.json", timeout=5).status_code == 200
    data = s.recv(4096)
    assert status_of(data) == 408
    assert time.time() - started < 3
    s.close()


def test_stalled_body_times_out_with_408(server):
    data = raw(server.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
    assert status_of(data) == 408


def test_idle_keep_alive_connection_is_closed(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=6)
    started = time.time()
    assert s.recv(10) == b""
    assert 1 < time.time() - started < 5
    s.close()


@pytest.mark.parametrize("path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/..%2F..%2Fsecret.txt",
                                  "/link.txt", "/assets/%2E%2E/%2E%2E/secret.txt", "//secret.txt"])
def test_traversal_attempts_are_refused(server, path):
    out = subprocess.run(["curl", "-s", "--path-as-is", "-o", "-", "-w", "\n%{http_code}", server.url + path],
                         capture_output=True, text=True, timeout=10).stdout
    body, code = out.rsplit("\n", 1)
    assert code in ("404", "400")
    assert "top secret" not in body


def test_curl_gzip_etag_and_range(server):
    out = subprocess.run(["curl", "-s", "--compressed", "-D", "-", server.url + "/blob?size=20000"],
                         capture_output=True, timeout=10).stdout
    head, body = out.split(b"\r\n\r\n", 1)
    assert b"content-encoding: gzip" in head.lower()
    assert body.startswith(b"[1,1,") and len(body) >= 19998
    r = requests.get(server.url + "/big.bin", timeout=10)
    etag = r.headers["ETag"]
    assert requests.get(server.url + "/big.bin", headers={"If-None-Match": etag}, timeout=5).status_code == 304
    part = requests.get(server.url + "/big.bin", headers={"Range": "bytes=100-199"}, timeout=5)
    assert part.status_code == 206 and part.content == r.content[100:200]
    assert len(r.content) == 3 * 1024 * 1024


def test_origin_guard_and_options(server):
    host = f"127.0.0.1:{server.port}"
    assert requests.post(server.url + "/echo", data=b"x", headers={"Origin": "http://evil.example"}, timeout=5).status_code == 403
    assert requests.post(server.url + "/echo", data=b"x", headers={"Origin": "http://" + host}, timeout=5).status_code == 200
    opt = requests.options(server.url + "/whatever", timeout=5)
    assert opt.status_code == 200 and opt.content == b""


def test_cors_mode_sends_allow_headers(weightlens_bin, site):
    s = ServedDirectory(weightlens_bin, site, "--enable-cors-header", "*")
    try:
        r = requests.get(s.url + "/data.json", headers={"Origin": "http://elsewhere"}, timeout=5)
        assert r.status_code == 200
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in r.headers["Access-Control-Allow-Methods"]
    finally:
        assert s.stop() == 0


def test_connection_cap_refuses_cleanly(weightlens_bin, site):
    s = ServedDirectory(weightlens_bin, site, "--max-connections", "3")
    try:
        held = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(3)]
        time.sleep(0.2)
        assert status_of(raw(s.port, b"GET /data.json HTTP/1.1\r\nHost: x\r\n\r\n")) == 503
        for h in held:
            h.close()
        time.sleep(0.2)
        assert requests.get(s.url + "/data.json", timeout=5).status_code == 200
    finally:
        assert s.stop() == 0


def test_sigterm_lets_inflight_request_finish(weightlens_bin, site):
    s = ServedDirectory(weightlens_bin, site)
    result = {}

    def slow():
        result["r"] = requests.get(s.url + "/slow?ms=700", timeout=10)
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.3)
    assert s.stop(signal.SIGTERM) == 0
    t.join()
    assert result["r"].status_code == 200 and result["r"].text == "slept 700 ms\n"
