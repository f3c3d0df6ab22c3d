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
from agent.executor import execute
from agent.reconcile import Settings, plan_for
from agent.sources import SourceSet
from backends.base import Backend

__all__ = ["RunLoop"]

log = logging.getLogger("agent.run")


class RunLoop:
    def __init__(self, sources: list[str], backend: Backend, settings: Settings, reload: float):
        self.sources = SourceSet(sources)
        self.backend = backend
        self.settings = settings
        self.reload = reload
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
        try:
            the_plan = plan_for(
                desired, self.backend, self.settings, time.time(), self.sources.complete
            )
        except AgentError as exc:
            log.error("pass skipped: %s", exc)
            return
        if the_plan.changes:
            execute(the_plan, self.backend, self.settings.stop_timeout, lambda: self.stopping)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if signum == signal.SIGHUP:
            log.info("SIGHUP: reloading every manifest")
            self._force = True
        else:
            self.stopping = True
        self._wake.set()
