"""Rollouts, pure: what a changed container needs while it is replaced under a rolling
update, given what the engine has, the rollout records and the failed revisions.

A rollout of a container is: start the new one (beside the previous one, or after
stopping it when they share a claim), watch it until it has run ``minReadySeconds``
(and passed its liveness probe, when it has one and the caller probes), then remove the
previous one. A new digest of an ``imagePullPolicy: Always`` image is a change too: its
container is named after the image id as well. A new container that exits, or turns
unhealthy, first fails the rollout: it is removed and the previous one runs again
(``onFailure: Rollback``), or both are left as they are (``Pause``); either way its
revision (spec hash and image id) is held back until the manifest or the image changes
again, and its manifest replaces no further container meanwhile.

What is in progress is kept in two places that survive the agent: the engine (both
containers, each under its own name, since the name carries the spec's hash, or the new
image's id) and a :class:`RolloutRecord` per container name (which container is the
previous one, and since when the new one runs). So a new agent finishes or rolls back
what a killed one began.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence

import attrs

from agent.manifest.ports import port_conflict
from agent.manifest.strategy import DEFAULT_STRATEGY, RECREATE, UpdateStrategy
from agent.planning.health import Health
from agent.planning.observed import ObservedContainer
from agent.planning.spec import RunSpec

__all__ = [
    "MOVED",
    "NO_ROLLOUTS",
    "FailedRevision",
    "RolloutInputs",
    "RolloutRecord",
    "claims_in_common",
    "group_revisions",
    "held_back",
    "how_it_failed",
    "new_digest",
    "previous_of",
    "probe_verdict",
]


@attrs.frozen
class RolloutRecord:
    """A rollout under way for one container name: ``previous`` is the id of the container
    it replaces (kept until the new one is good), ``hash`` the new spec's, ``since`` when the
    new container was started (seconds since the epoch)."""

    previous: str
    hash: str
    since: float


@attrs.frozen
class FailedRevision:
    """A revision of a container that failed its rollout: its spec ``hash``, the ``image_id``
    it ran (empty: unknown), the ``revision`` of its manifest (:func:`group_revisions`),
    ``reason`` (``exited 1 after 3s``) and ``at`` (when)."""

    hash: str
    image_id: str
    revision: str
    reason: str
    at: float


@attrs.frozen
class RolloutInputs:
    """What the planner needs of rollouts, by container name: each one's ``strategies``
    and ``groups`` (its manifest: a failure there stops the manifest's rollout), the
    ``records`` of rollouts under way, the ``failed`` revisions, the ids the images of
    held-back containers name now (``images``), and whether liveness probes are run
    (``probing``: only ``agent run`` does; without, a probe is not waited for)."""

    strategies: Mapping[str, UpdateStrategy] = attrs.field(factory=dict)
    groups: Mapping[str, str] = attrs.field(factory=dict)
    records: Mapping[str, RolloutRecord] = attrs.field(factory=dict)
    failed: Mapping[str, FailedRevision] = attrs.field(factory=dict)
    images: Mapping[str, str] = attrs.field(factory=dict)
    probing: bool = False
    default: UpdateStrategy = DEFAULT_STRATEGY
    """The strategy of a container ``strategies`` does not name."""

    def strategy(self, name: str) -> UpdateStrategy:
        return self.strategies.get(name, self.default)


NO_ROLLOUTS = RolloutInputs(default=UpdateStrategy(RECREATE))
"""A planner's inputs without rollouts: every change removes and starts at once."""


MOVED = "image-moved:"
"""Marks the hash of a container whose image moved on (see :func:`new_digest`)."""


def new_digest(
    spec: RunSpec,
    existing: Sequence[ObservedContainer],
    pulled: str,
    inputs: RolloutInputs,
) -> tuple[RunSpec, list[ObservedContainer]]:
    """Under a rolling update, a container of an ``imagePullPolicy: Always`` spec made from
    another image id than its tag names now is out of date as if its spec had changed:
    it comes back with its hash marked (:data:`MOVED`), and the spec pinned to the new id
    (its container is named after the id too, beside the previous one of the same hash).
    The id the tag names is ``pulled`` (this pass pulled it), else the engine's, which
    ``inputs.images`` has while a rollout or a held-back revision of the name is known."""
    current = pulled or inputs.images.get(spec.image, "")
    if not (spec.pulls_always and current and inputs.strategy(spec.name).rolling):
        return spec, list(existing)
    moved = {c.id for c in existing if c.hash == spec.hash and c.image_id and c.image_id != current}
    if not moved:
        return spec, list(existing)
    marked = [attrs.evolve(c, hash=MOVED + c.hash) if c.id in moved else c for c in existing]
    return attrs.evolve(spec, pinned=current), marked


def group_revisions(specs: Iterable[RunSpec], groups: Mapping[str, str]) -> dict[str, str]:
    """Each group's revision: a hash of its containers' spec hashes, which changes with
    any change of its manifest's containers."""
    members: dict[str, list[str]] = {}
    for spec in specs:
        members.setdefault(groups.get(spec.name, ""), []).append(f"{spec.name}:{spec.hash}")
    return {
        group: hashlib.sha256(" ".join(sorted(found)).encode()).hexdigest()[:16]
        for group, found in members.items()
    }


def held_back(spec: RunSpec, inputs: RolloutInputs, revision: str) -> FailedRevision | None:
    """The failed revision that holds ``spec`` back: the same spec, the same manifest
    revision, and the same image id (when the image's current id is known: the one the
    spec is pinned to, else the engine's)."""
    failed = inputs.failed.get(spec.name)
    if failed is None or failed.hash != spec.hash or failed.revision != revision:
        return None
    current = spec.pinned or inputs.images.get(spec.image, "")
    if current and failed.image_id and current != failed.image_id:
        return None
    return failed


def claims_in_common(spec: RunSpec, previous: ObservedContainer) -> str | None:
    """What the new container would share with the previous one, so that it must stop
    first: a host port, the host's network, or a bound volume it writes (two processes
    writing one directory at once is what a stop-first avoids). None: start first."""
    if spec.host_network:
        return "the host's network"
    held_ports = spec.ports if previous.ports is None else previous.ports  # unknown: maybe
    for port in spec.ports:
        for held in held_ports:
            if port_conflict(port, held):
                return f"host port {port.host_port}/{port.protocol.upper()}"
    for mount in spec.mounts:
        if mount.bound and not mount.read_only:
            return f"volume {mount.source}"
    return None


def how_it_failed(container: ObservedContainer, since: float, now: float) -> str:
    """``exited 1 after 3s``: how a new container stopped within its healthy time."""
    if container.state == "created":
        return "created but never started"
    code = container.exit_code
    what = f"exited {code}" if code is not None else container.state
    started = container.started_at or since
    ended = container.finished_at or now
    return f"{what} after {max(0, math.floor(ended - started))}s"


def probe_verdict(spec: RunSpec, health: Health | None, probing: bool) -> tuple[bool | None, str]:
    """What the liveness probe says of a new container: (True, ``""``) passed or not
    probed, (False, why) failed, (None, why) not known yet."""
    probe = spec.liveness_probe
    if probe is None or not probing:
        return True, ""
    if health is None or health.probe != probe.fingerprint or not health.checks:
        return None, "its first probe"
    if health.unhealthy:
        return False, f"liveness probe failed {health.failures} times: {health.last}"
    if health.failures:
        return None, f"a probe that passes (last: {health.last})"
    return True, ""


def previous_of(
    existing: Sequence[ObservedContainer], record: RolloutRecord | None
) -> ObservedContainer | None:
    """The previous container of a rollout under way, when the engine still has it."""
    if record is None:
        return None
    return next((c for c in existing if c.id == record.previous), None)
