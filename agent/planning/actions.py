"""Actions as data: what a plan asks for, each with the container (or the namespace's
network) and a reason."""

from __future__ import annotations

import attrs

from agent.planning.network import ObservedNetwork
from agent.planning.observed import ObservedContainer
from agent.planning.record import Change
from agent.planning.spec import RunSpec

__all__ = [
    "Action",
    "ContainerAction",
    "CreateNetwork",
    "Join",
    "NetworkAction",
    "Plan",
    "Remove",
    "RemoveNetwork",
    "Restart",
    "Start",
    "Update",
    "Wait",
]


@attrs.frozen
class Start:
    """Create the container from its spec and start it."""

    spec: RunSpec
    reason: str
    symbol = "+"
    verb = "start"

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


ContainerAction = Start | Restart | Remove | Wait | Join | Update
"""An action on one container."""
NetworkAction = CreateNetwork | RemoveNetwork
"""An action on the namespace's network."""
Action = Start | Restart | Remove | Wait | Join | Update | CreateNetwork | RemoveNetwork


@attrs.frozen
class Plan:
    """The ordered actions that converge the engine: the network made, removals, joins,
    restarts, starts, the network removed; then the containers waiting in back-off, which
    are no change yet."""

    actions: tuple[Action, ...] = ()

    @property
    def changes(self) -> bool:
        return any(not isinstance(action, Wait) for action in self.actions)

    def count(self, kind: type[Action]) -> int:
        return sum(isinstance(action, kind) for action in self.actions)
