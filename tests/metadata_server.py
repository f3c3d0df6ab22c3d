"""A fake GCE metadata server on 127.0.0.1 for metadata-source tests: instance attributes set
by the test, the ``Metadata-Flavor: Google`` header required (403 without it, as on GCE), and
``wait_for_change`` requests held until the value's ETag differs from ``last_etag`` or their
``timeout_sec`` passes. ``status`` makes every answer that error; ``hang`` holds every answer
that many seconds first."""

from __future__ import annotations

import hashlib
import http.server
import threading
import time
import urllib.parse
from typing import Any

__all__ = ["MetadataServer"]

_PREFIX = "/computeMetadata/v1/instance/attributes/"


class MetadataServer:
    def __init__(self) -> None:
        self.attributes: dict[str, bytes] = {}
        self.status: int | None = None
        self.hang = 0.0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.changed = threading.Condition()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers.items())))
                if server.hang:
                    time.sleep(server.hang)
                if self.headers.get("Metadata-Flavor") != "Google":
                    return self._answer(403, b"Missing Metadata-Flavor:Google header.\n")
                if server.status is not None:
                    return self._answer(server.status, b"error\n")
                url = urllib.parse.urlsplit(self.path)
                if not url.path.startswith(_PREFIX):
                    return self._answer(404, b"not found\n")
                name = url.path[len(_PREFIX) :]
                query = dict(urllib.parse.parse_qsl(url.query))
                if query.get("wait_for_change") == "true":
                    timeout = min(float(query.get("timeout_sec", "60")), 30.0)
                    last = query.get("last_etag")
                    with server.changed:
                        server.changed.wait_for(lambda: server.etag(name) != last, timeout=timeout)
                value = server.attributes.get(name)
                if value is None:
                    return self._answer(404, b"not found\n")
                self._answer(200, value, server.etag(name))

            def _answer(self, status: int, body: bytes, etag: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Metadata-Flavor", "Google")
                if etag is not None:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")  # so that close() refuses at once
                self.end_headers()
                self.close_connection = True
                self.wfile.write(body)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.host = f"127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def etag(self, name: str) -> str | None:
        value = self.attributes.get(name)
        return None if value is None else hashlib.sha256(value).hexdigest()[:16]

    def set(self, name: str, value: bytes) -> None:
        """Change an attribute, answering the requests that wait for a change."""
        with self.changed:
            self.attributes[name] = value
            self.changed.notify_all()

    def close(self) -> None:
        self.hang = 0.0
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
