"""The planner: one pure function from desired and observed state to a plan.

It imports no backend, reads no clock, file or environment, and logs nothing:
everything it needs comes in as arguments, everything it decides goes out as a
:class:`~agent.planning.actions.Plan`. Like the kubelet's ``computePodActions``, it
decides container by container (:func:`_plan_container`), then the namespace's
network (:func:`_plan_network`), then orders the actions: the network made, removals,
joins, restarts, starts, the network removed, and the containers waiting in back-off.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from agent.manifest.reference import normalized
from agent.planning.actions import (
    Action,
    CreateNetwork,
    Join,
    Plan,
    Remove,
    RemoveNetwork,
    Restart,
    Start,
    Update,
    Wait,
)
from agent.planning.backoff import CRASH_LOOP, Backoff
from agent.planning.health import Health
from agent.planning.network import ObservedNetwork
from agent.planning.observed import ObservedContainer, short_image_id
from agent.planning.record import Change, changes
from agent.planning.spec import RunSpec

__all__ = ["IN_PLACE", "PlanOptions", "plan"]

IN_PLACE = frozenset({"resources.limits.memory", "resources.limits.cpu"})
"""The record's fields an engine can change on a container in place (``docker update``):
a spec whose change is in these alone (set or changed, not lifted) updates the container."""


@attrs.frozen
class PlanOptions:
    """How to plan.

    ``namespace``: only containers labelled with it are considered at all.
    ``allow_removals``: false while some manifest source has never been read
    validly, so that a file the agent cannot read never costs a container.
    ``backoff``: the crash-loop back-off, as the kubelet does it: the first
    restart is at once, the next after ``backoff.initial`` seconds, doubling up
    to ``backoff.max``; a container that ran ``backoff.reset`` seconds before it
    exited starts afresh. ``network``: the name of the namespace's network, on which
    the containers reach each other by name; None when it is off (``--no-network``).
    ``in_place``: whether the engine changes limits in place (see :data:`IN_PLACE`); when
    not, such a change replaces the container, and its reason says why.
    """

    namespace: str
    allow_removals: bool = True
    backoff: Backoff = CRASH_LOOP
    network: str | None = None
    in_place: bool = False


def plan(
    desired: Sequence[RunSpec],
    observed: Iterable[ObservedContainer],
    now: float,
    options: PlanOptions,
    images: Mapping[str, str] | None = None,
    restarts: Mapping[str, int] | None = None,
    health: Mapping[str, Health] | None = None,
    network: ObservedNetwork | None = None,
    updated: Mapping[str, tuple[str, str]] | None = None,
) -> Plan:
    """Compute the actions that make ``observed`` match ``desired`` at time ``now``.

    ``images`` maps image references to the id they name now (after a pull); a
    container under ``imagePullPolicy: Always`` made from another id is replaced,
    because its image changed; a container replaced for another image reference names
    the two images' short ids too where both are known. ``restarts`` maps container ids
    to how often the agent restarted each in its current crash loop (the agent keeps the count:
    no engine observes it). ``health`` maps container ids to what their liveness
    probes found: a running container unhealthy under its spec's probe is restarted,
    under the same back-off as a crash. ``network`` is the namespace's network as the
    engine has it (the caller has made sure it is the namespace's own), None when it has
    none: it is made before the first container needs it, containers not on it join it
    in place, and it is removed once no container is desired. ``updated`` maps the ids
    of containers whose limits were changed in place to the hash and record they match
    since (labels cannot change: the agent keeps these): they are planned as such.
    """
    images = images or {}
    restarts = restarts or {}
    health = health or {}
    updated = updated or {}
    by_name: dict[str, list[ObservedContainer]] = {}
    for container in observed:
        if container.id in updated:
            hash, record = updated[container.id]
            container = attrs.evolve(container, hash=hash, record=record)
        if container.namespace == options.namespace:
            by_name.setdefault(container.name, []).append(container)

    actions: list[Action] = []
    kept: list[tuple[RunSpec, ObservedContainer]] = []
    for spec in desired:
        existing = by_name.pop(spec.name, [])
        new_image = images.get(spec.image, "")
        planned = _plan_container(spec, existing, new_image, now, options, restarts, health)
        removed = {a.container.id for a in planned if isinstance(a, Remove)}
        kept += [(spec, c) for c in existing if c.id not in removed]
        actions += planned
    if options.allow_removals:
        for name, leftovers in by_name.items():
            reason = "not in the manifest any more" if name else "has no name label"
            actions += [Remove(container, reason) for container in leftovers]
    needed = any(spec.network for spec in desired)  # not by host-network containers alone
    actions += _plan_network(bool(desired), needed, kept, options, network)
    return Plan(tuple(sorted(actions, key=_order)))


def _plan_network(
    wanted: bool,
    needed: bool,
    kept: Sequence[tuple[RunSpec, ObservedContainer]],
    options: PlanOptions,
    network: ObservedNetwork | None,
) -> list[Action]:
    """The namespace's network: made when a container is ``wanted`` that ``needed`` it (a
    container on the host's network needs none) and it is missing, joined in place by the
    ``kept`` containers meant to be on it that are not, removed once no container is wanted
    (whether or not the network is on: it is the namespace's)."""
    if not wanted:
        if options.allow_removals and network is not None:
            return [RemoveNetwork(network, "no container of the namespace is left")]
        return []
    name = options.network
    if name is None or not needed:
        return []
    found: list[Action] = []
    if network is None:
        reason = "missing: the namespace's containers reach each other by name on it"
        found.append(CreateNetwork(name, options.namespace, reason))
    for spec, container in kept:
        if not spec.network:
            continue  # on the host's network
        if container.networks is None or name in container.networks:
            continue  # a listing that does not tell is taken at its word: nothing to join
        if container.state == "removing":
            continue
        aliases = spec.network_aliases
        reason = f"not on network {name}: joins it in place as {', '.join(aliases)}"
        found.append(Join(container, name, aliases, reason))
    return found


def _plan_container(
    spec: RunSpec,
    existing: list[ObservedContainer],
    new_image: str,
    now: float,
    options: PlanOptions,
    restarts: Mapping[str, int],
    health: Mapping[str, Health],
) -> list[Action]:
    """What one desired container needs, given the containers of its name: update the one
    whose limits alone changed, or remove the stale ones and the duplicates, then start,
    replace, restart, wait, or nothing."""
    backoff = options.backoff
    keeper = _best([c for c in existing if c.hash == spec.hash])
    if keeper is None and len(existing) == 1:
        (only,) = existing
        limits = _limits_changed(only, spec)
        if limits and options.in_place and only.state not in ("dead", "removing"):
            shown = "; ".join(change.text().removeprefix("~ ") for change in limits)
            return [Update(only, spec, f"in place: {shown}", limits)]
    actions: list[Action] = [
        _replaced(stale, spec, new_image, options.in_place)
        for stale in existing
        if stale.hash != spec.hash
    ]
    if keeper is None:
        reason = "replaces a changed container" if existing else "missing"
        return [*actions, Start(spec, reason)]
    duplicate = f"duplicate of {keeper.engine_name}"
    actions += [Remove(c, duplicate) for c in existing if c.hash == spec.hash and c is not keeper]
    if spec.pulls_always and new_image and keeper.image_id and keeper.image_id != new_image:
        return [
            *actions,
            Remove(keeper, f"image changed: {spec.image} is now {short_image_id(new_image)}"),
            Start(spec, "image changed: " + _digests(keeper.image_id, new_image)),
        ]
    if keeper.state == "dead":
        return [
            *actions,
            Remove(keeper, "dead"),
            Start(spec, f"replaces dead {keeper.engine_name}"),
        ]
    count = restarts.get(keeper.id, 0)
    after = _after_exit(keeper, spec, now, backoff, count)
    if after is None and keeper.running and _unhealthy(spec, health.get(keeper.id)):
        after = _after_unhealthy(keeper, health[keeper.id], now, backoff, count)
    return [*actions, after] if after is not None else actions


_RANK = {
    CreateNetwork: 0,
    Remove: 1,
    Join: 2,
    Update: 3,
    Restart: 4,
    Start: 5,
    RemoveNetwork: 6,
    Wait: 7,
}


def _order(action: Action) -> tuple[int, str, str]:
    """The network made first; removals (a changed container frees its host port), then
    joins, restarts, starts; the network removed after the last removal; then the waits;
    by name within each."""
    return (_RANK[type(action)], action.name, action.engine_name)


def _best(candidates: list[ObservedContainer]) -> ObservedContainer | None:
    """The one container to keep among identical ones: a running one first."""
    if not candidates:
        return None
    return max(candidates, key=lambda c: (c.running, c.state != "dead", c.finished_at or 0, c.id))


def _after_exit(
    container: ObservedContainer, spec: RunSpec, now: float, backoff: Backoff, count: int
) -> Restart | Wait | None:
    """What to do with a container that is not running, restarted ``count`` times in its
    crash loop so far: restart it, wait, or leave it."""
    if container.running or container.state == "removing":
        return None
    if container.state == "created":
        return Restart(container, "created but never started")
    code = container.exit_code
    exited = f"exited {code}" if code is not None else f"{container.state}"
    if not spec.restarts_after(code):
        return None
    ran = (container.finished_at or 0.0) - (container.started_at or 0.0)
    if container.started_at and container.finished_at and ran >= backoff.reset:
        count = 0
    delay = backoff.delay(count)
    if delay == 0 or container.finished_at is None:
        return Restart(container, exited, attempt=count + 1)
    left = container.finished_at + delay - now
    if left > 0:
        due = container.finished_at + delay
        return Wait(container, f"back-off: {exited}, restart in {math.ceil(left)}s", due)
    return Restart(container, f"{exited}, back-off {delay:g}s elapsed", attempt=count + 1)


def _unhealthy(spec: RunSpec, health: Health | None) -> bool:
    """Whether the container's probe, the one its spec has now, found it unhealthy."""
    probe = spec.liveness_probe
    return bool(health and probe and health.unhealthy and health.probe == probe.fingerprint)


def _after_unhealthy(
    container: ObservedContainer, health: Health, now: float, backoff: Backoff, count: int
) -> Restart | Wait:
    """A running container that failed its liveness probe: stop it and start it again,
    under the crash-loop back-off, counted from when it turned unhealthy."""
    since = health.unhealthy_since or now
    if health.watched_since is not None and since - health.watched_since >= backoff.reset:
        count = 0
    what = f"liveness probe failed {health.failures} times: {health.last}"
    delay = backoff.delay(count)
    if since + delay <= now:
        return Restart(container, what, attempt=count + 1, stop_first=True)
    left = since + delay - now
    return Wait(container, f"back-off: {what}; restart in {math.ceil(left)}s", since + delay)


def _limits_changed(stale: ObservedContainer, spec: RunSpec) -> tuple[Change, ...]:
    """The changes from ``stale`` to ``spec`` when they are limits set or changed, and
    nothing else: what an update in place does; empty otherwise (or when its record does
    not tell). A change of the logs' bounds is left aside: a manifest's are hashed and
    fixed (a declaration's), so one seen here is the agent's default, which applies when a
    container is made and changes none."""
    found = [c for c in changes(stale.record, spec) or () if c.field != "logs"]
    if stale.image and normalized(stale.image) != normalized(spec.image):
        return ()
    if found and all(c.field in IN_PLACE and c.kind != "-" and c.after is not None for c in found):
        return tuple(found)
    return ()


def _replaced(
    stale: ObservedContainer, spec: RunSpec, new_image: str = "", in_place: bool = True
) -> Remove:
    """The removal of a container whose spec changed, saying what changed where its record
    tells: field by field; where it does not, by image or by hash alone. An image change
    names the two images' short ids too where both are known (``new_image``: the id the
    new reference names, when the engine said)."""
    found = changes(stale.record, spec)
    if stale.image and normalized(stale.image) != normalized(spec.image):
        reason = f"image changed: {stale.image} -> {spec.image}"
        if stale.image_id and new_image and stale.image_id != new_image:
            reason += f" ({_digests(stale.image_id, new_image)})"
        return Remove(stale, reason, found or ())
    if found is None:
        hashes = f"hash {stale.hash[:8] or 'none'} -> {spec.hash[:8]}"
        return Remove(stale, f"spec changed ({hashes}); origin unknown: no record on it")
    fields = list(dict.fromkeys(change.field for change in found))
    if not in_place and _limits_changed(stale, spec):
        return Remove(
            stale,
            "spec changed: " + ", ".join(fields) + " (this engine cannot change them in "
            "place: replaced)",
            found,
        )
    if not fields:
        return Remove(stale, f"spec changed (hash {stale.hash[:8]} -> {spec.hash[:8]})")
    return Remove(stale, "spec changed: " + ", ".join(fields), found)


def _digests(old: str, new: str) -> str:
    """``sha256:0123456789ab -> sha256:ba9876543210``: an image change by its short ids."""
    return f"{short_image_id(old)} -> {short_image_id(new)}"
