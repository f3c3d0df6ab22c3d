"""Manifest sources as the run loop sees them: re-read on change, last-known-good per file."""

from __future__ import annotations

import logging
import os

import attrs

from agent.errors import ManifestError
from agent.loader import STDIN, DesiredSet, MultiSourceError, expand_sources, load_file, merge
from agent.manifest import Manifest

__all__ = ["SourceSet"]

log = logging.getLogger("agent.sources")

_Signature = tuple[int, int, int] | None


@attrs.define
class _Entry:
    signature: _Signature = None
    manifest: Manifest | None = None
    error: str | None = None


class SourceSet:
    """The manifest sources of a running agent.

    A file is read again only when its size, mtime or inode changes. A file that
    turns unreadable or invalid keeps its last valid content in force, and its
    error is logged once per change. A file that is gone takes its containers
    with it. ``complete`` is false while some file has never been read validly:
    the planner must then remove nothing.
    """

    def __init__(self, sources: list[str]) -> None:
        self.sources = sources
        self._entries: dict[str, _Entry] = {}
        self._reported: dict[str, str] = {}
        self.complete = False

    def refresh(self, force: bool = False) -> DesiredSet:
        try:
            paths = expand_sources(self.sources)
        except ManifestError as exc:
            self._report("sources", str(exc))
            paths = [p for p in self._entries if os.path.exists(p) or p == STDIN]
        for gone in set(self._entries) - set(paths):
            if self._entries[gone].manifest is not None:
                log.warning("%s: file is gone; its containers will be removed", gone)
            del self._entries[gone]
        for path in paths:
            self._read(path, force)
        return self._merge(paths)

    def _read(self, path: str, force: bool) -> None:
        entry = self._entries.setdefault(path, _Entry())
        if path == STDIN:
            if entry.signature is not None:
                return
            signature: _Signature = (0, 0, 0)
        else:
            signature = _signature(path)
            if signature == entry.signature and not force:
                return
        entry.signature = signature
        try:
            entry.manifest = load_file(path)
        except ManifestError as exc:
            if str(exc) != entry.error:
                kept = (
                    "its last valid content stays in force" if entry.manifest else "nothing loaded"
                )
                log.error("invalid manifest (%s):\n%s", kept, exc)
            entry.error = str(exc)
        else:
            if entry.error:
                log.info("%s: valid again", path)
            entry.error = None

    def _merge(self, paths: list[str]) -> DesiredSet:
        manifests = [m for p in paths if (m := self._entries[p].manifest) is not None]
        self.complete = len(manifests) == len(paths)
        try:
            return merge(manifests)
        except MultiSourceError as exc:
            refused = {problem.source for problem in exc.problems}
            self._report("conflict", str(exc))
            self.complete = False
            return merge(m for m in manifests if m.source not in refused)

    def _report(self, key: str, message: str) -> None:
        if self._reported.get(key) != message:
            log.error("%s", message)
            self._reported[key] = message


def _signature(path: str) -> _Signature:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
