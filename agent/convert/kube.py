"""Manifests as Kubernetes ``v1`` Pods and Services, for ``agent convert --to kubernetes``.

One Pod per container, not one per manifest file: the agent gives every container a
network namespace of its own, so two containers of a file may both listen on 8080
inside, and each publishes its own host ports. The containers of one Pod share one
network namespace, where those two would collide; one container a Pod keeps each
container's ports (``containerPort`` with its ``hostPort`` and ``hostIP``) as they were.

A container with ports has a Service too, named as the container in the manifest, which
selects its Pod by two labels the Pod carries (``app.kubernetes.io/instance``, the agent's
namespace, and ``app.kubernetes.io/name``) and serves each of its container ports at the
same number: in the cluster's namespace, ``db:5432`` reaches the container ``db`` as it
does from the agent's containers.

What a Pod cannot say, or says otherwise, comes back as :class:`Note`\\ s, one per
file and field. Pure: nothing here reads a file or touches an engine.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from agent.convert.notes import Note
from agent.manifest.models import (
    DECLARATION,
    Container,
    EmptyDir,
    HostDir,
    Manifest,
    Port,
    VolumeMount,
)
from agent.manifest.probes import ExecCheck, HttpCheck, Probe
from agent.manifest.quantity import format_cpu, format_memory

__all__ = [
    "APP_LABEL_INSTANCE",
    "APP_LABEL_MANAGED_BY",
    "APP_LABEL_NAME",
    "APP_LABEL_PART_OF",
    "MANAGED_BY",
    "Conversion",
    "documents",
    "pod_name",
    "probe_dict",
    "to_kubernetes",
]

# Kubernetes' recommended labels, on the Pods; the agent's own labels of its engine
# containers are agent.planning.spec's LABEL_*.
APP_LABEL_INSTANCE = "app.kubernetes.io/instance"
APP_LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
APP_LABEL_NAME = "app.kubernetes.io/name"
APP_LABEL_PART_OF = "app.kubernetes.io/part-of"
MANAGED_BY = "container-agent"

# A label's value (63 characters at most) and a port's name as Kubernetes takes them
# (IANA_SVC_NAME: 15 at most, a letter somewhere, no '--', no '-' at either end).
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?\Z")
_PORT_NAME = re.compile(r"(?!.*--)[a-z0-9](?:[-a-z0-9]{0,13}[a-z0-9])?\Z")
_LETTER = re.compile(r"[a-z]")


@attrs.frozen
class Conversion:
    """The Pods and the Services (plain data, as YAML or JSON would give them), and the
    notes."""

    pods: tuple[dict[str, Any], ...] = ()
    notes: tuple[Note, ...] = ()
    services: tuple[dict[str, Any], ...] = ()

    @property
    def documents(self) -> tuple[dict[str, Any], ...]:
        """Every object, the Services first (so that a Pod started after them sees them)."""
        return self.services + self.pods


def pod_name(namespace: str, container: str) -> str:
    """``<namespace>-<container>``: an RFC 1123 subdomain (both parts are RFC 1035 labels)."""
    return f"{namespace}-{container}"


def to_kubernetes(manifests: Iterable[Manifest], namespace: str, volumes_root: str) -> Conversion:
    """The Pods of every container of ``manifests``, in order, the Services of those
    with ports, and what they cannot say.

    ``namespace`` names the Pods (``<namespace>-<name>``) and is their label
    ``app.kubernetes.io/instance``; a volume without a source is the ``hostPath``
    ``<volumes_root>/<name>``, as the agent binds it.
    """
    pods: list[dict[str, Any]] = []
    services: list[dict[str, Any]] = []
    notes: list[Note] = []
    for manifest in manifests:
        notes.extend(_manifest_notes(manifest))
        for container in manifest.containers:
            pod = _pod(manifest, container, namespace, volumes_root, notes)
            pods.append(pod)
            if container.ports:
                services.append(_service(container, pod["metadata"]["labels"]))
    if services:
        notes.append(
            Note(
                "agent convert",
                "",
                "a Service for each container with ports, named as the container, at its "
                "containerPorts: the names resolve in the cluster's namespace (a container "
                "without ports has none, and its name does not resolve)",
            )
        )
    if pods:
        notes.append(
            Note(
                "agent convert",
                "",
                f"the Pods are named {namespace}-<name> and labelled "
                f"{APP_LABEL_MANAGED_BY}={MANAGED_BY}; the agent's ownership by the label "
                "io.container-agent.namespace (what it removes, what it never touches) has "
                "no equivalent: whatever runs them owns them",
            )
        )
    return Conversion(tuple(pods), tuple(notes), tuple(services))


def _manifest_notes(manifest: Manifest) -> Iterable[Note]:
    if manifest.uuid is not None:
        yield Note(
            manifest.source,
            "uuid",
            "not converted: a Pod's uid is assigned by whatever creates it",
        )
    if manifest.id is not None and not _LABEL_VALUE.match(manifest.id):
        yield Note(
            manifest.source,
            "id",
            f"not converted: longer than a label value can be (63 characters), so no "
            f"{APP_LABEL_PART_OF} label",
        )
    if not manifest.containers:
        yield Note(manifest.source, "containers", "none: no Pod")


def _pod(
    manifest: Manifest, container: Container, namespace: str, root: str, notes: list[Note]
) -> dict[str, Any]:
    prefix = "spec.containers" if manifest.version == DECLARATION else "containers"
    where = f"{prefix}[{container.name}]"
    labels = {
        APP_LABEL_MANAGED_BY: MANAGED_BY,
        APP_LABEL_INSTANCE: namespace,
        APP_LABEL_NAME: container.name,
    }
    if manifest.id is not None and _LABEL_VALUE.match(manifest.id):
        labels[APP_LABEL_PART_OF] = manifest.id
    spec: dict[str, Any] = (
        {"hostNetwork": True}  # with the host's hostname, as the agent runs it
        if container.host_network
        else {"hostname": container.name}  # the agent's containers are named so
    )
    spec["restartPolicy"] = container.restart_policy
    if container.termination_grace_period is not None:
        spec["terminationGracePeriodSeconds"] = container.termination_grace_period
    spec["containers"] = [_container(manifest.source, container, where, notes)]
    volumes = [_volume(manifest.source, m, where, root, notes) for m in container.volume_mounts]
    if volumes:
        spec["volumes"] = volumes
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name(namespace, container.name), "labels": labels},
        "spec": spec,
    }


def _container(source: str, container: Container, where: str, notes: list[Note]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "name": container.name,
        "image": container.image,
        "imagePullPolicy": container.image_pull_policy,
    }
    if container.entrypoint:
        found["command"] = list(container.entrypoint)  # which drops the CMD there too
    if container.command:
        # v1beta1's command replaced the image's CMD and kept its ENTRYPOINT, which is
        # what a Pod's args do (a Pod's command replaces the ENTRYPOINT).
        found["args"] = list(container.command)
    if container.working_dir is not None:
        found["workingDir"] = container.working_dir
    if container.env:
        found["env"] = [{"name": e.key, "value": e.value} for e in container.env]
    if container.ports:
        found["ports"] = [
            _port(source, port, f"{where}.ports[{index}]", notes)
            for index, port in enumerate(container.ports)
        ]
    if container.volume_mounts:
        found["volumeMounts"] = [_mount(m) for m in container.volume_mounts]
    resources = _resources(source, container, where, notes)
    if resources:
        found["resources"] = resources
    if container.privileged:
        found["securityContext"] = {"privileged": True}
    if container.stdin:
        found["stdin"] = True
    if container.tty:
        found["tty"] = True
    if container.log_limits is not None:
        notes.append(
            Note(
                source,
                where,
                f"logs bounded at {container.log_limits.max_size} x "
                f"{container.log_limits.max_files} (json-file): not converted, a Pod's logs "
                "are rotated by the kubelet's settings",
            )
        )
    if container.liveness_probe is not None:
        found["livenessProbe"] = probe_dict(container.liveness_probe)
        if not isinstance(container.liveness_probe.check, ExecCheck):
            notes.append(
                Note(
                    source,
                    f"{where}.livenessProbe",
                    "the kubelet knocks on the Pod's address at the containerPort; the agent "
                    "knocked on the published host port",
                )
            )
    return found


def _port(source: str, port: Port, where: str, notes: list[Note]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "containerPort": port.container_port,
        "hostPort": port.host_port,
        "protocol": port.protocol,
    }
    if port.host_ip:
        found["hostIP"] = port.host_ip
    if port.name is not None:
        if _is_port_name(port.name):
            found["name"] = port.name
        else:
            notes.append(
                Note(
                    source,
                    f"{where}.name",
                    f"not converted: {port.name!r} is no Kubernetes port name (15 characters "
                    "at most, a letter, no '--'); the probes name the port by number",
                )
            )
    return found


def _is_port_name(name: str) -> bool:
    """Whether Kubernetes takes ``name`` as a port's name (IANA_SVC_NAME)."""
    return _PORT_NAME.match(name) is not None and _LETTER.search(name) is not None


