"""Host ports: when two published ports claim the same host address, port and protocol.

The one rule, for every check that needs it: within a container and across the
containers of a file (:mod:`agent.schema`), and across files (:mod:`agent.load`).
Two ports conflict when their host port and protocol are equal and their host
addresses overlap: either is the wildcard (every address: none given, ``0.0.0.0``
or ``::``), or both are the same address (IPv6 compared as addresses, not as
text). :class:`HostClaims` finds, for a port, the first earlier owner it
conflicts with by lookup rather than pair by pair, and the messages that name
that owner are made here, so that they read the same everywhere.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Hashable
from typing import Generic, TypeAlias, TypeVar

import attrs

from agent.manifest import Port

__all__ = [
    "HostClaims",
    "Publisher",
    "also_published",
    "describe_binding",
    "is_wildcard",
    "port_conflict",
    "published_twice",
]

_Owner = TypeVar("_Owner", bound=Hashable)
_Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_wildcard(host_ip: str) -> bool:
    """Every address of the host: no address, ``0.0.0.0`` or ``::``."""
    return not host_ip or ipaddress.ip_address(host_ip).is_unspecified


def port_conflict(a: Port, b: Port) -> bool:
    """Whether two published ports would claim the same host address, port and protocol."""
    if a.host_port != b.host_port or a.protocol != b.protocol:
        return False
    if is_wildcard(a.host_ip) or is_wildcard(b.host_ip):
        return True
    return ipaddress.ip_address(a.host_ip) == ipaddress.ip_address(b.host_ip)


def describe_binding(port: Port) -> str:
    """``127.0.0.1:80/TCP``, ``[::1]:53/UDP``, ``*:80/TCP`` for every address."""
    host = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip or "*"
    return f"{host}:{port.host_port}/{port.protocol}"


@attrs.frozen
class Publisher:
    """A container that publishes host ports, and its file when that is another one."""

    container: str
    source: str | None = None


def published_twice(port: Port) -> str:
    """The message for a port that an earlier port of the same container conflicts with."""
    return f"host port {describe_binding(port)} is published twice"


def also_published(port: Port, by: Publisher) -> str:
    """The message for a port that ``by`` publishes already: ``host port 127.0.0.1:8080/TCP is
    also published by container 'web'`` (``... in other.yaml`` when it is in another file)."""
    where = f" in {by.source}" if by.source is not None else ""
    return (
        f"host port {describe_binding(port)} is also published by container {by.container!r}{where}"
    )


class HostClaims(Generic[_Owner]):
    """Host ports claimed so far, each by an owner, in order; conflicts are found by lookup.

    Claims are indexed by (host port, protocol): all of them, the wildcard ones, and
    the ones of each specific address. A wildcard port conflicts with any claim of its
    (port, protocol), a specific one with the wildcard claims and those of its address:
    the same answers as :func:`port_conflict` over every pair, in O(1) a port.
    """

    def __init__(self) -> None:
        self._count = 0
        # Each group maps an owner to the order of its first claim in the group.
        self._any: dict[tuple[int, str], dict[_Owner, int]] = {}
        self._wildcard: dict[tuple[int, str], dict[_Owner, int]] = {}
        self._address: dict[tuple[int, str, _Address], dict[_Owner, int]] = {}

    def first_conflict(self, port: Port, other_than: _Owner | None = None) -> _Owner | None:
        """The owner of the first claim that ``port`` conflicts with, leaving out the claims
        of ``other_than``; None when there is none."""
        key = (port.host_port, port.protocol)
        if is_wildcard(port.host_ip):
            groups = [self._any.get(key, {})]
        else:
            address = ipaddress.ip_address(port.host_ip)
            groups = [self._wildcard.get(key, {}), self._address.get((*key, address), {})]
        firsts = [
            next(((order, owner) for owner, order in group.items() if owner != other_than), None)
            for group in groups
        ]
        found = [first for first in firsts if first is not None]
        return min(found, key=lambda first: first[0])[1] if found else None

    def add(self, port: Port, owner: _Owner) -> None:
        """Record that ``owner`` claims the host address, port and protocol of ``port``."""
        key = (port.host_port, port.protocol)
        self._any.setdefault(key, {}).setdefault(owner, self._count)
        if is_wildcard(port.host_ip):
            self._wildcard.setdefault(key, {}).setdefault(owner, self._count)
        else:
            address = ipaddress.ip_address(port.host_ip)
            self._address.setdefault((*key, address), {}).setdefault(owner, self._count)
        self._count += 1
