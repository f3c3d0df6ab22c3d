"""The planner: one pure function from desired and observed state to a plan.

It imports no backend, reads no clock, file or environment, and logs nothing:
everything it needs comes in as arguments, everything it decides goes out as a
:class:`~agent.actions.Plan`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from agent.actions import Plan, Remove, Restart, Start, Wait
from agent.observed import ObservedContainer
from agent.spec import RunSpec

__all__ = ["PlanOptions", "plan"]


@attrs.frozen
class PlanOptions:
    """How to plan.

    ``namespace``: only containers labelled with it are considered at all.
    ``allow_removals``: false while some manifest source has never been read
    validly, so that a file the agent cannot read never costs a container.
    ``backoff_*``: the crash-loop back-off, as the kubelet does it: the first
    restart is at once, the next after ``backoff_initial`` seconds, doubling up
    to ``backoff_max``; a container that ran ``backoff_reset`` seconds before it
    exited starts afresh.
    """

    namespace: str
    allow_removals: bool = True
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0

    def backoff(self, restarts: int) -> float:
        """The wait before the restart that follows ``restarts`` earlier ones."""
        if restarts <= 0:
            return 0.0
        return float(min(self.backoff_initial * 2 ** min(restarts - 1, 32), self.backoff_max))


def plan(
    desired: Sequence[RunSpec],
    observed: Iterable[ObservedContainer],
    now: float,
    options: PlanOptions,
    images: Mapping[str, str] | None = None,
) -> Plan:
    """Compute the actions that make ``observed`` match ``desired`` at time ``now``.

    ``images`` maps image references to the id they name now (after a pull); a
    container under ``imagePullPolicy: Always`` made from another id is replaced,
    because its image changed.
    """
    images = images or {}
    ours = [c for c in observed if c.namespace == options.namespace]
    by_name: dict[str, list[ObservedContainer]] = {}
    for container in ours:
        by_name.setdefault(container.name, []).append(container)

    removes: list[Remove] = []
    restarts: list[Restart] = []
    waits: list[Wait] = []
    starts: list[Start] = []
    for spec in desired:
        existing = by_name.pop(spec.name, [])
        current = [c for c in existing if c.hash == spec.hash]
        for stale in existing:
            if stale.hash != spec.hash:
                removes.append(Remove(stale, _change_reason(stale, spec)))
        keeper = _best(current)
        if keeper is not None:
            duplicate = f"duplicate of {keeper.engine_name}"
            removes.extend(Remove(extra, duplicate) for extra in current if extra is not keeper)
        new_image = images.get(spec.image, "") if spec.image_pull_policy == "Always" else ""
        if keeper is None:
            reason = "replaces a changed container" if existing else "missing"
            starts.append(Start(spec, reason))
        elif new_image and keeper.image_id and keeper.image_id != new_image:
            removes.append(
                Remove(keeper, f"image changed: {spec.image} is now {_short(new_image)}")
            )
            starts.append(
                Start(spec, f"image changed: {_short(keeper.image_id)} -> {_short(new_image)}")
            )
        elif keeper.state == "dead":
            removes.append(Remove(keeper, "dead"))
            starts.append(Start(spec, f"replaces dead {keeper.engine_name}"))
        else:
            action = _after_exit(keeper, spec.restart_policy, now, options)
            if isinstance(action, Wait):
                waits.append(action)
            elif action is not None:
                restarts.append(action)

    if options.allow_removals:
        for name, leftovers in by_name.items():
            for container in leftovers:
                reason = "not in the manifest any more" if name else "has no name label"
                removes.append(Remove(container, reason))

    removes.sort(key=lambda a: (a.name, a.engine_name))
    restarts.sort(key=lambda a: a.name)
    starts.sort(key=lambda a: a.name)
    waits.sort(key=lambda a: a.name)
    return Plan((*removes, *restarts, *starts, *waits))


def _best(candidates: list[ObservedContainer]) -> ObservedContainer | None:
    """The one container to keep among identical ones: a running one first."""
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c.running, c.state != "dead", c.finished_at or 0, c.id))


def _after_exit(
    container: ObservedContainer, policy: str, now: float, options: PlanOptions
) -> Restart | Wait | None:
    """What to do with a container that is not running: restart it, wait, or leave it."""
    if container.running or container.state == "removing":
        return None
    if container.state == "created":
        return Restart(container, "created but never started")
    code = container.exit_code
    exited = f"exited {code}" if code is not None else f"{container.state}"
    if policy == "Never" or (policy == "OnFailure" and code == 0):
        return None
    count = container.restart_count
    ran = (container.finished_at or 0.0) - (container.started_at or 0.0)
    if container.started_at and container.finished_at and ran >= options.backoff_reset:
        count = 0
    delay = options.backoff(count)
    if delay == 0 or container.finished_at is None:
        return Restart(container, exited, attempt=count + 1)
    left = container.finished_at + delay - now
    if left > 0:
        due = container.finished_at + delay
        return Wait(container, f"back-off: {exited}, restart in {math.ceil(left)}s", due)
    return Restart(container, f"{exited}, back-off {delay:g}s elapsed", attempt=count + 1)


def _change_reason(stale: ObservedContainer, spec: RunSpec) -> str:
    if stale.image and _normal_image(stale.image) != _normal_image(spec.image):
        return f"image changed: {stale.image} -> {spec.image}"
    return f"spec changed (hash {stale.hash[:8] or 'none'} -> {spec.hash[:8]})"


def _short(image_id: str) -> str:
    """``sha256:0123456789abcdef...`` -> ``0123456789ab``, as engines show ids."""
    return image_id.rpartition(":")[2][:12]


def _normal_image(image: str) -> str:
    """An image reference spelt in full: ``nginx`` is ``docker.io/library/nginx:latest``."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    first = name.split("/", 1)[0]
    if "/" not in name or not ("." in first or ":" in first or first == "localhost"):
        name = f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"
    return f"{name}@{digest}" if digest else name
