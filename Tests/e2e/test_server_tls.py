"""TLS end-to-end tests: a certificate made at test time with openssl, checked by curl, requests and websocket-client."""
import socket
import ssl
import subprocess
import time

import pytest
import requests
import websocket

from server_support import ServedDirectory


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def server(weightlens_bin, tmp_path, certificate):
    cert, key = certificate
    (tmp_path / "hello.txt").write_text("hello over tls\n")
    (tmp_path / "big.bin").write_bytes(bytes(range(256)) * 8192)
    s = ServedDirectory(weightlens_bin, tmp_path, "--echo-ws", "--tls-certfile", str(cert), "--tls-keyfile", str(key),
                        "--header-timeout", "1", scheme="https")
    yield s
    assert s.stop() == 0


def test_curl_verifies_and_fetches(server, certificate):
    out = subprocess.run(["curl", "-sS", "--cacert", str(certificate[0]), server.url + "/hello.txt"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "hello over tls\n"


def test_requests_keep_alive_large_file_and_upload(server, certificate):
    ca = str(certificate[0])  # per request: a Session's verify loses to REQUESTS_CA_BUNDLE
    with requests.Session() as s:
        big = s.get(server.url + "/big.bin", timeout=10, verify=ca)
        assert big.content == bytes(range(256)) * 8192
        body = b"z" * 300_000
        assert s.post(server.url + "/echo", data=body, timeout=10, verify=ca).content == body
        assert s.get(server.url + "/hello.txt", timeout=5, verify=ca).text == "hello over tls\n"


def test_plain_http_to_tls_port_fails_cleanly(server):
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(server.url.replace("https", "http") + "/hello.txt", timeout=5)
    # The server is still fine afterwards.
    out = subprocess.run(["curl", "-sk", server.url + "/hello.txt"], capture_output=True, text=True, timeout=10)
    assert out.stdout == "hello over tls\n"


def test_stalled_tls_handshake_is_dropped(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.sendall(b"\x16\x03\x01\x00\xc8\x01")  # the start of a ClientHello, then nothing
    started = time.time()
    try:
        assert s.recv(100) == b""
    except ConnectionResetError:
        pass
    assert time.time() - started < 5
    s.close()


def test_wss_echo(server, certificate):
    ws = websocket.create_connection(f"wss://127.0.0.1:{server.port}/ws", timeout=5,
                                     sslopt={"ca_certs": str(certificate[0]), "cert_reqs": ssl.CERT_REQUIRED})
    assert ws.recv().startswith("welcome ")
    ws.send("secure echo")
    assert ws.recv() == "secure echo"
    ws.close()
