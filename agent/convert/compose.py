"""Importing a Compose file as a manifest: the subset of the Compose specification that
maps onto ``v1beta1``, and a note for everything else.

:func:`from_compose` reads the file (with :func:`agent.manifest.parse.parse_document`, so with
the same limits as a manifest) and the ``.env`` file next to it, interpolates
variables as Compose does (:mod:`agent.convert.interpolate`), and converts each service into
a container. What it cannot carry over is a :class:`Note`, ``service: field: why``;
a service whose conversion would change what runs (``build`` without ``image``,
``extends``, ``profiles``, a command that cannot be split, a name that cannot be an
RFC 1035 label) is not converted at all, its note says so, and it is listed in
:attr:`Converted.left_out` (as an ``include``, which is not read, is): such a conversion
is partial. Bind mounts are resolved by :mod:`agent.convert.compose_binds`.
The result always passes :meth:`agent.manifest.models.Manifest.from_dict`: each container is
validated on its own (a service the schema refuses is left out, with the schema's
errors as notes, which never show env values), then the whole manifest is, and a
problem across containers (a host port published twice) is a :class:`ComposeError`.

Semantics kept: ``command`` replaces the image's CMD and keeps its ENTRYPOINT (as the
manifest's does); ``entrypoint`` replaces the ENTRYPOINT and drops the CMD (as the
manifest's does); a service without ``restart`` is ``restartPolicy: Never`` (Compose's
default is ``no``); a healthcheck becomes a liveness probe with Docker's defaults for
what it leaves out (30 s interval and timeout, 3 retries). Notes never hold env values
or variable values, only names.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs
import yaml

from agent.convert.compose_binds import NotBound, bind_options, resolve_bind
from agent.convert.interpolate import InterpolationError, Interpolator, parse_env_file
from agent.errors import AgentError, ManifestError
from agent.manifest.fields import is_rfc1035_name
from agent.manifest.models import Manifest
from agent.manifest.parse import MAX_BYTES, parse_document
from agent.manifest.quantity import (
    MAX_CPU_MILLIS,
    MAX_MEMORY,
    MIN_CPU_MILLIS,
    MIN_MEMORY,
    format_cpu,
    format_memory,
)

__all__ = [
    "ComposeError",
    "Converted",
    "Note",
    "convert_file",
    "from_compose",
    "render",
]

MAX_PORT_RANGE = 100
"""A port range of more ports than this is refused rather than expanded."""

_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:us|ms|s|m|h))+\Z")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")
_DURATION_UNITS: dict[str, Fraction] = {
    "us": Fraction(1, 10**6),
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_BYTES = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)b?\Z", re.IGNORECASE)
_BYTE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_PORT_PART = re.compile(r"(\d+)(?:-(\d+))?\Z")
_MAX_GRACE = 86400
_MAX_RETRIES = 1000
_DOCKER_HEALTHCHECK_DEFAULTS = {"periodSeconds": 30, "timeoutSeconds": 30, "failureThreshold": 3}
_RESTART = {
    "no": "Never",
    "always": "Always",
    "on-failure": "OnFailure",
    "unless-stopped": "Always",
}
_PULL = {"always": "Always", "never": "Never", "missing": "IfNotPresent"}
_PULL["if_not_present"] = "IfNotPresent"

_HANDLED = frozenset(
    {
        "image",
        "command",
        "entrypoint",
        "environment",
        "env_file",
        "ports",
        "volumes",
        "tmpfs",
        "restart",
        "working_dir",
        "healthcheck",
        "deploy",
        "mem_limit",
        "mem_reservation",
        "cpus",
        "pull_policy",
        "stop_grace_period",
        "build",
        "profiles",
        "extends",
        "networks",
        "links",
    }
)
_NETWORK = "the agent's containers share the namespace's one network"
_DEFAULTS = "the engine's defaults are kept: the agent does not offer it"
_UNMAPPED = {
    "external_links": "only the namespace's own containers are on its network",
    "network_mode": "host and shared network namespaces are not offered",
    "depends_on": "the agent starts every container at once, in no order",
    "expose": "only published ports are in a manifest; the rest is reachable as it is",
    "labels": "the agent sets its own labels",
    "annotations": "the agent sets its own labels",
    "logging": "the engine's default log driver is used (see agent logs)",
    "secrets": "there is no secret store: use a hostDir volume for files the operator places",
    "configs": "there is no config store: use a hostDir volume for files the operator places",
    "container_name": "the agent names containers itself (container-agent-<name>-<hash>)",
    "hostname": "a container's hostname is its name in the manifest (the service's name)",
    "domainname": "a container's hostname is its name in the manifest, with no domain",
    "user": "containers run as the image's user",
    "privileged": "privileged mode is not offered: it gives the container the whole host",
    "cap_add": _DEFAULTS,
    "cap_drop": _DEFAULTS,
    "security_opt": _DEFAULTS,
    "devices": "host devices are not offered",
    "device_cgroup_rules": "host devices are not offered",
    "ulimits": _DEFAULTS,
    "sysctls": _DEFAULTS,
    "pid": "host namespaces are not offered",
    "ipc": "host namespaces are not offered",
    "uts": "host namespaces are not offered",
    "userns_mode": "host namespaces are not offered",
    "extra_hosts": "the engine's DNS settings are used",
    "dns": "the engine's DNS settings are used",
    "dns_search": "the engine's DNS settings are used",
    "dns_opt": "the engine's DNS settings are used",
    "tty": "containers run detached, with no terminal",
    "stdin_open": "containers run detached, with no standard input",
    "stop_signal": "the agent stops containers with SIGTERM",
    "init": _DEFAULTS,
    "read_only": _DEFAULTS,
    "shm_size": _DEFAULTS,
    "scale": "one container per service",
    "volumes_from": "mount the same volumes by name instead",
    "platform": "the image's own platform is used",
    "runtime": _DEFAULTS,
    "isolation": _DEFAULTS,
    "cgroup_parent": _DEFAULTS,
    "group_add": "containers run as the image's user",
    "oom_score_adj": _DEFAULTS,
    "oom_kill_disable": _DEFAULTS,
    "mem_swappiness": "a memory limit allows no swap",
    "memswap_limit": "a memory limit allows no swap",
    "pids_limit": _DEFAULTS,
    "cpu_shares": "only a CPU limit (cpus) is offered",
    "cpu_quota": "only a CPU limit (cpus) is offered",
    "cpu_period": "only a CPU limit (cpus) is offered",
    "cpuset": "only a CPU limit (cpus) is offered",
    "cpu_count": "only a CPU limit (cpus) is offered",
    "cpu_percent": "only a CPU limit (cpus) is offered",
    "blkio_config": _DEFAULTS,
    "storage_opt": _DEFAULTS,
    "mac_address": _DEFAULTS,
    "credential_spec": _DEFAULTS,
}
_TOP_LEVEL_UNMAPPED = {
    "networks": f"{_NETWORK}, on which each service answers to its name: no other is made",
    "secrets": "there is no secret store: use a hostDir volume for files the operator places",
    "configs": "there is no config store: use a hostDir volume for files the operator places",
}


class ComposeError(AgentError):
    """A compose file that cannot be converted at all; the message names the file."""


@attrs.frozen
class Note:
    """Something of the compose file that the manifest does not carry, or carries
    differently: ``where`` is a service (or a top-level section), ``field`` its field."""

    where: str
    field: str
    why: str

    def __str__(self) -> str:
        return ": ".join(part for part in (self.where, self.field, self.why) if part)


@attrs.frozen
class Converted:
    """A manifest as plain data (ready for ``yaml.safe_dump``; it passes
    :meth:`Manifest.from_dict`), the notes of the conversion, and the file it came from.

    ``left_out`` is what of the file does not run from the manifest at all: each service
    not converted (by its name in the file; the notes say why), and ``include`` when the
    file includes others, which are not read. A conversion that left something out is
    :attr:`partial`."""

    manifest: dict[str, Any]
    notes: tuple[Note, ...]
    source: str
    left_out: tuple[str, ...] = ()

    @property
    def partial(self) -> bool:
        """Whether something of the file was left out (``agent convert`` exits 3)."""
        return bool(self.left_out)


def from_compose(
    path: str,
    environ: Mapping[str, str],
    allow_host_path: Sequence[str] = (),
) -> Converted:
    """Convert the compose file at ``path``; ``environ`` is the process environment
    (it wins over the ``.env`` file next to the compose file); bind mounts become
    ``hostDir`` volumes only under ``allow_host_path``. Raises :class:`ComposeError`
    (or :class:`~agent.errors.ManifestError` for a file that is not safe YAML)."""
    raw = _read(path, "compose file")
    data = parse_document(raw, path)
    base = os.path.dirname(os.path.abspath(path))
    dotenv_path = os.path.join(base, ".env")
    dotenv: dict[str, str] = {}
    if os.path.isfile(dotenv_path):
        dotenv = _env_file(dotenv_path)
    variables = {**dotenv, **environ}
    if not isinstance(data, dict):
        raise ComposeError(f"{path}: must be a mapping with 'services'")
    _check_keys(data, path, "")
    interpolator = Interpolator(variables, path)
    try:
        data = interpolator.tree(data)
    except InterpolationError as exc:
        raise ComposeError(str(exc)) from None
    converter = _Converter(path, base, variables, tuple(allow_host_path), environ.get("HOME"))
    for missing in interpolator.missing:
        where, _, field = missing.where.partition(".")
        if where == "services":
            where, _, field = field.partition(".")
        converter.note(
            where,
            field,
            f"variable {missing.name} is not set: an empty string is used, as Compose does",
        )
    manifest = converter.convert(data)
    try:
        Manifest.from_dict(manifest, path)
    except ManifestError as exc:
        raise ComposeError(
            f"{path}: the converted manifest is not valid:\n"
            + "\n".join(str(error) for error in exc.errors)
        ) from None
    order = {str(name): i for i, name in enumerate(data["services"])}
    notes = sorted(converter.notes, key=lambda note: order.get(note.where, -1))
    return Converted(manifest, tuple(notes), path, tuple(converter.left_out))


def convert_file(
    path: str, environ: Mapping[str, str], allow_host_path: Sequence[str] = ()
) -> tuple[str, tuple[str, ...]]:
    """What ``agent convert --from compose FILE`` prints: the manifest's YAML (for standard
    output or a file) and the note lines (for standard error), top-level sections first,
    then service by service. Raises :class:`ComposeError` or
    :class:`~agent.errors.ManifestError` (both :class:`~agent.errors.AgentError`)."""
    converted = from_compose(path, environ, allow_host_path)
    return render(converted), tuple(str(note) for note in converted.notes)


def render(converted: Converted) -> str:
    """The manifest as YAML, after a comment header naming the compose file and listing
    the notes (which hold no env or variable values)."""
    lines = [
        f"# Converted from {os.path.basename(converted.source)} by `agent convert --from compose`.",
    ]
    if converted.partial:
        lines.append(f"# Left out: {', '.join(converted.left_out)}.")
    if converted.notes:
        lines.append("# Not mapped, or mapped differently:")
        lines.extend(f"#   {note}".replace("\n", " ") for note in converted.notes)
    body = yaml.safe_dump(
        converted.manifest, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return "\n".join(lines) + "\n" + body


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ComposeError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    return raw


def _env_file(path: str) -> dict[str, str]:
    raw = _read(path, "env file")
    if len(raw) > MAX_BYTES or b"\x00" in raw:
        raise ComposeError(f"{path}: not an env file (too large, or binary)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ComposeError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    try:
        return parse_env_file(text, path)
    except InterpolationError as exc:
        raise ComposeError(str(exc)) from None


class _Refused(Exception):
    """The service is not converted; the note says why."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(why)
        self.field = field
        self.why = why


