"""Follow the engine's events in a thread and wake the run loop when one of the namespace's
containers dies, is OOM-killed, stopped, killed or removed by someone else.

Engines send an event a little before their listing shows it (dockerd 20.10
reports a container that died as running for another 100-150 ms), so a waking
event wakes the loop at once and again :data:`RECHECKS` later, each at most once
however many events come meanwhile, and again RECHECKS after a pass during which events
came (a long pass would otherwise have used the rechecks up while it ran). Events are
for speed only, never for correctness: the periodic pass stays the safety net. When the
stream breaks (the engine restarted, its socket is gone), the break is logged once, the
follower reconnects with back-off, and every reconnect wakes a pass, since events may have
been missed meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from agent.planning.backoff import Backoff
from backends.base import Backend, EventStream
from backends.errors import BackendError, Unsupported

__all__ = ["RECHECKS", "RECONNECT", "WAKING_ACTIONS", "EventFollower"]

log = logging.getLogger("agent.events")

WAKING_ACTIONS = frozenset({"die", "oom", "stop", "kill", "destroy"})
"""Docker's words for what ends or removes a container."""
RECONNECT = Backoff(initial=1.0, max=30.0)
RECHECKS = (0.25, 1.0)
"""Seconds after a waking event at which the loop is woken again."""


class EventFollower:
    """Calls ``wake`` (from its own thread) for each event in :data:`WAKING_ACTIONS` of a
    container labelled with ``namespace``; :meth:`close` stops it."""

    def __init__(
        self,
        backend: Backend,
        namespace: str,
        wake: Callable[[], None],
        reconnect: Backoff = RECONNECT,
        rechecks: Sequence[float] = RECHECKS,
    ) -> None:
        self.backend = backend
        self.namespace = namespace
        self.wake = wake
        self.reconnect = reconnect
        self.rechecks = tuple(rechecks)
        self.events = 0
        self._stopping = threading.Event()
        self._stream: EventStream | None = None
        self._opened = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._follow, name="agent-events", daemon=True)
        self._rechecks: dict[float, threading.Timer] = {}

    @property
    def connected(self) -> bool:
        """Whether the stream is open now."""
        return self._stream is not None

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop following; returns once the thread is done (or after a few seconds)."""
        self._stopping.set()
        with self._lock:
            stream = self._stream
            for timer in self._rechecks.values():
                timer.cancel()
        if stream is not None:
            stream.close()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _follow(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self._opened = False
            try:
                self._read_stream(reconnected=failures > 0)
                problem = "the stream ended"
            except Unsupported as exc:
                log.info("%s; the periodic pass notices changes", exc.message)
                return
            except BackendError as exc:
                problem = exc.message
            if self._stopping.is_set():
                return
            failures = 1 if self._opened else failures + 1
            delay = self.reconnect.delay(failures)
            if failures == 1:
                log.warning(
                    "engine events lost (%s); the periodic pass carries on, reconnecting", problem
                )
            else:
                log.debug("engine events still lost (%s); retrying in %gs", problem, delay)
            self._stopping.wait(delay)

    def recheck(self) -> None:
        """Wake the loop again at each of RECHECKS from now, unless one is pending already.

        The run loop asks for this after a pass during which waking events came: that pass
        may have listed their containers a moment before the engine showed them ended, and
        the rechecks scheduled when they came may have fired while the pass still ran."""
        self._recheck()

    def _recheck(self) -> None:
        """Wake the loop again at each of RECHECKS from now, unless one is pending already."""
        with self._lock:
            for delay in self.rechecks:
                pending = self._rechecks.get(delay)
                if self._stopping.is_set() or (pending is not None and pending.is_alive()):
                    continue
                timer = threading.Timer(delay, self.wake)
                timer.daemon = True
                timer.start()
                self._rechecks[delay] = timer

    def _read_stream(self, reconnected: bool) -> None:
        stream = self.backend.events(self.namespace)
        with self._lock:
            if self._stopping.is_set():
                stream.close()
                return
            self._stream = stream
            self._opened = True
        try:
            if reconnected:
                log.info("engine events followed again")
                self.wake()  # what happened while the stream was down is not known
            else:
                log.debug("following engine events of namespace %s", self.namespace)
            for event in stream:
                if event.action in WAKING_ACTIONS:
                    self.events += 1
                    log.debug(
                        "event: %s %s (%s)",
                        event.action,
                        event.name,
                        event.id[:12],
                        extra={"container": event.name, "event": event.action},
                    )
                    self.wake()
                    self._recheck()
        finally:
            with self._lock:
                self._stream = None
            stream.close()
