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
from collections.abc import Callable, Iterable, Mapping, Sequence

import attrs

from agent.manifest.reference import normalized
from agent.planning.actions import (
    Action,
    CreateNetwork,
    Hold,
    Join,
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
from agent.planning.backoff import CRASH_LOOP, Backoff
from agent.planning.health import Health
from agent.planning.network import ObservedNetwork
from agent.planning.observed import ObservedContainer, short_image_id
from agent.planning.record import Change, changes
from agent.planning.rollout import (
    MOVED,
    NO_ROLLOUTS,
    FailedRevision,
    RolloutInputs,
    RolloutRecord,
    claims_in_common,
    group_revisions,
    held_back,
    how_it_failed,
    new_digest,
    previous_of,
    probe_verdict,
)
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
    rollouts: RolloutInputs | None = None,
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
    in place, and it is removed once no container is desired. ``rollouts`` gives the update
    strategies, the rollouts under way and the failed revisions (see
    :mod:`agent.planning.rollout`); without, every change removes and starts at once.
    ``updated`` maps the ids of containers whose limits were changed in place to the hash
    and record they match since (labels cannot change: the agent keeps these): they are
    planned as such. A change of the limits alone is made in place (when
    ``options.in_place``), never through a rollout.
    """
    images = images or {}
    restarts = restarts or {}
    health = health or {}
    rollouts = rollouts or NO_ROLLOUTS
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
    pinned: list[RunSpec] = []
    for spec in desired:
        spec, by_name[spec.name] = new_digest(
            spec, by_name.get(spec.name, []), images.get(spec.image, ""), rollouts
        )
        pinned.append(spec)
    turns = _Turns(pinned, by_name, rollouts)
    for spec in pinned:
        existing = by_name.pop(spec.name, [])
        new_image = images.get(spec.image, "")
        planned = _plan_container(spec, existing, new_image, now, options, restarts, health)

        def crash(container: ObservedContainer, spec: RunSpec = spec) -> Restart | Wait | None:
            count = restarts.get(container.id, 0)
            return _after_exit(container, spec, now, options.backoff, count)

        if not any(isinstance(action, Update) for action in planned):
            rolled = _plan_rollout(spec, existing, now, rollouts, health, turns, crash)
            planned = planned if rolled is None else rolled
        removed = {a.container.id for a in planned if isinstance(a, Remove)}
        kept += [(spec, c) for c in existing if c.id not in removed]
        actions += planned
    if options.allow_removals:
        for name, leftovers in by_name.items():
            reason = "not in the manifest any more" if name else "has no name label"
            actions += [Remove(container, reason) for container in leftovers]
    needed = any(spec.network for spec in desired)  # not by host-network containers alone
    actions += _plan_network(bool(desired), needed, kept, options, network)
    return Plan(tuple(sorted(actions, key=_order)), turns.settled(desired))


class _Turns:
    """The rollouts of a plan, manifest by manifest: how many more containers each may
    replace now (its strategy's ``maxUnavailable`` less those under way), which are stopped
    by a failure, and which rollout records are moot."""

    def __init__(
        self,
        desired: Sequence[RunSpec],
        by_name: Mapping[str, Sequence[ObservedContainer]],
        inputs: RolloutInputs,
    ) -> None:
        self.inputs = inputs
        self.revisions = group_revisions(desired, inputs.groups)
        self.left: dict[str, int] = {}
        self.stopped_by: dict[str, str] = {}
        self.live: set[str] = set()
        for spec in desired:
            group = inputs.groups.get(spec.name, "")
            self.left.setdefault(group, inputs.strategy(spec.name).max_unavailable)
            previous = previous_of(by_name.get(spec.name, ()), inputs.records.get(spec.name))
            if previous is not None and previous.hash != spec.hash:
                self.live.add(spec.name)
                self.left[group] -= 1
            failed = held_back(spec, inputs, self.revision(spec.name))
            if failed is not None:
                self.stopped_by.setdefault(group, f"{spec.name} failed: {failed.reason}")

    def revision(self, name: str) -> str:
        return self.revisions.get(self.inputs.groups.get(name, ""), "")

    def take(self, name: str) -> bool:
        """Whether ``name``'s manifest may replace one more container now; if so, taken."""
        group = self.inputs.groups.get(name, "")
        if self.left.get(group, 0) <= 0:
            return False
        self.left[group] -= 1
        return True

    def stopped(self, name: str) -> str | None:
        """Why ``name``'s manifest replaces no further container, if it does not."""
        return self.stopped_by.get(self.inputs.groups.get(name, ""))

    def settled(self, desired: Sequence[RunSpec]) -> frozenset[str]:
        """The names whose records no rollout under way needs any more."""
        return frozenset(set(self.inputs.records) - self.live)


def _plan_rollout(
    spec: RunSpec,
    existing: list[ObservedContainer],
    now: float,
    inputs: RolloutInputs,
    health: Mapping[str, Health],
    turns: _Turns,
    crash: Callable[[ObservedContainer], Restart | Wait | None],
) -> list[Action] | None:
    """A changed container under a rolling update: begin its rollout, go on with it, or
    hold it back; None where the rollout has nothing to say (no change, nothing running to
    fall back to, a ``Recreate`` strategy): then the plan is as it always was."""
    strategy = inputs.strategy(spec.name)
    if not strategy.rolling:
        return None
    failed = held_back(spec, inputs, turns.revision(spec.name))
    record = inputs.records.get(spec.name)
    previous = previous_of(existing, record)
    if record is not None and previous is not None and previous.hash != spec.hash:
        return _under_way(spec, existing, previous, record, failed, now, inputs, health, turns)
    stale = [c for c in existing if c.hash != spec.hash]
    if not stale or len(stale) < len(existing):
        return None
    old = _best(stale)
    assert old is not None
    others: list[Action] = [
        Remove(c, f"duplicate of {old.engine_name}") for c in stale if c is not old
    ]
    if failed is not None:
        why = (
            f"held back: {spec.engine_name} failed its rollout ({failed.reason}); "
            "the manifest or the image must change, or --retry-failed"
        )
        after = crash(old)
        return [*others, Hold(old, why), *([after] if after is not None else [])]
    if not old.running:
        return None
    stopped = turns.stopped(spec.name)
    if stopped is not None:
        return [*others, Hold(old, f"rollout of its manifest stopped: {stopped}")]
    if not turns.take(spec.name):
        at_once = strategy.max_unavailable
        return [*others, Watch(old, f"waits its turn: {at_once} replaced at once")]
    return [*others, _begin(spec, old, turns.revision(spec.name))]


def _begin(spec: RunSpec, old: ObservedContainer, revision: str, why: str = "") -> Start:
    """The start of a rollout: start first, or stop first when they share a claim."""
    replaced = _replaced(old, spec)
    claim = claims_in_common(spec, old)
    mode = f"stop-first: {claim} in common" if claim else "start-first"
    reason = f"{why or replaced.reason}; {mode}"
    stop_first = claim is not None
    return Start(spec, reason, old, stop_first, replaced.changes, revision)


def _under_way(
    spec: RunSpec,
    existing: list[ObservedContainer],
    previous: ObservedContainer,
    record: RolloutRecord,
    failed: FailedRevision | None,
    now: float,
    inputs: RolloutInputs,
    health: Mapping[str, Health],
    turns: _Turns,
) -> list[Action]:
    """A rollout a pass (or another agent) began: watch the new container, finish, or roll
    back. Any third container of the name (of a spec given up meanwhile) goes."""
    strategy = inputs.strategy(spec.name)
    pause = strategy.on_failure == "Pause"
    others = [c for c in existing if c is not previous]
    fresh = _best([c for c in others if c.hash == spec.hash])
    actions: list[Action] = [
        Remove(c, f"superseded in a rollout from {previous.engine_name}")
        for c in others
        if c is not fresh
    ]
    if fresh is None:
        if failed is None:
            why = f"rollout resumed: replaces {previous.engine_name}"
            return [*actions, _begin(spec, previous, turns.revision(spec.name), why)]
        if pause:
            return [*actions, Hold(previous, f"rollout paused: {failed.reason}")]
        back = f"{spec.engine_name} {failed.reason}; back to {previous.engine_name}"
        return [*actions, Rollback(previous, None, failed, back)]
    if fresh.state == "created" and failed is None:  # an agent killed between the two
        return [*actions, Restart(fresh, "rollout resumed: created but never started")]
    verdict, waiting = probe_verdict(spec, health.get(fresh.id), inputs.probing)
    reason = how_it_failed(fresh, record.since, now) if not fresh.running else waiting
    if not fresh.running or verdict is False or failed is not None:
        if failed is not None and pause:
            return [*actions, Hold(fresh, f"rollout paused: {failed.reason}")]
        revision = failed or FailedRevision(
            spec.hash, fresh.image_id, turns.revision(spec.name), reason, now
        )
        back = f"{fresh.engine_name} {revision.reason}; back to {previous.engine_name}"
        if pause:
            back = f"{fresh.engine_name} {revision.reason}; rollout paused"
        return [*actions, Rollback(previous, fresh, revision, back, pause=pause)]
    # The record is renewed once the new container started; an agent killed before that
    # left the time from before the previous one's stop, so the container's own start
    # counts where the engine told it.
    ready_at = max(record.since, fresh.started_at or 0.0) + strategy.min_ready_seconds
    ran = f"ran {strategy.min_ready_seconds}s"
    if now >= ready_at and verdict:
        passed = ", its probe passes" if spec.liveness_probe and inputs.probing else ""
        done = f"rollout done: {fresh.engine_name} {ran}{passed}"
        return [*actions, Remove(previous, done, completes_rollout=True)]
    kept = f"rolling out: {previous.engine_name} is kept until"
    if now < ready_at:
        why = f"{kept} this one has run {strategy.min_ready_seconds}s"
        return [*actions, Watch(fresh, why, ready_at)]
    return [*actions, Watch(fresh, f"{kept} {waiting}", now + 1.0)]  # looked at every second


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
    Rollback: 1,
    Remove: 1,
    Join: 2,
    Update: 3,
    Restart: 4,
    Start: 5,
    RemoveNetwork: 6,
    Watch: 7,
    Hold: 7,
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
    new_image = new_image or spec.pinned
    if stale.hash == MOVED + spec.hash:
        return Remove(stale, "image changed: " + _digests(stale.image_id, new_image), ())
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
