"""What the engine is asked to run: the effective spec of each desired container.

A :class:`RunSpec` is the manifest container resolved for one agent (its
namespace and volumes root), named and labelled, with a hash of everything the
engine container is made from. Pure: nothing here touches an engine or a file.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from agent.manifest.models import (
    ALWAYS,
    IF_NOT_PRESENT,
    NEVER,
    ON_FAILURE,
    Container,
    EmptyDir,
    HostDir,
    LogLimits,
)
from agent.manifest.probes import Probe

__all__ = [
    "LABEL_HASH",
    "LABEL_IMAGE_ID",
    "LABEL_NAME",
    "LABEL_NAMESPACE",
    "LABEL_RECORD",
    "LABEL_STOP_TIMEOUT",
    "Mount",
    "PortBinding",
    "RunSpec",
    "build_specs",
    "engine_name",
    "spec_hash",
    "stop_timeout_label",
]

LABEL_NAMESPACE = "io.container-agent.namespace"
LABEL_NAME = "io.container-agent.name"
LABEL_HASH = "io.container-agent.hash"
LABEL_IMAGE_ID = "io.container-agent.image-id"
LABEL_RECORD = "io.container-agent.record"
LABEL_STOP_TIMEOUT = "io.container-agent.stop-timeout"
"""The container's terminationGracePeriodSeconds, for its stop once no manifest has it."""


@attrs.frozen
class PortBinding:
    container_port: int
    host_port: int
    protocol: str = "tcp"
    host_ip: str = ""


@attrs.frozen
class Mount:
    """What is mounted at ``target`` inside the container, by ``kind``:

    - ``volume``: the volume's directory ``source`` under the volumes root, bound (and
      made by the agent when missing);
    - ``hostDir``: the host directory or file ``source``, bound as it is (a missing one is
      made a directory, under an allowed host path only);
    - ``emptyDir``: an anonymous volume of the engine's (``source`` is empty), removed
      with the container;
    - ``tmpfs``: an emptyDir of ``medium: Memory``, a tmpfs of the engine's (``source`` is
      empty), empty at every start.
    """

    source: str
    target: str
    read_only: bool = False
    kind: str = "volume"

    @property
    def bound(self) -> bool:
        """Whether a host directory is bound (a volume's or a hostDir)."""
        return self.kind in ("volume", "hostDir")


