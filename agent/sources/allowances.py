"""Where the operator's settings meet the manifest: what gives a container more of the
host is refused unless an option allows it.

- a host directory (``hostDir``; a declaration's ``hostPath``): under a prefix given
  with ``--allow-host-path`` (:mod:`agent.manifest.hostpaths`);
- ``privileged`` (a declaration's ``securityContext.privileged``): ``--allow-privileged``;
- ``hostNetwork`` in a v1beta1 manifest: ``--allow-host-network``. A container
  declaration runs on the host's network by its format (konlet's), and needs no option.

A refusal is a :class:`~agent.errors.ManifestError` of the file, at the field, naming the
option; the run loop treats such a file as an invalid one (its last valid content stays
in force), and nothing of it is started.
"""

from __future__ import annotations

import attrs

from agent.errors import FieldError, ManifestError, MultiSourceError
from agent.manifest.hostpaths import host_path_problems, with_real_paths
from agent.manifest.models import DECLARATION, Manifest
from agent.sources.load import DesiredSet

__all__ = ["Allowances", "allowed_manifest", "check_desired"]


@attrs.frozen
class Allowances:
    """What the operator allows: host path prefixes, privileged containers, host networking
    in v1beta1 manifests."""

    host_paths: tuple[str, ...] = ()
    privileged: bool = False
    host_network: bool = False


def _refusals(manifest: Manifest, allowances: Allowances) -> list[FieldError]:
    declaration = manifest.version == DECLARATION
    errors: list[FieldError] = []
    for container in manifest.containers:
        where = f"spec.containers[{container.name}]" if declaration else (
            f"containers[{container.name}]"
        )  # fmt: skip
        if container.privileged and not allowances.privileged:
            field = "securityContext.privileged" if declaration else "privileged"
            errors.append(
                FieldError(
                    f"{where}.{field}",
                    "a privileged container is not allowed: it gets every device and "
                    "capability of the host; allow it with --allow-privileged",
                )
            )
        if container.host_network and not declaration and not allowances.host_network:
            errors.append(
                FieldError(
                    f"{where}.hostNetwork",
                    "the host's network is not allowed: the container would share the host's "
                    "addresses and ports; allow it with --allow-host-network",
                )
            )
    return errors


def allowed_manifest(manifest: Manifest, allowances: Allowances) -> Manifest:
    """``manifest`` with the real path of each host directory, or a ManifestError of the
    file listing every refusal."""
    errors = _refusals(manifest, allowances)
    path_errors, real = host_path_problems(manifest, allowances.host_paths)
    errors += path_errors
    if errors:
        raise ManifestError(manifest.source, errors)
    if not real:
        return manifest
    return attrs.evolve(
        manifest, containers=tuple(with_real_paths(c, real) for c in manifest.containers)
    )


def check_desired(desired: DesiredSet, allowances: Allowances) -> DesiredSet:
    """:func:`allowed_manifest` of every manifest of ``desired``; every refusal of every
    file in one error."""
    manifests: list[Manifest] = []
    refused: list[ManifestError] = []
    for manifest in desired.manifests:
        try:
            manifests.append(allowed_manifest(manifest, allowances))
        except ManifestError as exc:
            refused.append(exc)
    if refused:
        raise refused[0] if len(refused) == 1 else MultiSourceError(refused)
    return attrs.evolve(desired, manifests=tuple(manifests))
