"""Manifests from an ``https://`` URL: one fetch, with its TLS, limits and cache state.

A :class:`UrlSource` fetches one URL through urllib3: TLS verified (system trust, or the
CA bundle of ``ca_file``), connect and read timeouts, the body streamed and refused past
:data:`~agent.manifest.parse.MAX_BYTES` without reading further, conditional requests from the
last 200's ``ETag`` and ``Last-Modified`` (a 304 is "unchanged"), redirects followed (at
most :data:`MAX_REDIRECTS`) only to the same scheme, host and port or to an allowed host,
never from https to http. The bearer token, when there is one, goes only to the URL's own
origin, and into no message.

What cannot be fetched raises :class:`UrlFetchError` (a runtime failure); a body past the
cap raises :class:`~agent.errors.ManifestError`, as a file past it does.
"""

from __future__ import annotations

import re
import time
import urllib.parse

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from agent.errors import FieldError, ManifestError
from agent.manifest.parse import MAX_BYTES
from agent.sources.urls import UrlFetchError, UrlOptions, check_url, display_url

__all__ = ["MAX_REDIRECTS", "UrlSource"]

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECTS = (301, 302, 303, 307, 308)
_OBJECT = re.compile(r"<[^<>]* object at 0x[0-9a-fA-F]+>: ")
# OpenSSL's words when strict verification (Python 3.13's default) meets a CA certificate
# without the keyUsage extension.
_NO_KEY_USAGE = re.compile(r"CA cert does not include key usage extension", re.IGNORECASE)


