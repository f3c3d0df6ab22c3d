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

A path names a list item by its index (``volumes[1]``), but a container by its
name (``containers[web].image``) and an env entry by its key
(``containers[web].env[TOKEN].value``) when that is valid and no other item of
the list has it. A repeated name or key is reported at its index
(``containers[1].name``), and a host port claimed twice at the port
(``containers[db].ports[1]``); the rule of host ports is :mod:`agent.ports`.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

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
from agent.ports import HostClaims, Publisher, also_published, normal_address, published_twice

__all__ = [
    "MAX_ERRORS",
    "MAX_PATH_LENGTH",
    "is_rfc1035_name",
    "parse_manifest",
]

MAX_PATH_LENGTH = 512
MAX_ERRORS = 100
_QUOTED_LENGTH = 256
_LABEL_LENGTH = 64
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_TEXT = re.compile("[\x00\ud800-\udfff]")  # what _text_problem finds a problem in
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
        if type(value) is kind or (
            isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        ):
            return value
        self.error(path, f"must be {_TYPE_NAMES[kind]}, got {_describe(value, secret)}")
        return None

    def mapping(
        self,
        value: Any,
        path: str,
        fields: frozenset[str],
        aliases: Mapping[str, str] = {},
    ) -> dict[str, Any] | None:
        """A mapping with known fields only; aliases are folded into their field."""
        data = self.typed(value, dict, path)
        if data is None:
            return None
        if data.keys() <= fields:
            return data  # known fields (strings, each once), none by an alias: as it is
        result: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, item in data.items():
            field = aliases.get(key, key) if aliases else key
            if type(key) is str and field in fields and field not in result:
                result[field] = item
                spelled[field] = key
                continue
            if not isinstance(key, str):
                self.error(path, f"keys must be strings, got {_describe(key)}")
                continue
            where = _field_path(path, key)
            if field not in fields:
                hint = (
                    difflib.get_close_matches(key, sorted([*fields, *aliases]), n=1)
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
        value = data[key]
        if type(value) is list:
            return value
        return self.typed(value, list, f"{path}.{key}" if path else key) or []

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        required: bool = True,
        secret: bool = False,
    ) -> str | None:
        if key not in data:
            if required:
                self.error(f"{path}.{key}" if path else key, "is required")
            return None
        value: str | None = data[key]
        if type(value) is not str:
            value = self.typed(value, str, f"{path}.{key}" if path else key, secret)
            if value is None:
                return None
        if _NOT_TEXT.search(value):
            problem = _text_problem(value)
            if problem:
                self.error(f"{path}.{key}" if path else key, problem)
                return None
        return value

    def number(self, data: Mapping[str, Any], key: str, path: str) -> int | None:
        value = data[key]
        if type(value) is int and 1 <= value <= 65535:
            return value
        value = self.typed(value, int, f"{path}.{key}")
        if value is not None and not 1 <= value <= 65535:
            shown = value if value.bit_length() <= 64 else "a very large integer"
            self.error(f"{path}.{key}", f"must be between 1 and 65535, got {shown}")
            return None
        return value

    def choice(
        self, data: Mapping[str, Any], key: str, path: str, choices: Sequence[str], default: str
    ) -> str:
        if key not in data:
            return default
        value = self.text(data, key, path, required=False)
        if value is None:
            return default
        if value not in choices:
            where = f"{path}.{key}" if path else key
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
        if value is None:
            return None
        if (
            value.startswith("/")
            and len(value) <= MAX_PATH_LENGTH
            and not _NOT_IN_PATHS.search(value)
        ):
            return value
        where = f"{path}.{key}"
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
        if len({value for _, value in names}) == len(names):
            return
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
    top = reader.mapping(data, "", _MANIFEST_FIELDS)
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
    volumes = _volumes(reader, top)
    containers = _containers(reader, top, {volume.name for volume in volumes}, restart_policy)
    if reader.errors or version is None:
        return None
    return Manifest(
        version=version,
        id=manifest_id,
        containers=tuple(containers),
        volumes=tuple(volumes),
        source=source,
    )


