"""A container's resources as a manifest gives them: ``resources: {limits, requests}`` with
Kubernetes quantities, and the 2014 fields ``memory`` (bytes) and ``cpu`` (millicores).

Limits become the engine's memory limit (with no swap beyond it) and CPU quota;
requests are checked (a quantity each, not above its limit, as Kubernetes
requires) and not applied: they are what a scheduler places containers by, and
one host has none. Every problem is reported at its field's path, like
``containers[web].resources.limits.memory``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any, NamedTuple

from agent.manifest.fields import FieldReader
from agent.manifest.quantity import (
    QuantityError,
    check_millis,
    cpu_millis,
    format_cpu,
    format_memory,
    memory_bytes,
    shown_value,
)

__all__ = ["RESOURCE_FIELDS", "Resources", "read_resources"]

RESOURCE_FIELDS = frozenset({"resources", "memory", "cpu"})
"""The fields of a container that this module reads."""

_RESOURCES_FIELDS = frozenset({"limits", "requests"})
_NAMES = frozenset({"memory", "cpu"})
_REFUSED_NAMES = {
    "ephemeral-storage": "the engines' storage drivers have no per-container size limit "
    "that works everywhere",
}


class Resources(NamedTuple):
    """Limits and requests: memory in bytes, cpu in millicores; None where not given."""

    memory: int | None = None
    cpu: int | None = None
    memory_request: int | None = None
    cpu_request: int | None = None


def read_resources(reader: FieldReader, data: Mapping[str, Any], path: str) -> Resources:
    """The resources of the container ``data`` at ``path`` (every problem reported)."""
    limits: dict[str, int | None] = {}
    requests: dict[str, int | None] = {}
    if "resources" in data:
        where = f"{path}.resources"
        resources = reader.mapping(data["resources"], where, _RESOURCES_FIELDS) or {}
        for key, found in (("limits", limits), ("requests", requests)):
            if key in resources:
                found.update(_amounts(reader, resources[key], f"{where}.{key}"))
    memory = _legacy(reader, data, path, "memory", limits.get("memory"), format_memory, "bytes")
    cpu = _legacy(reader, data, path, "cpu", limits.get("cpu"), format_cpu, "millicores")
    _check_request(reader, f"{path}.resources.requests.memory", requests, "memory", memory)
    _check_request(reader, f"{path}.resources.requests.cpu", requests, "cpu", cpu)
    return Resources(memory, cpu, requests.get("memory"), requests.get("cpu"))


def _amounts(reader: FieldReader, raw: Any, path: str) -> dict[str, int | None]:
    """``{memory: 256Mi, cpu: 500m}`` as bytes and millicores."""
    data = reader.mapping(raw, path, _NAMES, refused=_REFUSED_NAMES)
    if data is None:
        return {}
    found: dict[str, int | None] = {}
    for name, convert in (("memory", memory_bytes), ("cpu", cpu_millis)):
        if name in data:
            found[name] = _quantity(reader, data[name], f"{path}.{name}", convert)
    return found


def _quantity(
    reader: FieldReader, value: Any, path: str, convert: Callable[[Any], int]
) -> int | None:
    try:
        return convert(value)
    except QuantityError as exc:
        reader.error(path, str(exc))
        return None


def _legacy(
    reader: FieldReader,
    data: Mapping[str, Any],
    path: str,
    key: str,
    limit: int | None,
    shown: Callable[[int], str],
    unit: str,
) -> int | None:
    """The 2014 field ``key`` (an integer: bytes, or millicores), or the limit; both given,
    they must agree."""
    if key not in data:
        return limit
    where = f"{path}.{key}"
    value = data[key]
    if type(value) is not int:
        kind = "a quantity string" if isinstance(value, str) else shown_value(value)
        reader.error(where, f"must be an integer ({unit}), got {kind}")
        return limit
    convert = memory_bytes if key == "memory" else (lambda n: check_millis(Fraction(n), n))
    amount = _quantity(reader, value, where, convert)
    if amount is not None and limit is not None and amount != limit:
        reader.error(
            where,
            f"is {shown(amount)} but resources.limits.{key} is {shown(limit)}: "
            "give one of them, or the same value",
        )
    return amount if amount is not None else limit


def _check_request(
    reader: FieldReader, path: str, requests: Mapping[str, int | None], key: str, limit: int | None
) -> None:
    request = requests.get(key)
    if request is not None and limit is not None and request > limit:
        shown = format_memory if key == "memory" else format_cpu
        reader.error(path, f"must not be more than the limit ({shown(request)} > {shown(limit)})")
