"""The manifest as written: its models, and the rules that read and validate it.

The bottom layer: it imports nothing of the agent but :mod:`agent.errors`. A file's
bytes become a validated :class:`~agent.manifest.models.Manifest` here (``parse``,
``schema`` with ``container_schema``, ``volume_schema``, ``fields``, ``probe_schema``,
``resources``, ``quantity``, ``ports``, ``reference``, ``hostpaths``; konlet's container
declaration in ``declaration``). ``gotime`` reads Go's durations and timestamps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.lazy import on_first_use

if TYPE_CHECKING:
    from agent.manifest.declaration import is_declaration, parse_declaration
    from agent.manifest.models import (
        DECLARATION,
        IMAGE_PULL_POLICIES,
        RESTART_POLICIES,
        SUPPORTED_VERSIONS,
        Container,
        EmptyDir,
        EnvVar,
        HostDir,
        LogLimits,
        Manifest,
        Port,
        Volume,
        VolumeMount,
        VolumeSource,
    )
    from agent.manifest.parse import MAX_BYTES, parse_document
    from agent.manifest.probes import Check, ExecCheck, HttpCheck, Probe, TcpCheck
    from agent.manifest.quantity import QuantityError, cpu_millis, memory_bytes
    from agent.manifest.strategy import UpdateStrategy

__all__ = [
    "DECLARATION",
    "IMAGE_PULL_POLICIES",
    "MAX_BYTES",
    "RESTART_POLICIES",
    "SUPPORTED_VERSIONS",
    "Check",
    "Container",
    "EmptyDir",
    "EnvVar",
    "ExecCheck",
    "HostDir",
    "HttpCheck",
    "LogLimits",
    "Manifest",
    "Port",
    "Probe",
    "QuantityError",
    "TcpCheck",
    "UpdateStrategy",
    "Volume",
    "VolumeMount",
    "VolumeSource",
    "cpu_millis",
    "is_declaration",
    "memory_bytes",
    "parse_declaration",
    "parse_document",
]

_HOMES = {
    "UpdateStrategy": ".strategy",
    "DECLARATION": ".models",
    "IMAGE_PULL_POLICIES": ".models",
    "RESTART_POLICIES": ".models",
    "SUPPORTED_VERSIONS": ".models",
    "Container": ".models",
    "EmptyDir": ".models",
    "EnvVar": ".models",
    "HostDir": ".models",
    "LogLimits": ".models",
    "Manifest": ".models",
    "Port": ".models",
    "Volume": ".models",
    "VolumeMount": ".models",
    "VolumeSource": ".models",
    "Check": ".probes",
    "ExecCheck": ".probes",
    "HttpCheck": ".probes",
    "Probe": ".probes",
    "TcpCheck": ".probes",
    "MAX_BYTES": ".parse",
    "parse_document": ".parse",
    "is_declaration": ".declaration",
    "parse_declaration": ".declaration",
    "QuantityError": ".quantity",
    "cpu_millis": ".quantity",
    "memory_bytes": ".quantity",
}


__getattr__ = on_first_use(__name__, _HOMES)
