"""Starts `weightlens serve-static` on 127.0.0.1 port 0 for the server end-to-end tests."""
import os
import re
import select
import signal
import socket
import subprocess
import time


class ServedDirectory:
    """A running serve-static process; `url` is its base URL, `port` its port."""

    def __init__(self, binary, root, *extra, scheme="http"):
        self.proc = subprocess.Popen([binary, "serve-static", "--port", "0", "--root", str(root), *extra],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self._read_line(timeout=20)
        match = re.match(r"listening on (https?)://127\.0\.0\.1:(\d+)", line or "")
        if not match:
            self.proc.kill()
            raise RuntimeError(f"server did not start: {line!r} {self.proc.stderr.read()}")
        self.port = int(match.group(2))
        self.url = f"{scheme}://127.0.0.1:{self.port}"

    def _read_line(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        return self.proc.stdout.readline().strip() if ready else None

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops the server with `sig` and returns its exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise


def raw(port, data, timeout=5.0, read_all=True):
    """Sends raw bytes and returns everything received until the server closes (or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        chunks = []
        end = time.time() + timeout
        while time.time() < end:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if not read_all:
                break
        return b"".join(chunks)
    finally:
        s.close()


def status_of(response_bytes):
    first = response_bytes.split(b"\r\n", 1)[0]
    return int(first.split()[1]) if first.startswith(b"HTTP/1.1 ") else None
