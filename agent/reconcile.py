"""One pass of the agent: observe the engine, plan, and (unless dry) execute."""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs

from agent.actions import Plan
from agent.executor import ActionResult, execute
from agent.images import Images
from agent.loader import DesiredSet
from agent.planner import PlanOptions, plan
from agent.spec import build_specs
from backends.base import Backend, BackendError

log = logging.getLogger("agent.reconcile")

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
    images: Images | None = None,
) -> Plan:
    """List the namespace's containers (one engine call) and plan against them.

    With ``images``, the images of ``imagePullPolicy: Always`` containers are pulled
    first, so that a container whose tag now names a new image is replaced. Without
    it (a dry run), nothing is pulled.
    """
    specs = build_specs(desired.containers, settings.namespace, settings.volumes_root)
    current: dict[str, str] = {}
    if images is not None:
        for image in sorted({s.image for s in specs if s.image_pull_policy == "Always"}):
            try:
                current[image] = images.pull(image)
            except BackendError as exc:
                log.error("%s", exc.message)
    observed = backend.list(settings.namespace)
    return plan(specs, observed, now, PlanOptions(settings.namespace, allow_removals), current)


def converge(
    desired: DesiredSet,
    backend: Backend,
    settings: Settings,
    now: float,
    allow_removals: bool = True,
    pull: bool = True,
    cancelled: Callable[[], bool] = lambda: False,
) -> tuple[Plan, tuple[ActionResult, ...]]:
    """Plan (pulling ``Always`` images first when ``pull``), then carry the plan out."""
    images = Images(backend)
    the_plan = plan_for(desired, backend, settings, now, allow_removals, images if pull else None)
    results = execute(the_plan, backend, settings.stop_timeout, cancelled, images)
    return the_plan, results
