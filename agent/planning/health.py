"""What the liveness probes found, as observed state: pure counting, as the kubelet does.

Each check's :class:`Outcome` moves a container's :class:`Health` on: a success
clears the count of failures, a failure adds one, and ``failure_threshold``
failures in a row make it unhealthy, from that moment (``unhealthy_since``) until
a success. The planner reads health like any other observation (see
:func:`agent.planning.planner.plan`); :class:`HealthFile` keeps it where ``agent status``
and ``agent plan`` can read what the daemon found.
"""

from __future__ import annotations

import attrs

from agent.manifest.probes import Probe

__all__ = ["Health", "Outcome", "observe"]


@attrs.frozen
class Outcome:
    """One check: whether it passed, what it saw (``HTTP 500 from ...``), and when."""

    ok: bool
    message: str
    at: float


@attrs.frozen
class Health:
    """A container's probe record, for the probe of fingerprint ``probe``.

    ``failures`` counts the failures in a row, ``last`` is what the last check saw,
    ``unhealthy_since`` when the failures reached the threshold (None: healthy, or
    not yet known), ``checks`` how many checks ran, ``watched_since`` since when this
    run of the container has been probed (how long it ran, for the back-off's reset).
    """

    probe: str
    failures: int = 0
    last: str = ""
    unhealthy_since: float | None = None
    checked_at: float | None = None
    checks: int = 0
    watched_since: float | None = None

    @property
    def unhealthy(self) -> bool:
        return self.unhealthy_since is not None

    def state(self) -> str:
        """``healthy``, ``unhealthy`` or ``starting`` (no check has run yet)."""
        if self.unhealthy:
            return "unhealthy"
        return "healthy" if self.checks and not self.failures else "starting"


def observe(
    health: Health | None, outcome: Outcome, probe: Probe, watched_since: float | None = None
) -> Health:
    """``health`` after ``outcome``; a record of another probe starts afresh (watched
    since ``watched_since``, by default since this check)."""
    if health is None or health.probe != probe.fingerprint:
        health = Health(probe.fingerprint, watched_since=watched_since or outcome.at)
    checked = attrs.evolve(health, last=outcome.message, checked_at=outcome.at)
    checked = attrs.evolve(checked, checks=health.checks + 1)
    if outcome.ok:
        return attrs.evolve(checked, failures=0, unhealthy_since=None)
    failures = health.failures + 1
    since = health.unhealthy_since
    if since is None and failures >= probe.failure_threshold:
        since = outcome.at
    return attrs.evolve(checked, failures=failures, unhealthy_since=since)
