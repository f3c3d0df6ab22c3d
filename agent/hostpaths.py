"""Where the operator's settings meet the manifest: hostDir volumes, allowed or refused.

A manifest may bind a host directory (``source: {hostDir: {path}}``) only under a
prefix the operator allows with ``--allow-host-path`` (:attr:`Settings.allow_host_path`);
by default none is. The check is on real paths: the hostDir's path and each prefix
have their symbolic links resolved first, so that a link under an allowed prefix that
points out of it is refused, and the engine is handed the real path that was
checked. A refusal is a :class:`~agent.errors.ManifestError` of the file, at the
volume's field (``volumes[1].source.hostDir.path``), naming the option; the run loop
treats such a file as an invalid one (its last valid content stays in force).

A hostDir names a directory or a file, bound as it is. One that does not exist is no
error of the manifest (a plan never looks): when a container that mounts it starts, the
executor makes it a directory (:func:`make_host_dir`), as Docker does for ``-v``, and only
under an allowed prefix, checked again then.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import attrs

from agent.errors import FieldError, ManifestError, MultiSourceError, VolumeError
from agent.fields import NOT_TEXT, quote
from agent.load import DesiredSet
from agent.manifest import Container, HostDir, Manifest

__all__ = ["allowed_manifest", "check_desired", "make_host_dir", "real_host_path"]

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


def _problems(
    manifest: Manifest, allowed: Sequence[str]
) -> tuple[list[FieldError], dict[str, str]]:
    """The refused hostDir volumes of ``manifest``, and the real path of each allowed one."""
    errors: list[FieldError] = []
    real: dict[str, str] = {}
    for index, volume in enumerate(manifest.volumes):
        if not isinstance(volume.source, HostDir):
            continue
        where = f"volumes[{index}].source.hostDir.path"
        path = volume.source.path
        found = real_host_path(path, allowed)
        if found is None:
            shown = ", ".join(allowed) if allowed else "none"
            errors.append(
                FieldError(
                    where,
                    f"host path {quote(path)} is not allowed: hostDir volumes must be under a "
                    f"prefix given with {OPTION} PREFIX (allowed now: {shown}; symbolic links "
                    "are followed first)",
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


def allowed_manifest(manifest: Manifest, allowed: Sequence[str]) -> Manifest:
    """``manifest`` with the real path of each hostDir, or a ManifestError of the file."""
    errors, real = _problems(manifest, allowed)
    if errors:
        raise ManifestError(manifest.source, errors)
    if not real:
        return manifest
    return attrs.evolve(
        manifest, containers=tuple(_with_real_paths(c, real) for c in manifest.containers)
    )


def _with_real_paths(container: Container, real: dict[str, str]) -> Container:
    mounts = tuple(
        attrs.evolve(m, source=HostDir(real[m.name]))
        if isinstance(m.source, HostDir) and m.name in real
        else m
        for m in container.volume_mounts
    )
    return attrs.evolve(container, volume_mounts=mounts)


def check_desired(desired: DesiredSet, allowed: Sequence[str]) -> DesiredSet:
    """:func:`allowed_manifest` of every manifest of ``desired``; every refusal of every
    file in one error."""
    manifests: list[Manifest] = []
    refused: list[ManifestError] = []
    for manifest in desired.manifests:
        try:
            manifests.append(allowed_manifest(manifest, allowed))
        except ManifestError as exc:
            refused.append(exc)
    if refused:
        raise refused[0] if len(refused) == 1 else MultiSourceError(refused)
    return attrs.evolve(desired, manifests=tuple(manifests))


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
