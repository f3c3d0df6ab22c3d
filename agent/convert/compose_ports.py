"""A Compose service's ``ports`` as the manifest's: short (``[IP:]HOST:CONTAINER[/udp]``,
ranges of the same length) and long syntax; a port with no host port (Compose picks a
free one) is a note, as is anything else the manifest cannot publish."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from agent.convert.compose_common import Refused
from agent.convert.notes import NoteTaker
from agent.manifest.fields import MAX_PORT

__all__ = ["MAX_PORT_RANGE", "read_ports"]

MAX_PORT_RANGE = 100
"""A port range of more ports than this is refused rather than expanded."""

_PORT_PART = re.compile(r"(\d+)(?:-(\d+))?\Z")
_LONG_FIELDS = ("target", "published", "host_ip", "protocol", "mode", "name")


def read_ports(name: str, ports: Any, note: NoteTaker) -> list[dict[str, Any]]:
    """The manifest's ports of the service ``name``; raises :class:`Refused` when
    ``ports`` is not a list."""
    if not isinstance(ports, list):
        raise Refused("ports", "must be a list")
    found: list[dict[str, Any]] = []
    for i, port in enumerate(ports):
        field = f"ports[{i}]"
        if isinstance(port, dict):
            found.extend(_long_port(name, field, port, note))
        elif isinstance(port, str):
            found.extend(_short_port(name, field, port, note))
        elif isinstance(port, int) and not isinstance(port, bool):
            note(
                name,
                field,
                f"not mapped: {port} is no HOST:CONTAINER (an unquoted 22:22 is read by "
                "YAML as a base-60 number: quote it); a container port alone has no host "
                "port, and the agent publishes only on a given host port",
            )
        else:
            note(name, field, "not mapped: not a port")
    return found


def _ephemeral(name: str, field: str, note: NoteTaker) -> None:
    note(
        name,
        field,
        "not mapped: no host port (Compose picks a free one; the agent publishes only "
        "on a given host port)",
    )


def _short_port(name: str, field: str, spec: str, note: NoteTaker) -> list[dict[str, Any]]:
    text, _, protocol = spec.partition("/")
    host_ip = ""
    if text.startswith("["):
        address, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            note(name, field, "not mapped: not [IP]:HOST:CONTAINER")
            return []
        host_ip, parts = address, rest[1:].split(":")
        if len(parts) != 2:
            note(name, field, "not mapped: not [IP]:HOST:CONTAINER")
            return []
    else:
        parts = text.split(":")
        if len(parts) == 3:
            host_ip, parts = parts[0], parts[1:]
        elif len(parts) > 3:
            note(name, field, "not mapped: an IPv6 host address must be in brackets")
            return []
    if len(parts) == 1 or parts[0] == "":
        _ephemeral(name, field, note)
        return []
    return _port_pairs(name, field, (parts[0], parts[1]), host_ip, protocol or "tcp", note)


def _long_port(
    name: str, field: str, port: Mapping[str, Any], note: NoteTaker
) -> list[dict[str, Any]]:
    for key in port:
        if key not in _LONG_FIELDS:
            note(name, f"{field}.{key}", "not mapped")
    if port.get("mode", "ingress") not in ("ingress", "host"):
        note(name, f"{field}.mode", "not mapped: unknown mode")
    target, published = port.get("target"), port.get("published")
    if published is None or published == "":
        _ephemeral(name, field, note)
        return []
    host_ip = port.get("host_ip") or ""
    protocol = port.get("protocol") or "tcp"
    if not isinstance(host_ip, str) or not isinstance(protocol, str):
        note(name, field, "not mapped: host_ip and protocol must be strings")
        return []
    return _port_pairs(name, field, (str(published), str(target)), host_ip, protocol, note)


def _port_pairs(
    name: str, field: str, pair: tuple[str, str], host_ip: str, protocol: str, note: NoteTaker
) -> list[dict[str, Any]]:
    """The ports of ``HOST:CONTAINER``, each a number or a range of the same length."""
    if protocol.lower() not in ("tcp", "udp"):
        note(name, field, f"not mapped: protocol {protocol} (TCP and UDP only)")
        return []
    host_range, target_range = _port_range(pair[0]), _port_range(pair[1])
    if host_range is None or target_range is None:
        note(name, field, "not mapped: not a port number or range")
        return []
    if len(host_range) != len(target_range):
        if len(target_range) == 1:
            note(
                name,
                field,
                "not mapped: a host port range for one container port (Compose picks a "
                "free one; the agent publishes only on a given host port)",
            )
        else:
            note(name, field, "not mapped: the ranges are not of the same length")
        return []
    if len(host_range) > MAX_PORT_RANGE:
        note(name, field, f"not mapped: a range of more than {MAX_PORT_RANGE} ports")
        return []
    found = []
    for host_port, container_port in zip(host_range, target_range, strict=True):
        port: dict[str, Any] = {"containerPort": container_port, "hostPort": host_port}
        if host_ip:
            port["hostIp"] = host_ip
        if protocol.lower() == "udp":
            port["protocol"] = "UDP"
        found.append(port)
    return found


def _port_range(text: str) -> range | None:
    """``8080`` or ``8080-8089``: ports of the manifest's range (1 to ``MAX_PORT``)."""
    match = _PORT_PART.match(text.strip())
    if match is None:
        return None
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    if not 1 <= first <= last <= MAX_PORT:
        return None
    return range(first, last + 1)
