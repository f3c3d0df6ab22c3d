"""Importing a Compose file as a manifest: the subset of the Compose specification that
maps onto ``v1beta1``, and a note for everything else.

:func:`from_compose` reads the file (with :func:`agent.manifest.parse.parse_document`, so with
the same limits as a manifest) and the ``.env`` file next to it, interpolates
variables as Compose does (:mod:`agent.convert.interpolate`), and converts each service into
a container. What it cannot carry over is a :class:`~agent.convert.notes.Note`,
``service: field: why``;
a service whose conversion would change what runs (``build`` without ``image``,
``extends``, ``profiles``, a command that cannot be split, a name that cannot be an
RFC 1035 label) is not converted at all, its note says so, and it is listed in
:attr:`Converted.left_out` (as an ``include``, which is not read, is): such a conversion
is partial.

This module reads the file and its top level; each part of a service is read by a module
of its own: :mod:`~agent.convert.compose_services` (image, command, environment,
policies, and the fields not mapped), :mod:`~agent.convert.compose_ports`,
:mod:`~agent.convert.compose_volumes` (with bind mounts resolved by
:mod:`~agent.convert.compose_binds`), :mod:`~agent.convert.compose_networks` (aliases),
:mod:`~agent.convert.compose_health` and :mod:`~agent.convert.compose_resources`.
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

import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs
import yaml

from agent.convert.compose_common import ComposeError, Refused, label
from agent.convert.compose_networks import NetworkNames
from agent.convert.compose_ports import MAX_PORT_RANGE
from agent.convert.compose_services import TOP_LEVEL_UNMAPPED, ServiceReader, read_env_file
from agent.convert.compose_volumes import ComposeVolumes
from agent.convert.interpolate import InterpolationError, Interpolator
from agent.convert.notes import Note
from agent.errors import ManifestError
from agent.manifest.models import Manifest
from agent.manifest.parse import parse_document, read_bounded

__all__ = [
    "MAX_PORT_RANGE",
    "ComposeError",
    "Converted",
    "convert_file",
    "from_compose",
    "render",
]


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
    raw = _read(path)
    data = parse_document(raw, path)
    base = os.path.dirname(os.path.abspath(path))
    dotenv_path = os.path.join(base, ".env")
    dotenv: dict[str, str] = {}
    if os.path.isfile(dotenv_path):
        dotenv = read_env_file(dotenv_path)
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


def _read(path: str) -> bytes:
    try:
        return read_bounded(path)
    except OSError as exc:
        raise ComposeError(f"{path}: cannot read the compose file: {exc.strerror or exc}") from None


class _Converter:
    """The conversion of one file: its notes and what it left out, as it goes."""

    def __init__(
        self,
        source: str,
        base: str,
        variables: Mapping[str, str],
        allowed: tuple[str, ...],
        home: str | None,
    ) -> None:
        self.source = source
        self.notes: list[Note] = []
        self.left_out: list[str] = []
        self.volumes = ComposeVolumes(source, base, home, allowed, self.note)
        self.networks = NetworkNames(self.note)
        self.services = ServiceReader(base, variables, self.volumes, self.networks, self.note)

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
                found = label(value) if isinstance(value, str) else None
                if found is not None:
                    manifest["id"] = found
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
            elif key in TOP_LEVEL_UNMAPPED:
                self.note(key, "", f"not mapped ({TOP_LEVEL_UNMAPPED[key]})")
            else:
                self.note(str(key), "", "not mapped (not a field this converter knows)")
        self.volumes.declare(data.get("volumes"))
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
        self.networks.give(containers)
        volumes = self.volumes.used({m["name"] for c in containers for m in _mounts(c)})
        manifest["containers"] = containers
        if volumes:
            manifest["volumes"] = volumes
        return manifest

    def _service(self, name: str, raw: Any, taken: set[str]) -> dict[str, Any] | None:
        before = self.volumes.snapshot()
        notes_before = len(self.notes)
        try:
            if not isinstance(raw, dict):
                raise Refused("", "must be a mapping")
            container = self.services.container(name, raw, taken)
        except Refused as refused:
            self.volumes.restore(before)
            self.note(name, refused.field, f"{refused.why}; service not converted")
            self.left_out.append(name)
            return None
        alone = {
            "version": "v1beta1",
            "containers": [container],
            "volumes": self.volumes.used({m["name"] for m in _mounts(container)}),
        }
        try:
            Manifest.from_dict(alone, self.source)
        except ManifestError as exc:
            self.volumes.restore(before)
            del self.notes[notes_before:]
            for error in exc.errors:
                self.note(name, "", f"refused by validation: {error}")
            self.note(name, "", "service not converted")
            self.left_out.append(name)
            return None
        return container


def _mounts(container: Mapping[str, Any]) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = container.get("volumeMounts", [])
    return mounts


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
