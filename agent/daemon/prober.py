"""``agent run``'s liveness prober: every probed container checked on its own schedule.

One scheduler thread keeps, for each target, when its next check is due: the
first ``initial_delay`` seconds after the prober began watching this run of the
container, then every ``period``. A check runs on a thread of its own, at most
:data:`SLOTS` at once and one per container. A check that overruns its timeout
(a hung exec, say) is counted as a failure and abandoned: it gives its slot back,
its late result is dropped, and while it still hangs the container's next checks
fail at once ("still hung"), so a hung container turns unhealthy on schedule and
never blocks the others or the loop. Results become :class:`~agent.planning.health.Health`
records; a container that turns unhealthy wakes the loop, whose planner restarts it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import attrs

from agent.daemon.checks import ExecIn, run_check
from agent.manifest.probes import Probe
from agent.planning.actions import Restart, Start
from agent.planning.health import Health, Outcome, observe
from agent.planning.spec import PortBinding, RunSpec
from agent.state.health_file import HealthFile

if TYPE_CHECKING:
    from agent.engine.executor import ActionResult
    from agent.planning.observed import ObservedContainer

__all__ = ["GRACE", "SLOTS", "Prober", "Target", "probe_targets"]

log = logging.getLogger("agent.probe")

SLOTS = 16
"""How many checks run at once."""
GRACE = 0.5
"""Seconds past its timeout after which a check is abandoned (its sockets time out first)."""
_SAVE_EVERY = 1.0


@attrs.frozen
class Target:
    """A running container to probe: its id, its name, the probe, the ports it publishes."""

    container_id: str
    name: str
    probe: Probe
    ports: tuple[PortBinding, ...] = ()


def probe_targets(
    specs: Iterable[RunSpec],
    observed: Iterable[ObservedContainer],
    results: Sequence[ActionResult],
) -> list[Target]:
    """What to probe after a pass: each running container made from a spec with a probe
    (same name, same hash), and each container the pass started, minus those it removed."""
    probed = {spec.name: spec for spec in specs if spec.liveness_probe is not None}
    gone = {r.container_id for r in results if r.ok and r.action.verb == "remove"}
    targets: dict[str, Target] = {}
    for container in observed:
        spec = probed.get(container.name)
        if spec is None or container.hash != spec.hash or container.id in gone:
            continue
        if container.running:
            targets[container.id] = _target(container.id, spec)
    for result in results:
        spec = probed.get(result.action.name)
        if result.ok and result.container_id and spec is not None and _made(result, spec):
            targets[result.container_id] = _target(result.container_id, spec)
    return list(targets.values())


def _made(result: ActionResult, spec: RunSpec) -> bool:
    """Whether the result left a container of ``spec`` running: a start of it, or a
    restart of a container of its hash."""
    action = result.action
    if isinstance(action, Start):
        return action.spec.hash == spec.hash
    return isinstance(action, Restart) and action.container.hash == spec.hash


def _target(container_id: str, spec: RunSpec) -> Target:
    assert spec.liveness_probe is not None
    return Target(container_id, spec.name, spec.liveness_probe, spec.ports)


@attrs.define
class _Watch:
    target: Target
    due: float
    since: float  # wall time the prober began watching this run
    running: threading.Thread | None = None
    began: float = 0.0
    abandoned: bool = False


class Prober:
    """Checks the targets it is given (:meth:`watch`) until :meth:`close`.

    ``exec_in(container_id)`` gives the engine's exec for one container; ``on_unhealthy``
    is called (from the prober's thread) when a container turns unhealthy.
    """

    def __init__(
        self,
        exec_in: Callable[[str], ExecIn],
        on_unhealthy: Callable[[], None],
        health_file: HealthFile | None = None,
        slots: int = SLOTS,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._exec_in = exec_in
        self._on_unhealthy = on_unhealthy
        self._file = health_file or HealthFile(None)
        self._slots = slots
        self._clock = clock
        self._wall = wall
        self._cond = threading.Condition()
        self._watches: dict[str, _Watch] = {}
        self._health: dict[str, Health] = {}
        self._busy = 0
        self._closed = False
        self._dirty = False
        self._saved = 0.0
        self._thread = threading.Thread(target=self._schedule, name="agent-prober", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._save(force=True)

    def watch(self, targets: Iterable[Target]) -> None:
        """Probe exactly these containers from now on: new ones after their initial
        delay, ones whose probe changed afresh; the others are dropped with their health."""
        wanted = {target.container_id: target for target in targets}
        with self._cond:
            now, wall = self._clock(), self._wall()
            for container_id in [c for c in self._watches if c not in wanted]:
                del self._watches[container_id]
                self._health.pop(container_id, None)
                self._dirty = True
            for container_id, target in wanted.items():
                watch = self._watches.get(container_id)
                if watch is None or watch.target.probe != target.probe:
                    self._health.pop(container_id, None)
                    due = now + target.probe.initial_delay
                    self._watches[container_id] = _Watch(target, due, wall)
                else:
                    watch.target = target
            self._cond.notify_all()

    def forget(self, container_ids: Iterable[str]) -> None:
        """These containers were restarted: their next run is watched afresh."""
        with self._cond:
            for container_id in container_ids:
                self._health.pop(container_id, None)
                watch = self._watches.pop(container_id, None)
                if watch is not None:
                    due = self._clock() + watch.target.probe.initial_delay
                    self._watches[container_id] = _Watch(watch.target, due, self._wall())
                    self._dirty = True
            self._cond.notify_all()

    def health(self) -> dict[str, Health]:
        """The health records of the containers watched, by container id."""
        with self._cond:
            return dict(self._health)

    def _schedule(self) -> None:
        while True:
            with self._cond:
                if self._closed:
                    return
                now = self._clock()
                self._abandon_overdue(now)
                self._launch_due(now)
                wake = self._next_wake(now)
                self._cond.wait(timeout=max(0.01, wake - now))
            self._save()

    def _abandon_overdue(self, now: float) -> None:
        for watch in self._watches.values():
            probe = watch.target.probe
            if watch.running is None or watch.abandoned:
                continue
            if now >= watch.began + probe.timeout + GRACE:
                watch.abandoned = True
                self._busy -= 1
                what = f"{probe.check.describe()} timed out after {probe.timeout:g}s; abandoned"
                self._record(watch, Outcome(False, what, self._wall()))

    def _launch_due(self, now: float) -> None:
        for watch in sorted(self._watches.values(), key=lambda w: w.due):
            if watch.due > now or self._busy >= self._slots:
                break
            probe = watch.target.probe
            watch.due = max(watch.due + probe.period, now)
            if watch.running is not None:
                if watch.abandoned:  # the last check hangs still: this one fails at once
                    message = f"{probe.check.describe()} still hung from an earlier check"
                    self._record(watch, Outcome(False, message, self._wall()))
                continue
            self._busy += 1
            watch.began = now
            watch.abandoned = False
            watch.running = threading.Thread(
                target=self._check, args=(watch,), name="agent-probe", daemon=True
            )
            watch.running.start()

    def _next_wake(self, now: float) -> float:
        wakes = [now + 5.0]
        for watch in self._watches.values():
            if watch.running is not None and not watch.abandoned:
                wakes.append(watch.began + watch.target.probe.timeout + GRACE)
            elif self._busy < self._slots:
                wakes.append(watch.due)
        return min(wakes)

    def _check(self, watch: _Watch) -> None:
        """On the check's own thread: run it, then hand the outcome over."""
        target = watch.target
        try:
            passed, message = run_check(
                target.probe.check,
                target.ports,
                target.probe.timeout,
                self._exec_in(target.container_id),
            )
        except Exception as exc:  # a bug in a check must not end the prober
            passed, message = False, f"check failed: {exc}"
        with self._cond:
            watch.running = None
            if watch.abandoned:
                watch.abandoned = False
                return  # already counted as a timeout; the slot was given back
            self._busy -= 1
            if self._watches.get(target.container_id) is watch:
                self._record(watch, Outcome(passed, message, self._wall()))
            self._cond.notify_all()

    def _record(self, watch: _Watch, outcome: Outcome) -> None:
        """Count an outcome (the lock is held)."""
        container_id = watch.target.container_id
        before = self._health.get(container_id)
        after = observe(before, outcome, watch.target.probe, watch.since)
        self._health[container_id] = after
        self._dirty = True
        name = watch.target.name
        if after.unhealthy and not (before and before.unhealthy):
            log.warning(
                "%s is unhealthy: liveness probe failed %d times: %s",
                name,
                after.failures,
                outcome.message,
                extra={"container": name, "probe": watch.target.probe.check.describe()},
            )
            self._on_unhealthy()
        elif not outcome.ok:
            log.info("%s: liveness probe failed (%d): %s", name, after.failures, outcome.message)
        elif before is not None and before.failures:
            log.info("%s: liveness probe passes again", name)

    def _save(self, force: bool = False) -> None:
        """Write the records for ``agent status`` and ``agent plan``, at most once a second."""
        with self._cond:
            now = self._clock()
            if not self._dirty or (not force and now - self._saved < _SAVE_EVERY):
                return
            records: Mapping[str, Health] = dict(self._health)
            self._dirty, self._saved = False, now
        self._file.write(records)
