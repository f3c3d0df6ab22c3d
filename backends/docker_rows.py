"""Docker's container rows as observed containers, for the Docker SDK and the docker CLI.

The Engine API lists a container as a row of ``GET /containers/json``;
``docker ps`` prints the same fields with :data:`DOCKER_PS_FORMAT`. Neither has
start or finish times: inspect's ``State`` gives them (``docker inspect`` with
:data:`DOCKER_TIMES_FORMAT`, or the API's ``GET /containers/{id}/json``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from agent.observed import ObservedContainer
from agent.spec import LABEL_HASH, LABEL_IMAGE_ID, LABEL_NAME, LABEL_NAMESPACE
from backends.timestamps import parse_rfc3339

__all__ = ["DOCKER_PS_FORMAT", "DOCKER_TIMES_FORMAT", "observed_from_docker", "with_run_times"]

_EXIT_STATUS = re.compile(r"Exited \((-?\d+)\)")
_LABELS = ",".join(
    f'"{label}":{{{{json (.Label "{label}")}}}}'
    for label in (LABEL_NAMESPACE, LABEL_NAME, LABEL_HASH, LABEL_IMAGE_ID)
)
DOCKER_PS_FORMAT = (
    '{"Id":{{json .ID}},"Names":{{json (split .Names ",")}},"State":{{json .State}},'
    '"Status":{{json .Status}},"Image":{{json .Image}},"Labels":{' + _LABELS + "}}"
)
DOCKER_TIMES_FORMAT = (
    '{"Id":{{json .Id}},"State":{"StartedAt":{{json .State.StartedAt}},'
    '"FinishedAt":{{json .State.FinishedAt}}}}'
)


def observed_from_docker(row: Mapping[str, Any]) -> ObservedContainer:
    """A container as Docker lists it, with no inspect: no run times yet."""
    labels = row.get("Labels") or {}
    names = [name.lstrip("/") for name in row.get("Names") or []]
    exited = _EXIT_STATUS.match(row.get("Status") or "")
    return ObservedContainer(
        id=row["Id"],
        # The API lists a linked container under its links' names too ("/a/b").
        engine_name=next((name for name in names if "/" not in name), names[0] if names else ""),
        namespace=labels.get(LABEL_NAMESPACE, ""),
        name=labels.get(LABEL_NAME, ""),
        hash=labels.get(LABEL_HASH, ""),
        state=row.get("State", ""),
        exit_code=int(exited.group(1)) if exited else None,
        image=row.get("Image", ""),
        image_id=labels.get(LABEL_IMAGE_ID, ""),
    )


def with_run_times(container: ObservedContainer, inspected: Mapping[str, Any]) -> ObservedContainer:
    """``container`` with the start and finish times of its last run, from inspect's answer."""
    state = inspected.get("State") or {}
    return attrs.evolve(
        container,
        started_at=parse_rfc3339(state.get("StartedAt", "")),
        finished_at=parse_rfc3339(state.get("FinishedAt", "")),
    )
