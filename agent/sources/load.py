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
from agent.manifest.models import Container, Manifest
from agent.manifest.parse import MAX_BYTES, parse_document, read_bounded
from agent.sources.conflicts import settle
from agent.sources.metadata import is_metadata
from agent.sources.urls import UrlOptions, display_url, is_url

__all__ = [
    "STDIN",
    "DesiredSet",
    "expand_sources",
    "is_manifest_file",
    "load_file",
    "load_remote",
    "load_sources",
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
        if source == STDIN or is_url(source) or is_metadata(source):
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
            remote = path == STDIN or is_url(path) or is_metadata(path)
            key = path if remote else os.path.realpath(path)
            if key not in seen:
                seen.add(key)
                files.append(path)
    if errors:
        raise MultiSourceError(errors)
    return files


def load_file(path: str, urls: UrlOptions | None = None) -> Manifest:
    """Read and validate one manifest file, standard input for ``-``, or a URL (fetched
    once, as ``urls`` says: :func:`load_remote`)."""
    if is_url(path) or is_metadata(path):
        return load_remote(path, urls or UrlOptions())
    source = "<stdin>" if path == STDIN else path
    try:
        raw = sys.stdin.buffer.read(MAX_BYTES + 1) if path == STDIN else read_bounded(path)
    except OSError as exc:
        raise ManifestError(source, [FieldError("", f"cannot read: {exc.strerror}")]) from None
    return manifest_of(raw, source, json_only=path.endswith(".json"))


def load_remote(source: str, options: UrlOptions) -> Manifest:
    """Fetch a URL or a ``gce-metadata:`` attribute once (with its signature when keys are
    configured) and validate its body. Raises UrlFetchError (a runtime failure) when it
    cannot be fetched, ManifestError when its body is not a valid manifest or its signature
    is refused."""
    from agent.sources.remote import remote_fetcher  # urllib3 loads only for a remote source

    body = remote_fetcher(source, options).fetch(conditional=False)
    assert body is not None  # an unconditional request is never answered "not modified"
    return manifest_of(body, display_url(source), json_only=url_is_json(source))


def url_is_json(url: str) -> bool:
    """A URL whose path ends in ``.json`` is read as JSON only, as a ``.json`` file is."""
    return is_url(url) and urllib.parse.urlsplit(url).path.endswith(".json")


def manifest_of(raw: bytes, source: str, json_only: bool = False) -> Manifest:
    """The manifest in the bytes of one source, named ``source`` in its errors."""
    data = parse_document(raw, source, json_only=json_only)
    return Manifest.from_dict(data, source=source)


def merge(manifests: Iterable[Manifest]) -> DesiredSet:
    """Merge manifests that arrive together, refusing every one that claims a container
    name or host port that another one claims (:mod:`agent.sources.conflicts`: no file wins by its
    place in the order)."""
    given = {str(index): manifest for index, manifest in enumerate(manifests)}
    settled = settle({}, [given])
    if settled.refused:
        raise MultiSourceError([settled.refused[k] for k in given if k in settled.refused])
    return DesiredSet(tuple(settled.in_force[k] for k in given))


def load_sources(sources: Sequence[str], urls: UrlOptions | None = None) -> DesiredSet:
    """Load and merge every source; every problem of every file is reported at once, in the
    order of the files. A URL that cannot be fetched raises its UrlFetchError at once."""
    manifests: list[Manifest] = []
    problems: list[tuple[int, ManifestError]] = []
    order: dict[str, int] = {}  # a valid manifest's source -> its place among the files
    for index, path in enumerate(expand_sources(sources)):
        try:
            manifests.append(load_file(path, urls))
            order[manifests[-1].source] = index
        except ManifestError as exc:
            problems.append((index, exc))
    try:
        desired = merge(manifests)
    except MultiSourceError as exc:
        problems.extend((order[p.source], p) for p in exc.problems)
    if problems:
        raise MultiSourceError([p for _, p in sorted(problems, key=lambda item: item[0])])
    return desired
