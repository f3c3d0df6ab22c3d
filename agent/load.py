"""Loading manifests: the files that sources name, each read and validated, merged into one
desired set with the checks across files."""

from __future__ import annotations

import glob
import os
import sys
import urllib.parse
from collections.abc import Iterable, Sequence

import attrs

from agent.errors import FieldError, ManifestError, MultiSourceError
from agent.manifest import Container, Manifest
from agent.parse import MAX_BYTES, parse_document
from agent.ports import HostClaims, Publisher, also_published
from agent.urls import UrlOptions, display_url, is_url

__all__ = [
    "STDIN",
    "DesiredSet",
    "expand_sources",
    "is_manifest_file",
    "load_file",
    "load_sources",
    "load_url",
    "manifest_of",
    "merge",
]

STDIN = "-"
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


@attrs.frozen
class DesiredSet:
    """Every desired container, from every source, checked against each other.

    ``complete`` is false when some source could not be read validly (a running
    agent keeps the last valid content of a file that turned bad, but a source
    that never loaded contributes nothing): a plan for an incomplete set removes
    nothing, so that a file the agent cannot read never costs a container.
    """

    manifests: tuple[Manifest, ...] = ()
    complete: bool = True

    @property
    def containers(self) -> tuple[Container, ...]:
        return tuple(c for m in self.manifests for c in m.containers)


def is_manifest_file(path: str) -> bool:
    """A directory entry that holds a manifest: a ``.yaml``, ``.yml`` or ``.json`` file that
    is not a dotfile. Editors' leftovers (``x.yaml~``, ``.x.yaml.swp``, ``x.yaml.bak``,
    ``x.yaml.tmp``) end otherwise or start with a dot, and so are skipped."""
    name = os.path.basename(path)
    return not name.startswith(".") and name.endswith(MANIFEST_SUFFIXES)


def expand_sources(sources: Sequence[str]) -> list[str]:
    """The files the sources name, in a stable order; ``-`` stands for standard input.

    A directory gives its manifest files (not recursively), a glob its matches; a
    directory or glob that names no manifest is an error (an empty directory is no
    way to say "no containers": a manifest with ``containers: []`` is). A file named
    twice, under any spelling, counts once.
    """
    files: list[str] = []
    seen: set[str] = set()
    errors: list[ManifestError] = []
    for source in sources:
        if source == STDIN or is_url(source):
            found = [source]
        elif os.path.isdir(source):
            found = sorted(
                os.path.join(source, name)
                for name in os.listdir(source)
                if is_manifest_file(name) and os.path.isfile(os.path.join(source, name))
            )
            if not found:
                errors.append(
                    ManifestError(source, [FieldError("", "directory holds no manifest")])
                )
        elif glob.has_magic(source):
            found = sorted(
                p for p in glob.glob(source) if os.path.isfile(p) and is_manifest_file(p)
            )
            if not found:
                errors.append(
                    ManifestError(source, [FieldError("", "pattern matches no manifest")])
                )
        else:
            found = [source]
        for path in found:
            key = path if path == STDIN or is_url(path) else os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                files.append(path)
    if errors:
        raise MultiSourceError(errors)
    return files


def load_file(path: str, urls: UrlOptions | None = None) -> Manifest:
    """Read and validate one manifest file, standard input for ``-``, or a URL (fetched
    once, as ``urls`` says: :func:`load_url`)."""
    if is_url(path):
        return load_url(path, urls or UrlOptions())
    source = "<stdin>" if path == STDIN else path
    try:
        if path == STDIN:
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ManifestError(source, [FieldError("", f"cannot read: {exc.strerror}")]) from None
    return manifest_of(raw, source, json_only=path.endswith(".json"))


def load_url(url: str, options: UrlOptions) -> Manifest:
    """Fetch a URL once and validate its body. Raises UrlFetchError (a runtime failure)
    when it cannot be fetched, ManifestError when its body is not a valid manifest."""
    from agent.url_source import UrlSource  # urllib3 loads only for a URL source

    body = UrlSource(url, options).fetch(conditional=False)
    assert body is not None  # an unconditional request is never answered "not modified"
    return manifest_of(body, display_url(url), json_only=url_is_json(url))


