"""What may overlap in a plan: for each action, the earlier actions it must wait for.

Pure, like the planner: derived from the plan alone, so that the executor can
run the actions that do not wait for each other at the same time. Only a
removal is ever waited for, and only by a later action:

- a start waits for every removal of a container with its name (a changed
  container goes before its replacement), and for the removal of every running
  container that holds one of its host ports (:func:`~agent.manifest.ports.port_conflict`:
  a wildcard address overlaps every address);
- a running container whose ports are unknown may hold any: a start that
  publishes a host port waits for its removal, one that publishes none does not;
- a restart carries no spec, so its ports are unknown: it waits for the removals
  of its name and of every running container that holds, or may hold, a host port;
- a container that does not run holds no port, and a wait is no action: neither
  waits for anything;
- the namespace's network: a start on it and a join wait for its creation, a restart
  for the join of its container (it comes back on the network), and the network's
  removal for every other action (its containers go first).
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.manifest.ports import port_conflict
from agent.planning.actions import (
    Action,
    CreateNetwork,
    Join,
    Plan,
    Remove,
    RemoveNetwork,
    Restart,
    Start,
)
from agent.planning.spec import PortBinding

__all__ = ["dependencies"]


def dependencies(plan: Plan) -> tuple[frozenset[int], ...]:
    """For each action of ``plan``, by position, the positions of the earlier ones it waits for."""
    removals = _Removals(plan.actions)
    network = _NetworkSteps(plan.actions)
    return tuple(
        frozenset(
            earlier
            for earlier in removals.awaited_by(action) | network.awaited_by(action, position)
            if earlier < position
        )
        for position, action in enumerate(plan.actions)
    )


class _NetworkSteps:
    """The actions on the namespace's network by position: its creation, the joins."""

    def __init__(self, actions: Sequence[Action]) -> None:
        self.creations = {i for i, a in enumerate(actions) if isinstance(a, CreateNetwork)}
        self.joins: dict[str, set[int]] = {}
        for position, action in enumerate(actions):
            if isinstance(action, Join):
                self.joins.setdefault(action.name, set()).add(position)

    def awaited_by(self, action: Action, position: int) -> set[int]:
        """What ``action`` at ``position`` waits for on the network's account."""
        if isinstance(action, RemoveNetwork):
            return set(range(position))
        if isinstance(action, Join) or (isinstance(action, Start) and action.spec.network):
            return self.creations
        if isinstance(action, Restart):
            return self.joins.get(action.name, set())
        return set()


class _Removals:
    """The removals of a plan by position, indexed by what a start or restart waits on."""

    def __init__(self, actions: Sequence[Action]) -> None:
        self.by_name: dict[str, list[int]] = {}
        # The ports that running containers hold, by host port and protocol.
        self.by_port: dict[tuple[int, str], list[tuple[int, PortBinding]]] = {}
        # Running containers whose ports the engine did not list: they may hold any.
        self.unknown_ports: list[int] = []
        # Running containers that hold a host port, or may.
        self.holding_ports: list[int] = []
        for position, action in enumerate(actions):
            if isinstance(action, Remove):
                self._add(position, action)

    def _add(self, position: int, removal: Remove) -> None:
        self.by_name.setdefault(removal.name, []).append(position)
        container = removal.container
        if not container.running:
            return
        if container.ports is None:
            self.unknown_ports.append(position)
            self.holding_ports.append(position)
            return
        if container.ports:
            self.holding_ports.append(position)
        for port in container.ports:
            self.by_port.setdefault(_key(port), []).append((position, port))

    def awaited_by(self, action: Action) -> set[int]:
        """The positions of the removals ``action`` waits for, wherever they are in the plan."""
        if isinstance(action, Start):
            return {*self.by_name.get(action.name, ()), *self._freeing(action.spec.ports)}
        if isinstance(action, Restart):
            return {*self.by_name.get(action.name, ()), *self.holding_ports}
        return set()

    def _freeing(self, ports: Sequence[PortBinding]) -> set[int]:
        """The removals that free a host port of ``ports``: those that hold it, or may."""
        if not ports:
            return set()
        held = {
            position
            for port in ports
            for position, holding in self.by_port.get(_key(port), ())
            if port_conflict(port, holding)
        }
        return held | set(self.unknown_ports)


def _key(port: PortBinding) -> tuple[int, str]:
    """Ports that may conflict share their host port and protocol (compared case-insensitively)."""
    return (port.host_port, port.protocol.lower())
