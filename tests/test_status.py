"""``agent status`` as data: a table of cases over one base, three containers in sync.

Each case changes the engine's listing or the manifest, plans as the agent does, and
says what the rows must show: the state, the back-off, the restarts, the sync column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import attrs
import pytest

from agent.manifest.models import Container, Port
from agent.output.render import render_status, status_to_dict
from agent.output.status import ContainerStatus, statuses
from agent.planning.health import Health
from agent.planning.observed import ObservedContainer
from agent.planning.planner import PlanOptions, plan
from agent.planning.spec import PortBinding, RunSpec, build_specs

NS = "ns"
NOW = 1_000_000.0


def specs(*containers: Container) -> tuple[RunSpec, ...]:
    return build_specs(list(containers), NS, "/export")


BASE = (
    Container("web", "nginx:1.25", ports=(Port(80, 8080, host_ip="127.0.0.1"),)),
    Container("db", "postgres:16"),
    Container("cache", "redis:7"),
)


def running(spec: RunSpec, **changes: Any) -> ObservedContainer:
    container = ObservedContainer(
        f"id-{spec.name}",
        spec.engine_name,
        NS,
        spec.name,
        spec.hash,
        "running",
        image=spec.image,
        started_at=NOW - 3725,
        ports=spec.ports,
    )
    return attrs.evolve(container, **changes)


@dataclass
class World:
    wanted: list[Container] = field(default_factory=lambda: list(BASE))
    observed: list[ObservedContainer] = field(
        default_factory=lambda: [running(s) for s in specs(*BASE)]
    )
    restarts: dict[str, int] = field(default_factory=dict)

    def rows(self, with_manifest: bool = True) -> dict[str, ContainerStatus]:
        the_specs = specs(*self.wanted)
        the_plan = plan(the_specs, self.observed, NOW, PlanOptions(NS), None, self.restarts)
        names = {c.name for c in self.wanted}
        found = statuses(self.observed, self.restarts, the_plan if with_manifest else None, names)
        return {row.name: row for row in found}


def exited(name: str, code: int, ago: float, count: int) -> Callable[[World], None]:
    def change(world: World) -> None:
        index = next(i for i, c in enumerate(world.observed) if c.name == name)
        world.observed[index] = attrs.evolve(
            world.observed[index],
            state="exited",
            exit_code=code,
            started_at=NOW - ago - 1,
            finished_at=NOW - ago,
        )
        world.restarts[f"id-{name}"] = count

    return change


def edited(world: World) -> None:
    world.wanted[2] = Container("cache", "redis:7.2")


def dropped(world: World) -> None:
    del world.wanted[2]


def added(world: World) -> None:
    world.wanted.append(Container("queue", "rabbitmq:3", ports=(Port(5672, 5672),)))


# (case, change, the row's name, its state, its sync, its restarts)
CASES: list[tuple[str, Callable[[World], None], str, str, str, int]] = [
    ("all in sync", lambda w: None, "web", "running", "in sync", 0),
    ("a crashed container waits in back-off",
     exited("web", 1, 4, 2), "web", "exited", "back-off", 2),
    ("a crash whose back-off passed is due",
     exited("web", 1, 400, 2), "web", "exited", "restart due", 2),
    ("a changed manifest marks it changed", edited, "cache", "running", "changed", 0),
    ("a dropped container is not in the manifest",
     dropped, "cache", "running", "not in the manifest", 0),
    ("a new container is missing", added, "queue", "missing", "missing", 0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "name", "state", "sync", "restarts"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_row_says_how_the_container_stands(
    change: Callable[[World], None], name: str, state: str, sync: str, restarts: int
) -> None:
    world = World()
    change(world)
    row = world.rows()[name]
    assert (row.state, row.sync, row.restarts) == (state, sync, restarts)


def test_a_container_in_back_off_says_when_it_restarts() -> None:
    world = World()
    exited("web", 3, 4, 2)(world)  # the third restart waits 20 s after the exit
    row = world.rows()["web"]
    assert row.restart_at == NOW - 4 + 20
    assert row.exit_code == 3
    assert row.uptime(NOW) is None
    assert "exited (3), restart in 16s" in render_status(list(world.rows().values()), NOW, NS)


def test_without_manifests_there_is_no_sync_column_and_no_missing_row() -> None:
    world = World()
    added(world)
    rows = world.rows(with_manifest=False)
    assert "queue" not in rows
    assert {row.sync for row in rows.values()} == {None}
    text = render_status(list(rows.values()), NOW, NS)
    assert text.splitlines()[0].split() == [
        "NAME", "STATE", "RESTARTS", "UPTIME", "PORTS", "IMAGE", "ENGINE", "NAME",
    ]  # fmt: skip


def test_the_table_shows_uptime_ports_and_what_changed() -> None:
    world = World()
    edited(world)
    lines = render_status(list(world.rows().values()), NOW, NS).splitlines()
    assert lines[0].split()[-1] == "SYNC"
    web = next(line for line in lines if line.startswith("web "))
    assert "1h02m" in web and "127.0.0.1:8080->80/tcp" in web and web.endswith("in sync")
    cache = next(line for line in lines if line.startswith("cache "))
    assert cache.endswith("changed (image changed: redis:7 -> redis:7.2)")
    assert len(lines) == 1 + 3


def test_the_json_carries_every_row() -> None:
    world = World()
    added(world)
    document = status_to_dict(list(world.rows().values()), NOW, NS, "unix:///x.sock")
    by_name = {c["name"]: c for c in document["containers"]}
    assert by_name["web"]["uptime_seconds"] == 3725
    assert by_name["web"]["ports"] == [
        {"host_ip": "127.0.0.1", "host_port": 8080, "container_port": 80, "protocol": "tcp"}
    ]
    assert by_name["queue"] | {"ports": []} == {
        "name": "queue",
        "engine_name": specs(*world.wanted)[3].engine_name,
        "id": None,
        "image": "rabbitmq:3",
        "image_id": None,
        "state": "missing",
        "exit_code": None,
        "restarts": 0,
        "started_at": None,
        "uptime_seconds": None,
        "restart_at": None,
        "ports": [],
        "sync": "missing",
        "reason": "missing",
        "health": None,
        "probe": None,
        "probed_at": None,
    }


def test_an_empty_namespace_says_so() -> None:
    assert render_status([], NOW, NS) == "No containers in namespace ns.\n"


def test_ports_of_every_address_and_ipv6_are_shown_as_docker_ps_does() -> None:
    row = ContainerStatus(
        "x", "ns-x", "id", "img", "running",
        ports=(PortBinding(53, 5353, "udp", "::1"), PortBinding(80, 8080)),
    )  # fmt: skip
    text = render_status([row], NOW, NS)
    assert "[::1]:5353->53/udp, 0.0.0.0:8080->80/tcp" in text


def test_what_the_daemon_s_probes_found_is_shown_for_running_containers() -> None:
    world = World()
    exited("db", 1, 4, 0)(world)
    the_specs = specs(*world.wanted)
    the_plan = plan(the_specs, world.observed, NOW, PlanOptions(NS), None, world.restarts)
    found = {
        "id-web": Health("p", 3, "HTTP 500 from 127.0.0.1:8080/healthz", NOW - 5, NOW - 1, 9),
        "id-cache": Health("p", 0, "connected to 127.0.0.1:6379", None, NOW - 2, 4),
        "id-db": Health("p", 0, 'exec ["true"] exited 0', None, NOW - 9, 4),
    }
    rows = statuses(world.observed, {}, the_plan, {"web", "db", "cache"}, found)
    by_name = {row.name: row for row in rows}
    assert (by_name["web"].health, by_name["cache"].health) == ("unhealthy", "healthy")
    assert by_name["db"].health is None  # exited: no probe runs
    text = render_status(rows, NOW, NS)
    assert text.splitlines()[0].split()[-2:] == ["HEALTH", "SYNC"]
    web = next(line for line in text.splitlines() if line.startswith("web "))
    assert "unhealthy (HTTP 500 from 127.0.0.1:8080/healthz)" in web


@pytest.mark.parametrize(
    ("image_id", "shown"),
    [
        pytest.param("sha256:" + "0123456789abcdef" * 4, "sha256:0123456789ab", id="a full id"),
        pytest.param("0123456789abcdef" * 4, "sha256:0123456789ab", id="an id without sha256"),
        pytest.param("sha512:" + "f" * 128, "sha512:ffffffffffff", id="another algorithm"),
    ],
)
def test_status_shows_the_short_id_of_the_image_a_container_runs(image_id: str, shown: str) -> None:
    (web,) = specs(Container("web", "nginx:1.25"))
    rows = statuses([running(web, image_id=image_id)], {})
    text = render_status(rows, NOW, NS).splitlines()
    assert text[0].split()[5:8] == ["IMAGE", "IMAGE", "ID"]
    assert text[1].split()[5:7] == ["nginx:1.25", shown]
    (row,) = status_to_dict(rows, NOW, NS, "unix:///x.sock")["containers"]
    assert row["image_id"] == image_id


def test_an_image_listed_by_id_once_its_tag_moved_on_is_shown_short() -> None:
    (web,) = specs(Container("web", "127.0.0.1:5000/app:1"))
    moved = "sha256:" + "3a7f881abff9" + "0" * 52  # dockerd's listing, the tag pushed anew
    rows = statuses([running(web, image=moved, image_id=moved)], {})
    text = render_status(rows, NOW, NS).splitlines()
    assert text[1].split()[5:7] == ["sha256:3a7f881abff9", "sha256:3a7f881abff9"]
    (row,) = status_to_dict(rows, NOW, NS, "unix:///x.sock")["containers"]
    assert row["image"] == moved  # the JSON keeps what the engine said


def test_no_image_id_column_when_no_container_has_one() -> None:
    (web,) = specs(Container("web", "nginx:1.25"))
    text = render_status(statuses([running(web)], {}), NOW, NS)
    assert "IMAGE ID" not in text
