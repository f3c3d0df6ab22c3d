"""A Compose service's ``healthcheck`` as a liveness probe: Docker's defaults for what it
leaves out (30 s interval and timeout, 3 retries), and a note that the agent restarts a
container that fails it, which Compose never does."""

from __future__ import annotations

from typing import Any

from agent.convert.compose_common import Refused
from agent.convert.compose_values import capped, whole_seconds
from agent.convert.notes import NoteTaker
from agent.manifest.models import NEVER
from agent.manifest.probe_schema import MAX_SECONDS

__all__ = ["DOCKER_HEALTHCHECK_DEFAULTS", "liveness_probe"]

DOCKER_HEALTHCHECK_DEFAULTS = {"periodSeconds": 30, "timeoutSeconds": 30, "failureThreshold": 3}
MAX_RETRIES = 1000
_TIMES = (
    ("interval", "periodSeconds", 1),
    ("timeout", "timeoutSeconds", 1),
    ("start_period", "initialDelaySeconds", 0),
)
_FIELDS = ("test", "interval", "timeout", "start_period", "retries", "disable")


def liveness_probe(name: str, check: Any, restart: str, note: NoteTaker) -> dict[str, Any] | None:
    """The probe of the service ``name``'s ``healthcheck`` under the restart policy
    ``restart``; None when it has none (or it is off, or cannot be one)."""
    if check is None:
        return None
    if not isinstance(check, dict):
        raise Refused("healthcheck", "must be a mapping")
    if check.get("disable") is True:
        return None
    test = check.get("test")
    if isinstance(test, str):
        command = ["/bin/sh", "-c", test]
    elif isinstance(test, list) and test and all(isinstance(t, str) for t in test):
        if test[0] == "NONE":
            return None
        if test[0] == "CMD" and len(test) > 1:
            command = test[1:]
        elif test[0] == "CMD-SHELL" and len(test) == 2:
            command = ["/bin/sh", "-c", test[1]]
        else:
            note(name, "healthcheck.test", "not mapped: not CMD or CMD-SHELL")
            return None
    else:
        note(name, "healthcheck", "not mapped: no test (the image's is kept)")
        return None
    if restart == NEVER:
        note(
            name,
            "healthcheck",
            "not mapped: a liveness probe restarts the container, and restart is no",
        )
        return None
    probe: dict[str, Any] = {"exec": {"command": command}, **DOCKER_HEALTHCHECK_DEFAULTS}
    for field, key, least in _TIMES:
        if field in check:
            where = f"healthcheck.{field}"
            seconds = whole_seconds(name, where, check[field], note, least, MAX_SECONDS)
            if seconds is not None:
                probe[key] = seconds
    retries = check.get("retries")
    if isinstance(retries, int) and not isinstance(retries, bool) and retries >= 1:
        probe["failureThreshold"] = capped(
            name, "healthcheck.retries", retries, MAX_RETRIES, "", note
        )
    elif retries is not None:
        note(name, "healthcheck.retries", "not mapped: not a positive integer")
    for field in check:
        if field not in _FIELDS:
            note(name, f"healthcheck.{field}", "not mapped")
    note(
        name,
        "healthcheck",
        "a liveness probe run by `agent run`: a container that fails it is restarted, "
        "which Compose never does",
    )
    return probe
