"""Actions as data: what a plan asks for, each with the container and a reason."""

from __future__ import annotations

import attrs

from agent.observed import ObservedContainer
from agent.spec import RunSpec

__all__ = ["Action", "Plan", "Remove", "Restart", "Start"]


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


@attrs.frozen
class Restart:
    """Start an existing container again, so that its logs survive."""

    container: ObservedContainer
    reason: str
    symbol = "~"
    verb = "restart"

    @property
    def name(self) -> str:
        return self.container.name

    @property
    def engine_name(self) -> str:
        return self.container.engine_name


@attrs.frozen
class Remove:
    """Stop the container and remove it."""

    container: ObservedContainer
    reason: str
    symbol = "-"
    verb = "remove"

    @property
    def name(self) -> str:
        return self.container.name

    @property
    def engine_name(self) -> str:
        return self.container.engine_name


Action = Start | Restart | Remove


@attrs.frozen
class Plan:
    """The ordered actions that converge the engine: removals, then restarts, then starts."""

    actions: tuple[Action, ...] = ()

    @property
    def changes(self) -> bool:
        return bool(self.actions)

    def count(self, kind: type[Action]) -> int:
        return sum(isinstance(action, kind) for action in self.actions)
