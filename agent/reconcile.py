"""One pass of the agent: observe the engine, plan, and (unless dry) execute."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

import attrs

from agent.actions import Plan, Remove
from agent.executor import ActionResult, execute
from agent.images import Images
from agent.loader import DesiredSet
from agent.planner import PlanOptions, plan
from agent.restarts import RestartLedger
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
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0
    state_dir: str | None = None
    """Where the restart counts of the crash-loop back-off are kept (None: in memory)."""

    def ledger(self) -> RestartLedger:
        """The restart counts of this agent's namespace."""
        if self.state_dir is None:
            return RestartLedger()
        return RestartLedger(os.path.join(self.state_dir, f"{self.namespace}.restarts.json"))

    def plan_options(self, allow_removals: bool) -> PlanOptions:
        return PlanOptions(
            self.namespace,
            allow_removals,
            self.backoff_initial,
            self.backoff_max,
            self.backoff_reset,
        )


def plan_for(
    desired: DesiredSet,
    backend: Backend,
    settings: Settings,
    now: float,
    allow_removals: bool = True,
    images: Images | None = None,
    ledger: RestartLedger | None = None,
) -> Plan:
    """List the namespace's containers (one engine call) and plan against them.

    With ``images``, the images of ``imagePullPolicy: Always`` containers are pulled
    first, so that a container whose tag now names a new image is replaced. Without
    it (a dry run), nothing is pulled. ``ledger`` gives the restart counts (by
    default, the ones kept under ``settings.state_dir``); it is only read here.
    """
    specs = build_specs(desired.containers, settings.namespace, settings.volumes_root)
    current: dict[str, str] = {}
    if images is not None:
        for image in sorted({s.image for s in specs if s.image_pull_policy == "Always"}):
            try:
                current[image] = images.pull(image)
            except BackendError as exc:
                log.error("%s", exc.message)
    counts = (ledger or settings.ledger()).counts()
    observed = [
        attrs.evolve(c, restart_count=counts[c.id]) if c.id in counts else c
        for c in backend.list(settings.namespace)
    ]
    return plan(specs, observed, now, settings.plan_options(allow_removals), current)


def converge(
    desired: DesiredSet,
    backend: Backend,
    settings: Settings,
    now: float,
    allow_removals: bool = True,
    pull: bool = True,
    cancelled: Callable[[], bool] = lambda: False,
    ledger: RestartLedger | None = None,
) -> tuple[Plan, tuple[ActionResult, ...]]:
    """Plan (pulling ``Always`` images first when ``pull``), then carry the plan out."""
    images = Images(backend)
    ledger = ledger or settings.ledger()
    the_plan = plan_for(
        desired, backend, settings, now, allow_removals, images if pull else None, ledger
    )
    results = execute(the_plan, backend, settings.stop_timeout, cancelled, images, ledger)
    ledger.forget(a.container.id for a in the_plan.actions if isinstance(a, Remove))
    return the_plan, results
