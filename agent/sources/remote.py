"""The fetcher of a remote source: a URL, or an attribute of the GCE metadata server, and, when
signature keys are configured, its signature beside it (``URL.sig``, or the attribute
``ATTRIBUTE-signature``). Imports urllib3: only a remote source loads it."""

from __future__ import annotations

from agent.sources.metadata import is_metadata
from agent.sources.metadata_source import MetadataSource
from agent.sources.signatures import SignedFetcher
from agent.sources.url_poller import Fetcher
from agent.sources.url_source import UrlSource
from agent.sources.urls import UrlOptions

__all__ = ["remote_fetcher", "signature_of"]


def signature_of(source: str) -> str:
    """Where the signature of a source is: ``URL.sig`` (before any query), or the
    metadata attribute ``ATTRIBUTE-signature``."""
    if is_metadata(source):
        attribute = MetadataSource(source, UrlOptions()).attribute
        return f"gce-metadata:{attribute}-signature"
    head, mark, query = source.partition("?")
    return f"{head}.sig{mark}{query}"


def remote_fetcher(source: str, options: UrlOptions, long_poll: bool = False) -> Fetcher:
    """What fetches ``source``: signed when ``options.signature_keys`` is not empty.
    ManifestError for a source that may not be fetched (plain http without allow_http, a
    bad attribute name)."""
    fetcher: Fetcher
    if is_metadata(source):
        fetcher = MetadataSource(source, options, long_poll=long_poll)
        signature: Fetcher = MetadataSource(signature_of(source), options)
    else:
        fetcher = UrlSource(source, options)
        signature = UrlSource(signature_of(source), options)
    if not options.signature_keys:
        return fetcher
    return SignedFetcher(fetcher, signature, options.signature_keys)
