"""Validation of raw manifest data into :mod:`agent.manifest.models` models.

Every problem of a manifest is collected, each with the path of the field it
concerns, and reported at once in one :class:`~agent.errors.ManifestError`
(the first ``MAX_ERRORS`` of them, and a line saying there are more). Nothing
here raises anything else, whatever the input.

Values from a manifest reach an engine as data, never as options or commands:
names are RFC 1035 labels (so a volume is always a directory right under the
volumes root), images follow the reference grammar (never starting with '-'),
paths are absolute and hold no comma, double quote or control character (they
go into ``--mount`` lists), and no string may hold a NUL or a lone surrogate
(neither can be passed to a process). Command items and env values may hold
anything else, and are passed as single argv items. Env values may be secrets:
no message shows one.

A path names a list item by its index (``volumes[1]``), but a container by its
name (``containers[web].image``) and an env entry by its key
(``containers[web].env[TOKEN].value``) when that is valid and no other item of
the list has it. A repeated name or key is reported at its index
(``containers[1].name``), and a host port claimed twice at the port
(``containers[db].ports[1]``); the rule of host ports is :mod:`agent.manifest.ports`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import attrs

from agent.errors import FieldError, ManifestError
from agent.manifest.fields import (
    MAX_ERRORS,
    MAX_PATH_LENGTH,
    NOT_TEXT,
    FieldReader,
    TooManyErrors,
    each,
    is_rfc1035_name,
    item_paths,
    quote,
    text_problem,
)
from agent.manifest.models import (
    IMAGE_PULL_POLICIES,
    RESTART_POLICIES,
    SUPPORTED_VERSIONS,
    Container,
    EmptyDir,
    EnvVar,
    HostDir,
    Manifest,
    Port,
    Volume,
    VolumeMount,
    VolumeSource,
)
from agent.manifest.ports import (
    HostClaims,
    Publisher,
    also_published,
    normal_address,
    published_twice,
)
from agent.manifest.probe_schema import parse_probe
from agent.manifest.resources import RESOURCE_FIELDS, read_resources
from agent.manifest.strategy import read_update_strategy

__all__ = [
    "MAX_ERRORS",
    "MAX_GRACE_PERIOD",
    "MAX_PATH_LENGTH",
    "check_program",
    "is_rfc1035_name",
    "parse_manifest",
    "read_env_key",
    "read_host_path",
    "read_image",
    "read_mount",
    "string_item",
]

MAX_GRACE_PERIOD = 24 * 3600
"""A day: a longer terminationGracePeriodSeconds is a mistake."""

_LABEL_LENGTH = 64
_NOT_NORMAL = re.compile(r"//|/\.\.?(?:/|\Z)")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")
_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")
# The image reference grammar of the distribution project (docker/distribution reference).
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE = re.compile(
    rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?\Z",
    re.ASCII,
)


def parse_manifest(data: Any, source: str = "<manifest>") -> Manifest:
    """Validate raw data into a :class:`Manifest`, or raise one :class:`ManifestError`."""
    reader = FieldReader()
    try:
        manifest = _manifest(reader, data, source)
    except TooManyErrors:
        more = FieldError("", f"more problems not listed: only the first {MAX_ERRORS} are")
        raise ManifestError(source, [*reader.errors[:MAX_ERRORS], more]) from None
    if manifest is None:
        raise ManifestError(source, reader.errors)
    return manifest


def _manifest(reader: FieldReader, data: Any, source: str) -> Manifest | None:
    top = reader.mapping(data, "", _MANIFEST_FIELDS, refused=_REFUSED_MANIFEST_FIELDS)
    if top is None:
        return None
    version = reader.text(top, "version", "")
    if version is not None and version not in SUPPORTED_VERSIONS:
        reader.error(
            "version", f"unsupported {quote(version)}, supported: {', '.join(SUPPORTED_VERSIONS)}"
        )
    manifest_id = reader.text(top, "id", "", required=False)
    if manifest_id is not None and not (
        len(manifest_id) <= 253 and _DNS_SUBDOMAIN.match(manifest_id)
    ):
        reader.error("id", f"must be a DNS subdomain name, got {quote(manifest_id)}")
    manifest_uuid = reader.text(top, "uuid", "", required=False)
    if manifest_uuid is not None and not _UUID.match(manifest_uuid):
        reader.error(
            "uuid",
            "must be a UUID such as 8c3b6d52-4bb3-4f38-9d6c-2a3e0c9d1f00, "
            f"got {quote(manifest_uuid)}",
        )
    restart_policy = _restart_policy(reader, top, "", "Always")
    volumes = _volumes(reader, top)
    declared = {volume.name: volume.source for volume in volumes}
    containers = _containers(reader, top, declared, restart_policy)
    strategy = read_update_strategy(reader, top)
    if reader.errors or version is None:
        return None
    return Manifest(
        version=version,
        id=manifest_id,
        containers=tuple(containers),
        volumes=tuple(volumes),
        source=source,
        uuid=manifest_uuid,
        update_strategy=strategy,
    )


def _restart_policy(reader: FieldReader, data: Mapping[str, Any], path: str, default: str) -> str:
    """``restartPolicy``: a word (``OnFailure``), or as 2014 manifests say it, a mapping with
    one key (``{onFailure: {}}``)."""
    if "restartPolicy" not in data or type(data["restartPolicy"]) is not dict:
        return reader.choice(data, "restartPolicy", path, RESTART_POLICIES, default)
    where = f"{path}.restartPolicy" if path else "restartPolicy"
    given = reader.mapping(data["restartPolicy"], where, _RESTART_POLICY_KEYS)
    if given is None:
        return default
    if len(given) != 1:
        if len(given) > 1 or not data["restartPolicy"]:  # else: an unknown key, reported
            reader.error(where, "must have exactly one of always, onFailure, never")
        return default
    ((key, value),) = given.items()
    if value is not None and value != {}:  # `always:` with nothing after it is {} too
        reader.error(f"{where}.{key}", "must be an empty mapping ({})")
        return default
    return _RESTART_POLICY_WORDS[key]


def _volumes(reader: FieldReader, top: Mapping[str, Any]) -> list[Volume]:
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


def _containers(
    reader: FieldReader,
    top: Mapping[str, Any],
    declared: Mapping[str, VolumeSource],
    restart_policy: str,
) -> list[Container]:
    """The containers, each valid on its own, then checked against each other: a repeated
    name is reported at its index, a host port claimed again at the port."""
    items = reader.items(top, "containers", "")
    paths = item_paths(items, "containers", _container_label)
    containers: dict[int, Container] = {}
    for index, (raw, path) in enumerate(zip(items, paths, strict=True)):
        container = _container(reader, raw, path, declared, restart_policy)
        if container is not None:
            containers[index] = container
    reader.unique(
        [(f"containers[{i}].name", c.name) for i, c in containers.items()], "container name"
    )
    _check_host_ports(reader, [(paths[i], c) for i, c in containers.items()])
    _check_network_names(reader, [(paths[i], c) for i, c in containers.items()])
    _check_empty_dirs_once(reader, [(paths[i], c) for i, c in containers.items()])
    return list(containers.values())


def _check_empty_dirs_once(
    reader: FieldReader, containers: Sequence[tuple[str, Container]]
) -> None:
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


def _container_label(raw: Any) -> str | None:
    """A container's name, to name it by in paths, when it is a valid one."""
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and is_rfc1035_name(name) else None


