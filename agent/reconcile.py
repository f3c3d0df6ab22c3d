"""One pass of the agent: observe the engine, plan, and (unless dry) execute."""

from __future__ import annotations

import attrs

from agent.actions import Plan
from agent.executor import ActionResult, execute
from agent.loader import DesiredSet
from agent.planner import PlanOptions, plan
from agent.spec import build_specs
from backends.base import Backend

__all__ = ["Settings", "converge", "plan_for"]


@attrs.frozen
class Settings:
    """How one agent runs its containers."""

    namespace: str = "container-agent"
    volumes_root: str = "/export"
    stop_timeout: int = 10


def plan_for(
    desired: DesiredSet,
    backend: Backend,
    settings: Settings,
    now: float,
    allow_removals: bool = True,
) -> Plan:
    """List the namespace's containers (one engine call) and plan against them."""
    specs = build_specs(desired.containers, settings.namespace, settings.volumes_root)
    observed = backend.list(settings.namespace)
    return plan(specs, observed, now, PlanOptions(settings.namespace, allow_removals))


def converge(
    desired: DesiredSet,
    backend: Backend,
    settings: Settings,
    now: float,
    allow_removals: bool = True,
) -> tuple[Plan, tuple[ActionResult, ...]]:
    """Plan, then carry the plan out; returns both."""
    the_plan = plan_for(desired, backend, settings, now, allow_removals)
    return the_plan, execute(the_plan, backend, settings.stop_timeout)
