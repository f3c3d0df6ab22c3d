"""Actions as data: what a plan asks for, each with the container (or the namespace's
network) and a reason."""

from __future__ import annotations

import attrs

from agent.planning.network import ObservedNetwork
from agent.planning.observed import ObservedContainer
from agent.planning.record import Change
from agent.planning.rollout import FailedRevision
from agent.planning.spec import RunSpec

__all__ = [
    "NO_CHANGE",
    "Action",
    "ContainerAction",
    "CreateNetwork",
    "Hold",
    "Join",
    "NetworkAction",
    "Plan",
    "Remove",
    "RemoveNetwork",
    "Restart",
    "Rollback",
    "Start",
    "Update",
    "Wait",
    "Watch",
]


@attrs.frozen
class Start:
    """Create the container from its spec and start it.

    In a rollout, ``previous`` is the container it replaces, kept as the fallback until the
    new one counts as good (then removed, or started again on a rollback); ``stop_first``:
    the previous one holds a claim of the new one (a host port, a volume) and is stopped,
    not removed, before the new one starts; else the new one starts beside it. ``changes``
    says what the new spec changes in the previous one, as a removal's do.
    """

    spec: RunSpec
    reason: str
    previous: ObservedContainer | None = None
    stop_first: bool = False
    changes: tuple[Change, ...] = ()
    revision: str = ""
    """In a rollout, its manifest's revision, remembered if it fails."""
    symbol = "+"
    verb = "start"

    @property
    def mode(self) -> str | None:
        """``start-first`` or ``stop-first`` in a rollout; None otherwise."""
        if self.previous is None:
            return None
        return "stop-first" if self.stop_first else "start-first"

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def engine_name(self) -> str:
        return self.spec.engine_name


class _Existing:
    """An action on a container the engine already has: named after it."""

    container: ObservedContainer

    @property
    def name(self) -> str:
        return self.container.name

    @property
    def engine_name(self) -> str:
        return self.container.engine_name


@attrs.frozen
class Restart(_Existing):
    """Start an existing container again, so that its logs survive.

    ``attempt`` counts the restarts of this crash loop, this one included: the
    executor records it, and the planner's back-off grows with it. ``stop_first``: the
    container still runs (it failed its liveness probe) and is stopped before it is
    started again.
    """

    container: ObservedContainer
    reason: str
    attempt: int = 1
    stop_first: bool = False
    symbol = "~"
    verb = "restart"


@attrs.frozen
class Remove(_Existing):
    """Stop the container and remove it.

    ``changes`` says, field by field, what the spec that replaces it changes (see
    :mod:`agent.planning.record`); empty when it is not replaced or its origin is unknown.
    """

    container: ObservedContainer
    reason: str
    changes: tuple[Change, ...] = ()
    completes_rollout: bool = False
    """The previous container of a rollout whose new one counts as good now."""
    symbol = "-"
    verb = "remove"


@attrs.frozen
class Update(_Existing):
    """Change an existing container's limits in place (``docker update``): it keeps its
    id, and runs on. ``spec`` is the spec it then matches; ``changes`` what changes,
    field by field (only the limits: see :data:`agent.planning.planner.IN_PLACE`).
    """

    container: ObservedContainer
    spec: RunSpec
    reason: str
    changes: tuple[Change, ...] = ()
    symbol = "~"
    verb = "update"


@attrs.frozen
class Wait(_Existing):
    """Leave an exited container alone for now: its crash-loop back-off has not elapsed.

    ``due`` is when it has (seconds since the epoch), so that a loop can come back then.
    """

    container: ObservedContainer
    reason: str
    due: float = 0.0
    symbol = "="
    verb = "wait"


@attrs.frozen
class Watch(_Existing):
    """A rollout in progress: the new container ``container`` has not yet run long enough
    (or passed its probe) to count as good; its predecessor is kept. ``due`` is when it will
    have run long enough (0: no time of its own, it waits for another's rollout). No change."""

    container: ObservedContainer
    reason: str
    due: float = 0.0
    symbol = "^"
    verb = "watch"


@attrs.frozen
class Rollback(_Existing):
    """A rollout failed: ``failed`` (the new container; None when it never got made) is
    stopped and removed, unless ``pause``, and ``container``, its predecessor, runs again
    under its name; the failed revision is remembered (see :mod:`agent.planning.rollout`)."""

    container: ObservedContainer
    failed: ObservedContainer | None
    revision: FailedRevision
    reason: str
    pause: bool = False
    symbol = "<"
    verb = "rollback"


@attrs.frozen
class Hold(_Existing):
    """A change not carried out: its revision failed before (held back until the manifest
    or the image changes again), or its manifest's rollout is paused. No change."""

    container: ObservedContainer
    reason: str
    symbol = "!"
    verb = "held"


@attrs.frozen
class Join(_Existing):
    """Attach a container the engine has (made by an older agent, or with the network
    off) to the namespace's network, in place, answering there to ``aliases``."""

    container: ObservedContainer
    network: str
    aliases: tuple[str, ...]
    reason: str
    symbol = ">"
    verb = "join"


@attrs.frozen
class CreateNetwork:
    """Make the namespace's network ``network``, labelled with ``namespace``, before any
    container is started on it or joins it."""

    network: str
    namespace: str
    reason: str
    symbol = "+"
    verb = "create-network"

    @property
    def name(self) -> str:
        return self.network

    @property
    def engine_name(self) -> str:
        return self.network


@attrs.frozen
class RemoveNetwork:
    """Remove the namespace's network once its last container is gone."""

    network: ObservedNetwork
    reason: str
    symbol = "-"
    verb = "remove-network"

    @property
    def name(self) -> str:
        return self.network.name

    @property
    def engine_name(self) -> str:
        return self.network.name


ContainerAction = Start | Restart | Remove | Wait | Join | Update | Watch | Rollback | Hold
"""An action on one container."""
NetworkAction = CreateNetwork | RemoveNetwork
"""An action on the namespace's network."""
Action = ContainerAction | NetworkAction
NO_CHANGE = (Wait, Watch, Hold)
"""The actions that change nothing: a plan of these alone is no change."""


@attrs.frozen
class Plan:
    """The ordered actions that converge the engine: the network made, removals, joins,
    restarts, starts, the network removed; then the containers waiting in back-off, which
    are no change yet."""

    actions: tuple[Action, ...] = ()
    settled: frozenset[str] = frozenset()
    """The names whose rollout record is moot (the manifest went back to the previous
    container's spec, or it is gone): the caller drops their records."""

    @property
    def changes(self) -> bool:
        return any(not isinstance(action, NO_CHANGE) for action in self.actions)

    @property
    def rolling(self) -> bool:
        """Whether a rollout is under way: a new container is watched, or about to start."""
        return any(
            isinstance(a, Watch) or (isinstance(a, Start) and a.previous is not None)
            for a in self.actions
        )

    def count(self, kind: type[Action]) -> int:
        return sum(isinstance(action, kind) for action in self.actions)
