"""Where manifests come from: files, folders, URLs and the GCE metadata server,
loaded and merged into one desired set (``load``), watched and polled for changes,
checked against signatures, conflicts between files and the operator's allowances;
``source_set`` keeps each source's content in force. Imports the layers below the
engine only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import on_first_use

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
    "STDIN": ".load",
    "DesiredSet": ".load",
    "expand_sources": ".load",
    "load_file": ".load",
    "load_sources": ".load",
    "merge": ".load",
    "Allowances": ".allowances",
    "check_desired": ".allowances",
    "UrlFetchError": ".urls",
    "UrlOptions": ".urls",
    "SignatureError": ".signatures",
    "SourceSet": ".source_set",
    "SourceStatus": ".source_set",
    "Watcher": ".watch",
}


__getattr__ = on_first_use(__name__, _HOMES)
