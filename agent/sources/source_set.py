"""The run loop's manifest sources: re-read when they change, last-known-good per file
and per URL."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

import attrs

from agent.errors import ManifestError
from agent.manifest.models import Manifest
from agent.planning.backoff import Backoff
from agent.sources.allowances import Allowances, allowed_manifest
from agent.sources.conflicts import settle
from agent.sources.load import (
    STDIN,
    DesiredSet,
    expand_sources,
    load_file,
    manifest_of,
    url_is_json,
)
from agent.sources.metadata import is_metadata
from agent.sources.signatures import SignatureError, SignedFetcher
from agent.sources.url_poller import UrlPoller
from agent.sources.urls import UrlOptions, display_url, is_url
from agent.state.json_file import read_mapping, write_mapping

__all__ = ["SourceSet", "SourceStatus"]

log = logging.getLogger("agent.sources")

METADATA_INTERVAL = 1.0
"""Seconds between two requests to the metadata server while it answers: each one is a long
poll that the server holds until the value changes, so this only spaces them."""
METADATA_BACKOFF = Backoff(1.0, 300.0)
"""While the metadata server fails: 1 s, doubling up to 5 minutes."""

_Signature = tuple[int, int, int]


@attrs.frozen
class SourceStatus:
    """How one manifest file stands: ``error`` is why its last read failed (None when it
    was valid), ``errors`` how many reads failed since the agent started, ``loaded``
    when the content in force was read (seconds since the epoch; None: never validly), and
    ``signature_refusals`` how many bodies of a signed source were refused for their
    signature (each distinct refusal once, as it is logged), ``unsigned`` whether the last
    body fetched was refused for its signature (the last good content stays in force)."""

    path: str
    error: str | None
    errors: int
    loaded: float | None
    signature_refusals: int = 0
    unsigned: bool = False


@attrs.define
class _Entry:
    signature: _Signature | None = None
    manifest: Manifest | None = None  # the last valid content read
    in_force: Manifest | None = None  # the content in force (``manifest`` unless refused)
    arrived: int = 0  # the pass in which ``manifest`` was read
    error: str | None = None  # why the last read failed
    conflict: str | None = None  # why ``manifest`` is not in force
    missing: int = 0
    errors: int = 0
    loaded: float | None = None
    generation: int = 0  # of a URL: the poller's outcome last looked at
    polled_errors: int = 0  # of a URL: failed fetches counted in ``errors`` so far
    signature_refusals: int = 0  # distinct refused signatures (each logged once)
    unsigned: bool = False  # the last body fetched was refused for its signature


class SourceSet:
    """The manifest sources of a running agent.

    A file is read again only when its size, mtime or inode changes. A file that
    turns unreadable or invalid keeps its last valid content in force, and its
    error is logged once per change. A file that is gone, and still gone at the
    next refresh (an editor that saves by rename is not a deletion), takes its
    containers with it. :meth:`refresh` returns a set that is not ``complete``
    while some source has never been read validly: the planner then removes nothing.
    A file that asks for what ``allowances`` do not allow is an invalid one. A valid content
    that claims a container name or host port of another source's content in force is
    refused, and its source keeps the content it had in force (:mod:`agent.sources.conflicts`):
    the source whose change made the conflict is the one refused.

    A URL is fetched as ``urls`` says, by a :class:`~agent.sources.url_poller.UrlPoller` every
    ``url_interval`` seconds: on threads of their own once :meth:`start` is called (each
    change calls ``wake``), else at each refresh. It is kept like a file (last-known-good,
    logged once per distinct error), except that it is never gone: a URL that cannot be
    fetched keeps its content in force, however long that lasts. A ``gce-metadata:``
    source is kept as a URL is; once started, its poller long-polls the metadata server
    (:mod:`agent.sources.metadata_source`). The serials of signed bodies accepted are kept in
    ``serials_path`` (None: in memory), so that a restart refuses a replay as well.
    """

    def __init__(
        self,
        sources: list[str],
        allowances: Allowances | None = None,
        urls: UrlOptions | None = None,
        url_interval: float = 30.0,
        serials_path: str | None = None,
    ) -> None:
        self.sources = sources
        self.allowances = allowances or Allowances()
        self.urls = urls or UrlOptions()
        self.url_interval = url_interval
        self._entries: dict[str, _Entry] = {}
        self._reported: dict[str, str] = {}
        self._pollers: dict[str, UrlPoller] = {}
        self.serials_path = serials_path
        self._serials = read_mapping(serials_path, "signed serials")
        self._serials_lock = threading.Lock()
        self._wake: Callable[[], None] | None = None
        self._pass = 0

    def start(self, wake: Callable[[], None]) -> None:
        """Poll the URLs on threads of their own from now on, calling ``wake`` on a change."""
        self._wake = wake
        for poller in self._pollers.values():
            poller.on_change = wake
            poller.start()

    def close(self) -> None:
        for poller in self._pollers.values():
            poller.close()

    def refresh(self, force: bool = False) -> DesiredSet:
        self._pass += 1
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
            SourceStatus(
                display_url(path),
                entry.error or entry.conflict,
                entry.errors,
                entry.loaded,
                entry.signature_refusals,
                entry.unsigned,
            )
            for path, entry in sorted(self._entries.items())
        )

    def _read(self, path: str, force: bool) -> None:
        first = path not in self._entries
        entry = self._entries.setdefault(path, _Entry())
        if is_url(path) or is_metadata(path):
            self._read_url(path, entry, force)
            return
        if path == STDIN:
            signature: _Signature | None = (0, 0, 0)
            if entry.signature is not None:
                return
        else:
            signature = _signature(path)
            if signature is None and entry.manifest is not None:
                self._gone(path)
                return
            if signature is None and first:
                log.warning(
                    "%s: no such file or directory: waiting for it to appear; until it does, "
                    "no container is removed",
                    path,
                )
            if signature == entry.signature and not force:
                return
        entry.signature = signature
        entry.missing = 0
        try:
            manifest = allowed_manifest(load_file(path), self.allowances)
        except ManifestError as exc:
            self._invalid(entry, "invalid manifest", str(exc))
        else:
            self._valid(path, entry, manifest)

    def _read_url(self, url: str, entry: _Entry, force: bool) -> None:
        """Take the poller's last outcome: a new body is parsed, a failure recorded; the
        same outcome again (a 304, the same body) costs nothing."""
        poller = self._pollers.get(url)
        if poller is None:
            try:
                poller = self._pollers[url] = self._poller(url)
            except ManifestError as exc:  # plain http without allow_http, a bad attribute
                if entry.error is None:
                    self._invalid(entry, "URL refused", str(exc))
                return
            if self._wake is not None:
                poller.start()
        if self._wake is None:
            poller.poll_once(conditional=not force)
        elif force:
            poller.kick(force=True)
        polled = poller.latest()
        entry.errors += polled.failed - entry.polled_errors
        entry.polled_errors = polled.failed
        if polled.generation == entry.generation and not force:
            return
        entry.generation = polled.generation
        entry.unsigned = isinstance(polled.error, SignatureError)
        if entry.unsigned:
            entry.signature_refusals += 1
        if polled.error is not None:
            what = (
                "signature refused"
                if isinstance(polled.error, SignatureError)
                else "invalid manifest"
                if isinstance(polled.error, ManifestError)
                else "cannot fetch"
            )
            self._invalid(entry, what, str(polled.error), counted=True)
        elif polled.body is not None:
            name = display_url(url)
            try:
                manifest = manifest_of(polled.body, name, json_only=url_is_json(url))
                manifest = allowed_manifest(manifest, self.allowances)
            except ManifestError as exc:
                self._invalid(entry, "invalid manifest", str(exc))
            else:
                self._valid(name, entry, manifest)

    def _poller(self, source: str) -> UrlPoller:
        """The poller of a URL, or of a metadata attribute (long-polled once started)."""
        from agent.sources.remote import remote_fetcher

        fetcher = remote_fetcher(source, self.urls, long_poll=self._wake is not None)
        if isinstance(fetcher, SignedFetcher):
            serial = self._serials.get(source)
            fetcher.serial = serial if isinstance(serial, int) else None
            fetcher.on_accept = lambda serial: self._keep_serial(source, serial)
        if not is_metadata(source):
            return UrlPoller(fetcher, self.url_interval, self._wake)
        return UrlPoller(fetcher, METADATA_INTERVAL, self._wake, backoff=METADATA_BACKOFF)

    def _keep_serial(self, source: str, serial: int) -> None:
        """Remember the serial of a signed body accepted (on a poller's thread)."""
        with self._serials_lock:
            self._serials[source] = serial
            write_mapping(self.serials_path, dict(self._serials), "signed serials")

    def _invalid(self, entry: _Entry, what: str, error: str, counted: bool = False) -> None:
        """A read that failed: logged once per distinct error; the last valid content stays."""
        if error != entry.error:
            log.error("%s (%s):\n%s", what, _kept(entry), error)
        entry.error = error
        if not counted:
            entry.errors += 1

    def _valid(self, name: str, entry: _Entry, manifest: Manifest) -> None:
        if manifest != entry.manifest:
            entry.manifest = manifest
            entry.arrived = self._pass
        entry.loaded = time.time()
        if entry.error:
            log.info("%s: valid again", name)
        entry.error = None

    def _gone(self, path: str) -> None:
        """A file no source names any more, or that no longer exists: dropped at the second look."""
        entry = self._entries[path]
        entry.missing += 1
        if entry.missing < 2:
            return
        if entry.in_force is not None:
            log.warning("%s: file is gone; its containers will be removed", path)
        del self._entries[path]
        poller = self._pollers.pop(path, None)
        if poller is not None:
            poller.close()

    def _merge(self, complete: bool) -> DesiredSet:
        """The contents in force after this pass's changes (:func:`agent.sources.conflicts.settle`);
        a refused change is logged once per distinct conflict."""
        entries = self._entries
        in_force = {p: e.in_force for p, e in entries.items() if e.in_force is not None}
        arrivals: dict[int, dict[str, Manifest]] = {}
        for path, entry in entries.items():
            if entry.manifest is not None and entry.manifest is not entry.in_force:
                arrivals.setdefault(entry.arrived, {})[path] = entry.manifest
        settled = settle(in_force, [arrivals[n] for n in sorted(arrivals)])
        for path, entry in entries.items():
            entry.in_force = settled.in_force.get(path)
            refused = settled.refused.get(path)
            conflict = str(refused) if refused is not None else None
            if conflict is not None and conflict != entry.conflict:
                log.error("conflict with another source (%s):\n%s", _kept(entry), conflict)
                entry.errors += 1
            elif conflict is None and entry.conflict is not None:
                log.info("%s: no longer in conflict", display_url(path))
            entry.conflict = conflict
        complete = complete and all(e.in_force is not None for e in entries.values())
        manifests = (e.in_force for e in entries.values() if e.in_force is not None)
        return DesiredSet(tuple(manifests), complete=complete)

    def _report(self, key: str, message: str | None) -> None:
        """Log a problem once while it lasts; ``None`` says it is over."""
        if message is not None and self._reported.get(key) != message:
            log.error("%s", message)
        if message is None:
            self._reported.pop(key, None)
        else:
            self._reported[key] = message


def _kept(entry: _Entry) -> str:
    """What stays in force of a source whose new content is refused."""
    return "its last valid content stays in force" if entry.in_force else "nothing loaded"


def _signature(path: str) -> _Signature | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)
