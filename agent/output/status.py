"""What ``agent status`` shows: each container of the namespace, and how it stands against
the manifests. Pure: it reads the listing, the restart counts and (with manifests) the plan.

The plan says it all: a container no action names is in sync; one that is removed is
changed (its name is still wanted) or not in the manifest; a restart is due, or a wait
in back-off; a start with no container of its name is missing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence

import attrs

from agent.planning.actions import (
    Hold,
    Join,
    Plan,
    Remove,
    Restart,
    Rollback,
    Start,
    Update,
    Wait,
    Watch,
)
from agent.planning.health import Health
from agent.planning.observed import ObservedContainer
from agent.planning.spec import PortBinding

__all__ = [
    "CHANGED",
    "IN_SYNC",
    "JOIN_DUE",
    "MISSING",
    "NOT_IN_MANIFEST",
    "RESTART_DUE",
    "WAITING",
    "ContainerStatus",
    "statuses",
]

IN_SYNC = "in sync"
CHANGED = "changed"
MISSING = "missing"
NOT_IN_MANIFEST = "not in the manifest"
RESTART_DUE = "restart due"
WAITING = "back-off"
JOIN_DUE = "join due"
"""Running as it should, but not on the namespace's network yet: it joins it in place."""
ROLLING_OUT = "rolling out"
"""A rollout under way: the new container must run longer, the previous one is kept."""
ROLLBACK_DUE = "rollback due"
HELD_BACK = "held back"
"""A change not carried out: its rollout failed, or its manifest's rollout stopped."""


@attrs.frozen
class ContainerStatus:
    """One row of ``agent status``.

    ``state`` is the engine's word, or ``missing`` for a wanted container the engine
    does not have. ``restarts`` counts the agent's restarts in the current crash loop;
    ``restart_at`` is when a container waiting in back-off is restarted. ``sync`` is None
    when no manifest was given; ``reason`` is the plan's reason for its action, if any.
    ``health`` is what the daemon's liveness probe found (``healthy``, ``unhealthy``,
    ``starting``; None: not probed), ``probe`` what its last check saw, and when.
    """

    name: str
    engine_name: str
    id: str | None
    image: str
    state: str
    exit_code: int | None = None
    image_id: str | None = None
    """The id of the image it runs, as the engine knows it; None: not known (or missing)."""
    restarts: int = 0
    started_at: float | None = None
    restart_at: float | None = None
    ports: tuple[PortBinding, ...] = ()
    sync: str | None = None
    reason: str | None = None
    health: str | None = None
    probe: str | None = None
    probed_at: float | None = None

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused", "restarting")

    def uptime(self, now: float) -> float | None:
        """Seconds it has been running, when it runs and the engine said since when."""
        if not self.running or self.started_at is None:
            return None
        return max(0.0, now - self.started_at)


def statuses(
    observed: Iterable[ObservedContainer],
    restarts: Mapping[str, int],
    plan: Plan | None = None,
    wanted: Collection[str] = (),
    health: Mapping[str, Health] | None = None,
) -> tuple[ContainerStatus, ...]:
    """The rows, by name then engine name: every observed container, and with a ``plan``
    (made against the same listing for the manifests' containers, named in ``wanted``)
    the wanted containers that are missing; ``health`` adds what the probes found."""
    health = health or {}
    actions = {} if plan is None else _actions_by_container(plan)
    rows = []
    seen: set[str] = set()
    for container in observed:
        seen.add(container.name)
        row = _row(container, restarts.get(container.id, 0))
        found = health.get(container.id)
        if found is not None and container.running:
            row = attrs.evolve(
                row, health=found.state(), probe=found.last or None, probed_at=found.checked_at
            )
        if plan is not None:
            action = actions.get(container.id)
            row = _against(row, action, wanted)
        rows.append(row)
    if plan is not None:
        rows += [_missing(start) for start in _starts(plan) if start.name not in seen]
    return tuple(sorted(rows, key=lambda r: (r.name, r.engine_name)))


def _row(container: ObservedContainer, restarts: int) -> ContainerStatus:
    return ContainerStatus(
        name=container.name,
        engine_name=container.engine_name,
        id=container.id,
        image=container.image,
        image_id=container.image_id or None,
        state=container.state,
        exit_code=None if container.running else container.exit_code,
        restarts=restarts,
        started_at=container.started_at,
        ports=container.ports or (),
    )


_Listed = Restart | Remove | Wait | Join | Update | Watch | Rollback | Hold | Start
_ROLLOUT_WORDS = {Watch: ROLLING_OUT, Rollback: ROLLBACK_DUE, Hold: HELD_BACK, Start: CHANGED}


def _against(
    row: ContainerStatus, action: _Listed | None, wanted: Collection[str]
) -> ContainerStatus:
    """How a listed container stands against the manifests, given its action."""
    if isinstance(action, (Watch, Rollback, Hold, Start)):
        return attrs.evolve(row, sync=_ROLLOUT_WORDS[type(action)], reason=action.reason)
    if action is None:
        return attrs.evolve(row, sync=IN_SYNC if row.name in wanted else NOT_IN_MANIFEST)
    if isinstance(action, Join):
        return attrs.evolve(row, sync=JOIN_DUE, reason=action.reason)
    if isinstance(action, Wait):
        return attrs.evolve(row, sync=WAITING, restart_at=action.due, reason=action.reason)
    if isinstance(action, Restart):
        return attrs.evolve(row, sync=RESTART_DUE, reason=action.reason)
    sync = CHANGED if row.name in wanted else NOT_IN_MANIFEST
    return attrs.evolve(row, sync=sync, reason=action.reason)


def _actions_by_container(plan: Plan) -> dict[str, _Listed]:
    """Each listed container's action (the previous container of a rollout's start: the
    start); a join is said only of one that has no other."""
    found: dict[str, _Listed] = {a.container.id: a for a in plan.actions if isinstance(a, Join)}
    found.update((a.previous.id, a) for a in plan.actions if isinstance(a, Start) and a.previous)
    kinds = (Restart, Remove, Wait, Update, Watch, Rollback, Hold)
    found.update((a.container.id, a) for a in plan.actions if isinstance(a, kinds))
    return found


def _starts(plan: Plan) -> Sequence[Start]:
    return [a for a in plan.actions if isinstance(a, Start)]


def _missing(start: Start) -> ContainerStatus:
    spec = start.spec
    return ContainerStatus(
        name=spec.name,
        engine_name=spec.engine_name,
        id=None,
        image=spec.image,
        state=MISSING,
        ports=spec.ports,
        sync=MISSING,
        reason=start.reason,
    )