def _label(name: str) -> str | None:
    """``name`` as an RFC 1035 label: lower case, ``_`` and ``.`` as ``-``; None if it
    cannot be one."""
    label = name.lower().replace("_", "-").replace(".", "-")
    return label if is_rfc1035_name(label) else None


class _Converter:
    def __init__(
        self,
        source: str,
        base: str,
        variables: Mapping[str, str],
        allowed: tuple[str, ...],
        home: str | None,
    ) -> None:
        self.source = source
        self.base = base
        self.home = home
        self.variables = variables
        self.allowed = allowed
        self.notes: list[Note] = []
        self.left_out: list[str] = []
        self.volumes: dict[str, dict[str, Any]] = {}  # manifest volume name -> volume
        self.named: dict[str, str] = {}  # compose volume name -> manifest volume name
        self.host_paths: dict[str, str] = {}  # host path -> manifest volume name
        # Further names on the network: (service, field, the container it names, alias).
        self.aliases: list[tuple[str, str, str, str]] = []

    def note(self, where: str, field: str, why: str) -> None:
        self.notes.append(Note(where, field, why))

    def convert(self, data: Mapping[str, Any]) -> dict[str, Any]:
        services = data.get("services")
        if "include" in data and not services:
            raise ComposeError(
                f"{self.source}: include: {_included(data['include'])} not read (the agent "
                "reads no included file): convert each file on its own; this one has no "
                "services of its own"
            )
        if not isinstance(services, dict) or not services:
            raise ComposeError(f"{self.source}: services: must be a mapping of services")
        manifest: dict[str, Any] = {"version": "v1beta1"}
        for key, value in data.items():
            if key == "version":
                self.note("version", "", "ignored: obsolete in the Compose specification")
            elif key == "name":
                label = _label(value) if isinstance(value, str) else None
                if label is not None:
                    manifest["id"] = label
                else:
                    self.note("name", "", "not mapped: not a DNS name")
            elif key in ("services", "volumes"):
                pass
            elif isinstance(key, str) and key.startswith("x-"):
                self.note(key, "", "ignored: an extension field")
            elif key == "include":
                self.left_out.append("include")
                self.note(
                    key,
                    "",
                    f"{_included(value)} not read (the agent reads no included file), so "
                    "their services are left out: convert each file on its own",
                )
            elif key in _TOP_LEVEL_UNMAPPED:
                self.note(key, "", f"not mapped ({_TOP_LEVEL_UNMAPPED[key]})")
            else:
                self.note(str(key), "", "not mapped (not a field this converter knows)")
        self._declare_volumes(data.get("volumes"))
        containers: list[dict[str, Any]] = []
        names: set[str] = set()
        for name, service in services.items():
            container = self._service(str(name), service, names)
            if container is not None:
                names.add(container["name"])
                containers.append(container)
        if not containers:
            raise ComposeError(
                f"{self.source}: no service could be converted:\n"
                + "\n".join(str(note) for note in self.notes)
            )
        self._add_aliases(containers)
        used = {m["name"] for c in containers for m in c.get("volumeMounts", ())}
        volumes = [v for n, v in self.volumes.items() if n in used]
        manifest["containers"] = containers
        if volumes:
            manifest["volumes"] = volumes
        return manifest

    # ---------------------------------------------------------------- network names

    def _network_names(self, name: str, label: str, service: Mapping[str, Any]) -> None:
        """The aliases a service asks for: ``networks.<n>.aliases`` name it, ``links`` with
        an alias (``db:database``) name the linked service (on the one network here, for
        every container, where Compose shows a link's alias to the linking service only)."""
        networks = service.get("networks")
        if isinstance(networks, dict):
            for network, options in networks.items():
                if not isinstance(options, dict):
                    continue
                for option, value in options.items():
                    where = f"networks.{network}.{option}"
                    if option != "aliases":
                        self.note(name, where, f"not mapped ({_NETWORK})")
                    elif isinstance(value, list):
                        self.aliases += [(name, where, label, str(alias)) for alias in value]
                    else:
                        self.note(name, where, "not mapped: not a list")
        elif networks is not None and not isinstance(networks, list):
            self.note(name, "networks", "not mapped: not a list or a mapping")
        links = service.get("links")
        if links is not None and not isinstance(links, list):
            self.note(name, "links", "not mapped: not a list")
            return
        for link in links or []:
            target, _, alias = str(link).partition(":")
            if alias:
                self.aliases.append((name, "links", _label(target) or target, alias))

    def _add_aliases(self, containers: list[dict[str, Any]]) -> None:
        """Each alias asked for to its container, unless the name means another already
        (a container's name or another's alias): then a note."""
        by_name = {c["name"]: c for c in containers}
        owner: dict[str, str] = {}
        for service, field, target, alias in self.aliases:
            label = _label(alias)
            if target not in by_name:
                self.note(service, field, f"alias {alias} not mapped: {target} is not converted")
            elif label is None:
                self.note(service, field, f"alias {alias} not mapped: not an RFC 1035 name")
            elif label == target or owner.get(label) == target:
                continue
            elif label in by_name or label in owner:
                taken = owner.get(label, label)
                self.note(
                    service,
                    field,
                    f"alias {alias} not mapped: {label} names container {taken} already",
                )
            else:
                owner[label] = target
                by_name[target].setdefault("aliases", []).append(label)

    # ---------------------------------------------------------------- volumes

    def _declare_volumes(self, declared: Any) -> None:
        if declared is None:
            return
        if not isinstance(declared, dict):
            raise ComposeError(f"{self.source}: volumes: must be a mapping of volumes")
        for name, options in declared.items():
            label = _label(str(name))
            if label is None or label in self.volumes:
                self.note("volumes", str(name), "not mapped: cannot be an RFC 1035 name")
                continue
            if label != name:
                self.note("volumes", str(name), f"renamed {label} (an RFC 1035 name)")
            self.named[str(name)] = label
            self.volumes[label] = {"name": label}
            self.note(
                "volumes",
                str(name),
                f"an engine volume in Compose; here the host directory <volumes-root>/{label}, "
                "shared by every container that mounts it, and not filled from the image",
            )
            if options is not None and not isinstance(options, dict):
                raise ComposeError(f"{self.source}: volumes.{name}: must be a mapping")
            for option in options or {}:
                self.note("volumes", f"{name}.{option}", "not mapped (no volume drivers)")

    def _host_volume(self, service: str, field: str, source: str) -> str | None:
        try:
            bind = resolve_bind(source, self.base, self.home, self.allowed)
        except NotBound as exc:
            self.note(service, field, str(exc))
            return None
        for why in bind.notes:
            self.note(service, field, why)
        host = bind.path
        if host in self.host_paths:
            return self.host_paths[host]
        stem = _label(os.path.basename(host) or "root") or "dir"
        name = self._unique(f"host-{stem}"[:50])
        self.host_paths[host] = name
        self.volumes[name] = {"name": name, "source": {"hostDir": {"path": host}}}
        return name

    def _scratch(self, service: str) -> str:
        name = self._unique(f"{_label(service) or 'service'}-scratch"[:50])
        self.volumes[name] = {"name": name, "source": {"emptyDir": {}}}
        return name

    def _unique(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.volumes:
            n += 1
            candidate = f"{name}-{n}"
        return candidate

    # ---------------------------------------------------------------- services

    def _service(self, name: str, raw: Any, taken: set[str]) -> dict[str, Any] | None:
        before, paths_before = dict(self.volumes), dict(self.host_paths)
        notes_before = len(self.notes)
        try:
            if not isinstance(raw, dict):
                raise _Refused("", "must be a mapping")
            container = self._container(name, raw, taken)
        except _Refused as refused:
            self.volumes, self.host_paths = before, paths_before
            self.note(name, refused.field, f"{refused.why}; service not converted")
            self.left_out.append(name)
            return None
        mounted = {m["name"] for m in container.get("volumeMounts", ())}
        alone = {
            "version": "v1beta1",
            "containers": [container],
            "volumes": [v for n, v in self.volumes.items() if n in mounted],
        }
        try:
            Manifest.from_dict(alone, self.source)
        except ManifestError as exc:
            self.volumes, self.host_paths = before, paths_before
            del self.notes[notes_before:]
            for error in exc.errors:
                self.note(name, "", f"refused by validation: {error}")
            self.note(name, "", "service not converted")
            self.left_out.append(name)
            return None
        return container

    def _container(self, name: str, service: Mapping[str, Any], taken: set[str]) -> dict[str, Any]:
        label = _label(name)
        if label is None:
            raise _Refused("", "the name cannot be an RFC 1035 name (a-z, 0-9, '-')")
        if label in taken:
            raise _Refused("", f"its container name {label} is taken by another service")
        if label != name:
            self.note(name, "", f"container named {label} (an RFC 1035 name)")
        if "profiles" in service:
            raise _Refused("profiles", "not started by a plain `docker-compose up`")
        if "extends" in service:
            raise _Refused("extends", "not resolved: write the service out in full")
        image = service.get("image")
        if "build" in service:
            if not isinstance(image, str):
                raise _Refused("build", "the agent builds no images, and there is no image")
            self.note(name, "build", "not mapped (the agent builds no images): image is used")
        if not isinstance(image, str) or not image:
            raise _Refused("image", "is required")
        container: dict[str, Any] = {"name": label, "image": image}
        command = self._command(service)
        if "entrypoint" in service:
            # As Compose runs it: the image's ENTRYPOINT replaced and its CMD dropped; an
            # empty entrypoint (the image's reset) leaves the command to be the process.
            entrypoint = self._command(service, "entrypoint")
            if not entrypoint:
                if not command:
                    raise _Refused("entrypoint", "is empty, and there is no command to run")
                entrypoint, command = command, []
                self.note(name, "entrypoint", "empty: the command is the entrypoint")
            container["entrypoint"] = entrypoint
        if command:
            container["command"] = command
        if "working_dir" in service:
            container["workingDir"] = service["working_dir"]
        env = self._environment(name, service)
        ports = self._ports(name, service.get("ports") or [])
        mounts = self._mounts(name, service)
        restart = self._restart(name, service.get("restart"))
        container["restartPolicy"] = restart
        pull = self._pull_policy(name, service.get("pull_policy"))
        if pull is not None:
            container["imagePullPolicy"] = pull
        if ports:
            container["ports"] = ports
        if mounts:
            container["volumeMounts"] = mounts
        if env:
            container["env"] = env
        resources = self._resources(name, service)
        if resources:
            container["resources"] = resources
        if "stop_grace_period" in service:
            seconds = self._duration(name, "stop_grace_period", service["stop_grace_period"])
            if seconds is not None:
                container["terminationGracePeriodSeconds"] = self._capped(
                    name, "stop_grace_period", math.ceil(seconds), _MAX_GRACE, "s"
                )
        self._network_names(name, label, service)
        probe = self._healthcheck(name, service.get("healthcheck"), restart)
        if probe is not None:
            container["livenessProbe"] = probe
        for field in service:
            if field in _HANDLED:
                continue
            if field in _UNMAPPED:
                self.note(name, field, f"not mapped ({_UNMAPPED[field]})")
            elif isinstance(field, str) and field.startswith("x-"):
                self.note(name, field, "ignored: an extension field")
            else:
                self.note(name, str(field), "not mapped (not a field this converter knows)")
        return container

    def _command(self, service: Mapping[str, Any], field: str = "command") -> list[str]:
        """``command`` (or ``entrypoint``): a list, or a string split as a shell would."""
        command = service.get(field)
        if command is None:
            return []
        if isinstance(command, str):
            try:
                return shlex.split(command)
            except ValueError as exc:
                raise _Refused(field, f"cannot be split as a shell would: {exc}") from None
        if isinstance(command, list) and all(
            isinstance(item, str | int | float) and not isinstance(item, bool) for item in command
        ):
            return [str(item) for item in command]
        raise _Refused(field, "must be a string or a list of strings")

    # ---------------------------------------------------------------- environment

    def _environment(self, name: str, service: Mapping[str, Any]) -> list[dict[str, str]]:
        values: dict[str, str] = {}
        env_files = service.get("env_file")
        if env_files is not None:
            if not isinstance(env_files, str | dict | list):
                raise _Refused("env_file", "must be a path or a list of paths")
            for file in [env_files] if isinstance(env_files, str | dict) else env_files:
                path = file.get("path") if isinstance(file, dict) else file
                if not isinstance(path, str):
                    raise _Refused("env_file", "must be a path or a list of paths")
                full = os.path.join(self.base, path)
                optional = isinstance(file, dict) and file.get("required") is False
                if optional and not os.path.isfile(full):
                    continue
                values.update(_env_file(full))
        given = service.get("environment")
        if isinstance(given, list):
            pairs: list[tuple[str, Any]] = []
            for item in given:
                if not isinstance(item, str):
                    raise _Refused("environment", "a list must hold KEY=VALUE strings")
                key, equals, value = item.partition("=")
                pairs.append((key, value if equals else None))
        elif isinstance(given, dict):
            pairs = list(given.items())
        elif given is None:
            pairs = []
        else:
            raise _Refused("environment", "must be a list or a mapping")
        for key, value in pairs:
            field = f"environment.{key}"
            if value is None:
                if key in self.variables:
                    values[key] = self.variables[key]
                else:
                    values.pop(key, None)
                    self.note(name, field, "no value, and not in the environment: not set")
            elif isinstance(value, bool):
                self.note(name, field, "not mapped: a boolean (quote it to say which string)")
            elif isinstance(value, str | int | float):
                values[key] = str(value)
            else:
                raise _Refused(field, "must be a string or a number")
        env = []
        for key, value in values.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                self.note(name, f"environment.{key}", "not mapped: the key is not a C identifier")
                continue
            env.append({"key": key, "value": value})
        return env

    # ---------------------------------------------------------------- ports

    def _ports(self, name: str, ports: Any) -> list[dict[str, Any]]:
        if not isinstance(ports, list):
            raise _Refused("ports", "must be a list")
        found: list[dict[str, Any]] = []
        for i, port in enumerate(ports):
            field = f"ports[{i}]"
            if isinstance(port, dict):
                found.extend(self._long_port(name, field, port))
            elif isinstance(port, str):
                found.extend(self._short_port(name, field, port))
            elif isinstance(port, int) and not isinstance(port, bool):
                self.note(
                    name,
                    field,
                    f"not mapped: {port} is no HOST:CONTAINER (an unquoted 22:22 is read by "
                    "YAML as a base-60 number: quote it); a container port alone has no host "
                    "port, and the agent publishes only on a given host port",
                )
            else:
                self.note(name, field, "not mapped: not a port")
        return found

    def _ephemeral(self, name: str, field: str) -> None:
        self.note(
            name,
            field,
            "not mapped: no host port (Compose picks a free one; the agent publishes only "
            "on a given host port)",
        )

    def _short_port(self, name: str, field: str, spec: str) -> list[dict[str, Any]]:
        text, _, protocol = spec.partition("/")
        host_ip = ""
        if text.startswith("["):
            address, bracket, rest = text[1:].partition("]")
            if not bracket or not rest.startswith(":"):
                self.note(name, field, "not mapped: not [IP]:HOST:CONTAINER")
                return []
            host_ip, parts = address, rest[1:].split(":")
            if len(parts) != 2:
                self.note(name, field, "not mapped: not [IP]:HOST:CONTAINER")
                return []
        else:
            parts = text.split(":")
            if len(parts) == 3:
                host_ip, parts = parts[0], parts[1:]
            elif len(parts) > 3:
                self.note(name, field, "not mapped: an IPv6 host address must be in brackets")
                return []
        if len(parts) == 1 or parts[0] == "":
            self._ephemeral(name, field)
            return []
        return self._port_pairs(name, field, parts[0], parts[1], host_ip, protocol or "tcp")

    def _long_port(self, name: str, field: str, port: Mapping[str, Any]) -> list[dict[str, Any]]:
        for key in port:
            if key not in ("target", "published", "host_ip", "protocol", "mode", "name"):
                self.note(name, f"{field}.{key}", "not mapped")
        if port.get("mode", "ingress") not in ("ingress", "host"):
            self.note(name, f"{field}.mode", "not mapped: unknown mode")
        target, published = port.get("target"), port.get("published")
        if published is None or published == "":
            self._ephemeral(name, field)
            return []
        host_ip = port.get("host_ip") or ""
        protocol = port.get("protocol") or "tcp"
        if not isinstance(host_ip, str) or not isinstance(protocol, str):
            self.note(name, field, "not mapped: host_ip and protocol must be strings")
            return []
        return self._port_pairs(name, field, str(published), str(target), host_ip, protocol)

    def _port_pairs(
        self, name: str, field: str, host: str, target: str, host_ip: str, protocol: str
    ) -> list[dict[str, Any]]:
        if protocol.lower() not in ("tcp", "udp"):
            self.note(name, field, f"not mapped: protocol {protocol} (TCP and UDP only)")
            return []
        host_range, target_range = _port_range(host), _port_range(target)
        if host_range is None or target_range is None:
            self.note(name, field, "not mapped: not a port number or range")
            return []
        if len(host_range) != len(target_range):
            if len(target_range) == 1:
                self.note(
                    name,
                    field,
                    "not mapped: a host port range for one container port (Compose picks a "
                    "free one; the agent publishes only on a given host port)",
                )
            else:
                self.note(name, field, "not mapped: the ranges are not of the same length")
            return []
        if len(host_range) > MAX_PORT_RANGE:
            self.note(name, field, f"not mapped: a range of more than {MAX_PORT_RANGE} ports")
            return []
        found = []
        for host_port, container_port in zip(host_range, target_range, strict=True):
            port: dict[str, Any] = {"containerPort": container_port, "hostPort": host_port}
            if host_ip:
                port["hostIp"] = host_ip
            if protocol.lower() == "udp":
                port["protocol"] = "UDP"
            found.append(port)
        return found

    # ---------------------------------------------------------------- mounts

    def _mounts(self, name: str, service: Mapping[str, Any]) -> list[dict[str, Any]]:
        mounts: list[dict[str, Any]] = []
        volumes = service.get("volumes") or []
        if not isinstance(volumes, list):
            raise _Refused("volumes", "must be a list")
        for i, volume in enumerate(volumes):
            field = f"volumes[{i}]"
            if isinstance(volume, str):
                mount = self._short_volume(name, field, volume)
            elif isinstance(volume, dict):
                mount = self._long_volume(name, field, volume)
            else:
                self.note(name, field, "not mapped: not a volume")
                mount = None
            if mount is not None:
                mounts.append(mount)
        tmpfs = service.get("tmpfs")
        if tmpfs is not None and not isinstance(tmpfs, str | list):
            raise _Refused("tmpfs", "must be a path or a list of paths")
        for i, target in enumerate([tmpfs] if isinstance(tmpfs, str) else tmpfs or []):
            field = f"tmpfs[{i}]" if isinstance(tmpfs, list) else "tmpfs"
            mounts.append(self._tmpfs(name, field, str(target)))
        return mounts

    def _tmpfs(self, name: str, field: str, target: str) -> dict[str, Any]:
        path, _, options = target.partition(":")
        self.note(name, field, "an emptyDir volume: on the engine's disk, not in memory")
        if options:
            self.note(name, field, "its options are not mapped")
        return {"name": self._scratch(name), "path": path}

    def _short_volume(self, name: str, field: str, spec: str) -> dict[str, Any] | None:
        parts = spec.split(":")
        if len(parts) == 1:
            self.note(
                name,
                field,
                "an anonymous volume: an emptyDir here, removed with the container (Compose "
                "keeps it when it recreates the container)",
            )
            return {"name": self._scratch(name), "path": parts[0]}
        if len(parts) > 3:
            self.note(name, field, "not mapped: not SOURCE:TARGET[:MODE]")
            return None
        source, target = parts[0], parts[1]
        modes = parts[2].split(",") if len(parts) == 3 else []
        read_only = "ro" in modes
        for mode in modes:
            if mode not in ("ro", "rw", "nocopy"):
                self.note(name, field, f"mode {mode} not mapped")
        if source.startswith((".", "/", "~")):
            volume = self._host_volume(name, field, source)
        else:
            volume = self._named_volume(name, field, source)
        if volume is None:
            return None
        mount: dict[str, Any] = {"name": volume, "path": target}
        if read_only:
            mount["readOnly"] = True
        return mount

    def _long_volume(self, name: str, field: str, spec: Mapping[str, Any]) -> dict[str, Any] | None:
        kind, source, target = spec.get("type", "volume"), spec.get("source"), spec.get("target")
        if not isinstance(target, str):
            self.note(name, field, "not mapped: no target")
            return None
        for key in spec:
            if key == "bind" and kind == "bind":
                for sub, why in bind_options(spec[key]):
                    self.note(name, f"{field}.bind{sub}", why)
            elif key not in ("type", "source", "target", "read_only"):
                self.note(name, f"{field}.{key}", "not mapped")
        if kind == "tmpfs":
            return self._tmpfs(name, field, target)
        if kind == "volume" and not source:
            return self._short_volume(name, field, target)
        if kind not in ("volume", "bind") or not isinstance(source, str):
            self.note(name, field, f"not mapped: a {kind} mount")
            return None
        volume = (
            self._host_volume(name, field, source)
            if kind == "bind"
            else self._named_volume(name, field, source)
        )
        if volume is None:
            return None
        mount: dict[str, Any] = {"name": volume, "path": target}
        if spec.get("read_only") is True:
            mount["readOnly"] = True
        return mount

    def _named_volume(self, name: str, field: str, source: str) -> str | None:
        if source not in self.named:
            raise ComposeError(
                f"{self.source}: services.{name}.{field}: named volume {source} is not declared "
                "in the top-level volumes (Compose refuses it too)"
            )
        return self.named[source]

    # ---------------------------------------------------------------- policies

    def _restart(self, name: str, restart: Any) -> str:
        if restart is None or restart is False:
            return "Never"
        if not isinstance(restart, str):
            raise _Refused("restart", "must be no, always, on-failure or unless-stopped")
        word, _, retries = restart.partition(":")
        if word not in _RESTART or (retries and word != "on-failure"):
            raise _Refused("restart", "must be no, always, on-failure or unless-stopped")
        if retries:
            self.note(name, "restart", "the retry limit is not mapped: restarted with back-off")
        if word == "unless-stopped":
            self.note(
                name,
                "restart",
                "unless-stopped is Always: the agent restarts a container stopped by hand",
            )
        return _RESTART[word]

    def _pull_policy(self, name: str, policy: Any) -> str | None:
        if policy is None:
            return None
        if isinstance(policy, str) and policy in _PULL:
            return _PULL[policy]
        self.note(name, "pull_policy", "not mapped (always, never, missing only): IfNotPresent")
        return None

    # ---------------------------------------------------------------- resources

    def _resources(self, name: str, service: Mapping[str, Any]) -> dict[str, Any]:
        deploy = service.get("deploy") or {}
        if not isinstance(deploy, dict):
            raise _Refused("deploy", "must be a mapping")
        for key in deploy:
            if key == "replicas":
                if deploy[key] != 1:
                    self.note(name, "deploy.replicas", "not mapped (one container per service)")
            elif key != "resources":
                self.note(name, f"deploy.{key}", "not mapped (Swarm only)")
        given = deploy.get("resources") or {}
        if not isinstance(given, dict):
            raise _Refused("deploy.resources", "must be a mapping")
        for key in given:
            if key not in ("limits", "reservations"):
                self.note(name, f"deploy.resources.{key}", "not mapped")
        limits = self._amounts(name, "deploy.resources.limits", given.get("limits") or {})
        requests = self._amounts(
            name, "deploy.resources.reservations", given.get("reservations") or {}
        )
        for field, key, target in (
            ("mem_limit", "memory", limits),
            ("cpus", "cpu", limits),
            ("mem_reservation", "memory", requests),
        ):
            if field in service:
                amount = (
                    self._memory(name, field, service[field])
                    if key == "memory"
                    else self._cpu(name, field, service[field])
                )
                if amount is not None and target.setdefault(key, amount) != amount:
                    self.note(name, field, "differs from deploy.resources: that is used")
        for key in list(requests):
            if key in limits and requests[key] > limits[key]:
                self.note(name, f"deploy.resources.reservations.{key}", "above the limit: dropped")
                del requests[key]
        shown = {"memory": format_memory, "cpu": format_cpu}
        resources = {}
        if limits:
            resources["limits"] = {k: shown[k](v) for k, v in limits.items()}
        if requests:
            resources["requests"] = {k: shown[k](v) for k, v in requests.items()}
            self.note(
                name,
                "deploy.resources.reservations",
                "requests: checked, and not applied (one host has no scheduler)",
            )
        return resources

    def _amounts(self, name: str, field: str, given: Any) -> dict[str, int]:
        if not isinstance(given, dict):
            raise _Refused(field, "must be a mapping")
        found: dict[str, int] = {}
        for key, value in given.items():
            if key == "memory":
                amount = self._memory(name, f"{field}.memory", value)
            elif key == "cpus":
                amount = self._cpu(name, f"{field}.cpus", value)
            else:
                self.note(name, f"{field}.{key}", "not mapped (memory and cpus only)")
                continue
            if amount is not None:
                found["memory" if key == "memory" else "cpu"] = amount
        return found

    def _memory(self, name: str, field: str, value: Any) -> int | None:
        amount = _bytes(value)
        if amount is None:
            self.note(name, field, "not mapped: not a byte value such as 512m or 1g")
        elif not MIN_MEMORY <= amount <= MAX_MEMORY:
            self.note(name, field, "not mapped: must be between 6 MiB and 1 PiB")
            amount = None
        return amount

    def _cpu(self, name: str, field: str, value: Any) -> int | None:
        try:
            millis = Fraction(str(value)) * 1000 if not isinstance(value, bool) else None
        except (ValueError, ZeroDivisionError):
            millis = None
        if millis is None or millis.denominator != 1:
            self.note(name, field, "not mapped: not a number of CPUs in whole thousandths")
            return None
        if not MIN_CPU_MILLIS <= millis <= MAX_CPU_MILLIS:
            self.note(name, field, "not mapped: must be between 0.01 and 65536")
            return None
        return int(millis)

    # ---------------------------------------------------------------- healthcheck

    def _healthcheck(self, name: str, check: Any, restart: str) -> dict[str, Any] | None:
        if check is None:
            return None
        if not isinstance(check, dict):
            raise _Refused("healthcheck", "must be a mapping")
        if check.get("disable") is True:
            return None
        test = check.get("test")
        if isinstance(test, str):
            command = ["/bin/sh", "-c", test]
        elif isinstance(test, list) and test and all(isinstance(t, str) for t in test):
            if test[0] == "NONE":
                return None
            if test[0] == "CMD" and len(test) > 1:
                command = test[1:]
            elif test[0] == "CMD-SHELL" and len(test) == 2:
                command = ["/bin/sh", "-c", test[1]]
            else:
                self.note(name, "healthcheck.test", "not mapped: not CMD or CMD-SHELL")
                return None
        else:
            self.note(name, "healthcheck", "not mapped: no test (the image's is kept)")
            return None
        if restart == "Never":
            self.note(
                name,
                "healthcheck",
                "not mapped: a liveness probe restarts the container, and restart is no",
            )
            return None
        probe: dict[str, Any] = {"exec": {"command": command}, **_DOCKER_HEALTHCHECK_DEFAULTS}
        for field, key, least in (
            ("interval", "periodSeconds", 1),
            ("timeout", "timeoutSeconds", 1),
            ("start_period", "initialDelaySeconds", 0),
        ):
            if field in check:
                seconds = self._duration(name, f"healthcheck.{field}", check[field])
                if seconds is not None:
                    whole = max(math.ceil(seconds), least)
                    probe[key] = self._capped(name, f"healthcheck.{field}", whole, _MAX_GRACE, "s")
        retries = check.get("retries")
        if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 1:
            probe["failureThreshold"] = self._capped(
                name, "healthcheck.retries", retries, _MAX_RETRIES, ""
            )
        elif retries is not None:
            self.note(name, "healthcheck.retries", "not mapped: not a positive integer")
        for field in check:
            if field not in ("test", "interval", "timeout", "start_period", "retries", "disable"):
                self.note(name, f"healthcheck.{field}", "not mapped")
        self.note(
            name,
            "healthcheck",
            "a liveness probe run by `agent run`: a container that fails it is restarted, "
            "which Compose never does",
        )
        return probe

    def _capped(self, name: str, field: str, value: int, cap: int, unit: str) -> int:
        """``value``, or ``cap`` with a note when it is more than the manifest takes."""
        if value <= cap:
            return value
        self.note(
            name, field, f"{value}{unit} is more than the manifest takes: {cap}{unit} instead"
        )
        return cap

    def _duration(self, name: str, field: str, value: Any) -> Fraction | None:
        seconds = _seconds(value)
        if seconds is None:
            self.note(name, field, "not mapped: not a duration such as 30s or 1m30s")
        return seconds


def _check_keys(data: Any, source: str, where: str) -> None:
    """Every key of the file is a string, as Compose's schema has it (YAML reads ``1:`` or
    ``true:`` as other types)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if not isinstance(key, str):
                raise ComposeError(f"{source}: {where or 'the file'}: keys must be strings")
            _check_keys(value, source, f"{where}.{key}" if where else key)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            _check_keys(value, source, f"{where}[{i}]")


def _included(include: Any) -> str:
    """The files an ``include`` names (its short or long syntax), as a note shows them."""
    files: list[str] = []
    for item in include if isinstance(include, list) else [include]:
        paths = item.get("path") if isinstance(item, dict) else item
        for path in paths if isinstance(paths, list) else [paths]:
            if isinstance(path, str):
                files.append(path)
    return f"the included files ({', '.join(files)})" if files else "the included files"


def _port_range(text: str) -> list[int] | None:
    match = _PORT_PART.match(text.strip())
    if match is None:
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    if not 1 <= first <= last <= 65535:
        return None
    return list(range(first, last + 1))


def _seconds(value: Any) -> Fraction | None:
    """A Compose duration (``1m30s``, ``2.5s``, ``500ms``) in seconds."""
    if not isinstance(value, str) or not _DURATION.match(value):
        return None
    total = Fraction(0)
    for number, unit in _DURATION_PART.findall(value):
        total += Fraction(number) * _DURATION_UNITS[unit]
    return total


def _bytes(value: Any) -> int | None:
    """A Compose byte value (``512m``, ``1g``, ``1024``, ``1.5G``): binary units."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    match = _BYTES.match(value.strip())
    if match is None:
        return None
    amount = Fraction(match.group(1)) * _BYTE_UNITS[match.group(2).lower()]
    return int(amount) if amount.denominator == 1 else None
