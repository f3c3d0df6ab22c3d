"""The container manifest (format ``v1beta1``) as immutable models.

Reading raw data into these models, with every rule checked, is the job of
:mod:`agent.schema`; :meth:`Manifest.from_dict` is the entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from agent.probes import Probe

__all__ = [
    "IMAGE_PULL_POLICIES",
    "RESTART_POLICIES",
    "SUPPORTED_VERSIONS",
    "Container",
    "EnvVar",
    "Manifest",
    "Port",
    "Volume",
    "VolumeMount",
]

SUPPORTED_VERSIONS = ("v1beta1",)
RESTART_POLICIES = ("Always", "OnFailure", "Never")
IMAGE_PULL_POLICIES = ("IfNotPresent", "Always", "Never")


@attrs.frozen
class Port:
    """A published port. An empty ``host_ip`` means every address of the host."""

    container_port: int
    host_port: int
    protocol: str = "TCP"
    host_ip: str = ""
    name: str | None = None


@attrs.frozen
class VolumeMount:
    """A declared volume mounted at ``path`` inside the container."""

    name: str
    path: str
    read_only: bool = False


@attrs.frozen
class EnvVar:
    key: str
    value: str


@attrs.frozen
class Container:
    name: str
    image: str
    command: tuple[str, ...] = ()
    working_dir: str | None = None
    ports: tuple[Port, ...] = ()
    volume_mounts: tuple[VolumeMount, ...] = ()
    env: tuple[EnvVar, ...] = ()
    image_pull_policy: str = "IfNotPresent"
    restart_policy: str = "Always"
    liveness_probe: Probe | None = None


@attrs.frozen
class Volume:
    name: str


@attrs.frozen
class Manifest:
    """One validated manifest, as read from ``source`` (a file name, or ``<stdin>``)."""

    version: str
    containers: tuple[Container, ...] = ()
    volumes: tuple[Volume, ...] = ()
    id: str | None = None
    source: str = "<manifest>"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | Any, source: str = "<manifest>") -> Manifest:
        """Validate raw data (as YAML or JSON gives it) and build the manifest.

        Raises :class:`agent.errors.ManifestError` listing every problem found.
        """
        from agent.schema import parse_manifest

        return parse_manifest(data, source)
