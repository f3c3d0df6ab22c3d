"""The planner: one pure function from desired and observed state to a plan.

It imports no backend, reads no clock, file or environment, and logs nothing:
everything it needs comes in as arguments, everything it decides goes out as a
:class:`~agent.actions.Plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from agent.actions import Plan, Remove, Restart, Start
from agent.observed import ObservedContainer
from agent.spec import RunSpec

__all__ = ["PlanOptions", "plan"]


@attrs.frozen
class PlanOptions:
    """How to plan.

    ``namespace``: only containers labelled with it are considered at all.
    ``allow_removals``: false while some manifest source has never been read
    validly, so that a file the agent cannot read never costs a container.
    """

    namespace: str
    allow_removals: bool = True


def plan(
    desired: Sequence[RunSpec],
    observed: Iterable[ObservedContainer],
    now: float,
    options: PlanOptions,
    images: Mapping[str, str] | None = None,
) -> Plan:
    """Compute the actions that make ``observed`` match ``desired`` at time ``now``.

    ``images`` maps image references to the id they name now (after a pull); a
    container made from another id is replaced, because its image changed.
    """
    images = images or {}
    ours = [c for c in observed if c.namespace == options.namespace]
    by_name: dict[str, list[ObservedContainer]] = {}
    for container in ours:
        by_name.setdefault(container.name, []).append(container)

    removes: list[Remove] = []
    restarts: list[Restart] = []
    starts: list[Start] = []
    for spec in desired:
        existing = by_name.pop(spec.name, [])
        current = [c for c in existing if c.hash == spec.hash]
        for stale in existing:
            if stale.hash != spec.hash:
                removes.append(Remove(stale, _change_reason(stale, spec)))
        keeper = _best(current)
        for extra in current:
            if extra is not keeper:
                removes.append(
                    Remove(extra, f"duplicate of {keeper.engine_name}" if keeper else "")
                )
        new_image = images.get(spec.image, "")
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
            reason = _restart_reason(keeper, spec.restart_policy)
            if reason:
                restarts.append(Restart(keeper, reason))

    if options.allow_removals:
        for name, leftovers in by_name.items():
            for container in leftovers:
                reason = "not in the manifest any more" if name else "has no name label"
                removes.append(Remove(container, reason))

    removes.sort(key=lambda a: (a.name, a.engine_name))
    restarts.sort(key=lambda a: a.name)
    starts.sort(key=lambda a: a.name)
    return Plan((*removes, *restarts, *starts))


def _best(candidates: list[ObservedContainer]) -> ObservedContainer | None:
    """The one container to keep among identical ones: a running one first."""
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c.running, c.state != "dead", c.finished_at or 0, c.id))


def _restart_reason(container: ObservedContainer, policy: str) -> str:
    """Why an existing container should be started again, or '' to leave it."""
    if container.running or container.state == "removing":
        return ""
    if container.state == "created":
        return "created but never started"
    code = container.exit_code
    exited = f"exited {code}" if code is not None else f"{container.state}"
    if policy == "Never" or (policy == "OnFailure" and code == 0):
        return ""
    return exited


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
