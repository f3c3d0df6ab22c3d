"""What a GCE metadata source is, before anything is fetched: how a source names one, which
attribute it reads, and where the metadata server is.

A source ``gce-metadata:`` reads the instance attribute ``gce-container-declaration`` (the
one konlet reads); ``gce-metadata:NAME`` reads the attribute NAME. The server is
``metadata.google.internal``, or the ``host[:port]`` of the environment variable
``GCE_METADATA_HOST`` (else ``GCE_METADATA_ROOT``), as Google's own client libraries allow.
Kept apart from :mod:`agent.sources.metadata_source` so that loading files never imports urllib3.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from agent.errors import FieldError, ManifestError

__all__ = [
    "DEFAULT_ATTRIBUTE",
    "METADATA_PREFIX",
    "attribute_of",
    "is_metadata",
    "metadata_host",
]

METADATA_PREFIX = "gce-metadata:"
DEFAULT_ATTRIBUTE = "gce-container-declaration"
DEFAULT_HOST = "metadata.google.internal"
_ATTRIBUTE = re.compile(r"[A-Za-z0-9_-]{1,128}")
_HOST = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?")


def is_metadata(source: str) -> bool:
    """A source that names an attribute of the GCE metadata server."""
    return source.startswith(METADATA_PREFIX)


def attribute_of(source: str) -> str:
    """The attribute a ``gce-metadata:`` source reads; ManifestError for a bad name."""
    attribute = source[len(METADATA_PREFIX) :] or DEFAULT_ATTRIBUTE
    if not _ATTRIBUTE.fullmatch(attribute):
        raise ManifestError(
            source,
            [FieldError("", "attribute name must be 1 to 128 letters, digits, '-' or '_'")],
        )
    return attribute


def metadata_host(environ: Mapping[str, str] | None = None) -> str:
    """``host[:port]`` of the metadata server: ``GCE_METADATA_HOST``, else
    ``GCE_METADATA_ROOT``, else ``metadata.google.internal``; ManifestError for a value
    that is not a host[:port]."""
    env = os.environ if environ is None else environ
    for name in ("GCE_METADATA_HOST", "GCE_METADATA_ROOT"):
        value = env.get(name, "").strip()
        if value:
            if not _HOST.fullmatch(value):
                raise ManifestError(name, [FieldError("", f"must be host[:port], got {value!r}")])
            return value
    return DEFAULT_HOST
