"""The host's side of a published port: a free one to publish, and a GET through it, both on
127.0.0.1 only."""

from __future__ import annotations

import http.client
import socket
import time


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def http_get(port: int, path: str = "/", timeout: float = 30.0) -> tuple[int, bytes]:
    """GET http://127.0.0.1:PORT/PATH, retrying until an HTTP answer or ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
        finally:
            conn.close()
