"""Host ports: when two published ports claim the same host address, port and protocol.

The one rule, for every check that needs it: within a container and across the
containers of a file (:mod:`agent.manifest.schema`), across files (:mod:`agent.sources.load`), and
between the bindings the engine is asked for (:class:`agent.planning.spec.PortBinding`).
Two ports conflict when their host port and protocol (in any case: ``TCP`` and
``tcp`` are one) are equal and their host addresses overlap: either is the
wildcard (every address: none given, ``0.0.0.0`` or ``::``), or both are the same
address (IPv6 compared as addresses, not as text). :class:`HostClaims` finds, for
a port, the first earlier owner it conflicts with by lookup rather than pair by
pair, and the messages that name that owner are made here, so that they read the
same everywhere.

Each host address is read with :mod:`ipaddress` once, however many ports name it
and however often they are compared (the last few thousand addresses are kept).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Hashable, Iterable, Iterator, Sequence
from typing import Generic, Protocol, TypeAlias, TypeVar

import attrs

__all__ = [
    "Binding",
    "HostClaims",
    "Publisher",
    "also_published",
    "describe_binding",
    "is_wildcard",
    "normal_address",
    "port_conflict",
    "published_twice",
]

_Owner = TypeVar("_Owner", bound=Hashable)
_Address: TypeAlias = ipaddress.IPv4Address | ipaddress.IPv6Address
_Group: TypeAlias = dict[_Owner, int]


class Binding(Protocol):
    """What the rule needs of a port: a manifest :class:`~agent.manifest.models.Port` (protocol
    ``TCP``/``UDP``) or an engine's :class:`~agent.planning.spec.PortBinding` (``tcp``/``udp``).
    An empty ``host_ip`` means every address of the host."""

    @property
    def host_port(self) -> int: ...

    @property
    def protocol(self) -> str: ...

    @property
    def host_ip(self) -> str: ...


@functools.lru_cache(maxsize=4096)
def _host(host_ip: str) -> _Address | None:
    """The one address ``host_ip`` names, or None for every address; ValueError if none."""
    if not host_ip:
        return None
    address = ipaddress.ip_address(host_ip)
    return None if address.is_unspecified else address


@functools.lru_cache(maxsize=4096)
def normal_address(host_ip: str) -> str:
    """An address as :mod:`ipaddress` writes it (``::1`` for ``0:0::1``); ValueError if
    ``host_ip`` is no IPv4 or IPv6 address."""
    return str(ipaddress.ip_address(host_ip))


def is_wildcard(host_ip: str) -> bool:
    """Every address of the host: no address, ``0.0.0.0`` or ``::``."""
    return _host(host_ip) is None


def port_conflict(a: Binding, b: Binding) -> bool:
    """Whether two published ports would claim the same host address, port and protocol."""
    if a.host_port != b.host_port or a.protocol.upper() != b.protocol.upper():
        return False
    first = _host(a.host_ip)
    if first is None:
        return True
    second = _host(b.host_ip)
    return second is None or first == second


def describe_binding(port: Binding) -> str:
    """``127.0.0.1:80/TCP``, ``[::1]:53/UDP``, ``*:80/TCP`` for every address."""
    host = f"[{port.host_ip}]" if ":" in port.host_ip else port.host_ip or "*"
    return f"{host}:{port.host_port}/{port.protocol.upper()}"


@attrs.frozen
class Publisher:
    """A container that publishes host ports, and its file when that is another one."""

    container: str
    source: str | None = None


def published_twice(port: Binding) -> str:
    """The message for a port that an earlier port of the same container conflicts with."""
    return f"host port {describe_binding(port)} is published twice"


def also_published(port: Binding, by: Publisher) -> str:
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
        self._any: dict[tuple[int, str], _Group[_Owner]] = {}
        self._wildcard: dict[tuple[int, str], _Group[_Owner]] = {}
        self._address: dict[tuple[int, str, _Address], _Group[_Owner]] = {}

    def first_conflict(self, port: Binding, other_than: _Owner | None = None) -> _Owner | None:
        """The owner of the first claim that ``port`` conflicts with, leaving out the claims
        of ``other_than``; None when there is none."""
        key = (port.host_port, port.protocol.upper())
        address = _host(port.host_ip)
        if address is None:
            found = _first(self._any.get(key), other_than)
        else:
            wildcard = _first(self._wildcard.get(key), other_than)
            found = _first(self._address.get((*key, address)), other_than)
            if found is None or (wildcard is not None and wildcard[0] < found[0]):
                found = wildcard
        return found[1] if found is not None else None

    def conflicts(
        self, ports: Iterable[Binding], owner: _Owner | None = None
    ) -> Iterator[tuple[int, _Owner]]:
        """For each of ``ports`` that a claim of another owner than ``owner`` conflicts
        with: its index, and the owner of the first such claim."""
        for index, port in enumerate(ports):
            found = self.first_conflict(port, other_than=owner)
            if found is not None:
                yield index, found

    def claim(self, ports: Sequence[Binding], owner: _Owner) -> list[tuple[int, _Owner]]:
        """The :meth:`conflicts` of ``ports`` with the claims so far; then ``owner`` claims
        them all."""
        found = list(self.conflicts(ports, owner))
        for port in ports:
            self.add(port, owner)
        return found

    def add(self, port: Binding, owner: _Owner) -> None:
        """Record that ``owner`` claims the host address, port and protocol of ``port``."""
        key = (port.host_port, port.protocol.upper())
        address = _host(port.host_ip)
        self._any.setdefault(key, {}).setdefault(owner, self._count)
        if address is None:
            self._wildcard.setdefault(key, {}).setdefault(owner, self._count)
        else:
            self._address.setdefault((*key, address), {}).setdefault(owner, self._count)
        self._count += 1


def _first(group: _Group[_Owner] | None, other_than: _Owner | None) -> tuple[int, _Owner] | None:
    """The earliest claim of a group by another owner than ``other_than``, if any."""
    if group:
        for owner, order in group.items():  # in the order of the claims
            if owner != other_than:
                return order, owner
    return None
