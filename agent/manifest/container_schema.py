"""A manifest's containers, each field checked on its own (name, image, command, ports,
env, policies, probe, resources...), then against each other: names, host ports and
network names are each one container's (:mod:`agent.manifest.ports` has the rule of host
ports). The rules of :mod:`agent.manifest.schema` hold here: every problem is reported at
its path, and no message shows an env value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from agent.manifest.fields import (
    NOT_TEXT,
    FieldReader,
    each,
    is_rfc1035_name,
    item_paths,
    quote,
    text_problem,
)
from agent.manifest.models import (
    ALWAYS,
    IF_NOT_PRESENT,
    IMAGE_PULL_POLICIES,
    NEVER,
    ON_FAILURE,
    RESTART_POLICIES,
    Container,
    EnvVar,
    Port,
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
from agent.manifest.volume_schema import check_empty_dirs_once, declared_mounts, v1beta1_mount

__all__ = [
    "MAX_GRACE_PERIOD",
    "check_program",
    "read_containers",
    "read_env_key",
    "read_image",
    "read_restart_policy",
    "string_item",
]

MAX_GRACE_PERIOD = 24 * 3600
"""A day: a longer terminationGracePeriodSeconds is a mistake."""


_LABEL_LENGTH = 64


_C_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


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


def read_restart_policy(
    reader: FieldReader, data: Mapping[str, Any], path: str, default: str
) -> str:
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


def read_containers(
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
    check_empty_dirs_once(reader, [(paths[i], c) for i, c in containers.items()])
    return list(containers.values())


def _container_label(raw: Any) -> str | None:
    """A container's name, to name it by in paths, when it is a valid one."""
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and is_rfc1035_name(name) else None


def _check_host_ports(reader: FieldReader, containers: Sequence[tuple[str, Container]]) -> None:
    """(hostIp, hostPort, protocol) may be claimed by one container of a file only; a claim
    again is reported at the port, naming the first container that claimed it."""
    claims: HostClaims[str] = HostClaims()  # by container name, as Publisher(name) would be
    for path, container in containers:
        for i, owner in claims.claim(container.ports, container.name):
            reader.error(f"{path}.ports[{i}]", also_published(container.ports[i], Publisher(owner)))


_RESTART_POLICY_WORDS = {"always": ALWAYS, "onFailure": ON_FAILURE, "never": NEVER}


_RESTART_POLICY_KEYS = frozenset(_RESTART_POLICY_WORDS)


_PULL_POLICY_ALIASES = {
    "PullAlways": ALWAYS,
    "PullNever": NEVER,
    "PullIfNotPresent": IF_NOT_PRESENT,
}


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
    mounts = declared_mounts(reader, path, fields.mounts, declared)
    _check_published_once(reader, path, fields.ports)
    aliases = each(reader, data, "aliases", path, _alias)
    pull = _pull_policy(reader, data, path)
    restart = read_restart_policy(reader, data, path, restart_policy)
    resources = read_resources(reader, data, path)
    grace = _grace_period(reader, data, path)
    probe = (
        parse_probe(reader, data["livenessProbe"], f"{path}.livenessProbe", fields.ports)
        if "livenessProbe" in data
        else None
    )
    if probe is not None and restart == NEVER:
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
    return reader.choice(data, "imagePullPolicy", path, IMAGE_PULL_POLICIES, IF_NOT_PRESENT)


def _grace_period(reader: FieldReader, data: Mapping[str, Any], path: str) -> int | None:
    """``terminationGracePeriodSeconds``: whole seconds, 0 (killed at once) or more."""
    if "terminationGracePeriodSeconds" not in data:
        return None
    return reader.whole(
        data, "terminationGracePeriodSeconds", path, 0, MAX_GRACE_PERIOD, hint=" (a day)"
    )


def _container_fields(reader: FieldReader, data: Mapping[str, Any], path: str) -> _Fields:
    """Every field of a container but its policies, each checked on its own, in order."""
    name = reader.name(data, "name", path)
    image = read_image(reader, data, path)
    command = tuple(each(reader, data, "command", path, string_item).values())
    working_dir = reader.absolute_path(data, "workingDir", path) if "workingDir" in data else None
    ports = each(reader, data, "ports", path, _port)
    mounts = each(reader, data, "volumeMounts", path, v1beta1_mount)
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


def _check_published_once(reader: FieldReader, path: str, ports: Mapping[int, Port]) -> None:
    """No two ports of one container claim the same host address, port and protocol."""
    if len(ports) < 2:
        return  # a port conflicts only with an earlier one
    claims: HostClaims[int] = HostClaims()
    for i, port in ports.items():
        if claims.claim([port], i):
            reader.error(f"{path}.ports[{i}]", published_twice(port))


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
