"""Podman's container rows as observed containers, for podman-py and the podman CLI, and
the events ``podman events --format json`` prints, and the version ``podman --version`` says.

libpod lists a container as a row of ``GET /libpod/containers/json``, and
``podman ps --format json`` prints the same rows; both carry the run times, of every
container (running ones too).
(libpod's event API speaks Docker's format: see :mod:`backends.docker_rows`.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.planning.observed import ContainerEvent, ObservedContainer
from agent.planning.spec import (
    LABEL_HASH,
    LABEL_IMAGE_ID,
    LABEL_NAME,
    LABEL_NAMESPACE,
    LABEL_RECORD,
    PortBinding,
    stop_timeout_label,
)
from backends.timestamps import event_time

__all__ = ["event_from_podman_cli", "observed_from_libpod", "podman_version"]

_MAX_RANGE = 1024
# Podman's states in Docker's words (ObservedContainer.state); the others are the same.
_STATES = {
    "configured": "created",
    "initialized": "created",
    "stopping": "running",
    "stopped": "exited",
    "unknown": "dead",
}


def observed_from_libpod(row: Mapping[str, Any], run_times: bool = False) -> ObservedContainer:
    """A container as libpod lists it, with no inspect: the run times of an exited one,
    and with ``run_times`` the start time of every one that ran."""
    labels = row.get("Labels") or {}
    state = _STATES.get(row.get("State", ""), row.get("State", ""))
    exited = state == "exited"
    finished, started = row.get("ExitedAt"), row.get("StartedAt")
    timed = exited or run_times
    return ObservedContainer(
        id=row["Id"],
        engine_name=(row.get("Names") or [""])[0],
        namespace=labels.get(LABEL_NAMESPACE, ""),
        name=labels.get(LABEL_NAME, ""),
        hash=labels.get(LABEL_HASH, ""),
        state=state,
        exit_code=row.get("ExitCode") if exited else None,
        finished_at=float(finished) if exited and finished and finished > 0 else None,
        started_at=float(started) if timed and started and started > 0 else None,
        image=row.get("Image", ""),
        image_id=labels.get(LABEL_IMAGE_ID, ""),
        ports=_ports(row.get("Ports")),
        record=labels.get(LABEL_RECORD, ""),
        stop_timeout=stop_timeout_label(labels),
        networks=_networks(row["Networks"]) if "Networks" in row else None,
    )


def _networks(listed: Any) -> tuple[str, ...] | None:
    """The names of the networks libpod lists a container on (null: none)."""
    if listed is None:
        return ()
    if not isinstance(listed, list):
        return None
    return tuple(name for name in listed if isinstance(name, str))


def _ports(listed: Any) -> tuple[PortBinding, ...] | None:
    """libpod's port mappings (``host_port`` and ``range`` ports from it), as bindings."""
    if not isinstance(listed, list):
        return None
    found: list[PortBinding] = []
    for mapping in listed:
        if not isinstance(mapping, dict) or not mapping.get("host_port"):
            continue
        first, inside = int(mapping["host_port"]), int(mapping.get("container_port") or 0)
        count = max(1, min(int(mapping.get("range") or 1), _MAX_RANGE))
        protocol, ip = mapping.get("protocol") or "tcp", mapping.get("host_ip") or ""
        for offset in range(count):
            for each in protocol.split(","):
                found.append(PortBinding(inside + offset, first + offset, each, ip))
    return tuple(found)


# Podman's event words in Docker's.
_ACTIONS = {"died": "die", "remove": "destroy"}


def event_from_podman_cli(row: Mapping[str, Any]) -> ContainerEvent | None:
    """A container event as ``podman events --format json`` prints it; None for others.
    Podman 4 dates it with ``Time`` only, Podman 5 with ``time`` and ``timeNano`` only."""
    if row.get("Type") != "container" or not row.get("ID"):
        return None
    action = str(row.get("Status") or "")
    labels = row.get("Attributes") or {}
    return ContainerEvent(
        row["ID"], labels.get(LABEL_NAME, ""), _ACTIONS.get(action, action), event_time(row)
    )


_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def podman_version(said: str) -> tuple[int, ...]:
    """``podman version 5.4.2`` -> (5, 4, 2); (0,) when no version can be read (a podman
    still, but one that no rule of a version applies to)."""
    match = _VERSION.search(said)
    return tuple(int(part) for part in match.groups(default="0")) if match else (0,)


LASTING_UPDATE = (5, 0)
"""The first Podman whose update is kept in the container's configuration (Podman 4.3's
changes the running cgroup alone: its inspect keeps the old limits, and a restart brings
them back, as measured; 5.0 is the version assumed, not one tried here)."""
