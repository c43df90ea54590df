"""WebSocket end-to-end tests with the websocket-client library against `weightlens serve-static --echo-ws`."""
import socket
import time

import pytest
import websocket

from server_support import ServedDirectory


@pytest.fixture
def server(weightlens_bin, tmp_path):
    s = ServedDirectory(weightlens_bin, tmp_path, "--echo-ws", "--ws-send-queue", "1048576", "--max-ws-message", "1048576")
    yield s
    assert s.stop() == 0


def connect(server):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/ws", timeout=5)
    assert ws.recv().startswith("welcome ")
    return ws


def test_echo_text_and_binary(server):
    ws = connect(server)
    ws.send("héllo")
    assert ws.recv() == "héllo"
    payload = bytes(range(256)) * 1000
    ws.send_binary(payload)
    assert ws.recv() == payload
    ws.close()


def test_ping_gets_pong(server):
    ws = connect(server)
    ws.ping(b"are you there")
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_PONG
    assert frame.data == b"are you there"
    ws.close()


def test_close_handshake_server_initiated_and_client_initiated(server):
    ws = connect(server)
    ws.send("close:4001")
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 4001
    # websocket-client has already answered the close frame inside recv_data_frame.
    ws.sock.settimeout(5)
    assert ws.sock.recv(10) == b""  # the server closes TCP after the handshake
    ws.shutdown()
    ws2 = connect(server)
    ws2.close(status=websocket.STATUS_NORMAL)  # waits for the server's close reply
    assert not ws2.connected


def test_broadcast_reaches_every_client(server):
    clients = [connect(server) for _ in range(8)]
    clients[0].send("broadcast:hello everyone")
    for c in clients:
        assert c.recv() == "hello everyone"
    for c in clients:
        c.close()


def test_oversized_message_is_refused_with_1009(server):
    ws = connect(server)
    ws.send_binary(b"x" * (2 * 1024 * 1024))
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 1009


def test_stalled_client_is_dropped_and_others_keep_working(server):
    stalled = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    stalled.sendall(b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    time.sleep(0.2)
    # Ask for 2,000 x 64 KB = 125 MB while reading nothing; masked text frame "flood:2000".
    msg = b"flood:2000"
    mask = b"\x01\x02\x03\x04"
    stalled.sendall(bytes([0x81, 0x80 | len(msg)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
    time.sleep(1.0)
    other = connect(server)
    other.send("still here")
    assert other.recv() == "still here"
    other.close()
    # Now drain: the server must have cut the stalled client off long before 125 MB.
    total = 0
    try:
        while True:
            chunk = stalled.recv(1 << 20)
            if not chunk:
                break
            total += len(chunk)
    except (ConnectionResetError, socket.timeout):
        pass
    assert total < 20 * 1024 * 1024, f"received {total} bytes: the stalled client was not dropped"
    stalled.close()


def test_shutdown_sends_going_away(weightlens_bin, tmp_path):
    s = ServedDirectory(weightlens_bin, tmp_path, "--echo-ws")
    ws = websocket.create_connection(f"ws://127.0.0.1:{s.port}/ws", timeout=5)
    ws.recv()
    s.proc.send_signal(15)
    opcode, frame = ws.recv_data_frame(control_frame=True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 1001
    ws.close()
    assert s.stop() == 0
