"""Polling one URL source on a thread of its own, so that a slow server never delays a pass.

The run loop never waits for the network: it reads :meth:`UrlPoller.latest`, the outcome
of the last fetch, which the poller's thread replaces every ``interval`` seconds (backing
off while fetches fail) and wakes the loop when it changes. A library caller that does
not :meth:`~UrlPoller.start` it calls :meth:`~UrlPoller.poll_once` itself.

Every wait is jittered: multiplied by a random factor in [1 - JITTER, 1 + JITTER], so that
a thousand hosts started together spread their fetches over a fifth of the interval
instead of hitting the server in the same second.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Protocol

import attrs

from agent.errors import ManifestError
from agent.planning.backoff import Backoff
from agent.sources.urls import UrlFetchError

__all__ = ["JITTER", "Fetcher", "Polled", "UrlPoller"]

log = logging.getLogger("agent.sources")

URL_BACKOFF_MAX = 300.0
"""While fetches fail, the interval doubles up to this many seconds (or the interval)."""

JITTER = 0.1
"""Each wait is multiplied by a random factor in [1 - JITTER, 1 + JITTER]."""


class Fetcher(Protocol):
    """What a poller fetches: a URL (:class:`~agent.sources.url_source.UrlSource`) or a metadata
    attribute (:class:`~agent.sources.metadata_source.MetadataSource`)."""

    @property
    def name(self) -> str: ...

    def fetch(self, conditional: bool = True) -> bytes | None: ...


@attrs.frozen
class Polled:
    """Where a URL stands: ``body`` is that of the last 200 (None: none yet), ``error``
    why the last fetch failed (None: it did not), ``failures`` how many failed in a row
    and ``failed`` in all. ``generation`` grows whenever the body or the error changes; a
    304, or a 200 with the same body, changes neither."""

    generation: int = 0
    body: bytes | None = None
    error: UrlFetchError | ManifestError | None = None
    failures: int = 0
    failed: int = 0


class UrlPoller:
    """Fetches one URL every ``interval`` seconds while it answers; after failures, as
    ``backoff`` says (by default ``Backoff(interval, max(interval, 300))``), each wait
    jittered (:data:`JITTER`, drawn from ``rng``). ``on_change`` is called (on the
    poller's thread) whenever :meth:`latest` changes."""

    def __init__(
        self,
        source: Fetcher,
        interval: float,
        on_change: Callable[[], None] | None = None,
        backoff: Backoff | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.source = source
        self.interval = interval
        self.backoff = backoff or Backoff(interval, max(interval, URL_BACKOFF_MAX))
        self.on_change = on_change
        self.rng = rng or random.Random()
        self._latest = Polled()
        self._lock = threading.Lock()
        self._event = threading.Event()
        self._stopping = False
        self._force = False
        self._thread: threading.Thread | None = None

    def latest(self) -> Polled:
        with self._lock:
            return self._latest

    def poll_once(self, conditional: bool = True) -> bool:
        """Fetch now; True when the outcome changed."""
        try:
            body = self.source.fetch(conditional=conditional)
        except (UrlFetchError, ManifestError) as exc:
            return self._update(error=exc)
        return self._update(body=body)

    def _update(
        self, body: bytes | None = None, error: UrlFetchError | ManifestError | None = None
    ) -> bool:
        with self._lock:
            old = self._latest
            new_body = old.body if body is None else body
            failures = old.failures + 1 if error is not None else 0
            changed = new_body != old.body or str(error or "") != str(old.error or "")
            failed = old.failed + (error is not None)
            self._latest = Polled(old.generation + changed, new_body, error, failures, failed)
        if error is not None:
            log.debug("%s: fetch failed (%d in a row): %s", self.source.name, failures, error)
        if changed and self.on_change is not None:
            self.on_change()
        return changed

    def start(self) -> None:
        """Poll on a daemon thread from now on (the first fetch at once)."""
        if self._thread is None:
            name = f"url-poller {self.source.name}"
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def kick(self, force: bool = False) -> None:
        """Fetch at once; ``force``: without the conditional headers (SIGHUP)."""
        self._force = self._force or force
        self._event.set()

    def close(self) -> None:
        self._stopping = True
        self._event.set()
        if self._thread is not None:
            # A fetch in flight ends within its timeouts; the thread is a daemon anyway.
            self._thread.join(timeout=1.0)

    def delay(self, failing: int) -> float:
        """The wait before the next fetch after ``failing`` failures in a row, jittered."""
        base = self.backoff.delay(failing) if failing else self.interval
        return base * self.rng.uniform(1 - JITTER, 1 + JITTER)

    def _run(self) -> None:
        failing = 0
        conditional = True
        while not self._stopping:
            try:
                self.poll_once(conditional=conditional)
            except Exception:  # a bug must not end the polling
                log.exception("%s: polling failed unexpectedly", self.source.name)
            latest = self.latest()
            failing = failing + 1 if latest.error is not None else 0
            self._event.wait(self.delay(failing))
            self._event.clear()
            conditional = not self._force
            self._force = False