def _check_host_ports(reader: FieldReader, containers: Sequence[tuple[str, Container]]) -> None:
    """(hostIp, hostPort, protocol) may be claimed by one container of a file only; a claim
    again is reported at the port, naming the first container that claimed it."""
    claims: HostClaims[str] = HostClaims()  # by container name, as Publisher(name) would be
    for path, container in containers:
        name = container.name
        for i, port in enumerate(container.ports):
            owner = claims.first_conflict(port, other_than=name)
            if owner is not None:
                reader.error(f"{path}.ports[{i}]", also_published(port, Publisher(owner)))
        for port in container.ports:
            claims.add(port, name)


_MANIFEST_FIELDS = frozenset(
    {"version", "id", "uuid", "containers", "volumes", "restartPolicy", "updateStrategy"}
)
_RESTART_POLICY_WORDS = {"always": "Always", "onFailure": "OnFailure", "never": "Never"}
_RESTART_POLICY_KEYS = frozenset(_RESTART_POLICY_WORDS)
_PULL_POLICY_ALIASES = {
    "PullAlways": "Always",
    "PullNever": "Never",
    "PullIfNotPresent": "IfNotPresent",
}
_VOLUME_FIELDS = frozenset({"name", "source"})
_SOURCE_FIELDS = frozenset({"emptyDir", "hostDir"})
_EMPTY_DIR_FIELDS = frozenset({"medium"})
_HOST_DIR_FIELDS = frozenset({"path"})
_CONTAINER_FIELDS = frozenset(
    {
        "name",
        "image",
        "command",
        "workingDir",
        "ports",
        "volumeMounts",
        "env",
        "imagePullPolicy",
        "restartPolicy",
        "livenessProbe",
        "terminationGracePeriodSeconds",
        "entrypoint",
        "privileged",
        "hostNetwork",
        "stdin",
        "tty",
        "aliases",
        *RESOURCE_FIELDS,
    }
)
_PORT_FIELDS = frozenset({"name", "containerPort", "hostPort", "hostIp", "protocol"})
_PORT_ALIASES = {"hostIP": "hostIp"}
_MOUNT_FIELDS = frozenset({"name", "path", "readOnly"})
_MOUNT_ALIASES = {"mountPath": "path"}