@attrs.frozen
class RunSpec:
    """One container as the engine creates it."""

    namespace: str
    name: str
    image: str
    hash: str
    command: tuple[str, ...] = ()
    working_dir: str | None = None
    env: tuple[tuple[str, str], ...] = ()
    ports: tuple[PortBinding, ...] = ()
    mounts: tuple[Mount, ...] = ()
    image_pull_policy: str = IF_NOT_PRESENT
    restart_policy: str = ALWAYS
    image_id: str | None = None
    """The id the image had when the container was created: not part of the hash."""
    record: str | None = None
    """What the container is made from, as :mod:`agent.planning.record` keeps it: not hashed."""
    liveness_probe: Probe | None = None
    """Run by the agent, never seen by the engine: not hashed (see :mod:`agent.manifest.probes`)."""
    memory: int | None = None
    """The memory limit in bytes (and the memory and swap limit: no swap); None: none."""
    cpu: int | None = None
    """The CPU limit in thousandths of a core; None: none."""
    stop_timeout: int | None = None
    """terminationGracePeriodSeconds; None: the agent's ``--stop-timeout``."""
    entrypoint: tuple[str, ...] | None = None
    """The image's ENTRYPOINT replaced (and its CMD dropped); None: the image's."""
    privileged: bool = False
    host_network: bool = False
    stdin: bool = False
    tty: bool = False
    log_limits: LogLimits | None = None
    """json-file logs rotated at a size (the manifest's, else the agent's default: only the
    manifest's is hashed); None: the engine's default logging."""
    aliases: tuple[str, ...] = ()
    """Further names on the namespace's network (hashed when given)."""
    network: str | None = None
    """The namespace's network it is attached to when created, under :attr:`network_aliases`;
    None: the engine's default network. Not hashed: an older container joins it in place."""
    pinned: str = ""
    """The image id that a rollout of a new digest of an ``imagePullPolicy: Always`` image
    runs: its container is named after it too (beside the previous one, of the same hash).
    Not hashed; empty otherwise."""

    @property
    def network_aliases(self) -> tuple[str, ...]:
        """The names it answers to on the namespace's network: its name, then its aliases."""
        return (self.name, *self.aliases)

    @property
    def pulls_always(self) -> bool:
        """Whether its image is pulled again before every start (``imagePullPolicy: Always``)."""
        return self.image_pull_policy == ALWAYS

    def restarts_after(self, exit_code: int | None) -> bool:
        """Whether its restart policy restarts it after it exited with ``exit_code``: not
        under Never, nor under OnFailure after a clean exit (0)."""
        policy = self.restart_policy
        return not (policy == NEVER or (policy == ON_FAILURE and exit_code == 0))

    @property
    def nano_cpus(self) -> int | None:
        """The CPU limit as engines take it (Docker's NanoCpus, ``--cpus`` times 10^9)."""
        return self.cpu * 1_000_000 if self.cpu is not None else None

    @property
    def cpus(self) -> str | None:
        """The CPU limit as ``--cpus`` takes it: ``0.5``, ``2``."""
        if self.cpu is None:
            return None
        whole, millis = divmod(self.cpu, 1000)
        return f"{whole}.{millis:03d}".rstrip("0").rstrip(".")

    @property
    def engine_name(self) -> str:
        name = engine_name(self.namespace, self.name, self.hash)
        return f"{name}-{self.pinned.removeprefix('sha256:')[:8]}" if self.pinned else name

    @property
    def hostname(self) -> str | None:
        """The container's name; none on the host's network, whose hostname it has."""
        return None if self.host_network else self.name

    @property
    def labels(self) -> dict[str, str]:
        labels = {LABEL_NAMESPACE: self.namespace, LABEL_NAME: self.name, LABEL_HASH: self.hash}
        if self.image_id:
            labels[LABEL_IMAGE_ID] = self.image_id
        if self.record:
            labels[LABEL_RECORD] = self.record
        if self.stop_timeout is not None:
            labels[LABEL_STOP_TIMEOUT] = str(self.stop_timeout)
        return labels


def stop_timeout_label(labels: Mapping[str, str]) -> int | None:
    """The grace period a container's labels hold; None when none (or not a number)."""
    value = labels.get(LABEL_STOP_TIMEOUT, "")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 9 else None


def engine_name(namespace: str, name: str, hash: str) -> str:
    """``<namespace>-<name>-<hash8>``: readable, and new whenever the spec changes."""
    return f"{namespace}-{name}-{hash[:8]}"


def spec_hash(effective: dict[str, Any]) -> str:
    """SHA-256 of canonical JSON: sorted keys, no spaces, ASCII only.

    The effective spec holds the namespace and name too, so that two agents whose
    ``namespace-name`` strings coincide (``prod`` + ``web-api``, ``prod-web`` + ``api``)
    never get the same engine name.
    """
    return hashlib.sha256(_CANONICAL.encode(effective).encode("ascii")).hexdigest()


# One encoder for every hash: json.dumps would make one of these for each call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def build_specs(
    containers: Iterable[Container],
    namespace: str,
    volumes_root: str,
    network: str | None = None,
    default_logs: LogLimits | None = None,
) -> tuple[RunSpec, ...]:
    """Resolve manifest containers into engine specs for one agent; ``network`` is the
    namespace's network they are made on (None: the engine's default network);
    ``default_logs`` bound the logs of a container whose manifest does not (None: the
    engine's default logging). The default is not hashed: a new default applies to the
    containers made from then on, and replaces none."""
    return tuple(
        _build(container, namespace, volumes_root, network, default_logs)
        for container in containers
    )