def _service(container: Container, labels: dict[str, str]) -> dict[str, Any]:
    """The Service of a container with ports: named as the container, selecting its Pod
    by the labels instance and name, and serving each containerPort (once per protocol)
    at the same number, under the port's name when Kubernetes takes it, else
    ``<protocol>-<port>`` (a Service of several ports must name each)."""
    wanted: dict[tuple[int, str], str | None] = {}
    for port in container.ports:
        name = port.name if port.name is not None and _is_port_name(port.name) else None
        if wanted.get((port.container_port, port.protocol)) is None:
            wanted[(port.container_port, port.protocol)] = name
    taken = {name for name in wanted.values() if name is not None}
    ports = []
    for (number, protocol), given in wanted.items():
        name = given
        if name is None:
            name = stem = f"{protocol.lower()}-{number}"
            n = 1
            while name in taken:
                n += 1
                name = f"{stem}-{n}"
            taken.add(name)
        ports.append({"name": name, "port": number, "targetPort": number, "protocol": protocol})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": container.name, "labels": labels},
        "spec": {
            "selector": {
                APP_LABEL_INSTANCE: labels[APP_LABEL_INSTANCE],
                APP_LABEL_NAME: container.name,
            },
            "ports": ports,
        },
    }


def _mount(mount: VolumeMount) -> dict[str, Any]:
    found: dict[str, Any] = {"name": mount.name, "mountPath": mount.path}
    if mount.read_only:
        found["readOnly"] = True
    return found


