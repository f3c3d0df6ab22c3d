"""What a URL source is, before anything is fetched: how a source names a URL, how a URL is
shown in messages, the options of fetching, the token file, and the error of a failed fetch.

Kept apart from :mod:`agent.sources.url_source` so that loading files and planning never import
urllib3: only a URL source fetches.
"""

from __future__ import annotations

import urllib.parse

import attrs

from agent.errors import AgentError, FieldError, ManifestError, SettingsError

__all__ = [
    "UrlFetchError",
    "UrlOptions",
    "check_url",
    "display_url",
    "is_url",
    "read_token",
]


def is_url(source: str) -> bool:
    """A source that names a URL rather than a file: ``https://...`` or ``http://...``."""
    return source[:8].lower() == "https://" or source[:7].lower() == "http://"


def display_url(url: str) -> str:
    """The URL as messages show it: any ``user:password@`` replaced by ``***@``."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


class UrlFetchError(AgentError):
    """A URL that could not be fetched (unreachable, an HTTP error, a timeout, a refused
    redirect or certificate). Never holds the token."""

    def __init__(self, url: str, problem: str) -> None:
        self.url = display_url(url)
        self.problem = problem
        super().__init__(f"{self.url}: {problem}")


@attrs.frozen
class UrlOptions:
    """How URL sources are fetched. ``token`` is never shown (not even by ``repr``)."""

    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    ca_file: str | None = None
    allow_http: bool = False
    allow_redirect_hosts: tuple[str, ...] = ()
    token: str | None = attrs.field(default=None, repr=False)
    signature_keys: tuple[str, ...] = ()
    """OpenSSH public keys; when any is given, every body must be signed by one of them."""


def read_token(path: str) -> str:
    """The bearer token in a file (surrounding whitespace dropped); SettingsError when the
    file cannot be read or holds no usable token. The message never holds the token."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(16 * 1024 + 1)
    except OSError as exc:
        raise SettingsError("url_token_file", f"cannot read {path}: {exc.strerror}") from None
    try:
        token = raw.decode("ascii").strip()
    except UnicodeDecodeError:
        token = ""
    if not token or len(raw) > 16 * 1024 or not token.isprintable() or " " in token:
        raise SettingsError(
            "url_token_file", f"{path} must hold one token of printable ASCII, 16 KiB at most"
        )
    return token


def check_url(url: str, options: UrlOptions) -> None:
    """Refuse a URL that may not be fetched at all: plain http without ``allow_http``."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme == "http" and not options.allow_http:
        raise ManifestError(
            display_url(url),
            [FieldError("", "plain http is refused; pass --allow-http to fetch it anyway")],
        )
