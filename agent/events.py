"""Follow the engine's events in a thread and wake the run loop when one of the namespace's
containers dies, is OOM-killed, stopped, killed or removed by someone else.

Events are for speed only, never for correctness: the periodic pass stays the
safety net. When the stream breaks (the engine restarted, its socket is gone), the
break is logged once, the follower reconnects with back-off, and every reconnect
wakes a pass, since events may have been missed meanwhile.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from agent.backoff import Backoff
from backends.base import Backend, EventStream
from backends.errors import BackendError, Unsupported

__all__ = ["RECONNECT", "WAKING_ACTIONS", "EventFollower"]

log = logging.getLogger("agent.events")

WAKING_ACTIONS = frozenset({"die", "oom", "stop", "kill", "destroy"})
"""Docker's words for what ends or removes a container."""
RECONNECT = Backoff(initial=1.0, max=30.0)


class EventFollower:
    """Calls ``wake`` (from its own thread) for each event in :data:`WAKING_ACTIONS` of a
    container labelled with ``namespace``; :meth:`close` stops it."""

    def __init__(
        self,
        backend: Backend,
        namespace: str,
        wake: Callable[[], None],
        reconnect: Backoff = RECONNECT,
    ) -> None:
        self.backend = backend
        self.namespace = namespace
        self.wake = wake
        self.reconnect = reconnect
        self.events = 0
        self._stopping = threading.Event()
        self._stream: EventStream | None = None
        self._opened = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._follow, name="agent-events", daemon=True)

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
                    log.debug("event: %s %s (%s)", event.action, event.name, event.id[:12])
                    self.wake()
        finally:
            with self._lock:
                self._stream = None
            stream.close()
