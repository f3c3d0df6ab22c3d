"""Whether ``agent run`` is doing its job, for ``/healthz``: made from the passes' reports.

The daemon is healthy while its last pass went well and ended recently. It is not
once the engine does not answer (at once: nothing can be converged meanwhile),
once :data:`FAILURES` passes in a row have failed otherwise, or when no pass has
ended well for longer than its window (a loop that hangs). The reason is one line; a
healthy one also names the sources whose last body was refused for its signature (the
last good content stays in force: the daemon still does its job, on old content).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from agent.daemon.report import PassReport

__all__ = ["FAILURES", "MIN_WINDOW", "ServiceHealth"]

FAILURES = 3
"""How many failed passes in a row make the daemon unhealthy."""
MIN_WINDOW = 60.0
"""The shortest time a good pass keeps the daemon healthy."""


class ServiceHealth:
    """Observes the run loop's passes (call it with each report) and answers :meth:`check`
    from any thread. ``window``: seconds after the end of the last good pass during which
    the daemon counts as healthy (see :meth:`for_reload`)."""

    def __init__(
        self,
        window: float,
        failures: int = FAILURES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.window = window
        self.failures = failures
        self.clock = clock
        self._lock = threading.Lock()
        self._last: PassReport | None = None
        self._last_ok: float | None = None
        self._failed = 0
        self._unreachable_since: float | None = None

    @classmethod
    def for_reload(cls, reload: float) -> ServiceHealth:
        """Three periodic passes, and never less than :data:`MIN_WINDOW`."""
        return cls(max(3 * reload, MIN_WINDOW))

    def __call__(self, report: PassReport) -> None:
        with self._lock:
            self._last = report
            if report.ok:
                self._last_ok = report.started + report.duration
                self._failed = 0
                self._unreachable_since = None
                return
            self._failed += 1
            if report.outcome != "unreachable":
                self._unreachable_since = None
            elif self._unreachable_since is None:
                self._unreachable_since = report.started

    def check(self) -> tuple[bool, str]:
        """Healthy or not, and why, in one line."""
        with self._lock:
            last, last_ok, failed = self._last, self._last_ok, self._failed
            since = self._unreachable_since
        now = self.clock()
        if last is None:
            return False, "no pass yet"
        if since is not None:
            return False, f"engine unreachable since {_when(since)}: {last.reason}"
        if failed >= self.failures:
            return False, f"{failed} passes failed: {last.reason}"
        if last_ok is None:
            return False, f"no pass succeeded yet: {last.reason}"
        age = now - last_ok
        if age > self.window:
            return False, f"no pass succeeded for {age:.0f}s (since {_when(last_ok)})"
        unsigned = [source.path for source in last.sources if source.unsigned]
        refused = f"; signature refused, last good content in force: {', '.join(unsigned)}"
        return True, f"ok: last good pass ended {max(age, 0.0):.1f}s ago" + (
            refused if unsigned else ""
        )


def _when(stamp: float) -> str:
    """A time as ISO 8601, in UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))
