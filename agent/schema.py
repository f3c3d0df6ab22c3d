"""Validation of raw manifest data into :mod:`agent.manifest` models.

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
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from agent.errors import FieldError, ManifestError
from agent.manifest import (
    IMAGE_PULL_POLICIES,
    RESTART_POLICIES,
    SUPPORTED_VERSIONS,
    Container,
    EnvVar,
    Manifest,
    Port,
    Volume,
    VolumeMount,
)

__all__ = [
    "MAX_ERRORS",
    "MAX_PATH_LENGTH",
    "describe_binding",
    "is_rfc1035_name",
    "parse_manifest",
    "port_conflict",
]

MAX_PATH_LENGTH = 512
MAX_ERRORS = 100
_QUOTED_LENGTH = 256
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_IN_PATHS = re.compile('[,"\x00-\x1f\x7f]')
_RFC1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?\Z")
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

_T = TypeVar("_T")
_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
    float: "a number",
}
# Types YAML gives that no field takes, by name (the planner's imports stay clock-free).
_OTHER_TYPE_NAMES = {"date": "a date", "datetime": "a timestamp"}


def is_rfc1035_name(value: str) -> bool:
    """A DNS label: lower case letters, digits and '-', starting with a letter, 63 at most."""
    return len(value) <= 63 and _RFC1035.match(value) is not None


def port_conflict(a: Port, b: Port) -> bool:
    """Whether two published ports would claim the same host address, port and protocol."""
    if a.host_port != b.host_port or a.protocol != b.protocol:
        return False
    if _is_wildcard(a.host_ip) or _is_wildcard(b.host_ip):
        return True
    return ipaddress.ip_address(a.host_ip) == ipaddress.ip_address(b.host_ip)


def _is_wildcard(host_ip: str) -> bool:
    """Every address of the host: no address, ``0.0.0.0`` or ``::``."""
    return not host_ip or ipaddress.ip_address(host_ip).is_unspecified


class _Claims:
    """Host bindings claimed so far, each owner's first claim in order; conflicts found in O(1)."""

    def __init__(self) -> None:
        self._count = 0
        self._any: dict[tuple[int, str], dict[str, int]] = {}
        self._wildcard: dict[tuple[int, str], dict[str, int]] = {}
        self._address: dict[tuple[int, str, Any], dict[str, int]] = {}

    def first_conflict(self, port: Port, other_than: str | None = None) -> str | None:
        """The first owner (not ``other_than``) of a binding that ``port`` conflicts with."""
        key = (port.host_port, port.protocol)
        if _is_wildcard(port.host_ip):
            groups = [self._any.get(key, {})]
        else:
            address = ipaddress.ip_address(port.host_ip)
            groups = [self._wildcard.get(key, {}), self._address.get((*key, address), {})]
        firsts = [
            next(((index, owner) for owner, index in group.items() if owner != other_than), None)
            for group in groups
        ]
        found = [first for first in firsts if first is not None]
        return min(found)[1] if found else None

    def add(self, port: Port, owner: str) -> None:
        key = (port.host_port, port.protocol)
        self._any.setdefault(key, {}).setdefault(owner, self._count)
        if _is_wildcard(port.host_ip):
            self._wildcard.setdefault(key, {}).setdefault(owner, self._count)
        else:
            address = ipaddress.ip_address(port.host_ip)
            self._address.setdefault((*key, address), {}).setdefault(owner, self._count)
        self._count += 1


def describe_binding(port: Port) -> str:
    """``127.0.0.1:80/TCP``, ``[::1]:53/UDP``, ``*:80/TCP`` for every address."""
    host = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip or "*"
    return f"{host}:{port.host_port}/{port.protocol}"