def _volume(
    source: str, mount: VolumeMount, where: str, root: str, notes: list[Note]
) -> dict[str, Any]:
    """The Pod's volume of one mount: a volume is mounted once in a container (emptyDir
    once at all), so each mount of a container is a volume of its Pod."""
    if isinstance(mount.source, EmptyDir):
        medium = {"medium": "Memory"} if mount.source.in_memory else {}
        return {"name": mount.name, "emptyDir": medium}
    if isinstance(mount.source, HostDir):
        notes.append(
            Note(
                source,
                f"volumes[{mount.name}].source.hostDir",
                f"hostPath {mount.source.path} of no type: a file or a directory, bound as "
                "it is, as the agent binds it (a missing one is made a directory by the "
                "agent, and by the node's runtime or not), without the agent's "
                "--allow-host-path check",
            )
        )
        return {"name": mount.name, "hostPath": {"path": mount.source.path}}
    path = posixpath.join(root, mount.name)
    return {"name": mount.name, "hostPath": {"path": path, "type": "DirectoryOrCreate"}}


def _resources(source: str, container: Container, where: str, notes: list[Note]) -> dict[str, Any]:
    limits: dict[str, str] = {}
    requests: dict[str, str] = {}
    if container.memory is not None:
        limits["memory"] = format_memory(container.memory)
    if container.cpu is not None:
        limits["cpu"] = format_cpu(container.cpu)
    if container.memory_request is not None:
        requests["memory"] = format_memory(container.memory_request)
    if container.cpu_request is not None:
        requests["cpu"] = format_cpu(container.cpu_request)
    if requests:
        notes.append(
            Note(
                source,
                f"{where}.resources.requests",
                "converted, and they take effect now: the scheduler places the Pod by them "
                "(the agent only checked them)",
            )
        )
    found: dict[str, Any] = {}
    if limits:
        found["limits"] = limits
    if requests:
        found["requests"] = requests
    return found


def probe_dict(probe: Probe) -> dict[str, Any]:
    """A liveness probe as a Pod (and a v1beta1 manifest) says it, every timing written out."""
    check = probe.check
    found: dict[str, Any]
    if isinstance(check, ExecCheck):
        found = {"exec": {"command": list(check.command)}}
    elif isinstance(check, HttpCheck):
        http: dict[str, Any] = {"path": check.path, "port": check.port, "scheme": check.scheme}
        if check.headers:
            http["httpHeaders"] = [{"name": n, "value": v} for n, v in check.headers]
        found = {"httpGet": http}
    else:
        found = {"tcpSocket": {"port": check.port}}
    found.update(
        {
            "initialDelaySeconds": int(probe.initial_delay),
            "periodSeconds": int(probe.period),
            "timeoutSeconds": int(probe.timeout),
            "failureThreshold": probe.failure_threshold,
            "successThreshold": probe.success_threshold,
        }
    )
    return found


def documents(objects: Sequence[dict[str, Any]]) -> str:
    """The objects (Pods, Services) as YAML documents separated by ``---`` (what
    ``kubectl apply -f`` and ``podman kube play`` both read). Strings that YAML 1.1
    readers such as Go's take for booleans (``y``, ``n``, as well as ``yes``, ``on``) are
    quoted."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        pass

    def _string(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = '"' if value in _GO_BOOLEANS else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    _Dumper.add_representer(str, _string)
    if not objects:
        return ""
    text: str = yaml.dump_all(
        objects, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1 << 30
    )
    return text


_GO_BOOLEANS = frozenset({"y", "Y", "n", "N"})
"""What go-yaml v2 (Kubernetes' and Podman's reader) takes for a boolean and PyYAML does
not, so quotes only when asked; every other YAML 1.1 boolean PyYAML quotes itself."""
