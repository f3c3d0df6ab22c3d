"""``agent run``: converge again every few seconds and whenever a manifest changes.

SIGHUP forces a reload; SIGTERM and SIGINT finish the action in flight and
exit 0, leaving the containers running.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType

from agent.errors import AgentError
from agent.reconcile import Settings, converge
from agent.sources import SourceSet
from backends.base import Backend

__all__ = ["RunLoop"]

log = logging.getLogger("agent.run")


class RunLoop:
    def __init__(
        self,
        sources: list[str],
        backend: Backend,
        settings: Settings,
        reload: float,
        pull_interval: float = 300.0,
    ) -> None:
        self.sources = SourceSet(sources)
        self.backend = backend
        self.settings = settings
        self.reload = reload
        self.pull_interval = pull_interval
        self._last_pull: float | None = None
        self.stopping = False
        self._wake = threading.Event()
        self._force = False

    def run(self) -> int:
        """Loop until SIGTERM or SIGINT; returns the exit code."""
        previous = {
            sig: signal.signal(sig, self._on_signal)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        }
        log.info(
            "agent running: namespace %s, engine %s, reload every %gs",
            self.settings.namespace,
            self.backend.address,
            self.reload,
        )
        try:
            while not self.stopping:
                self.run_once()
                self._wake.wait(self.reload)
                self._wake.clear()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        log.info("agent stopped; containers keep running")
        return 0

    def run_once(self) -> None:
        """One pass: reload what changed, plan, execute. Never raises an AgentError."""
        force, self._force = self._force, False
        desired = self.sources.refresh(force=force)
        now = time.time()
        pull = self._last_pull is None or now - self._last_pull >= self.pull_interval
        try:
            converge(
                desired,
                self.backend,
                self.settings,
                now,
                allow_removals=self.sources.complete,
                pull=pull,
                cancelled=lambda: self.stopping,
            )
        except AgentError as exc:
            log.error("pass skipped: %s", exc)
            return
        except Exception:
            # A daemon outlives its own bugs: log the trace, try again next pass.
            log.exception("pass failed unexpectedly; trying again in %gs", self.reload)
            return
        if pull:
            self._last_pull = now

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            log.info("SIGHUP: reloading every manifest")
            self._force = True
        else:
            self.stopping = True
        self._wake.set()
