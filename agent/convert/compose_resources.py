"""A Compose service's resources as the manifest's: ``deploy.resources`` limits and
reservations, and the older ``mem_limit``, ``mem_reservation`` and ``cpus``; the rest of
``deploy`` (Swarm's) is a note."""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from agent.convert.compose_common import Refused
from agent.convert.notes import NoteTaker
from agent.manifest.quantity import (
    MAX_CPU_MILLIS,
    MAX_MEMORY,
    MIN_CPU_MILLIS,
    MIN_MEMORY,
    format_cpu,
    format_memory,
)

__all__ = ["read_resources"]

_BYTES = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgt]?)b?\Z", re.IGNORECASE)
_BYTE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SHOWN = {"memory": format_memory, "cpu": format_cpu}
# The older fields: (field, the manifest's resource, limits or requests)
_OLDER = (
    ("mem_limit", "memory", "limits"),
    ("cpus", "cpu", "limits"),
    ("mem_reservation", "memory", "requests"),
)


def read_resources(name: str, service: Mapping[str, Any], note: NoteTaker) -> dict[str, Any]:
    """The manifest's ``resources`` of the service ``name``: empty when it gives none."""
    deploy = service.get("deploy") or {}
    if not isinstance(deploy, dict):
        raise Refused("deploy", "must be a mapping")
    for key in deploy:
        if key == "replicas":
            if deploy[key] != 1:
                note(name, "deploy.replicas", "not mapped (one container per service)")
        elif key != "resources":
            note(name, f"deploy.{key}", "not mapped (Swarm only)")
    given = deploy.get("resources") or {}
    if not isinstance(given, dict):
        raise Refused("deploy.resources", "must be a mapping")
    for key in given:
        if key not in ("limits", "reservations"):
            note(name, f"deploy.resources.{key}", "not mapped")
    found = {
        "limits": _amounts(name, "deploy.resources.limits", given.get("limits") or {}, note),
        "requests": _amounts(
            name, "deploy.resources.reservations", given.get("reservations") or {}, note
        ),
    }
    for field, key, kind in _OLDER:
        if field in service:
            amount = _amount(name, field, key, service[field], note)
            if amount is not None and found[kind].setdefault(key, amount) != amount:
                note(name, field, "differs from deploy.resources: that is used")
    limits, requests = found["limits"], found["requests"]
    for key in list(requests):
        if key in limits and requests[key] > limits[key]:
            note(name, f"deploy.resources.reservations.{key}", "above the limit: dropped")
            del requests[key]
    resources = {}
    if limits:
        resources["limits"] = {k: _SHOWN[k](v) for k, v in limits.items()}
    if requests:
        resources["requests"] = {k: _SHOWN[k](v) for k, v in requests.items()}
        note(
            name,
            "deploy.resources.reservations",
            "requests: checked, and not applied (one host has no scheduler)",
        )
    return resources


def _amounts(name: str, field: str, given: Any, note: NoteTaker) -> dict[str, int]:
    if not isinstance(given, dict):
        raise Refused(field, "must be a mapping")
    found: dict[str, int] = {}
    for key, value in given.items():
        if key not in ("memory", "cpus"):
            note(name, f"{field}.{key}", "not mapped (memory and cpus only)")
            continue
        resource = "memory" if key == "memory" else "cpu"
        amount = _amount(name, f"{field}.{key}", resource, value, note)
        if amount is not None:
            found[resource] = amount
    return found


def _amount(name: str, field: str, resource: str, value: Any, note: NoteTaker) -> int | None:
    """Bytes of memory, or thousandths of a CPU; None, with a note, when out of range."""
    if resource == "memory":
        return _memory(name, field, value, note)
    return _cpu(name, field, value, note)


def _memory(name: str, field: str, value: Any, note: NoteTaker) -> int | None:
    amount = _bytes(value)
    if amount is None:
        note(name, field, "not mapped: not a byte value such as 512m or 1g")
    elif not MIN_MEMORY <= amount <= MAX_MEMORY:
        note(name, field, "not mapped: must be between 6 MiB and 1 PiB")
        amount = None
    return amount


def _cpu(name: str, field: str, value: Any, note: NoteTaker) -> int | None:
    try:
        millis = Fraction(str(value)) * 1000 if not isinstance(value, bool) else None
    except (ValueError, ZeroDivisionError):
        millis = None
    if millis is None or millis.denominator != 1:
        note(name, field, "not mapped: not a number of CPUs in whole thousandths")
        return None
    if not MIN_CPU_MILLIS <= millis <= MAX_CPU_MILLIS:
        note(name, field, "not mapped: must be between 0.01 and 65536")
        return None
    return int(millis)


def _bytes(value: Any) -> int | None:
    """A Compose byte value (``512m``, ``1g``, ``1024``, ``1.5G``): binary units."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        return None
    match = _BYTES.match(value.strip())
    if match is None:
        return None
    amount = Fraction(match.group(1)) * _BYTE_UNITS[match.group(2).lower()]
    return int(amount) if amount.denominator == 1 else None