class UrlSource:
    """One URL, fetched again and again: the validators of its last 200 are kept, so that
    an unchanged manifest costs one 304. ``requests`` counts the requests made, and
    ``not_modified`` the 304s, for tests and logs."""

    def __init__(
        self, url: str, options: UrlOptions, pool: urllib3.PoolManager | None = None
    ) -> None:
        check_url(url, options)
        self.url = url
        self.options = options
        self.pool = pool or _pool(options)
        self.etag: str | None = None
        self.last_modified: str | None = None
        self.requests = 0
        self.not_modified = 0

    @property
    def name(self) -> str:
        return display_url(self.url)

    def fetch(self, conditional: bool = True) -> bytes | None:
        """The body of a 200, or None for a 304 (the last body is still current).

        Raises UrlFetchError, or ManifestError for a body past the cap."""
        headers = {}
        if conditional and self.etag:
            headers["If-None-Match"] = self.etag
        if conditional and self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        response = self._follow(headers)
        try:
            if response.status == 304 and headers:
                self.not_modified += 1
                return None
            if response.status != 200:
                reason = f" {response.reason}" if response.reason else ""
                raise UrlFetchError(self.url, f"HTTP {response.status}{reason}")
            body = self.read_body(response)
        except BaseException:
            _discard(response)
            raise
        response.release_conn()  # read to its end: the connection may serve the next fetch
        self.etag = response.headers.get("ETag")
        self.last_modified = response.headers.get("Last-Modified")
        return body

    def _follow(self, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        """GET the URL, following the redirects that are allowed."""
        origin = _origin(self.url)
        url = self.url
        for _ in range(MAX_REDIRECTS + 1):
            sent = dict(headers)
            if self.options.token is not None and _origin(url) == origin:
                sent["Authorization"] = f"Bearer {self.options.token}"
            response = self.get(url, sent)
            location = response.headers.get("Location")
            if response.status not in _REDIRECTS or not location:
                return response
            _discard(response)
            target = urllib.parse.urljoin(url, location)
            self._check_redirect(url, target, origin)
            url = target
        raise UrlFetchError(self.url, f"more than {MAX_REDIRECTS} redirects")

    def _check_redirect(self, url: str, target: str, origin: tuple[str, str, int]) -> None:
        scheme, host, _ = _origin(target)
        shown = display_url(target)
        if scheme not in ("http", "https"):
            raise UrlFetchError(self.url, f"redirect to {shown} refused: not http(s)")
        if scheme == "http" and (_origin(url)[0] == "https" or not self.options.allow_http):
            raise UrlFetchError(self.url, f"redirect to {shown} refused: not https")
        if _origin(target) != origin and host not in self.options.allow_redirect_hosts:
            raise UrlFetchError(
                self.url,
                f"redirect to another host ({host}) refused; pass --allow-redirect-host {host} "
                "to follow it",
            )

    def get(self, url: str, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        """One GET of ``url`` (this source's or another on the same server), with this
        source's timeouts, no retry and no redirect; errors name this source's URL."""
        self.requests += 1
        timeout = urllib3.Timeout(
            connect=self.options.connect_timeout, read=self.options.read_timeout
        )
        try:
            return self.pool.request(
                "GET",
                url,
                headers=headers,
                timeout=timeout,
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except HTTPError as exc:
            raise UrlFetchError(self.url, self._problem(exc)) from None

    def read_body(self, response: urllib3.BaseHTTPResponse) -> bytes:
        """The body, read in chunks and refused as soon as it passes the cap; the whole
        body must come within the read timeout (each read has it too)."""
        cap = MAX_BYTES // (1024 * 1024)
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > MAX_BYTES:
            raise ManifestError(
                self.name, [FieldError("", f"body is larger than {cap} MB ({length} bytes)")]
            )
        deadline = time.monotonic() + self.options.read_timeout
        chunks: list[bytes] = []
        size = 0
        try:
            while chunk := response.read1(_CHUNK):  # what has come, up to a chunk
                size += len(chunk)
                if size > MAX_BYTES:
                    raise ManifestError(
                        self.name,
                        [FieldError("", f"body is larger than {cap} MB (stopped reading)")],
                    )
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise UrlFetchError(
                        self.url,
                        f"body not read within {self.options.read_timeout:g}s",
                    )
        except HTTPError as exc:
            raise UrlFetchError(self.url, self._problem(exc)) from None
        return b"".join(chunks)

    def _problem(self, exc: HTTPError) -> str:
        """What went wrong, in words that stay the same from one try to the next (so that
        a lasting failure is logged once): no object addresses, no ports of our own."""
        if isinstance(exc, NewConnectionError):  # a subclass of ConnectTimeoutError
            cause = exc.__cause__ or exc.__context__
            reason = getattr(cause, "strerror", None) or _OBJECT.sub("", str(exc))
            return f"cannot connect: {reason}"
        if isinstance(exc, ConnectTimeoutError):
            return f"connect timed out after {self.options.connect_timeout:g}s"
        if isinstance(exc, ReadTimeoutError):
            return f"read timed out after {self.options.read_timeout:g}s"
        if isinstance(exc, SSLError):
            said = _OBJECT.sub("", str(exc))
            if _NO_KEY_USAGE.search(said):
                return f"TLS: {_no_key_usage(self.options.ca_file)} ({said})"
            return f"TLS: {said}"
        if isinstance(exc, NewConnectionError):
            cause = exc.__cause__ or exc.__context__
            reason = getattr(cause, "strerror", None) or _OBJECT.sub("", str(exc))
            return f"cannot connect: {reason}"
        if isinstance(exc, ProtocolError):
            return f"connection broken: {_OBJECT.sub('', str(exc))}"
        return _OBJECT.sub("", str(exc)) or type(exc).__name__


def _no_key_usage(ca_file: str | None) -> str:
    """Why a certificate was refused whose chain has a CA without keyUsage, and where to look."""
    where = f"--ca-file {ca_file}" if ca_file else "the system's trust store"
    return (
        "a CA certificate of the server's chain has no keyUsage extension, which Python 3.13 "
        f"and later require of a CA: the CA in {where}, or an intermediate the server sends; "
        "make it again with keyUsage = critical, keyCertSign, cRLSign"
    )


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    """Close a connection whose body was not read (an error, a redirect, past the cap):
    reading it would cost what the server likes, and reusing it would read that body."""
    response.close()
    response.release_conn()


def _pool(options: UrlOptions) -> urllib3.PoolManager:
    """Verification always on; the CA bundle given, else the system's trust store."""
    return urllib3.PoolManager(num_pools=4, cert_reqs="CERT_REQUIRED", ca_certs=options.ca_file)


def _origin(url: str) -> tuple[str, str, int]:
    parsed = urllib3.util.parse_url(url)
    scheme = (parsed.scheme or "").lower()
    host = (parsed.host or "").lower().strip("[]")
    port = parsed.port or (443 if scheme == "https" else 80)
    return scheme, host, port