# Well-known fields of 2014 manifests and of Pods that the agent does not run, on purpose;
# each is refused with its reason rather than as unknown (see the README).
_REFUSED_MANIFEST_FIELDS = {
    "dnsPolicy": "containers use the engine's DNS settings",
    "hostNetwork": "it is a container's field here (containers[].hostNetwork, allowed with "
    "--allow-host-network)",
}
_REFUSED_CONTAINER_FIELDS = {
    "capabilities": "the engine's default capabilities are used; adding some is not offered",
    "securityContext": "the engine's default security settings are used; privileged is a "
    "container's field here (allowed with --allow-privileged)",
    "lifecycle": "postStart and preStop hooks are not run (the container's own process "
    "handles SIGTERM; terminationGracePeriodSeconds sets how long it gets)",
    "readinessProbe": "readiness gates traffic behind a Service, and there is none here",
    "terminationMessagePath": "termination messages are not collected (see the engine's logs)",
    "terminationMessagePolicy": "termination messages are not collected (see the engine's logs)",
}
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
_ENV_FIELDS = frozenset({"key", "value"})
_ENV_ALIASES = {"name": "key"}


class _Fields(NamedTuple):
    """A container's fields as read, before the checks across them; list items by index."""

    name: str | None
    image: str | None
    command: tuple[str, ...]
    working_dir: str | None
    ports: dict[int, Port]
    mounts: dict[int, VolumeMount]
    env: dict[int, EnvVar]


def _container(
    reader: FieldReader,
    raw: Any,
    path: str,
    declared: Mapping[str, VolumeSource],
    restart_policy: str,
) -> Container | None:
    """The container at ``path``, or None when it has any error (every one is reported)."""
    before = len(reader.errors)
    data = reader.mapping(raw, path, _CONTAINER_FIELDS, refused=_REFUSED_CONTAINER_FIELDS)
    if data is None:
        return None
    fields = _container_fields(reader, data, path)
    _check_unique_items(reader, path, fields)
    mounts = _declared_mounts(reader, path, fields.mounts, declared)
    _check_published_once(reader, path, fields.ports)
    aliases = each(reader, data, "aliases", path, _alias)
    pull = _pull_policy(reader, data, path)
    restart = _restart_policy(reader, data, path, restart_policy)
    resources = read_resources(reader, data, path)
    grace = _grace_period(reader, data, path)
    probe = (
        parse_probe(reader, data["livenessProbe"], f"{path}.livenessProbe", fields.ports)
        if "livenessProbe" in data
        else None
    )
    if probe is not None and restart == "Never":
        reader.error(
            f"{path}.livenessProbe",
            "cannot be used with restartPolicy Never: a container that fails its liveness "
            "probe is restarted",
        )
    entrypoint = _entrypoint(reader, data, path)
    flags = {key: _flag(reader, data, key, path) for key in _FLAGS}
    if flags["hostNetwork"] and fields.ports:
        reader.error(
            f"{path}.hostNetwork",
            "a container on the host's network publishes no ports: its processes listen on "
            "the host's own addresses (remove ports)",
        )
    if len(reader.errors) > before or fields.name is None or fields.image is None:
        return None
    return Container(
        entrypoint=entrypoint,
        privileged=flags["privileged"],
        host_network=flags["hostNetwork"],
        stdin=flags["stdin"],
        tty=flags["tty"],
        name=fields.name,
        image=fields.image,
        command=fields.command,
        working_dir=fields.working_dir,
        ports=tuple(fields.ports.values()),
        volume_mounts=tuple(mounts),
        env=tuple(fields.env.values()),
        image_pull_policy=pull,
        restart_policy=restart,
        memory=resources.memory,
        cpu=resources.cpu,
        memory_request=resources.memory_request,
        cpu_request=resources.cpu_request,
        termination_grace_period=grace,
        liveness_probe=probe,
        aliases=tuple(aliases.values()),
    )


