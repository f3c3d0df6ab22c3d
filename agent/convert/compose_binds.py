"""Compose bind mounts as ``hostDir`` volumes: where a bind's source is on the host, and
what the manifest says of it.

Compose reads a bind's source against the folder of the compose file (``./nginx.conf``,
``../data``), and ``~`` or ``~/...`` as the home directory (``HOME``); an absolute path is
taken as it is. The host path so found is a ``hostDir``: a file or a directory, bound as
it is; one that does not exist is made a directory when the container starts, as Docker
does for ``-v`` (by the executor, under an allowed host path only). A source is bound
only under an allowed host path (``--allow-host-path``), checked on real paths as the
agent checks them when it applies the manifest.

Pure but for looking at the host paths it is given: nothing is made or changed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from agent.manifest.hostpaths import real_host_path

__all__ = ["Bind", "NotBound", "bind_options", "resolve_bind"]


class NotBound(Exception):
    """A bind that the manifest does not carry; the message says why (a note)."""


@attrs.frozen
class Bind:
    """The host path of a bind (absolute and normal, symbolic links not followed, as the
    manifest's hostDir names it) and what is to be said of it, as notes."""

    path: str
    notes: tuple[str, ...] = ()


def resolve_bind(source: str, base: str, home: str | None, allowed: Sequence[str]) -> Bind:
    """The host path of the bind source ``source`` of a compose file in the folder
    ``base``, with ``home`` as ``~``; :class:`NotBound` when it is not under one of
    ``allowed`` or cannot be resolved."""
    notes: list[str] = []
    if source == "~" or source.startswith("~/"):
        if not home or not os.path.isabs(home):
            raise NotBound(f"bind mount of {source} not mapped: ~ is HOME, which is not set")
        path = os.path.normpath(os.path.join(home, source[2:]))
        notes.append(f"{source} is {path} (~ is HOME)")
    elif source.startswith("~"):
        raise NotBound(
            f"bind mount of {source} not mapped: only ~ and ~/ are expanded (to HOME), not "
            "another user's home"
        )
    elif os.path.isabs(source):
        path = os.path.normpath(source)
    else:
        path = os.path.normpath(os.path.join(base, source))
        notes.append(f"{source} is {path} (relative to the compose file's folder)")
    if path.startswith("//"):  # normpath keeps a leading double slash (POSIX allows it)
        path = "/" + path.lstrip("/")
    if real_host_path(path, allowed) is None:
        raise NotBound(
            f"bind mount of {path} not mapped: not under an allowed host path "
            "(allow_host_path, --allow-host-path)"
        )
    if not os.path.lexists(path):
        notes.append(
            f"{path} does not exist: the agent makes it a directory when the container "
            "starts, as Docker does for -v"
        )
    return Bind(path, tuple(notes))


def bind_options(options: Any) -> list[tuple[str, str]]:
    """The notes (sub-field, why) on a long-syntax mount's ``bind`` options: only
    ``create_host_path`` is carried (the agent makes a missing directory whatever it says)."""
    if not isinstance(options, Mapping):
        return [("", "not mapped: not a mapping")]
    notes: list[tuple[str, str]] = []
    for key, value in options.items():
        if key == "create_host_path":
            if value is not True:
                notes.append(
                    (f".{key}", "not mapped: the agent makes a missing host directory anyway")
                )
        else:
            notes.append((f".{key}", "not mapped"))
    return notes
