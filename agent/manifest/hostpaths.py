"""Host directories that a manifest binds, allowed or refused (:mod:`agent.sources.allowances`
applies this rule with the others).

A manifest may bind a host directory (``source: {hostDir: {path}}``) only under a
prefix the operator allows with ``--allow-host-path`` (:attr:`Settings.allow_host_path`);
by default none is. The check is on real paths: the hostDir's path and each prefix
have their symbolic links resolved first, so that a link under an allowed prefix that
points out of it is refused, and the engine is handed the real path that was
checked. A refusal is an error of the file at the volume's field
(``volumes[1].source.hostDir.path``, a declaration's ``spec.volumes[1].hostPath.path``),
naming the option.

A hostDir names a directory or a file, bound as it is. One that does not exist is no
error of the manifest (a plan never looks): when a container that mounts it starts, the
executor makes it a directory (:func:`make_host_dir`), as Docker does for ``-v``, and only
under an allowed prefix, checked again then.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from agent.errors import FieldError, VolumeError
from agent.manifest.fields import NOT_TEXT, quote
from agent.manifest.models import DECLARATION, Container, HostDir, Manifest

__all__ = ["OPTION", "host_path_problems", "make_host_dir", "real_host_path", "with_real_paths"]

OPTION = "--allow-host-path"


def real_host_path(path: str, allowed: Sequence[str]) -> str | None:
    """The real path of ``path`` when it is under the real path of one of ``allowed``
    (or is one of them); else None."""
    real = os.path.realpath(path)
    for prefix in allowed:
        root = os.path.realpath(prefix)
        if real == root or real.startswith(root.rstrip("/") + "/"):
            return real
    return None


def host_path_problems(
    manifest: Manifest, allowed: Sequence[str]
) -> tuple[list[FieldError], dict[str, str]]:
    """The refused hostDir (a declaration's hostPath) volumes of ``manifest``, and the real
    path of each allowed one, by volume name."""
    errors: list[FieldError] = []
    real: dict[str, str] = {}
    for index, volume in enumerate(manifest.volumes):
        if not isinstance(volume.source, HostDir):
            continue
        where = (
            f"spec.volumes[{index}].hostPath.path"
            if manifest.version == DECLARATION
            else f"volumes[{index}].source.hostDir.path"
        )
        path = volume.source.path
        found = real_host_path(path, allowed)
        if found is None:
            shown = ", ".join(allowed) if allowed else "none"
            errors.append(
                FieldError(
                    where,
                    f"host path {quote(path)} is not allowed: host directories must be under "
                    f"a prefix given with {OPTION} PREFIX (allowed now: {shown}; symbolic "
                    "links are followed first)",
                )
            )
        elif NOT_TEXT.search(found) or any(c in found for c in ',"') or not found.isprintable():
            errors.append(
                FieldError(
                    where,
                    f"host path {quote(path)} leads to {quote(found)}, which a "
                    "mount cannot name (a comma, a quote or a control character)",
                )
            )
        else:
            real[volume.name] = found
    return errors, real


def with_real_paths(container: Container, real: dict[str, str]) -> Container:
    """``container`` with each hostDir mount bound to the real path that was checked."""
    mounts = tuple(
        attrs.evolve(m, source=HostDir(real[m.name]))
        if isinstance(m.source, HostDir) and m.name in real
        else m
        for m in container.volume_mounts
    )
    return attrs.evolve(container, volume_mounts=mounts)


def make_host_dir(path: str, allowed: Sequence[str]) -> bool:
    """Make the missing host directory ``path`` (mode 0755, as dockerd makes one for
    ``-v``); False when something is there already (a file or a directory is bound as it
    is). ``path`` must be a real path under one of ``allowed``, checked now and for each
    part made, one at a time, so that a symbolic link put in its way since the plan is
    refused rather than followed out of the prefix: :class:`VolumeError` then, and for a
    part that cannot be made."""
    if os.path.lexists(path):
        return False
    if real_host_path(path, allowed) != path:
        raise VolumeError(
            f"host directory {path} is missing and not under an allowed host path "
            f"({OPTION}): not created"
        )
    made = False
    part = "/"
    for name in path.strip("/").split("/"):
        part = os.path.join(part, name)
        if not os.path.lexists(part):
            try:
                os.mkdir(part, 0o755)
                made = True
            except FileExistsError:  # made meanwhile: checked below as any other part
                pass
            except OSError as exc:
                raise VolumeError(f"{exc.strerror}: {exc.filename}") from exc
        if os.path.islink(part) or not os.path.isdir(part):
            raise VolumeError(f"host directory {path}: {part} is not a directory; refused")
    return made
