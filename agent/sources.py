"""The run loop's manifest sources: re-read when they change, last-known-good per file."""

from __future__ import annotations

import logging
import os
import time

import attrs

from agent.errors import ManifestError, MultiSourceError
from agent.hostpaths import allowed_manifest
from agent.load import STDIN, DesiredSet, expand_sources, load_file, merge
from agent.manifest import Manifest

__all__ = ["SourceSet", "SourceStatus"]

log = logging.getLogger("agent.sources")

_Signature = tuple[int, int, int]


@attrs.frozen
class SourceStatus:
    """How one manifest file stands: ``error`` is why its last read failed (None when it
    was valid), ``errors`` how many reads failed since the agent started, and ``loaded``
    when the content in force was read (seconds since the epoch; None: never validly)."""

    path: str
    error: str | None
    errors: int
    loaded: float | None


@attrs.define
class _Entry:
    signature: _Signature | None = None
    manifest: Manifest | None = None
    error: str | None = None
    missing: int = 0
    errors: int = 0
    loaded: float | None = None


class SourceSet:
    """The manifest sources of a running agent.

    A file is read again only when its size, mtime or inode changes. A file that
    turns unreadable or invalid keeps its last valid content in force, and its
    error is logged once per change. A file that is gone, and still gone at the
    next refresh (an editor that saves by rename is not a deletion), takes its
    containers with it. :meth:`refresh` returns a set that is not ``complete``
    while some source has never been read validly: the planner then removes nothing.
    A file with a hostDir outside ``allow_host_path`` is an invalid one.
    """

    def __init__(self, sources: list[str], allow_host_path: tuple[str, ...] = ()) -> None:
        self.sources = sources
        self.allow_host_path = allow_host_path
        self._entries: dict[str, _Entry] = {}
        self._reported: dict[str, str] = {}

    def refresh(self, force: bool = False) -> DesiredSet:
        try:
            paths = expand_sources(self.sources)
        except ManifestError as exc:
            self._report("sources", str(exc))
            paths = []
            expanded = False
        else:
            self._report("sources", None)
            expanded = True
        for path in [p for p in self._entries if p not in paths]:
            self._gone(path)
        for path in paths:
            self._read(path, force)
        return self._merge(complete=expanded)

    def status(self) -> tuple[SourceStatus, ...]:
        """Every file in use, by path: whether its last read was valid, and since when."""
        return tuple(
            SourceStatus(path, entry.error, entry.errors, entry.loaded)
            for path, entry in sorted(self._entries.items())
        )

    def _read(self, path: str, force: bool) -> None:
        entry = self._entries.setdefault(path, _Entry())
        if path == STDIN:
            signature: _Signature | None = (0, 0, 0)
            if entry.signature is not None:
                return
        else:
            signature = _signature(path)
            if signature is None and entry.manifest is not None:
                self._gone(path)
                return
            if signature == entry.signature and not force:
                return
        entry.signature = signature
        entry.missing = 0
        try:
            manifest = allowed_manifest(load_file(path), self.allow_host_path)
        except ManifestError as exc:
            if str(exc) != entry.error:
                kept = (
                    "its last valid content stays in force" if entry.manifest else "nothing loaded"
                )
                log.error("invalid manifest (%s):\n%s", kept, exc)
            entry.error = str(exc)
            entry.errors += 1
        else:
            entry.manifest = manifest
            entry.loaded = time.time()
            if entry.error:
                log.info("%s: valid again", path)
            entry.error = None

    def _gone(self, path: str) -> None:
        """A file no source names any more, or that no longer exists: dropped at the second look."""
        entry = self._entries[path]
        entry.missing += 1
        if entry.missing < 2:
            return
        if entry.manifest is not None:
            log.warning("%s: file is gone; its containers will be removed", path)
        del self._entries[path]

    def _merge(self, complete: bool) -> DesiredSet:
        entries = self._entries.values()
        manifests = [e.manifest for e in entries if e.manifest is not None]
        complete = complete and all(e.manifest is not None for e in entries)
        try:
            desired = merge(manifests)
        except MultiSourceError as exc:
            refused = {problem.source for problem in exc.problems}
            self._report("conflict", str(exc))
            desired = merge(m for m in manifests if m.source not in refused)
            return attrs.evolve(desired, complete=False)
        self._report("conflict", None)
        return attrs.evolve(desired, complete=complete)

    def _report(self, key: str, message: str | None) -> None:
        """Log a problem once while it lasts; ``None`` says it is over."""
        if message is not None and self._reported.get(key) != message:
            log.error("%s", message)
        if message is None:
            self._reported.pop(key, None)
        else:
            self._reported[key] = message


def _signature(path: str) -> _Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
