"""Validation of raw manifest data into :mod:`agent.manifest.models` models: the top level
here, the containers in :mod:`agent.manifest.container_schema`, the volumes and mounts in
:mod:`agent.manifest.volume_schema`.

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
(``containers[db].ports[1]``); the rule of host ports is :mod:`agent.manifest.ports`.
"""

from __future__ import annotations

import re
from typing import Any

from agent.errors import FieldError, ManifestError
from agent.manifest.container_schema import read_containers, read_restart_policy
from agent.manifest.fields import (
    MAX_ERRORS,
    FieldReader,
    TooManyErrors,
    quote,
)
from agent.manifest.models import (
    ALWAYS,
    SUPPORTED_VERSIONS,
    Manifest,
)
from agent.manifest.strategy import read_update_strategy
from agent.manifest.volume_schema import read_volumes

__all__ = ["MAX_ERRORS", "parse_manifest"]

_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")


_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\Z")


_MANIFEST_FIELDS = frozenset(
    {"version", "id", "uuid", "containers", "volumes", "restartPolicy", "updateStrategy"}
)


# Well-known fields of 2014 manifests and of Pods that the agent does not run, on purpose;
# each is refused with its reason rather than as unknown (see docs/manifest.md).
_REFUSED_MANIFEST_FIELDS = {
    "dnsPolicy": "containers use the engine's DNS settings",
    "hostNetwork": "it is a container's field here (containers[].hostNetwork, allowed with "
    "--allow-host-network)",
}


def parse_manifest(data: Any, source: str = "<manifest>") -> Manifest:
    """Validate raw data into a :class:`Manifest`, or raise one :class:`ManifestError`."""
    reader = FieldReader()
    try:
        manifest = _manifest(reader, data, source)
    except TooManyErrors:
        more = FieldError("", f"more problems not listed: only the first {MAX_ERRORS} are")
        raise ManifestError(source, [*reader.errors[:MAX_ERRORS], more]) from None
    if manifest is None:
        raise ManifestError(source, reader.errors)
    return manifest


def _manifest(reader: FieldReader, data: Any, source: str) -> Manifest | None:
    top = reader.mapping(data, "", _MANIFEST_FIELDS, refused=_REFUSED_MANIFEST_FIELDS)
    if top is None:
        return None
    version = reader.text(top, "version", "")
    if version is not None and version not in SUPPORTED_VERSIONS:
        reader.error(
            "version", f"unsupported {quote(version)}, supported: {', '.join(SUPPORTED_VERSIONS)}"
        )
    manifest_id = reader.text(top, "id", "", required=False)
    if manifest_id is not None and not (
        len(manifest_id) <= 253 and _DNS_SUBDOMAIN.match(manifest_id)
    ):
        reader.error("id", f"must be a DNS subdomain name, got {quote(manifest_id)}")
    manifest_uuid = reader.text(top, "uuid", "", required=False)
    if manifest_uuid is not None and not _UUID.match(manifest_uuid):
        reader.error(
            "uuid",
            "must be a UUID such as 8c3b6d52-4bb3-4f38-9d6c-2a3e0c9d1f00, "
            f"got {quote(manifest_uuid)}",
        )
    restart_policy = read_restart_policy(reader, top, "", ALWAYS)
    volumes = read_volumes(reader, top)
    declared = {volume.name: volume.source for volume in volumes}
    containers = read_containers(reader, top, declared, restart_policy)
    strategy = read_update_strategy(reader, top)
    if reader.errors or version is None:
        return None
    return Manifest(
        version=version,
        id=manifest_id,
        containers=tuple(containers),
        volumes=tuple(volumes),
        source=source,
        uuid=manifest_uuid,
        update_strategy=strategy,
    )