def _item_paths(
    items: Sequence[Any], path: str, label: Callable[[Any], str | None] | None = None
) -> list[str]:
    """The path of each item of a list: ``path[label]`` when the item has a label (its
    name, say) that no other item of the list has, else ``path[index]``.

    A label is always a valid name or key, so that it reads as is and never as an index.
    """
    if label is None:
        return [f"{path}[{index}]" for index in range(len(items))]
    labels = [label(item) for item in items]
    if len(set(labels)) == len(labels):  # each label once: no need to count them
        return [
            f"{path}[{index}]" if name is None else f"{path}[{name}]"
            for index, name in enumerate(labels)
        ]
    counts = Counter(labels)
    return [
        f"{path}[{name}]" if name is not None and counts[name] == 1 else f"{path}[{index}]"
        for index, name in enumerate(labels)
    ]


def _each(
    reader: _Reader,
    data: Mapping[str, Any],
    key: str,
    path: str,
    read: Callable[[_Reader, Any, str], _T | None],
    label: Callable[[Any], str | None] | None = None,
) -> dict[int, _T]:
    """The optional list field ``key``, each item read at its path (see :func:`_item_paths`):
    the items that are valid, by their index in the list."""
    if key not in data:
        return {}
    items = reader.items(data, key, path)
    where = f"{path}.{key}" if path else key
    results: dict[int, _T] = {}
    if label is None:  # each item at its index: the paths of _item_paths, made one by one
        for index, item in enumerate(items):
            result = read(reader, item, f"{where}[{index}]")
            if result is not None:
                results[index] = result
        return results
    paths = _item_paths(items, where, label)
    for index, item in enumerate(items):
        result = read(reader, item, paths[index])
        if result is not None:
            results[index] = result
    return results


def _volumes(reader: _Reader, top: Mapping[str, Any]) -> list[Volume]:
    volumes = _each(reader, top, "volumes", "", _volume)
    reader.unique([(f"volumes[{i}].name", v.name) for i, v in volumes.items()], "volume name")
    return list(volumes.values())


def _volume(reader: _Reader, raw: Any, path: str) -> Volume | None:
    data = reader.mapping(raw, path, _VOLUME_FIELDS)
    name = reader.name(data, "name", path) if data is not None else None
    return Volume(name) if name is not None else None


def _containers(
    reader: _Reader, top: Mapping[str, Any], declared: set[str], restart_policy: str
) -> list[Container]:
    """The containers, each valid on its own, then checked against each other: a repeated
    name is reported at its index, a host port claimed again at the port."""
    items = reader.items(top, "containers", "")
    paths = _item_paths(items, "containers", _container_label)
    containers: dict[int, Container] = {}
    for index, (raw, path) in enumerate(zip(items, paths, strict=True)):
        container = _container(reader, raw, path, declared, restart_policy)
        if container is not None:
            containers[index] = container
    reader.unique(
        [(f"containers[{i}].name", c.name) for i, c in containers.items()], "container name"
    )
    _check_host_ports(reader, [(paths[i], c) for i, c in containers.items()])
    return list(containers.values())


def _container_label(raw: Any) -> str | None:
    """A container's name, to name it by in paths, when it is a valid one."""
    name = raw.get("name") if isinstance(raw, dict) else None
    return name if isinstance(name, str) and is_rfc1035_name(name) else None


def _check_host_ports(reader: _Reader, containers: Sequence[tuple[str, Container]]) -> None:
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


