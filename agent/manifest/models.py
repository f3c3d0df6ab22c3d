"""The container manifest (format ``v1beta1``) as immutable models.

Reading raw data into these models, with every rule checked, is the job of
:mod:`agent.manifest.schema`; :meth:`Manifest.from_dict` is the entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from agent.manifest.probes import Probe
from agent.manifest.strategy import UpdateStrategy

__all__ = [
    "ALWAYS",
    "DECLARATION",
    "DEFAULT_LOGS",
    "IF_NOT_PRESENT",
    "IMAGE_PULL_POLICIES",
    "KONLET_LOGS",
    "NEVER",
    "ON_FAILURE",
    "RESTART_POLICIES",
    "SUPPORTED_VERSIONS",
    "Container",
    "EmptyDir",
    "EnvVar",
    "HostDir",
    "LogLimits",
    "Manifest",
    "Port",
    "Volume",
    "VolumeMount",
    "VolumeSource",
]

SUPPORTED_VERSIONS = ("v1beta1",)
DECLARATION = "declaration"
"""The ``version`` of a manifest read from a container declaration of konlet's form
(:mod:`agent.manifest.declaration`)."""

# The policy words, as a manifest spells them; every module names them from here.
ALWAYS = "Always"
"""``restartPolicy``: restart whatever the exit; ``imagePullPolicy``: pull at every start."""
ON_FAILURE = "OnFailure"
"""``restartPolicy``: restart after a non-zero exit."""
NEVER = "Never"
"""``restartPolicy``: never restart; ``imagePullPolicy``: never pull."""
IF_NOT_PRESENT = "IfNotPresent"
"""``imagePullPolicy``: pull only an image the engine does not have."""
RESTART_POLICIES = (ALWAYS, ON_FAILURE, NEVER)
IMAGE_PULL_POLICIES = (IF_NOT_PRESENT, ALWAYS, NEVER)


@attrs.frozen
class Port:
    """A published port. An empty ``host_ip`` means every address of the host."""

    container_port: int
    host_port: int
    protocol: str = "TCP"
    host_ip: str = ""
    name: str | None = None


@attrs.frozen
class EmptyDir:
    """``source: {emptyDir: {}}``: a scratch volume of the engine's that lives and dies
    with the container (kept while the same container restarts). With ``medium:
    Memory``, a tmpfs instead: in memory, empty at every start."""

    medium: str = ""

    @property
    def in_memory(self) -> bool:
        return self.medium == "Memory"


@attrs.frozen
class HostDir:
    """``source: {hostDir: {path: /srv/x}}``: a directory or a file of the host, bound as
    it is (a missing one is made a directory when a container that mounts it starts, as
    Docker does for ``-v``); only under a prefix the operator allows (``--allow-host-path``)."""

    path: str


VolumeSource = EmptyDir | HostDir | None
"""Where a volume's files are; None: the directory ``<volumes-root>/<name>``."""


@attrs.frozen
class VolumeMount:
    """A declared volume mounted at ``path`` inside the container; ``source`` is the
    volume's, as declared (:class:`Volume`)."""

    name: str
    path: str
    read_only: bool = False
    source: VolumeSource = None


@attrs.frozen
class EnvVar:
    key: str
    value: str


@attrs.frozen
class LogLimits:
    """Logs kept by the engine's json-file driver, rotated at ``max_size_mb`` mebibytes,
    ``max_files`` files at most."""

    max_size_mb: int
    max_files: int

    @property
    def max_size(self) -> str:
        """The size as the json-file driver's ``max-size`` takes it: ``500m``."""
        return f"{self.max_size_mb}m"

    @property
    def size_bytes(self) -> int:
        return self.max_size_mb * 1024 * 1024


KONLET_LOGS = LogLimits(500, 3)
DEFAULT_LOGS = LogLimits(10, 3)
"""What every container the agent makes gets unless its manifest says otherwise (the
agent's ``--log-max-size`` and ``--log-max-files``)."""
"""What konlet gave every container: json-file, 500 MB a file, 3 files."""


@attrs.frozen
class Container:
    name: str
    image: str
    command: tuple[str, ...] = ()
    working_dir: str | None = None
    ports: tuple[Port, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    env: tuple[EnvVar, ...] = ()
    image_pull_policy: str = IF_NOT_PRESENT
    restart_policy: str = ALWAYS
    memory: int | None = None
    """The memory limit in bytes (``resources.limits.memory``, or the 2014 ``memory``)."""
    cpu: int | None = None
    """The CPU limit in thousandths of a core (``resources.limits.cpu``, or the 2014 ``cpu``)."""
    memory_request: int | None = None
    """``resources.requests.memory``: checked, and not applied (see docs/manifest.md)."""
    cpu_request: int | None = None
    """``resources.requests.cpu`` in millicores: checked, and not applied."""
    termination_grace_period: int | None = None
    """Seconds the container gets to stop before it is killed; None: ``--stop-timeout``."""
    liveness_probe: Probe | None = None
    entrypoint: tuple[str, ...] | None = None
    """The process to run, instead of the image's ENTRYPOINT; None: the image's. Given, it
    also drops the image's CMD: ``command`` is then all its arguments."""
    privileged: bool = False
    """Every device and capability of the host: only with ``--allow-privileged``."""
    host_network: bool = False
    """The host's network namespace (no ports of its own): a declaration's always; a
    v1beta1 manifest's only with ``--allow-host-network``."""
    stdin: bool = False
    """Standard input kept open (``docker run --interactive``)."""
    tty: bool = False
    """A pseudo-terminal (``docker run --tty``)."""
    log_limits: LogLimits | None = None
    """json-file logs bounded as konlet bounds them; None: the engine's default logging."""
    aliases: tuple[str, ...] = ()
    """Further names the container answers to on the namespace's network, beside its name."""


@attrs.frozen
class Volume:
    name: str
    source: VolumeSource = None


@attrs.frozen
class Manifest:
    """One validated manifest, as read from ``source`` (a file name, or ``<stdin>``).

    ``version`` is ``v1beta1``, or :data:`DECLARATION` for a container declaration of
    konlet's form (whose field paths its errors follow)."""

    version: str
    containers: tuple[Container, ...] = ()
    volumes: tuple[Volume, ...] = ()
    id: str | None = None
    source: str = "<manifest>"
    uuid: str | None = None
    update_strategy: UpdateStrategy | None = None
    """``updateStrategy``: how its changed containers are replaced; None: the agent's default."""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Any, source: str = "<manifest>") -> Manifest:
        """Validate raw data (as YAML or JSON gives it) and build the manifest: a v1beta1
        manifest, or a container declaration (``spec: {containers: ...}``), told apart by
        their content.

        Raises :class:`agent.errors.ManifestError` listing every problem found.
        """
        from agent.manifest.declaration import is_declaration, parse_declaration
        from agent.manifest.schema import parse_manifest

        if is_declaration(data):
            return parse_declaration(data, source)
        return parse_manifest(data, source)