def _describe(value: Any, secret: bool = False) -> str:
    """What a value is, for a message; a secret's kind only, never its value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean" if secret else f"{str(value).lower()} (a boolean)"
    name = type(value).__name__
    kind = _TYPE_NAMES.get(type(value)) or _OTHER_TYPE_NAMES.get(name, name)
    if secret or not isinstance(value, (str, int, float)):
        return kind
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very large integer"  # repr() refuses ints of more than 4300 digits
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{text} ({kind})"


def _quote(value: str, length: int = _QUOTED_LENGTH) -> str:
    """``repr`` of a value for a message, shortened when long; control characters escaped."""
    if len(value) <= length:
        return repr(value)
    return repr(value[:length]) + "..."


def _field_path(path: str, key: str) -> str:
    """``path.key``, or ``path['a key']`` for a key that is not a plain word."""
    if _PLAIN_KEY.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{_quote(key, 40)}]"


def _text_problem(value: str) -> str | None:
    """Why a string cannot be handed to an engine, if it cannot."""
    if "\x00" in value:
        return "must not contain a NUL character"
    if _SURROGATE.search(value):
        return "must be valid Unicode (it holds a lone surrogate code point)"
    return None


class _TooManyErrors(Exception):
    """More than MAX_ERRORS problems were found: reading stops."""


class _Reader:
    """Collects the errors of one manifest while reading its fields."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def error(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))
        if len(self.errors) > MAX_ERRORS:
            raise _TooManyErrors

    def typed(self, value: Any, kind: type[_T], path: str, secret: bool = False) -> _T | None:
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        self.error(path, f"must be {_TYPE_NAMES[kind]}, got {_describe(value, secret)}")
        return None

    def mapping(
        self, value: Any, path: str, fields: Sequence[str], aliases: Mapping[str, str] = {}
    ) -> dict[str, Any] | None:
        """A mapping with known fields only; aliases are folded into their field."""
        data = self.typed(value, dict, path)
        if data is None:
            return None
        result: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, item in data.items():
            if not isinstance(key, str):
                self.error(path, f"keys must be strings, got {_describe(key)}")
                continue
            where = _field_path(path, key)
            field = aliases.get(key, key)
            if field not in fields:
                hint = (
                    difflib.get_close_matches(key, [*fields, *aliases], n=1)
                    if len(key) < 64
                    else []
                )
                suggestion = f', did you mean "{hint[0]}"?' if hint else ""
                self.error(where, f"unknown field{suggestion}")
            elif field in result:
                self.error(where, f'is given twice, as "{spelled[field]}" and as "{key}"')
            else:
                result[field] = item
                spelled[field] = key
        return result

    def items(self, data: Mapping[str, Any], key: str, path: str) -> list[Any]:
        """An optional list field: absent means empty, anything else must be a list."""
        if key not in data:
            return []
        return self.typed(data[key], list, f"{path}.{key}" if path else key) or []

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        required: bool = True,
        secret: bool = False,
    ) -> str | None:
        where = f"{path}.{key}" if path else key
        if key not in data:
            if required:
                self.error(where, "is required")
            return None
        value = self.typed(data[key], str, where, secret)
        problem = _text_problem(value) if value is not None else None
        if problem:
            self.error(where, problem)
            return None
        return value

    def number(self, data: Mapping[str, Any], key: str, path: str) -> int | None:
        value = self.typed(data[key], int, f"{path}.{key}")
        if value is not None and not 1 <= value <= 65535:
            shown = value if value.bit_length() <= 64 else "a very large integer"
            self.error(f"{path}.{key}", f"must be between 1 and 65535, got {shown}")
            return None
        return value

    def choice(
        self, data: Mapping[str, Any], key: str, path: str, choices: Sequence[str], default: str
    ) -> str:
        where = f"{path}.{key}" if path else key
        value = self.text(data, key, path, required=False)
        if value is None:
            return default
        if value not in choices:
            self.error(where, f"must be one of {', '.join(choices)}, got {_quote(value)}")
            return default
        return value

    def name(
        self, data: Mapping[str, Any], key: str, path: str, required: bool = True
    ) -> str | None:
        value = self.text(data, key, path, required)
        if value is not None and not is_rfc1035_name(value):
            self.error(
                f"{path}.{key}",
                f"must be an RFC 1035 name (lower case letters, digits and '-', starting with a "
                f"letter, at most 63 characters), got {_quote(value)}",
            )
            return None
        return value

    def absolute_path(self, data: Mapping[str, Any], key: str, path: str) -> str | None:
        value = self.text(data, key, path)
        where = f"{path}.{key}"
        if value is None:
            return None
        if not value.startswith("/"):
            self.error(where, f"must be an absolute path, got {_quote(value)}")
        elif len(value) > MAX_PATH_LENGTH:
            self.error(where, f"must be at most {MAX_PATH_LENGTH} characters, got {len(value)}")
        elif _NOT_IN_PATHS.search(value):
            self.error(
                where,
                "must not contain a comma, a double quote or a control character "
                f"(such as a line break), got {_quote(value)}",
            )
        else:
            return value
        return None

    def unique(self, names: list[tuple[str, str]], what: str) -> None:
        """Report every (path, name) whose name was already seen."""
        seen: set[str] = set()
        for where, value in names:
            if value in seen:
                self.error(where, f"{what} {_quote(value)} is not unique")
            seen.add(value)