def url_is_json(url: str) -> bool:
    """A URL whose path ends in ``.json`` is read as JSON only, as a ``.json`` file is."""
    return urllib.parse.urlsplit(url).path.endswith(".json")


def manifest_of(raw: bytes, source: str, json_only: bool = False) -> Manifest:
    """The manifest in the bytes of one source, named ``source`` in its errors."""
    data = parse_document(raw, source, json_only=json_only)
    return Manifest.from_dict(data, source=source)


def merge(manifests: Iterable[Manifest]) -> DesiredSet:
    """Merge manifests, refusing a container name or host port claimed in two of them."""
    accepted: list[Manifest] = []
    problems: list[ManifestError] = []
    claimed = _Claimed()
    for manifest in manifests:
        errors = list(claimed.conflicts(manifest))
        if errors:
            problems.append(ManifestError(manifest.source, errors))
        else:
            accepted.append(manifest)
            claimed.add(manifest)
    if problems:
        raise MultiSourceError(problems)
    return DesiredSet(tuple(accepted))


def load_sources(sources: Sequence[str], urls: UrlOptions | None = None) -> DesiredSet:
    """Load and merge every source; every problem of every file is reported at once. A
    URL that cannot be fetched raises its UrlFetchError at once."""
    manifests: list[Manifest] = []
    problems: list[ManifestError] = []
    for path in expand_sources(sources):
        try:
            manifests.append(load_file(path, urls))
        except ManifestError as exc:
            problems.append(exc)
    try:
        desired = merge(manifests)
    except MultiSourceError as exc:
        problems.extend(exc.problems)
    if problems:
        raise MultiSourceError(problems)
    return desired


class _Claimed:
    """What the manifests accepted so far claim: container names and aliases (one name on
    the namespace's network means one container), and host ports.

    Each accepted manifest is added once, so that merging is linear in the containers
    of all the files, however many files there are.
    """

    def __init__(self) -> None:
        self.names: dict[str, str] = {}  # container name -> source
        self.aliases: dict[str, tuple[str, str]] = {}  # alias -> (container name, source)
        # By container name: a name is in one accepted source only, so it stands for the
        # Publisher of that name and source.
        self.ports: HostClaims[str] = HostClaims()

    def add(self, manifest: Manifest) -> None:
        for container in manifest.containers:
            self.names[container.name] = manifest.source
            for alias in container.aliases:
                self.aliases[alias] = (container.name, manifest.source)
            for port in container.ports:
                self.ports.add(port, container.name)

    def _network_name(self, name: str) -> str | None:
        """Whose name ``name`` is on the namespace's network among the accepted manifests."""
        if name in self.names:
            return f"also the name of container {name!r} in {self.names[name]}"
        if name in self.aliases:
            owner, source = self.aliases[name]
            return f"also an alias of container {owner!r} in {source}"
        return None

    def conflicts(self, manifest: Manifest) -> Iterable[FieldError]:
        """What ``manifest`` claims that an accepted one claims already: container names,
        looked up by name, and host ports, looked up in the claims of every accepted
        container."""
        for container in manifest.containers:
            where = f"containers[{container.name}]"
            if container.name in self.names:
                yield FieldError(
                    f"{where}.name",
                    f"{container.name!r} is also defined in {self.names[container.name]}",
                )
            elif container.name in self.aliases:
                taken = self._network_name(container.name)
                yield FieldError(f"{where}.name", f"{container.name!r} is {taken}")
            for index, alias in enumerate(container.aliases):
                taken = self._network_name(alias)
                if taken is not None:
                    yield FieldError(f"{where}.aliases[{index}]", f"alias {alias!r} is {taken}")
            for index, port in enumerate(container.ports):
                owner = self.ports.first_conflict(port)
                if owner is not None:
                    by = Publisher(owner, self.names[owner])
                    yield FieldError(f"{where}.ports[{index}]", also_published(port, by))