_FLAGS = ("privileged", "hostNetwork", "stdin", "tty")


def _flag(reader: FieldReader, data: Mapping[str, Any], key: str, path: str) -> bool:
    """A boolean field, false when not given (or wrong, which is reported)."""
    if key not in data:
        return False
    return reader.typed(data[key], bool, f"{path}.{key}") or False


def _entrypoint(reader: FieldReader, data: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
    """``entrypoint``: a list of strings, at least one, that replaces the image's
    ENTRYPOINT (and drops its CMD: ``command`` is then every argument)."""
    if "entrypoint" not in data:
        return None
    found = tuple(each(reader, data, "entrypoint", path, string_item).values())
    if not found and isinstance(data["entrypoint"], list):
        reader.error(f"{path}.entrypoint", "must have at least one item (or be left out)")
    check_program(reader, found, f"{path}.entrypoint")
    return found or None


def check_program(reader: FieldReader, argv: tuple[str, ...], path: str) -> None:
    """The first item of an entrypoint names the program: it cannot be empty (an empty
    entrypoint means the image's reset to the engines, not a program to run)."""
    if argv and not argv[0]:
        reader.error(f"{path}[0]", "must name the program to run, got an empty string")


def _alias(reader: FieldReader, raw: Any, path: str) -> str | None:
    """A further name of the container on the namespace's network: a DNS label."""
    alias = string_item(reader, raw, path)
    if alias is not None and not is_rfc1035_name(alias):
        reader.error(
            path,
            "must be an RFC 1035 name (lower case letters, digits and '-', starting with a "
            f"letter, at most 63 characters), got {quote(alias)}",
        )
        return None
    return alias


def _check_network_names(reader: FieldReader, containers: Sequence[tuple[str, Container]]) -> None:
    """An alias may not be a container's name, nor another alias, in the file: on the
    namespace's network each name means one container. Reported at the alias."""
    owners = {c.name: f"the name of container {quote(c.name)}" for _, c in containers}
    for path, container in containers:
        for i, alias in enumerate(container.aliases):
            if alias in owners:
                reader.error(
                    f"{path}.aliases[{i}]", f"alias {quote(alias)} is already {owners[alias]}"
                )
            else:
                owners[alias] = f"an alias of container {quote(container.name)}"


def _pull_policy(reader: FieldReader, data: Mapping[str, Any], path: str) -> str:
    """``imagePullPolicy``; the 2014 words ``PullAlways``, ``PullNever`` and
    ``PullIfNotPresent`` are the same as ``Always``, ``Never`` and ``IfNotPresent``."""
    value = data.get("imagePullPolicy")
    if isinstance(value, str) and value in _PULL_POLICY_ALIASES:
        return _PULL_POLICY_ALIASES[value]
    return reader.choice(data, "imagePullPolicy", path, IMAGE_PULL_POLICIES, "IfNotPresent")


def _grace_period(reader: FieldReader, data: Mapping[str, Any], path: str) -> int | None:
    """``terminationGracePeriodSeconds``: whole seconds, 0 (killed at once) or more."""
    if "terminationGracePeriodSeconds" not in data:
        return None
    where = f"{path}.terminationGracePeriodSeconds"
    seconds = reader.typed(data["terminationGracePeriodSeconds"], int, where)
    if seconds is not None and not 0 <= seconds <= MAX_GRACE_PERIOD:
        shown = seconds if seconds.bit_length() <= 64 else "a very large integer"
        reader.error(where, f"must be between 0 and {MAX_GRACE_PERIOD} (a day), got {shown}")
        return None
    return seconds


def _container_fields(reader: FieldReader, data: Mapping[str, Any], path: str) -> _Fields:
    """Every field of a container but its policies, each checked on its own, in order."""
    name = reader.name(data, "name", path)
    image = read_image(reader, data, path)
    command = tuple(each(reader, data, "command", path, string_item).values())
    working_dir = reader.absolute_path(data, "workingDir", path) if "workingDir" in data else None
    ports = each(reader, data, "ports", path, _port)
    mounts = each(reader, data, "volumeMounts", path, _mount)
    env = each(reader, data, "env", path, _env, label=_env_label)
    return _Fields(name, image, command, working_dir, ports, mounts, env)


def read_image(reader: FieldReader, data: Mapping[str, Any], path: str) -> str | None:
    """``image`` of ``data``: an image reference."""
    found = reader.text(data, "image", path)
    if found is not None and not (len(found) <= 255 and _IMAGE.match(found)):
        reader.error(
            f"{path}.image",
            f"must be an image reference like 'registry/name:tag', got {quote(found)}",
        )
        return None
    return found


def _check_unique_items(reader: FieldReader, path: str, fields: _Fields) -> None:
    """Port names, mount paths and env keys are unique in a container; a repeat is reported
    at its index (its name or key would be the path of the first one too)."""
    if len(fields.ports) > 1:
        reader.unique(
            [(f"{path}.ports[{i}].name", p.name) for i, p in fields.ports.items() if p.name],
            "port name",
        )
    if len(fields.mounts) > 1:
        reader.unique(
            [(f"{path}.volumeMounts[{i}].path", m.path) for i, m in fields.mounts.items()],
            "mount path",
        )
    if len(fields.env) > 1:
        reader.unique([(f"{path}.env[{i}].key", e.key) for i, e in fields.env.items()], "env key")


def _declared_mounts(
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


def _check_published_once(reader: FieldReader, path: str, ports: Mapping[int, Port]) -> None:
    """No two ports of one container claim the same host address, port and protocol."""
    if len(ports) < 2:
        return  # a port conflicts only with an earlier one
    claims: HostClaims[int] = HostClaims()
    for i, port in ports.items():
        if claims.first_conflict(port) is not None:
            reader.error(f"{path}.ports[{i}]", published_twice(port))
        claims.add(port, i)


def string_item(reader: FieldReader, value: Any, path: str) -> str | None:
    """An item of a command: a string that a process can be given."""
    if type(value) is str and not NOT_TEXT.search(value):
        return value
    text = reader.typed(value, str, path)
    problem = text_problem(text) if text is not None else None
    if problem:
        reader.error(path, problem)
        return None
    return text


def _port(reader: FieldReader, raw: Any, path: str) -> Port | None:
    data = reader.mapping(raw, path, _PORT_FIELDS, _PORT_ALIASES)
    if data is None:
        return None
    before = len(reader.errors)
    name = reader.name(data, "name", path, required=False)
    if "containerPort" not in data:
        reader.error(f"{path}.containerPort", "is required")
        container_port = None
    else:
        container_port = reader.number(data, "containerPort", path)
    host_port = reader.number(data, "hostPort", path) if "hostPort" in data else container_port
    host_ip = reader.text(data, "hostIp", path, required=False) or ""
    if host_ip:
        try:
            if "%" in host_ip:
                raise ValueError(host_ip)
            host_ip = normal_address(host_ip)
        except ValueError:
            reader.error(f"{path}.hostIp", f"must be an IPv4 or IPv6 address, got {quote(host_ip)}")
    protocol = reader.text(data, "protocol", path, required=False) or "TCP"
    if protocol.upper() not in ("TCP", "UDP"):
        reader.error(f"{path}.protocol", f"must be TCP or UDP, got {quote(protocol)}")
    if len(reader.errors) > before or container_port is None or host_port is None:
        return None
    return Port(container_port, host_port, protocol.upper(), host_ip, name)


def _mount(reader: FieldReader, raw: Any, path: str) -> VolumeMount | None:
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


def _env(reader: FieldReader, raw: Any, path: str) -> EnvVar | None:
    data = reader.mapping(raw, path, _ENV_FIELDS, _ENV_ALIASES)
    if data is None:
        return None
    key = read_env_key(reader, data, "key", path)
    value = reader.text(data, "value", path, secret=True)
    if key is None or value is None:
        return None
    return EnvVar(key, value)


def read_env_key(reader: FieldReader, data: Mapping[str, Any], key: str, path: str) -> str | None:
    """An env variable's name, at ``key`` of ``data``: a C identifier."""
    found = reader.text(data, key, path)
    if found is not None and not _C_IDENTIFIER.match(found):
        reader.error(
            f"{path}.{key}", f"must be a C identifier (letters, digits, '_'), got {quote(found)}"
        )
        return None
    return found


def _env_label(raw: Any) -> str | None:
    """An env entry's key, to name it by in paths, when it is given once (as key or as name),
    is valid and is not long."""
    given = (
        [raw[field] for field in ("key", "name") if field in raw] if isinstance(raw, dict) else []
    )
    if len(given) != 1:
        return None
    (key,) = given
    if isinstance(key, str) and len(key) <= _LABEL_LENGTH and _C_IDENTIFIER.match(key):
        return key
    return None
