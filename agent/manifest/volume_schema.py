"""Volumes as a manifest declares and mounts them: ``volumes`` (a name, and a source:
none, ``emptyDir`` or ``hostDir``) and a container's ``volumeMounts``, each mount with the
source of the volume it names; an emptyDir is mounted once in a file."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from agent.manifest.fields import (
    FieldReader,
    each,
    quote,
)
from agent.manifest.models import (
    Container,
    EmptyDir,
    HostDir,
    Volume,
    VolumeMount,
    VolumeSource,
)

__all__ = [
    "check_empty_dirs_once",
    "declared_mounts",
    "read_host_path",
    "read_mount",
    "read_volumes",
    "v1beta1_mount",
]

_NOT_NORMAL = re.compile(r"//|/\.\.?(?:/|\Z)")


_VOLUME_FIELDS = frozenset({"name", "source"})


_SOURCE_FIELDS = frozenset({"emptyDir", "hostDir"})


_EMPTY_DIR_FIELDS = frozenset({"medium"})


_HOST_DIR_FIELDS = frozenset({"path"})


_MOUNT_FIELDS = frozenset({"name", "path", "readOnly"})


_MOUNT_ALIASES = {"mountPath": "path"}


_REFUSED_MOUNT_FIELDS = {
    "mountType": "it was deprecated in v1beta1: the volume's source says what is mounted",
}


_REFUSED_SOURCES = {
    "gcePersistentDisk": "there is no cloud disk to attach on one host; use hostDir",
    "awsElasticBlockStore": "there is no cloud disk to attach on one host; use hostDir",
    "gitRepo": "the agent clones nothing; check the repository out on the host and use hostDir",
    "secret": "there is no secret store; use hostDir for files the operator places",
    "nfs": "the agent mounts nothing on the host; mount it there and use hostDir",
}


def read_volumes(reader: FieldReader, top: Mapping[str, Any]) -> list[Volume]:
    volumes = each(reader, top, "volumes", "", _volume)
    reader.unique([(f"volumes[{i}].name", v.name) for i, v in volumes.items()], "volume name")
    return list(volumes.values())


def _volume(reader: FieldReader, raw: Any, path: str) -> Volume | None:
    data = reader.mapping(raw, path, _VOLUME_FIELDS)
    if data is None:
        return None
    name = reader.name(data, "name", path)
    source = _volume_source(reader, data["source"], f"{path}.source") if "source" in data else None
    # A bad source is reported, and the volume still counts as declared for its mounts.
    return Volume(name, source) if name is not None else None


def _volume_source(reader: FieldReader, raw: Any, path: str) -> VolumeSource:
    """``source``: exactly one of ``emptyDir: {}`` and ``hostDir: {path}``; null is none."""
    if raw is None:
        return None
    data = reader.mapping(raw, path, _SOURCE_FIELDS, refused=_REFUSED_SOURCES)
    if data is None:
        return None
    if len(data) != 1:
        if len(data) > 1 or not raw:  # else: an unknown or refused key, reported
            reader.error(path, "must have exactly one of emptyDir, hostDir")
        return None
    if "emptyDir" in data:
        if data["emptyDir"] is None:  # `emptyDir:` with nothing after it, in YAML
            return EmptyDir()
        empty = reader.mapping(data["emptyDir"], f"{path}.emptyDir", _EMPTY_DIR_FIELDS)
        if empty is None:
            return None
        medium = reader.text(empty, "medium", f"{path}.emptyDir", required=False) or ""
        if medium not in ("", "Memory"):
            reader.error(
                f"{path}.emptyDir.medium",
                f"must be Memory (a tmpfs) or left out (an engine volume), got {quote(medium)}",
            )
            return None
        return EmptyDir(medium)
    where = f"{path}.hostDir"
    host = reader.mapping(data["hostDir"], where, _HOST_DIR_FIELDS)
    return read_host_path(reader, host, where) if host is not None else None


def read_host_path(reader: FieldReader, data: Mapping[str, Any], path: str) -> HostDir | None:
    """``path`` of ``data``: an absolute, normal path of the host."""
    found = reader.absolute_path(data, "path", path)
    if found is None:
        return None
    if _NOT_NORMAL.search(found):
        reader.error(
            f"{path}.path",
            f"must be a normal path (no '.', '..' or '//' in it), got {quote(found)}",
        )
        return None
    return HostDir(found.rstrip("/") or "/")


def v1beta1_mount(reader: FieldReader, raw: Any, path: str) -> VolumeMount | None:
    data = reader.mapping(raw, path, _MOUNT_FIELDS, _MOUNT_ALIASES, _REFUSED_MOUNT_FIELDS)
    return None if data is None else read_mount(reader, data, path, "path")


def read_mount(
    reader: FieldReader, data: Mapping[str, Any], path: str, path_key: str
) -> VolumeMount | None:
    """A volume mount's ``name``, its path in the container (under ``path_key``: v1beta1's
    ``path``, a declaration's ``mountPath``) and ``readOnly``."""
    name = reader.name(data, "name", path)
    mount_path = reader.absolute_path(data, path_key, path)
    read_only = (
        reader.typed(data["readOnly"], bool, f"{path}.readOnly") if "readOnly" in data else False
    )
    if name is None or mount_path is None or read_only is None:
        return None
    return VolumeMount(name, mount_path, read_only)


def declared_mounts(
    reader: FieldReader,
    path: str,
    mounts: Mapping[int, VolumeMount],
    declared: Mapping[str, VolumeSource],
) -> list[VolumeMount]:
    """The mounts, each with the source of the volume it names (which must be declared)."""
    found: list[VolumeMount] = []
    for i, mount in mounts.items():
        if mount.name not in declared:
            reader.error(
                f"{path}.volumeMounts[{i}].name", f"names no declared volume: {mount.name!r}"
            )
        elif declared[mount.name] is not None:
            found.append(attrs.evolve(mount, source=declared[mount.name]))
        else:
            found.append(mount)
    return found


def check_empty_dirs_once(reader: FieldReader, containers: Sequence[tuple[str, Container]]) -> None:
    """An emptyDir is one container's scratch space: a second mount of it is refused (the
    containers of a manifest are no pod, and do not share one)."""
    first: dict[str, str] = {}
    for path, container in containers:
        for i, mount in enumerate(container.volume_mounts):
            if not isinstance(mount.source, EmptyDir):
                continue
            where = f"{path}.volumeMounts[{i}].name"
            if mount.name in first:
                reader.error(
                    where,
                    f"emptyDir volume {quote(mount.name)} is mounted already at "
                    f"{first[mount.name]}: an emptyDir is the scratch space of one mount of "
                    "one container (a volume without a source is a shared host directory)",
                )
            else:
                first[mount.name] = where.removesuffix(".name")
