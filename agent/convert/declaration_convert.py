"""Container declarations (konlet's form) to v1beta1 manifests and back, for ``agent convert
--to v1beta1`` and ``agent convert --to declaration``.

Both start from the validated :class:`~agent.manifest.models.Manifest`, so a file of either form
converts either way. What the other form cannot say, or says otherwise, is a
:class:`~agent.convert.notes.Note` naming the file and the field, as for Kubernetes Pods. A
manifest that a declaration cannot hold at all (not exactly one container) is a
:class:`ConversionError`. Pure: nothing here reads a file or touches an engine.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

import yaml

from agent.convert.kube import probe_dict
from agent.convert.notes import Note
from agent.errors import AgentError
from agent.manifest.models import (
    DECLARATION,
    IF_NOT_PRESENT,
    Container,
    EmptyDir,
    HostDir,
    Manifest,
    Volume,
)
from agent.manifest.quantity import format_cpu, format_memory

__all__ = ["ConversionError", "dump", "to_declaration", "to_v1beta1"]


class ConversionError(AgentError):
    """A manifest that the target form cannot hold at all."""


def to_v1beta1(manifest: Manifest) -> tuple[dict[str, Any], tuple[Note, ...]]:
    """The v1beta1 manifest that runs what ``manifest`` runs, and the notes."""
    notes: list[Note] = []
    found: dict[str, Any] = {"version": "v1beta1"}
    if manifest.id is not None:
        found["id"] = manifest.id
    if manifest.uuid is not None:
        found["uuid"] = manifest.uuid
    found["containers"] = [_v1beta1_container(manifest, c, notes) for c in manifest.containers]
    if manifest.volumes:
        found["volumes"] = [_v1beta1_volume(v) for v in manifest.volumes]
    return found, tuple(notes)


def _where(manifest: Manifest, container: Container) -> str:
    prefix = "spec.containers" if manifest.version == DECLARATION else "containers"
    return f"{prefix}[{container.name}]"


def _v1beta1_container(
    manifest: Manifest, container: Container, notes: list[Note]
) -> dict[str, Any]:
    where = _where(manifest, container)
    found: dict[str, Any] = {"name": container.name, "image": container.image}
    if container.image_pull_policy != IF_NOT_PRESENT:
        found["imagePullPolicy"] = container.image_pull_policy
    found["restartPolicy"] = container.restart_policy
    if container.entrypoint:
        found["entrypoint"] = list(container.entrypoint)
    if container.command:
        found["command"] = list(container.command)
    if container.working_dir is not None:
        found["workingDir"] = container.working_dir
    limits = {}
    if container.memory is not None:
        limits["memory"] = format_memory(container.memory)
    if container.cpu is not None:
        limits["cpu"] = format_cpu(container.cpu)
    requests = {}
    if container.memory_request is not None:
        requests["memory"] = format_memory(container.memory_request)
    if container.cpu_request is not None:
        requests["cpu"] = format_cpu(container.cpu_request)
    if limits or requests:
        found["resources"] = {
            **({"limits": limits} if limits else {}),
            **({"requests": requests} if requests else {}),
        }
    if container.termination_grace_period is not None:
        found["terminationGracePeriodSeconds"] = container.termination_grace_period
    if container.ports:
        found["ports"] = [
            {
                **({"name": p.name} if p.name else {}),
                "containerPort": p.container_port,
                "hostPort": p.host_port,
                **({"hostIp": p.host_ip} if p.host_ip else {}),
                "protocol": p.protocol,
            }
            for p in container.ports
        ]
    if container.volume_mounts:
        found["volumeMounts"] = [
            {"name": m.name, "path": m.path, **({"readOnly": True} if m.read_only else {})}
            for m in container.volume_mounts
        ]
    if container.env:
        found["env"] = [{"key": e.key, "value": e.value} for e in container.env]
    if container.liveness_probe is not None:
        found["livenessProbe"] = probe_dict(container.liveness_probe)
    for key, value in (
        ("privileged", container.privileged),
        ("hostNetwork", container.host_network),
        ("stdin", container.stdin),
        ("tty", container.tty),
    ):
        if value:
            found[key] = True
    if container.host_network and manifest.version == DECLARATION:
        notes.append(
            Note(
                manifest.source,
                where,
                "hostNetwork: true, as the declaration ran it; a v1beta1 manifest's host "
                "network needs --allow-host-network (or give ports instead)",
            )
        )
    if container.log_limits is not None:
        notes.append(
            Note(
                manifest.source,
                where,
                f"logs bounded at {container.log_limits.max_size} x "
                f"{container.log_limits.max_files} (json-file): not converted, a v1beta1 "
                "container has the engine's default logging",
            )
        )
    return found


def _v1beta1_volume(volume: Volume) -> dict[str, Any]:
    if isinstance(volume.source, EmptyDir):
        medium = {"medium": "Memory"} if volume.source.in_memory else {}
        return {"name": volume.name, "source": {"emptyDir": medium}}
    if isinstance(volume.source, HostDir):
        return {"name": volume.name, "source": {"hostDir": {"path": volume.source.path}}}
    return {"name": volume.name}


def to_declaration(
    manifest: Manifest, volumes_root: str
) -> tuple[dict[str, Any], tuple[Note, ...]]:
    """The container declaration of ``manifest``'s one container, and the notes; a volume
    without a source becomes the hostPath ``<volumes_root>/<name>`` that the agent binds.
    Raises :class:`ConversionError` unless there is exactly one container."""
    if len(manifest.containers) != 1:
        raise ConversionError(
            f"{manifest.source}: a container declaration holds exactly one container, "
            f"this manifest has {len(manifest.containers)}"
        )
    (container,) = manifest.containers
    where = _where(manifest, container)
    notes: list[Note] = []

    def note(field: str, message: str) -> None:
        notes.append(Note(manifest.source, f"{where}.{field}" if field else where, message))

    found: dict[str, Any] = {"name": container.name, "image": container.image}
    if container.entrypoint:
        found["command"] = list(container.entrypoint)
    if container.command:
        found["args"] = list(container.command)
    if container.env:
        found["env"] = [{"name": e.key, "value": e.value} for e in container.env]
    if container.volume_mounts:
        found["volumeMounts"] = [
            {"name": m.name, "mountPath": m.path, **({"readOnly": True} if m.read_only else {})}
            for m in container.volume_mounts
        ]
    if container.privileged:
        found["securityContext"] = {"privileged": True}
    if container.stdin:
        found["stdin"] = True
    if container.tty:
        found["tty"] = True
    dropped = {
        "workingDir": container.working_dir is not None,
        "resources": container.memory is not None or container.cpu is not None,
        "terminationGracePeriodSeconds": container.termination_grace_period is not None,
        "livenessProbe": container.liveness_probe is not None,
    }
    for field, given in dropped.items():
        if given:
            note(field, "not converted: a container declaration has no such field")
    if container.image_pull_policy != IF_NOT_PRESENT:
        note("imagePullPolicy", "not converted: a declaration's image is pulled when missing")
    if container.ports:
        note(
            "ports",
            "not converted: a declaration's container runs on the host's network, where its "
            "processes listen on the host's ports themselves",
        )
    elif not container.host_network:
        note("", "runs on the host's network as a declaration (it had a network of its own)")
    if container.log_limits is None:
        note("", "its logs are json-file bounded at 500m x 3, as konlet's were")
    spec: dict[str, Any] = {"containers": [found]}
    mounted = {m.name for m in container.volume_mounts}
    volumes = []
    for index, volume in enumerate(manifest.volumes):
        if volume.name not in mounted:
            notes.append(
                Note(
                    manifest.source,
                    f"volumes[{index}]",
                    "not converted: mounted by no container (a declaration refuses that)",
                )
            )
            continue
        volumes.append(_declared_volume(manifest.source, index, volume, volumes_root, notes))
    if volumes:
        spec["volumes"] = volumes
    spec["restartPolicy"] = container.restart_policy
    for field, value in (("id", manifest.id), ("uuid", manifest.uuid)):
        if value is not None:
            notes.append(Note(manifest.source, field, "not converted: a declaration has none"))
    return {"spec": spec}, tuple(notes)


def _declared_volume(
    source: str, index: int, volume: Volume, root: str, notes: list[Note]
) -> dict[str, Any]:
    if isinstance(volume.source, HostDir):
        return {"name": volume.name, "hostPath": {"path": volume.source.path}}
    if isinstance(volume.source, EmptyDir):
        if not volume.source.in_memory:
            notes.append(
                Note(
                    source,
                    f"volumes[{index}].source.emptyDir",
                    "a tmpfs (medium: Memory), the only emptyDir of a declaration: its files "
                    "are in memory and lost at every start",
                )
            )
        return {"name": volume.name, "emptyDir": {"medium": "Memory"}}
    path = posixpath.join(root, volume.name)
    notes.append(
        Note(
            source,
            f"volumes[{index}]",
            f"hostPath {path} (the directory the agent made under --volumes-root); it must "
            "exist and be under an --allow-host-path prefix",
        )
    )
    return {"name": volume.name, "hostPath": {"path": path}}


def dump(documents: Sequence[dict[str, Any]]) -> str:
    """Documents as YAML, separated by ``---``, in the order their keys were written."""
    return yaml.safe_dump_all(
        documents, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 30
    )