_MANIFEST_FIELDS = frozenset({"version", "id", "containers", "volumes", "restartPolicy"})
_VOLUME_FIELDS = frozenset({"name"})
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
    }
)
_PORT_FIELDS = frozenset({"name", "containerPort", "hostPort", "hostIp", "protocol"})
_MOUNT_FIELDS = frozenset({"name", "path", "readOnly"})
_MOUNT_ALIASES = {"mountPath": "path"}
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
    reader: _Reader, raw: Any, path: str, declared: set[str], restart_policy: str
) -> Container | None:
    """The container at ``path``, or None when it has any error (every one is reported)."""
    before = len(reader.errors)
    data = reader.mapping(raw, path, _CONTAINER_FIELDS)
    if data is None:
        return None
    fields = _container_fields(reader, data, path)
    _check_unique_items(reader, path, fields)
    _check_mounts_declared(reader, path, fields.mounts, declared)
    _check_published_once(reader, path, fields.ports)
    pull = reader.choice(data, "imagePullPolicy", path, IMAGE_PULL_POLICIES, "IfNotPresent")
    restart = reader.choice(data, "restartPolicy", path, RESTART_POLICIES, restart_policy)
    if len(reader.errors) > before or fields.name is None or fields.image is None:
        return None
    return Container(
        name=fields.name,
        image=fields.image,
        command=fields.command,
        working_dir=fields.working_dir,
        ports=tuple(fields.ports.values()),
        volume_mounts=tuple(fields.mounts.values()),
        env=tuple(fields.env.values()),
        image_pull_policy=pull,
        restart_policy=restart,
    )


def _container_fields(reader: _Reader, data: Mapping[str, Any], path: str) -> _Fields:
    """Every field of a container but its policies, each checked on its own, in order."""
    name = reader.name(data, "name", path)
    image = _image(reader, data, path)
    command = tuple(_each(reader, data, "command", path, _string_item).values())
    working_dir = reader.absolute_path(data, "workingDir", path) if "workingDir" in data else None
    ports = _each(reader, data, "ports", path, _port)
    mounts = _each(reader, data, "volumeMounts", path, _mount)
    env = _each(reader, data, "env", path, _env, label=_env_label)
    return _Fields(name, image, command, working_dir, ports, mounts, env)


def _image(reader: _Reader, data: Mapping[str, Any], path: str) -> str | None:
    image = reader.text(data, "image", path)
    if image is not None and not (len(image) <= 255 and _IMAGE.match(image)):
        reader.error(
            f"{path}.image",
            f"must be an image reference like 'registry/name:tag', got {_quote(image)}",
        )
        return None
    return image


def _check_unique_items(reader: _Reader, path: str, fields: _Fields) -> None:
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


def _check_mounts_declared(
    reader: _Reader, path: str, mounts: Mapping[int, VolumeMount], declared: set[str]
) -> None:
    for i, mount in mounts.items():
        if mount.name not in declared:
            reader.error(
                f"{path}.volumeMounts[{i}].name", f"names no declared volume: {mount.name!r}"
            )


def _check_published_once(reader: _Reader, path: str, ports: Mapping[int, Port]) -> None:
    """No two ports of one container claim the same host address, port and protocol."""
    if len(ports) < 2:
        return  # a port conflicts only with an earlier one
    claims: HostClaims[int] = HostClaims()
    for i, port in ports.items():
        if claims.first_conflict(port) is not None:
            reader.error(f"{path}.ports[{i}]", published_twice(port))
        claims.add(port, i)


def _string_item(reader: _Reader, value: Any, path: str) -> str | None:
    if type(value) is str and not _NOT_TEXT.search(value):
        return value
    text = reader.typed(value, str, path)
    problem = _text_problem(text) if text is not None else None
    if problem:
        reader.error(path, problem)
        return None
    return text


def _port(reader: _Reader, raw: Any, path: str) -> Port | None:
    data = reader.mapping(raw, path, _PORT_FIELDS)
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
    data = reader.mapping(raw, path, _MOUNT_FIELDS, _MOUNT_ALIASES)
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
    data = reader.mapping(raw, path, _ENV_FIELDS, _ENV_ALIASES)
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
