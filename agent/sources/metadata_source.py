"""One attribute of the GCE metadata server, fetched with its required header and long-polled.

The first fetch reads the attribute as it is; each later one, when ``long_poll`` is on, asks
with ``?wait_for_change=true&last_etag=ETAG&timeout_sec=N``: the server answers as soon as
the value changes (an edit reaches the host in about a second) or after ``timeout_sec``
with the same ETag, so a host that waits costs the server one request a minute. The read
timeout is the long-poll timeout plus the usual read timeout, so a server that answers at
its timeout is never taken for a hang.

Plain http is right here and needs no ``--allow-http``: the metadata server is link-local
on GCE and answers nothing else. That exception is made in this module only, for the
metadata server's own address; no redirect is followed.
"""

from __future__ import annotations

import urllib.parse

import attrs

from agent.sources.metadata import attribute_of, metadata_host
from agent.sources.url_source import UrlSource
from agent.sources.urls import UrlFetchError, UrlOptions

__all__ = ["LONG_POLL_SECONDS", "MetadataSource"]

LONG_POLL_SECONDS = 60
"""How long the server may hold a ``wait_for_change`` request before it answers unchanged."""

_HEADERS = {"Metadata-Flavor": "Google"}


class MetadataSource:
    """The attribute a ``gce-metadata:`` source names. ``fetch`` returns the body of a
    changed value, or None when the value is as last fetched."""

    def __init__(
        self,
        source: str,
        options: UrlOptions,
        long_poll: bool = False,
        timeout_sec: int = LONG_POLL_SECONDS,
        host: str | None = None,
    ) -> None:
        self.source = source
        self.attribute = attribute_of(source)
        self.url = (
            f"http://{host or metadata_host()}/computeMetadata/v1/instance/attributes/"
            + urllib.parse.quote(self.attribute)
        )
        self.long_poll = long_poll
        self.timeout_sec = timeout_sec
        # The metadata server's own http: no token, no redirect, no --allow-http needed.
        plain = attrs.evolve(options, allow_http=True, token=None, allow_redirect_hosts=())
        self._http = UrlSource(self.url, plain)
        waiting = attrs.evolve(plain, read_timeout=options.read_timeout + timeout_sec)
        self._waiting = UrlSource(self.url, waiting, pool=self._http.pool)
        self.etag: str | None = None

    @property
    def name(self) -> str:
        return self.source

    @property
    def requests(self) -> int:
        return self._http.requests + self._waiting.requests

    def fetch(self, conditional: bool = True) -> bytes | None:
        """The value when it changed (or ``conditional`` is False), else None. Raises
        UrlFetchError, or ManifestError for a body past the cap."""
        if conditional and self.long_poll and self.etag:
            query = urllib.parse.urlencode(
                {"wait_for_change": "true", "last_etag": self.etag, "timeout_sec": self.timeout_sec}
            )
            http, url = self._waiting, f"{self.url}?{query}"
        else:
            http, url = self._http, self.url
        response = http.get(url, dict(_HEADERS))
        try:
            if response.status != 200:
                raise UrlFetchError(self.source, _problem(response.status, self.attribute))
            body = http.read_body(response)
        except BaseException:
            response.close()
            response.release_conn()
            raise
        response.release_conn()
        etag = response.headers.get("ETag")
        unchanged = conditional and etag is not None and etag == self.etag
        self.etag = etag
        return None if unchanged else body


def _problem(status: int, attribute: str) -> str:
    if status == 404:
        return f"instance attribute {attribute} is not set (HTTP 404)"
    if status == 403:
        return "HTTP 403 from the metadata server (is GCE_METADATA_HOST a metadata server?)"
    return f"HTTP {status} from the metadata server"
