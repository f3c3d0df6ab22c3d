"""The pure core: from desired specs and what the engine shows, the actions to take.

Nothing here reads a clock, a file or the environment, or calls a backend. ``spec``
turns manifests into run specs, ``observed`` models what the engine reports, and
``planner`` diffs the two into the frozen ``actions``, ordered by ``schedule``.
Imports :mod:`agent.manifest` only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import on_first_use

if TYPE_CHECKING:
    from agent.planning.actions import (
        Action,
        ContainerAction,
        CreateNetwork,
        Hold,
        Join,
        NetworkAction,
        Plan,
        Remove,
        RemoveNetwork,
        Restart,
        Rollback,
        Start,
        Update,
        Wait,
        Watch,
    )
    from agent.planning.backoff import CRASH_LOOP, Backoff, BackoffError
    from agent.planning.health import Health, Outcome
    from agent.planning.network import NetworkConflict, ObservedNetwork, network_name
    from agent.planning.observed import ContainerEvent, ObservedContainer
    from agent.planning.planner import PlanOptions, plan
    from agent.planning.record import Change
    from agent.planning.rollout import FailedRevision, RolloutInputs, RolloutRecord
    from agent.planning.spec import (
        LABEL_HASH,
        LABEL_NAME,
        LABEL_NAMESPACE,
        Mount,
        PortBinding,
        RunSpec,
        build_specs,
        engine_name,
    )

__all__ = [
    "CRASH_LOOP",
    "LABEL_HASH",
    "LABEL_NAME",
    "LABEL_NAMESPACE",
    "Action",
    "Backoff",
    "BackoffError",
    "Change",
    "ContainerAction",
    "ContainerEvent",
    "CreateNetwork",
    "FailedRevision",
    "Health",
    "Hold",
    "Join",
    "Mount",
    "NetworkAction",
    "NetworkConflict",
    "ObservedContainer",
    "ObservedNetwork",
    "Outcome",
    "Plan",
    "PlanOptions",
    "PortBinding",
    "Remove",
    "RemoveNetwork",
    "Restart",
    "Rollback",
    "RolloutInputs",
    "RolloutRecord",
    "RunSpec",
    "Start",
    "Update",
    "Wait",
    "Watch",
    "build_specs",
    "engine_name",
    "network_name",
    "plan",
]

_HOMES = {
    "RolloutRecord": ".rollout",
    "FailedRevision": ".rollout",
    "RolloutInputs": ".rollout",
    "Rollback": ".actions",
    "Update": ".actions",
    "Watch": ".actions",
    "Hold": ".actions",
    "PlanOptions": ".planner",
    "plan": ".planner",
    "Action": ".actions",
    "ContainerAction": ".actions",
    "CreateNetwork": ".actions",
    "Join": ".actions",
    "NetworkAction": ".actions",
    "Plan": ".actions",
    "Remove": ".actions",
    "RemoveNetwork": ".actions",
    "Restart": ".actions",
    "Start": ".actions",
    "Wait": ".actions",
    "LABEL_HASH": ".spec",
    "LABEL_NAME": ".spec",
    "LABEL_NAMESPACE": ".spec",
    "Mount": ".spec",
    "PortBinding": ".spec",
    "RunSpec": ".spec",
    "build_specs": ".spec",
    "engine_name": ".spec",
    "ContainerEvent": ".observed",
    "ObservedContainer": ".observed",
    "NetworkConflict": ".network",
    "ObservedNetwork": ".network",
    "network_name": ".network",
    "Health": ".health",
    "Outcome": ".health",
    "CRASH_LOOP": ".backoff",
    "Backoff": ".backoff",
    "BackoffError": ".backoff",
    "Change": ".record",
}


__getattr__ = on_first_use(__name__, _HOMES)
