"""Podman's container rows as observed containers, for podman-py and the podman CLI.

libpod lists a container as a row of ``GET /libpod/containers/json``, and
``podman ps --format json`` prints the same rows; both carry the run times.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.observed import ObservedContainer
from agent.spec import LABEL_HASH, LABEL_IMAGE_ID, LABEL_NAME, LABEL_NAMESPACE

__all__ = ["observed_from_libpod"]

# Podman's states in Docker's words (ObservedContainer.state); the others are the same.
_STATES = {
    "configured": "created",
    "initialized": "created",
    "stopping": "running",
    "stopped": "exited",
    "unknown": "dead",
}


def observed_from_libpod(row: Mapping[str, Any]) -> ObservedContainer:
    """A container as libpod lists it, with no inspect."""
    labels = row.get("Labels") or {}
    state = _STATES.get(row.get("State", ""), row.get("State", ""))
    exited = state == "exited"
    finished, started = row.get("ExitedAt"), row.get("StartedAt")
    return ObservedContainer(
        id=row["Id"],
        engine_name=(row.get("Names") or [""])[0],
        namespace=labels.get(LABEL_NAMESPACE, ""),
        name=labels.get(LABEL_NAME, ""),
        hash=labels.get(LABEL_HASH, ""),
        state=state,
        exit_code=row.get("ExitCode") if exited else None,
        finished_at=float(finished) if exited and finished and finished > 0 else None,
        started_at=float(started) if exited and started and started > 0 else None,
        image=row.get("Image", ""),
        image_id=labels.get(LABEL_IMAGE_ID, ""),
    )