def _build(
    container: Container,
    namespace: str,
    volumes_root: str,
    network: str | None,
    default_logs: LogLimits | None = None,
) -> RunSpec:
    ports = tuple(
        PortBinding(p.container_port, p.host_port, p.protocol.lower(), p.host_ip)
        for p in container.ports
    )
    mounts = tuple(_mount(m.name, m.path, m.read_only, m.source, volumes_root)
                   for m in container.volume_mounts)  # fmt: skip
    env = tuple((e.key, e.value) for e in container.env)
    # Order does not matter to the engine for env, ports and mounts (each is unique), so
    # their canonical form is sorted: reordering them in a file recreates nothing.
    effective: dict[str, Any] = {
        "namespace": namespace,
        "name": container.name,
        "image": container.image,
        "command": list(container.command),
        "workingDir": container.working_dir,
        "env": sorted([list(pair) for pair in env]),
        "ports": sorted(map(_as_dict, ports), key=_port_key),
        "mounts": sorted(map(_mount_dict, mounts), key=lambda m: m["target"]),
    }
    # Fields added later are hashed only when given, so that a container using none of
    # them keeps the hash it had: upgrading the agent replaces nothing.
    given: tuple[tuple[str, Any], ...] = (
        ("memory", container.memory),
        ("cpu", container.cpu),
        ("terminationGracePeriodSeconds", container.termination_grace_period),
        ("entrypoint", list(container.entrypoint) if container.entrypoint else None),
        ("privileged", container.privileged or None),
        ("hostNetwork", container.host_network or None),
        ("stdin", container.stdin or None),
        ("tty", container.tty or None),
        ("logs", _logs_dict(container.log_limits)),
        ("aliases", sorted(container.aliases) or None),
    )
    for key, value in given:
        if value is not None:
            effective[key] = value
    return RunSpec(
        namespace=namespace,
        hash=spec_hash(effective),
        env=env,
        ports=ports,
        mounts=mounts,
        stop_timeout=container.termination_grace_period,
        # A container on the host's network has no network of the engine to join.
        network=None if container.host_network else network,
        **{name: getattr(container, name) for name in _AS_GIVEN},
        log_limits=container.log_limits or default_logs,
    )


def _logs_dict(limits: LogLimits | None) -> dict[str, Any] | None:
    return None if limits is None else {"maxSize": limits.max_size, "maxFiles": limits.max_files}


def _mount(
    name: str, target: str, read_only: bool, source: EmptyDir | HostDir | None, root: str
) -> Mount:
    if isinstance(source, EmptyDir):
        return Mount("", target, read_only, "tmpfs" if source.in_memory else "emptyDir")
    if isinstance(source, HostDir):
        return Mount(source.path, target, read_only, "hostDir")
    return Mount(posixpath.join(root, name), target, read_only)


def _mount_dict(mount: Mount) -> dict[str, Any]:
    """A mount's canonical form: a volume's as it always was, the others with their kind."""
    found = {"source": mount.source, "target": mount.target, "read_only": mount.read_only}
    if mount.kind != "volume":
        found["kind"] = mount.kind
    return found


# The fields a RunSpec takes from its Container as they are, by their common name.
_AS_GIVEN = tuple(
    field.name
    for field in attrs.fields(RunSpec)
    if field.name in attrs.fields_dict(Container)
    and field.name not in ("env", "ports", "log_limits")
)

# Their fields by name: what attrs.asdict gives for these flat classes, without its walk.
_FIELDS = {cls: tuple(field.name for field in attrs.fields(cls)) for cls in (PortBinding,)}


def _as_dict(value: PortBinding) -> dict[str, Any]:
    return {name: getattr(value, name) for name in _FIELDS[type(value)]}


def _port_key(port: dict[str, Any]) -> tuple[str, int, str, int]:
    return (port["host_ip"], port["host_port"], port["protocol"], port["container_port"])
