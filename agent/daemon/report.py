"""What one pass of ``agent run`` tells its observers (metrics, systemd): a
:class:`PassReport`, made after every pass, whatever its outcome."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Literal

import attrs

from agent.engine.executor import ActionResult
from agent.planning.actions import Plan, Remove, Restart, Start, Wait
from agent.planning.observed import ObservedContainer
from agent.sources.source_set import SourceStatus

__all__ = ["Outcome", "PassReport", "states_after"]

Outcome = Literal["ok", "failed", "unreachable"]
"""``ok``: the pass planned and carried its plan out (an action of it may still have
failed: see ``results``); ``failed``: it could not (an engine error, a bug);
``unreachable``: the engine did not answer, before the plan or in the middle of it."""


@attrs.frozen
class PassReport:
    """One pass: how it ended, when it began (seconds since the epoch) and how long it
    took; the plan and the results when it got that far; the error of a pass that did
    not end ``ok``; how many of the namespace's containers are in each engine state at
    its end (None when the engine was not listed); the manifest files' status."""

    outcome: Outcome
    started: float
    duration: float
    plan: Plan | None = None
    results: tuple[ActionResult, ...] = ()
    error: str | None = None
    states: Mapping[str, int] | None = None
    sources: tuple[SourceStatus, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def reason(self) -> str:
        """The error's first line (empty for a pass that went well)."""
        return (self.error or "").strip().split("\n", 1)[0]

    @property
    def waiting(self) -> int:
        """How many containers wait in crash-loop back-off."""
        return 0 if self.plan is None else self.plan.count(Wait)


def states_after(
    observed: Iterable[ObservedContainer], results: Iterable[ActionResult]
) -> dict[str, int]:
    """The containers by engine state once the actions that went well are done, from the
    listing the plan was made from: no engine call. A started or restarted container
    counts as running, a removed one is gone."""
    states = {container.id: container.state for container in observed}
    for result in results:
        if not result.ok:
            continue
        action = result.action
        if isinstance(action, Remove):
            states.pop(action.container.id, None)
        elif isinstance(action, Restart):
            states[action.container.id] = "running"
        elif isinstance(action, Start) and result.container_id:
            states[result.container_id] = "running"
    return dict(Counter(states.values()))
