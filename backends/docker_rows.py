"""Docker's container rows and events as observed state, for the Docker SDK and the docker CLI
(and for podman-py: libpod's event API speaks Docker's format).

The Engine API lists a container as a row of ``GET /containers/json``;
``docker ps`` prints the same fields with :data:`DOCKER_PS_FORMAT`. Neither has
start or finish times: inspect's ``State`` gives them (``docker inspect`` with
:data:`DOCKER_TIMES_FORMAT`, or the API's ``GET /containers/{id}/json``). An event
of ``GET /events`` is what ``docker events --format '{{json .}}'`` prints. A failed
call of the CLI (or of podman's, which mimics it) says why on stderr, with some words around.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from agent.planning.network import ObservedNetwork
from agent.planning.observed import ContainerEvent, ObservedContainer
from agent.planning.spec import (
    LABEL_HASH,
    LABEL_IMAGE_ID,
    LABEL_NAME,
    LABEL_NAMESPACE,
    LABEL_RECORD,
    LABEL_STOP_TIMEOUT,
    PortBinding,
    stop_timeout_label,
)
from backends.timestamps import event_time, parse_rfc3339

__all__ = [
    "DOCKER_PS_FORMAT",
    "DOCKER_TIMES_FORMAT",
    "cli_error_words",
    "event_from_docker",
    "network_from_row",
    "observed_from_docker",
    "with_run_times",
]

_EXIT_STATUS = re.compile(r"Exited \((-?\d+)\)")
_LABELS = ",".join(
    f'"{label}":{{{{json (.Label "{label}")}}}}'
    for label in (
        LABEL_NAMESPACE,
        LABEL_NAME,
        LABEL_HASH,
        LABEL_IMAGE_ID,
        LABEL_RECORD,
        LABEL_STOP_TIMEOUT,
    )
)
DOCKER_PS_FORMAT = (
    '{"Id":{{json .ID}},"Names":{{json (split .Names ",")}},"State":{{json .State}},'
    '"Status":{{json .Status}},"Image":{{json .Image}},"Ports":{{json .Ports}},'
    '"Networks":{{json .Networks}},"Labels":{' + _LABELS + "}}"
)
# How `docker ps` prints a published port: "127.0.0.1:8080->80/tcp", "[::1]:53->53/udp",
# "0.0.0.0:8000-8001->8000-8001/tcp"; an exposed port alone ("80/tcp") holds no host port.
_PRINTED_PORT = re.compile(
    r"(?:\[?(?P<ip>[0-9a-fA-F.:]*?)\]?:)?(?P<first>\d+)(?:-(?P<last>\d+))?->"
    r"(?P<inside>\d+)(?:-\d+)?/(?P<protocol>\w+)"
)
_MAX_RANGE = 1024
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
        ports=_ports(row.get("Ports")),
        record=labels.get(LABEL_RECORD, ""),
        stop_timeout=stop_timeout_label(labels),
        networks=_networks(row),
    )


def _networks(row: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The networks of a row: the names ``docker ps`` prints (``bridge,web-net``), or the
    keys of the API's ``NetworkSettings.Networks``. None when the row has neither."""
    printed = row.get("Networks")
    if isinstance(printed, str):
        return tuple(name for name in printed.split(",") if name)
    settings = row.get("NetworkSettings")
    listed = settings.get("Networks") if isinstance(settings, dict) else None
    return tuple(listed) if isinstance(listed, dict) else None


def _ports(listed: Any) -> tuple[PortBinding, ...] | None:
    """The host ports of a row: the API's list of bindings, or the string ``docker ps``
    prints. None when the row has neither."""
    if isinstance(listed, str):
        found: list[PortBinding] = []
        for match in _PRINTED_PORT.finditer(listed):
            first = int(match["first"])
            last = min(int(match["last"] or first), first + _MAX_RANGE)
            inside, protocol, ip = int(match["inside"]), match["protocol"], match["ip"] or ""
            found += [
                PortBinding(inside + offset, port, protocol, ip)
                for offset, port in enumerate(range(first, last + 1))
            ]
        return tuple(found)
    if isinstance(listed, list):
        return tuple(
            PortBinding(
                int(p.get("PrivatePort") or 0),
                int(p["PublicPort"]),
                p.get("Type") or "tcp",
                p.get("IP") or "",
            )
            for p in listed
            if isinstance(p, dict) and p.get("PublicPort")
        )
    return None


def network_from_row(row: Any, name: str) -> ObservedNetwork | None:
    """A network as Docker's inspect (``Name``, ``Id``, ``Labels``) or libpod's (``name``,
    ``id``, ``labels``) shows it; None when it is not the one called ``name``."""
    if not isinstance(row, dict):
        return None
    found = row.get("Name", row.get("name"))
    if found != name:
        return None
    labels = row.get("Labels", row.get("labels")) or {}
    return ObservedNetwork(
        name=name,
        id=str(row.get("Id", row.get("id")) or ""),
        namespace=str(labels.get(LABEL_NAMESPACE, "")) if isinstance(labels, dict) else "",
    )


def with_run_times(container: ObservedContainer, inspected: Mapping[str, Any]) -> ObservedContainer:
    """``container`` with the start and finish times of its last run, from inspect's answer;
    a container that runs has no finish time (inspect keeps the one of its previous run)."""
    state = inspected.get("State") or {}
    finished = None if container.running else parse_rfc3339(state.get("FinishedAt", ""))
    return attrs.evolve(
        container, started_at=parse_rfc3339(state.get("StartedAt", "")), finished_at=finished
    )


# libpod's API answers in Docker's format with some of its own words.
_ACTIONS = {"died": "die", "remove": "destroy"}


def event_from_docker(row: Mapping[str, Any]) -> ContainerEvent | None:
    """A container event of Docker's format; None for anything else."""
    actor = row.get("Actor") or {}
    if row.get("Type") != "container" or not actor.get("ID"):
        return None
    action = str(row.get("Action") or row.get("status") or "")
    labels = actor.get("Attributes") or {}
    # "exec_start: sh -c ...", "health_status: healthy": the first word is the action.
    action = action.split(":", 1)[0].strip()
    return ContainerEvent(
        actor["ID"], labels.get(LABEL_NAME, ""), _ACTIONS.get(action, action), event_time(row)
    )


_USAGE_HINT = re.compile(r"^(?:See|Run) '[^']* --help'.*$", re.MULTILINE)
_CLI_PREFIX = re.compile(r"^(?:docker|podman): ")
# A warning line of the Go log library both CLIs use (``time="..." level=warning msg="..."``):
# podman 5 on cgroups v1 writes one at every call, and one per retry of a failed pull.
_WARNING_LINE = re.compile(r'^time="[^"]*" level=warn(?:ing)? msg=.*$\n?', re.MULTILINE)


def cli_error_words(output: str) -> str:
    """The engine's own message in a CLI's error output, without the ``docker:`` prefix and
    the ``See 'docker run --help'`` hint that ``docker run`` adds to it, and without the
    warnings written before it (unless there is nothing else)."""
    words = _CLI_PREFIX.sub("", _USAGE_HINT.sub("", output)).strip()
    return _WARNING_LINE.sub("", words).strip() or words
