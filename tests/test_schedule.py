"""What may overlap in a plan, as a table of sentences over small plans.

Each case gives a plan and, for each of its actions in order, the positions of
the earlier actions it waits for.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from agent.manifest.models import Container, Port
from agent.planning.actions import Action, Plan, Remove, Restart, Start, Wait
from agent.planning.observed import ObservedContainer
from agent.planning.schedule import dependencies
from agent.planning.spec import PortBinding, build_specs

NS = "ns"


def start(name: str, *ports: Port) -> Start:
    (spec,) = build_specs([Container(name, f"{name}:1", ports=ports)], NS, "/export")
    return Start(spec, "missing")


def container(
    name: str, state: str, ports: Sequence[PortBinding] | None, number: int = 0
) -> ObservedContainer:
    return ObservedContainer(
        f"id-{name}-{number}",
        f"ns-{name}-{number:08}",
        NS,
        name,
        f"{number:064}",
        state,
        ports=None if ports is None else tuple(ports),
    )


def removal(
    name: str,
    state: str = "running",
    ports: Sequence[PortBinding] | None = (),
    number: int = 0,
) -> Remove:
    return Remove(container(name, state, ports, number), "not in the manifest any more")


def restart(name: str) -> Restart:
    return Restart(container(name, "exited", ()), "exited 1")


def wait(name: str) -> Wait:
    return Wait(container(name, "exited", ()), "back-off: exited 1, restart in 10s")


def held(host_port: int, protocol: str = "tcp", host_ip: str = "") -> PortBinding:
    return PortBinding(80, host_port, protocol, host_ip)


CASES: dict[str, tuple[list[Action], list[set[int]]]] = {
    "a replacement waits for the removal of its name": (
        [removal("web", "exited"), start("web")],
        [set(), {0}],
    ),
    "a start waits for every removal of its name": (
        [removal("web", number=1), removal("web", number=2), start("web")],
        [set(), set(), {0, 1}],
    ),
    "independent starts wait for nothing": (
        [start("web", Port(80, 8080)), start("api")],
        [set(), set()],
    ),
    "a start on another port does not wait": (
        [removal("cache", ports=[held(9090)]), start("web", Port(80, 8080))],
        [set(), set()],
    ),
    "a start on a port held by a running container being removed waits": (
        [removal("cache", ports=[held(8080)]), start("web", Port(80, 8080))],
        [set(), {0}],
    ),
    "a start on the same port under another protocol does not wait": (
        [removal("dns", ports=[held(53, "udp")]), start("web", Port(80, 53))],
        [set(), set()],
    ),
    "a held port's protocol is compared whatever its case": (
        [removal("dns", ports=[held(53, "UDP")]), start("web", Port(80, 53, protocol="UDP"))],
        [set(), {0}],
    ),
    "a wildcard address held overlaps a start on one address": (
        [
            removal("cache", ports=[held(8080, host_ip="0.0.0.0")]),
            start("web", Port(80, 8080, host_ip="127.0.0.1")),
        ],
        [set(), {0}],
    ),
    "one address held overlaps a start on every address": (
        [removal("cache", ports=[held(8080, host_ip="::1")]), start("web", Port(80, 8080))],
        [set(), {0}],
    ),
    "two different addresses do not overlap": (
        [
            removal("cache", ports=[held(8080, host_ip="127.0.0.1")]),
            start("web", Port(80, 8080, host_ip="127.0.0.2")),
        ],
        [set(), set()],
    ),
    "an exited container being removed holds no port": (
        [removal("cache", "exited", [held(8080)]), start("web", Port(80, 8080))],
        [set(), set()],
    ),
    "unknown ports of a running removal block a start with ports but not one without": (
        [removal("cache", ports=None), start("web", Port(80, 8080)), start("api")],
        [set(), {0}, set()],
    ),
    "unknown ports of an exited removal block nothing": (
        [removal("cache", "exited", None), start("web", Port(80, 8080)), restart("db")],
        [set(), set(), set()],
    ),
    "a restart waits for the removal of its name": (
        [removal("db", "exited", number=1), restart("db")],
        [set(), {0}],
    ),
    "a restart waits for removals of running containers with ports": (
        [
            removal("cache", ports=[held(9090)]),
            removal("old", ports=None),
            removal("idle"),
            removal("gone", "exited", [held(8080)]),
            restart("db"),
        ],
        [set(), set(), set(), set(), {0, 1}],
    ),
    "removals wait for nothing, not even each other": (
        [removal("cache", ports=[held(8080)]), removal("web", ports=[held(8080)])],
        [set(), set()],
    ),
    "waits have no dependencies": (
        [removal("web", ports=[held(8080)]), removal("cache", ports=None), wait("web")],
        [set(), set(), set()],
    ),
    "only an earlier removal is waited for": (
        [start("web", Port(80, 8080)), removal("web", ports=[held(8080)])],
        [set(), set()],
    ),
}


@pytest.mark.parametrize("actions, waits_for", CASES.values(), ids=CASES.keys())
def test_dependencies(actions: list[Action], waits_for: list[set[int]]) -> None:
    assert dependencies(Plan(tuple(actions))) == tuple(frozenset(w) for w in waits_for)


def test_an_empty_plan_has_no_dependencies() -> None:
    assert dependencies(Plan()) == ()
