"""Where manifests come from: files, folders, URLs and the GCE metadata server,
loaded and merged into one desired set (``load``), watched and polled for changes,
checked against signatures, conflicts between files and the operator's allowances;
``source_set`` keeps each source's content in force. Imports the layers below the
engine only.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.sources.allowances import Allowances, check_desired
    from agent.sources.load import STDIN, DesiredSet, expand_sources, load_file, load_sources, merge
    from agent.sources.signatures import SignatureError
    from agent.sources.source_set import SourceSet, SourceStatus
    from agent.sources.urls import UrlFetchError, UrlOptions
    from agent.sources.watch import Watcher

__all__ = [
    "STDIN",
    "Allowances",
    "DesiredSet",
    "SignatureError",
    "SourceSet",
    "SourceStatus",
    "UrlFetchError",
    "UrlOptions",
    "Watcher",
    "check_desired",
    "expand_sources",
    "load_file",
    "load_sources",
    "merge",
]

_HOMES = {
    "STDIN": "load",
    "DesiredSet": "load",
    "expand_sources": "load",
    "load_file": "load",
    "load_sources": "load",
    "merge": "load",
    "Allowances": "allowances",
    "check_desired": "allowances",
    "UrlFetchError": "urls",
    "UrlOptions": "urls",
    "SignatureError": "signatures",
    "SourceSet": "source_set",
    "SourceStatus": "source_set",
    "Watcher": "watch",
}


def __getattr__(name: str) -> Any:
    """A name of ``__all__``, imported from its module on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value
