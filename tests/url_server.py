"""A real HTTPS server on 127.0.0.1 for URL-source tests: routes set by the test, every
request recorded. Certificates come from ``engines.write_tls_files`` (openssl)."""

from __future__ import annotations

import contextlib
import http.server
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from tests.engines import write_tls_files

__all__ = ["Route", "UrlServer"]

_GONE = (BrokenPipeError, ConnectionResetError, ssl.SSLError)  # the client hung up


@attrs.define
class Route:
    """What one path answers: ``status`` with ``body``; an ``etag`` makes a matching
    If-None-Match a 304; ``delay`` seconds before the headers; ``stream`` a callable that
    writes the body itself (after headers of ``headers``)."""

    body: bytes = b""
    status: int = 200
    etag: str | None = None
    delay: float = 0.0
    headers: dict[str, str] = attrs.Factory(dict)
    stream: Callable[[Any], None] | None = None


class UrlServer:
    """``ThreadingHTTPServer`` wrapped in TLS, in a daemon thread; ``url(path)`` for a URL."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", ca_key_usage: bool = True) -> None:
        self.ca, cert, key = write_tls_files(directory, ca_key_usage)
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.requests.append((self.path, dict(self.headers.items())))
                route = server.routes.get(self.path)
                if route is None:
                    route = Route(b"not found\n", 404)
                if route.delay:
                    time.sleep(route.delay)
                if route.etag and self.headers.get("If-None-Match") == route.etag:
                    self.send_response(304)
                    self.send_header("ETag", route.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(route.status)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.etag:
                    self.send_header("ETag", route.etag)
                if route.stream is not None:
                    self.send_header("Connection", "close")
                    self.end_headers()
                    with contextlib.suppress(*_GONE):
                        route.stream(self)
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                with contextlib.suppress(*_GONE):
                    self.wfile.write(route.body)

        self.httpd = http.server.ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