def parse_manifest(data: Any, source: str = "<manifest>") -> Manifest:
    """Validate raw data into a :class:`Manifest`, or raise one :class:`ManifestError`."""
    reader = _Reader()
    try:
        manifest = _manifest(reader, data, source)
    except _TooManyErrors:
        more = FieldError("", f"more problems not listed: only the first {MAX_ERRORS} are")
        raise ManifestError(source, [*reader.errors[:MAX_ERRORS], more]) from None
    if manifest is None:
        raise ManifestError(source, reader.errors)
    return manifest


def _manifest(reader: _Reader, data: Any, source: str) -> Manifest | None:
    fields = ("version", "id", "containers", "volumes", "restartPolicy")
    top = reader.mapping(data, "", fields)
    if top is None:
        return None
    version = reader.text(top, "version", "")
    if version is not None and version not in SUPPORTED_VERSIONS:
        reader.error(
            "version", f"unsupported {_quote(version)}, supported: {', '.join(SUPPORTED_VERSIONS)}"
        )
    manifest_id = reader.text(top, "id", "", required=False)
    if manifest_id is not None and not (
        len(manifest_id) <= 253 and _DNS_SUBDOMAIN.match(manifest_id)
    ):
        reader.error("id", f"must be a DNS subdomain name, got {_quote(manifest_id)}")
    restart_policy = reader.choice(top, "restartPolicy", "", RESTART_POLICIES, "Always")

    volumes: list[Volume] = []
    volume_names: list[tuple[str, str]] = []
    for index, raw in enumerate(reader.items(top, "volumes", "")):
        where = f"volumes[{index}]"
        volume = reader.mapping(raw, where, ("name",))
        name = reader.name(volume, "name", where) if volume is not None else None
        if name is not None:
            volumes.append(Volume(name))
            volume_names.append((f"{where}.name", name))
    reader.unique(volume_names, "volume name")
    declared = {volume.name for volume in volumes}

    containers: list[Container] = []
    container_names: list[tuple[str, str]] = []
    for index, raw in enumerate(reader.items(top, "containers", "")):
        container = _container(reader, raw, index, declared, restart_policy)
        if container is not None:
            containers.append(container)
            container_names.append((f"containers[{container.name}].name", container.name))
    reader.unique(container_names, "container name")
    _check_host_ports(reader, containers)

    if reader.errors or version is None:
        return None
    return Manifest(
        version=version,
        id=manifest_id,
        containers=tuple(containers),
        volumes=tuple(volumes),
        source=source,
    )


_CONTAINER_FIELDS = (
    "name",
    "image",
    "command",
    "workingDir",
    "ports",
    "volumeMounts",
    "env",
    "imagePullPolicy",
    "restartPolicy",
)


def _container(
    reader: _Reader, raw: Any, index: int, declared: set[str], restart_policy: str
) -> Container | None:
    before = len(reader.errors)
    label = raw.get("name") if isinstance(raw, dict) else None
    path = (
        f"containers[{label}]"
        if isinstance(label, str) and is_rfc1035_name(label)
        else (f"containers[{index}]")
    )
    data = reader.mapping(raw, path, _CONTAINER_FIELDS)
    if data is None:
        return None
    name = reader.name(data, "name", path)
    image = reader.text(data, "image", path)
    if image is not None and not (len(image) <= 255 and _IMAGE.match(image)):
        reader.error(
            f"{path}.image",
            f"must be an image reference like 'registry/name:tag', got {_quote(image)}",
        )
    command = tuple(
        _each(reader, reader.items(data, "command", path), f"{path}.command", _string_item)
    )
    working_dir = reader.absolute_path(data, "workingDir", path) if "workingDir" in data else None
    ports = tuple(_each(reader, reader.items(data, "ports", path), f"{path}.ports", _port))
    mounts = tuple(
        _each(reader, reader.items(data, "volumeMounts", path), f"{path}.volumeMounts", _mount)
    )
    env = tuple(_each(reader, reader.items(data, "env", path), f"{path}.env", _env))

    reader.unique(
        [(f"{path}.ports[{i}].name", p.name) for i, p in enumerate(ports) if p.name], "port name"
    )
    reader.unique(
        [(f"{path}.volumeMounts[{i}].path", m.path) for i, m in enumerate(mounts)], "mount path"
    )
    reader.unique([(f"{path}.env[{i}].key", e.key) for i, e in enumerate(env)], "env key")
    for i, mount in enumerate(mounts):
        if mount.name not in declared:
            reader.error(
                f"{path}.volumeMounts[{i}].name", f"names no declared volume: {mount.name!r}"
            )
    claims = _Claims()
    for i, port in enumerate(ports):
        if claims.first_conflict(port) is not None:
            reader.error(
                f"{path}.ports[{i}]", f"host port {describe_binding(port)} is published twice"
            )
        claims.add(port, "")

    pull = reader.choice(data, "imagePullPolicy", path, IMAGE_PULL_POLICIES, "IfNotPresent")
    restart = reader.choice(data, "restartPolicy", path, RESTART_POLICIES, restart_policy)
    if len(reader.errors) > before or name is None or image is None:
        return None
    return Container(
        name=name,
        image=image,
        command=command,
        working_dir=working_dir,
        ports=ports,
        volume_mounts=mounts,
        env=env,
        image_pull_policy=pull,
        restart_policy=restart,
    )


def _each(
    reader: _Reader, items: list[Any], path: str, read: Callable[[_Reader, Any, str], _T | None]
) -> list[_T]:
    results = (read(reader, item, f"{path}[{index}]") for index, item in enumerate(items))
    return [result for result in results if result is not None]


def _string_item(reader: _Reader, value: Any, path: str) -> str | None:
    text = reader.typed(value, str, path)
    problem = _text_problem(text) if text is not None else None
    if problem:
        reader.error(path, problem)
        return None
    return text


def _port(reader: _Reader, raw: Any, path: str) -> Port | None:
    data = reader.mapping(raw, path, ("name", "containerPort", "hostPort", "hostIp", "protocol"))
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
            host_ip = str(ipaddress.ip_address(host_ip))
        except ValueError:
            reader.error(
                f"{path}.hostIp", f"must be an IPv4 or IPv6 address, got {_quote(host_ip)}"
            )
    protocol = reader.text(data, "protocol", path, required=False) or "TCP"
    if protocol.upper() not in ("TCP", "UDP"):
        reader.error(f"{path}.protocol", f"must be TCP or UDP, got {_quote(protocol)}")
    if len(reader.errors) > before or container_port is None or host_port is None:
        return None
    return Port(container_port, host_port, protocol.upper(), host_ip, name)


def _mount(reader: _Reader, raw: Any, path: str) -> VolumeMount | None:
    data = reader.mapping(raw, path, ("name", "path", "readOnly"), {"mountPath": "path"})
    if data is None:
        return None
    name = reader.name(data, "name", path)
    mount_path = reader.absolute_path(data, "path", path)
    read_only = (
        reader.typed(data["readOnly"], bool, f"{path}.readOnly") if "readOnly" in data else False
    )
    if name is None or mount_path is None or read_only is None:
        return None
    return VolumeMount(name, mount_path, read_only)


def _env(reader: _Reader, raw: Any, path: str) -> EnvVar | None:
    data = reader.mapping(raw, path, ("key", "value"), {"name": "key"})
    if data is None:
        return None
    key = reader.text(data, "key", path)
    if key is not None and not _C_IDENTIFIER.match(key):
        reader.error(
            f"{path}.key", f"must be a C identifier (letters, digits, '_'), got {_quote(key)}"
        )
        key = None
    value = reader.text(data, "value", path, secret=True)
    if key is None or value is None:
        return None
    return EnvVar(key, value)


def _check_host_ports(reader: _Reader, containers: list[Container]) -> None:
    """(hostIp, hostPort, protocol) may be claimed by one container only."""
    claims = _Claims()
    for container in containers:
        for port in container.ports:
            owner = claims.first_conflict(port, other_than=container.name)
            if owner is not None:
                reader.error(
                    f"containers[{container.name}].ports",
                    f"host port {describe_binding(port)} is also published by container {owner!r}",
                )
        for port in container.ports:
            claims.add(port, container.name)
