"""The planner as a table of sentences over one fixture: three healthy running containers.

Each case mutates the fixture (desired specs, observed containers, options) and
states the plan it expects as ``(verb, name, reason)`` in order; the reason is
matched as a substring, and given in full wherever it is known.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import attrs
import pytest

import agent.planning.planner
from agent.manifest.models import Container, EnvVar, Port, VolumeMount
from agent.manifest.probes import HttpCheck, Probe
from agent.planning.actions import Action, Join, Remove, Restart
from agent.planning.backoff import Backoff
from agent.planning.health import Health
from agent.planning.network import ObservedNetwork
from agent.planning.observed import ObservedContainer
from agent.planning.planner import PlanOptions, plan
from agent.planning.spec import RunSpec, build_specs

NS = "ns"
ROOT = "/export"
NOW = 1_700_000_000.0

CONTAINERS = (
    Container("web", "nginx:1.25", ports=(Port(80, 8080),)),
    Container(
        "db",
        "postgres:16",
        env=(EnvVar("POSTGRES_DB", "app"),),
        volume_mounts=(VolumeMount("data", "/var/lib/postgresql/data"),),
    ),
    Container("cache", "redis:7", command=("redis-server", "--save", "")),
)


def spec(name: str, **changes: Any) -> RunSpec:
    """The spec of the fixture container ``name``, rebuilt with ``changes`` to its manifest."""
    base = next(c for c in CONTAINERS if c.name == name)
    return build_specs([attrs.evolve(base, **changes)], NS, ROOT)[0]


def healthy(the_spec: RunSpec) -> ObservedContainer:
    """The running container the agent made from ``the_spec``."""
    return ObservedContainer(
        id=f"id-{the_spec.name}",
        engine_name=the_spec.engine_name,
        namespace=NS,
        name=the_spec.name,
        hash=the_spec.hash,
        state="running",
        image=the_spec.image,
    )


SPECS = {s.name: s for s in build_specs(CONTAINERS, NS, ROOT)}
NETWORK = "ns-net"
ON_ENGINE = ObservedNetwork(NETWORK, "id-net", NS)
WEB, DB, CACHE = SPECS["web"], SPECS["db"], SPECS["cache"]
DB_ENV_EDITED = spec("db", env=(EnvVar("POSTGRES_DB", "other"),))


@dataclass
class World:
    """What the planner is given; cases change it in place."""

    desired: list[RunSpec]
    observed: list[ObservedContainer]
    allow_removals: bool = True
    images: dict[str, str] = field(default_factory=dict)
    restarts: dict[str, int] = field(default_factory=dict)
    health: dict[str, Health] = field(default_factory=dict)
    network_name: str | None = None
    network: ObservedNetwork | None = None

    @classmethod
    def base(cls) -> World:
        return cls(list(SPECS.values()), [healthy(s) for s in SPECS.values()])

    @classmethod
    def networked(cls) -> World:
        """The three running on the namespace's network, which the engine has."""
        specs = build_specs(CONTAINERS, NS, ROOT, NETWORK)
        observed = [attrs.evolve(healthy(s), networks=(NETWORK,)) for s in specs]
        return cls(list(specs), observed, network_name=NETWORK, network=ON_ENGINE)

    def want(self, new: RunSpec) -> None:
        """Desire ``new`` instead of the spec of the same name (or in addition)."""
        names = [s.name for s in self.desired]
        if new.name in names:
            self.desired[names.index(new.name)] = new
        else:
            self.desired.append(new)

    def unwant(self, name: str) -> None:
        self.desired = [s for s in self.desired if s.name != name]

    def change(self, engine_name: str, **changes: Any) -> None:
        """Change the observed container called ``engine_name`` by the engine."""
        (index,) = [i for i, c in enumerate(self.observed) if c.engine_name == engine_name]
        self.observed[index] = attrs.evolve(self.observed[index], **changes)

    def lose(self, engine_name: str) -> None:
        self.observed = [c for c in self.observed if c.engine_name != engine_name]

    def add(self, container: ObservedContainer) -> None:
        self.observed.append(container)

    def plan(self) -> tuple[Action, ...]:
        options = PlanOptions(NS, self.allow_removals, network=self.network_name)
        return plan(
            self.desired,
            self.observed,
            NOW,
            options,
            self.images,
            self.restarts,
            self.health,
            self.network,
        ).actions


Mutation = Callable[[World], None]
Expected = Sequence[tuple[str, str, str]]


def stopped(name: str, state: str, code: int | None = None, policy: str = "Always") -> Mutation:
    """The container ``name`` is in ``state`` (exit ``code``) and its policy is ``policy``."""

    def mutate(world: World) -> None:
        world.want(spec(name, restart_policy=policy))
        world.change(SPECS[name].engine_name, state=state, exit_code=code, finished_at=NOW - 60)

    return mutate


def stranger(engine_name: str, namespace: str, name: str, **changes: Any) -> ObservedContainer:
    fields: dict[str, Any] = {"hash": "f" * 64, "state": "running", "image": "busybox"}
    fields.update(changes)
    return ObservedContainer(f"id-{engine_name}", engine_name, namespace, name, **fields)


def nothing(world: World) -> None:
    """All three running and matching."""


def env_edited(world: World) -> None:
    world.want(DB_ENV_EDITED)


def image_changed(world: World) -> None:
    world.want(spec("web", image="nginx:1.27"))


def changed_and_already_replaced(world: World) -> None:
    world.want(DB_ENV_EDITED)
    world.add(attrs.evolve(healthy(DB_ENV_EDITED), id="id-db-new"))


def cache_no_longer_desired(world: World) -> None:
    world.unwant("cache")


def removals_not_allowed(world: World) -> None:
    world.allow_removals = False
    world.unwant("cache")
    world.lose(DB.engine_name)
    world.add(stranger("ns-mystery", NS, "", hash=""))


def running_duplicate(world: World) -> None:
    copy_ = attrs.evolve(
        healthy(WEB), id="id-web-copy", engine_name="ns-web-copy", state="exited", exit_code=0
    )
    world.observed.insert(0, copy_)


def both_exited_duplicate(world: World) -> None:
    world.change(WEB.engine_name, state="exited", exit_code=1, finished_at=NOW - 600)
    world.add(
        attrs.evolve(
            healthy(WEB),
            id="id-web-copy",
            engine_name="ns-web-copy",
            state="exited",
            exit_code=1,
            finished_at=NOW - 5,
        )
    )


def other_namespaces(world: World) -> None:
    world.add(stranger("other-web", "other", "web", state="exited", exit_code=1))
    world.add(stranger("other-stray", "other", "stray", state="dead"))
    world.add(stranger("unlabelled", "", "", hash=""))


def no_name_label(world: World) -> None:
    world.add(stranger("ns-mystery", NS, "", hash=""))


def everything_at_once(world: World) -> None:
    """One changed, two exited, one new and two leftovers, each listed out of order."""
    world.want(spec("web", image="nginx:1.27"))
    world.want(build_specs([Container("api", "api:1")], NS, ROOT)[0])
    world.change(DB.engine_name, state="exited", exit_code=1)
    world.change(CACHE.engine_name, state="exited", exit_code=2)
    world.add(stranger("ns-zeta", NS, "zeta"))
    world.add(stranger("ns-alpha", NS, "alpha"))


def image_changed_with_ids(world: World) -> None:
    image_changed(world)
    world.change(WEB.engine_name, image_id="sha256:aaaaaaaaaaaaaaaa")
    world.images["nginx:1.27"] = "sha256:cccccccccccccccc"


def image_changed_new_id_unknown(world: World) -> None:
    image_changed(world)
    world.change(WEB.engine_name, image_id="sha256:aaaaaaaaaaaaaaaa")


def pulled_new_image(world: World) -> None:
    world.want(spec("web", image_pull_policy="Always"))
    world.change(WEB.engine_name, image_id="sha256:aaaaaaaaaaaaaaaa")
    world.images["nginx:1.25"] = "sha256:bbbbbbbbbbbbbbbb"


def pulled_new_image_if_not_present(world: World) -> None:
    world.change(WEB.engine_name, image_id="sha256:aaaaaaaaaaaaaaaa")
    world.images["nginx:1.25"] = "sha256:bbbbbbbbbbbbbbbb"


def pulled_same_image(world: World) -> None:
    world.change(WEB.engine_name, image_id="sha256:aaaaaaaaaaaaaaaa")
    world.images["nginx:1.25"] = "sha256:aaaaaaaaaaaaaaaa"


def pulled_but_no_image_label(world: World) -> None:
    world.images["nginx:1.25"] = "sha256:bbbbbbbbbbbbbbbb"


def crashed(restarts: int, ago: float, ran: float = 1.0) -> Mutation:
    """db exited 1 ``ago`` seconds before NOW, after running ``ran`` seconds, having
    been restarted ``restarts`` times in its crash loop."""

    def mutate(world: World) -> None:
        world.change(
            DB.engine_name,
            state="exited",
            exit_code=1,
            started_at=NOW - ago - ran,
            finished_at=NOW - ago,
        )
        world.restarts[f"id-{DB.name}"] = restarts

    return mutate


PROBE = Probe(HttpCheck(80, "/healthz"))
SAID = "HTTP 500 from 127.0.0.1:8080/healthz"


def unhealthy(
    ago: float | None,
    restarts: int = 0,
    failures: int = 3,
    probe: Probe = PROBE,
    watched: float = 60,
    wanted: Probe | None = PROBE,
) -> Mutation:
    """web's probe failed ``failures`` times in a row; it turned unhealthy ``ago`` seconds
    ago (None: not yet), after ``restarts`` restarts, watched ``watched`` seconds before."""

    def mutate(world: World) -> None:
        world.want(attrs.evolve(WEB, liveness_probe=wanted))
        since = None if ago is None else NOW - ago
        world.health[f"id-{WEB.name}"] = Health(
            probe.fingerprint, failures, SAID, since, NOW, failures, NOW - (ago or 0) - watched
        )
        world.restarts[f"id-{WEB.name}"] = restarts

    return mutate


def unhealthy_and_exited(world: World) -> None:
    unhealthy(1)(world)
    world.change(WEB.engine_name, state="exited", exit_code=137, finished_at=NOW - 1)


def crashed_and_web_lost(world: World) -> None:
    crashed(3, 1)(world)
    world.lose(WEB.engine_name)


CASES: dict[str, tuple[Mutation, Expected]] = {
    "web failed its probe 3 times just now -> restart it at once": (
        unhealthy(0),
        [("restart", "web", f"liveness probe failed 3 times: {SAID}")],
    ),
    "2 failures, under the threshold -> nothing": (unhealthy(None, failures=2), []),
    "unhealthy again 5 s after its first restart -> wait out the 10 s back-off": (
        unhealthy(5, restarts=1),
        [("wait", "web", f"back-off: liveness probe failed 3 times: {SAID}; restart in 5s")],
    ),
    "unhealthy again 10 s after its first restart -> restart": (
        unhealthy(10, restarts=1),
        [("restart", "web", "liveness probe failed 3 times")],
    ),
    "unhealthy a fourth time, 25 s ago -> wait, the back-off doubled to 40 s": (
        unhealthy(25, restarts=3),
        [("wait", "web", "restart in 15s")],
    ),
    "healthy for ten minutes before it turned unhealthy -> the back-off starts afresh": (
        unhealthy(1, restarts=9, watched=600),
        [("restart", "web", "liveness probe failed 3 times")],
    ),
    "unhealthy under a probe the manifest has since changed -> nothing, counted afresh": (
        unhealthy(0, wanted=Probe(HttpCheck(80, "/ready"))),
        [],
    ),
    "unhealthy but the manifest has no probe any more -> nothing": (
        unhealthy(0, wanted=None),
        [],
    ),
    "unhealthy and then exited -> handled as the exit": (
        unhealthy_and_exited,
        [("restart", "web", "exited 137")],
    ),
    "the first crash -> restart at once": (crashed(0, 1), [("restart", "db", "exited 1")]),
    "a second crash 5 s ago -> wait out the 10 s back-off": (
        crashed(1, 5),
        [("wait", "db", "back-off: exited 1, restart in 5s")],
    ),
    "a second crash 10 s ago -> restart": (
        crashed(1, 10),
        [("restart", "db", "exited 1, back-off 10s elapsed")],
    ),
    "a fourth crash 25 s ago -> wait, the back-off doubled to 40 s": (
        crashed(3, 25),
        [("wait", "db", "back-off: exited 1, restart in 15s")],
    ),
    "the tenth crash -> the back-off is capped at 300 s": (
        crashed(9, 299.5),
        [("wait", "db", "back-off: exited 1, restart in 1s")],
    ),
    "the tenth crash 300 s ago -> restart": (
        crashed(9, 300),
        [("restart", "db", "exited 1, back-off 300s elapsed")],
    ),
    "ran ten minutes before it crashed -> the back-off starts afresh": (
        crashed(9, 1, ran=600),
        [("restart", "db", "exited 1")],
    ),
    "waiting comes after every change": (
        crashed_and_web_lost,
        [("start", "web", "missing"), ("wait", "db", "back-off: exited 1, restart in 39s")],
    ),
    "the tag now names a new image -> replace": (
        pulled_new_image,
        [
            ("remove", "web", "image changed: nginx:1.25 is now sha256:bbbbbbbbbbbb"),
            ("start", "web", "image changed: sha256:aaaaaaaaaaaa -> sha256:bbbbbbbbbbbb"),
        ],
    ),
    "the tag names a new image under IfNotPresent -> nothing": (
        pulled_new_image_if_not_present,
        [],
    ),
    "the tag still names the same image -> nothing": (pulled_same_image, []),
    "a container without an image id label is not replaced on a pull": (
        pulled_but_no_image_label,
        [],
    ),
    "all running and matching -> no actions": (nothing, []),
    "a desired container is missing -> start it": (
        lambda w: w.lose(DB.engine_name),
        [("start", "db", "missing")],
    ),
    "exited 1 -> restart": (stopped("db", "exited", 1), [("restart", "db", "exited 1")]),
    "exited 0 under Always -> restart": (
        stopped("db", "exited", 0, "Always"),
        [("restart", "db", "exited 0")],
    ),
    "exited 0 under OnFailure -> nothing": (stopped("db", "exited", 0, "OnFailure"), []),
    "exited 1 under OnFailure -> restart": (
        stopped("db", "exited", 1, "OnFailure"),
        [("restart", "db", "exited 1")],
    ),
    "exited with an unknown code under OnFailure -> restart": (
        stopped("db", "exited", None, "OnFailure"),
        [("restart", "db", "exited")],
    ),
    "exited 1 under Never -> nothing": (stopped("db", "exited", 1, "Never"), []),
    "exited 0 under Never -> nothing": (stopped("db", "exited", 0, "Never"), []),
    "created but never started -> restart": (
        stopped("db", "created"),
        [("restart", "db", "created but never started")],
    ),
    "created but never started under Never -> restart all the same": (
        stopped("db", "created", policy="Never"),
        [("restart", "db", "created but never started")],
    ),
    "dead -> remove it, then start a new one": (
        stopped("db", "dead"),
        [("remove", "db", "dead"), ("start", "db", f"replaces dead {DB.engine_name}")],
    ),
    "env edited -> remove the old container before starting the new one": (
        env_edited,
        [
            ("remove", "db", f"spec changed (hash {DB.hash[:8]} -> {DB_ENV_EDITED.hash[:8]})"),
            ("start", "db", "replaces a changed container"),
        ],
    ),
    "image changed -> the reason names the old and the new image": (
        image_changed,
        [
            ("remove", "web", "image changed: nginx:1.25 -> nginx:1.27"),
            ("start", "web", "replaces a changed container"),
        ],
    ),
    "image changed, both ids known -> the reason names their short ids too": (
        image_changed_with_ids,
        [
            (
                "remove",
                "web",
                "image changed: nginx:1.25 -> nginx:1.27 "
                "(sha256:aaaaaaaaaaaa -> sha256:cccccccccccc)",
            ),
            ("start", "web", "replaces a changed container"),
        ],
    ),
    "image changed, the new id unknown -> the references alone": (
        image_changed_new_id_unknown,
        [
            ("remove", "web", "image changed: nginx:1.25 -> nginx:1.27"),
            ("start", "web", "replaces a changed container"),
        ],
    ),
    "changed and already replaced -> remove only the old one": (
        changed_and_already_replaced,
        [("remove", "db", "spec changed")],
    ),
    "a container no longer desired -> remove it": (
        cache_no_longer_desired,
        [("remove", "cache", "not in the manifest any more")],
    ),
    "removals not allowed -> nothing removed, starts still happen": (
        removals_not_allowed,
        [("start", "db", "missing")],
    ),
    "two identical containers -> keep the running one, remove the extra": (
        running_duplicate,
        [("remove", "web", f"duplicate of {WEB.engine_name}")],
    ),
    "two identical exited containers -> restart the last to finish, remove the other": (
        both_exited_duplicate,
        [("remove", "web", "duplicate of ns-web-copy"), ("restart", "web", "exited 1")],
    ),
    "containers of other namespaces -> never touched": (other_namespaces, []),
    "our namespace but no name label -> remove it": (
        no_name_label,
        [("remove", "", "has no name label")],
    ),
    "paused -> nothing": (stopped("db", "paused"), []),
    "restarting -> nothing": (stopped("db", "restarting", 1), []),
    "being removed -> nothing": (stopped("db", "removing"), []),
    "removes, then restarts, then starts, each sorted by name": (
        everything_at_once,
        [
            ("remove", "alpha", "not in the manifest any more"),
            ("remove", "web", "image changed: nginx:1.25 -> nginx:1.27"),
            ("remove", "zeta", "not in the manifest any more"),
            ("restart", "cache", "exited 2"),
            ("restart", "db", "exited 1"),
            ("start", "api", "missing"),
            ("start", "web", "replaces a changed container"),
        ],
    ),
}


def _shape(actions: Sequence[Action], expected: Expected) -> list[tuple[str, str, str]]:
    """The actions as ``(verb, name, reason)``, with the reason cut to the expected
    substring where it contains it, so that a mismatch shows the whole reason."""
    parts = ([part for _, _, part in expected] + [""] * len(actions))[: len(actions)]
    return [
        (a.verb, a.name, part if part and part in a.reason else a.reason)
        for a, part in zip(actions, parts, strict=True)
    ]


@pytest.mark.parametrize(("mutate", "expected"), list(CASES.values()), ids=list(CASES))
def test_plan(mutate: Mutation, expected: Expected) -> None:
    world = World.base()
    mutate(world)
    assert _shape(world.plan(), expected) == list(expected)


def on_networks(*networks: str, names: Sequence[str] = ("web", "db", "cache")) -> Mutation:
    """The containers ``names`` are on these networks only (made by an older agent, or
    with the network off: on the engine's default one)."""

    def mutate(world: World) -> None:
        for container in list(world.observed):
            if container.name in names:
                world.change(container.engine_name, networks=networks)

    return mutate


def network_gone(world: World) -> None:
    world.network = None


def nothing_on_the_engine(world: World) -> None:
    world.network = None
    world.observed = []


def older_agent_and_no_network(world: World) -> None:
    on_networks("bridge")(world)
    world.network = None


def nothing_desired(world: World) -> None:
    world.desired = []


def nothing_desired_and_no_network(world: World) -> None:
    world.desired = []
    world.network = None


def nothing_desired_but_removals_not_allowed(world: World) -> None:
    world.desired = []
    world.allow_removals = False


def network_off(world: World) -> None:
    on_networks("bridge")(world)
    world.network_name = None
    world.desired = list(SPECS.values())


def network_off_and_nothing_desired(world: World) -> None:
    network_off(world)
    world.desired = []


def with_aliases(world: World) -> None:
    on_networks("bridge", names=["web"])(world)
    web = build_specs([attrs.evolve(CONTAINERS[0], aliases=("www", "front"))], NS, ROOT, NETWORK)
    world.want(web[0])
    world.change(WEB.engine_name, hash=web[0].hash)


def db_exited_off_the_network(world: World) -> None:
    on_networks("bridge", names=["db"])(world)
    world.change(DB.engine_name, state="exited", exit_code=1, finished_at=NOW - 60)


def db_changed_off_the_network(world: World) -> None:
    on_networks("bridge", names=["db"])(world)
    world.want(
        build_specs([attrs.evolve(CONTAINERS[1], image="postgres:17")], NS, ROOT, NETWORK)[0]
    )


def db_being_removed_off_the_network(world: World) -> None:
    on_networks(names=["db"])(world)
    world.change(DB.engine_name, state="removing")


def listing_without_networks(world: World) -> None:
    for container in list(world.observed):
        world.change(container.engine_name, networks=None)


def host_network_only(world: World) -> None:
    """Every container on the host's network (a konlet declaration's): none needs the
    namespace's network, and none is on an engine network to leave."""
    on_networks("host")(world)
    world.desired = [attrs.evolve(spec, host_network=True, network=None) for spec in world.desired]
    world.network = None


def host_network_beside_others(world: World) -> None:
    on_networks("host", names=["web"])(world)
    world.want(attrs.evolve(SPECS["web"], host_network=True, network=None))


JOINED = "not on network ns-net: joins it in place as"
MADE = "missing: the namespace's containers reach each other by name on it"
NETWORK_CASES: dict[str, tuple[Mutation, Expected]] = {
    "all three on the namespace's network -> nothing": (nothing, []),
    "nothing on the engine -> make the network once, then start all three": (
        nothing_on_the_engine,
        [
            ("create-network", NETWORK, MADE),
            ("start", "cache", "missing"),
            ("start", "db", "missing"),
            ("start", "web", "missing"),
        ],
    ),
    "containers of an older agent, the network there -> each joins in place": (
        on_networks("bridge"),
        [
            ("join", "cache", f"{JOINED} cache"),
            ("join", "db", f"{JOINED} db"),
            ("join", "web", f"{JOINED} web"),
        ],
    ),
    "containers of an older agent, no network -> make it, then each joins": (
        older_agent_and_no_network,
        [
            ("create-network", NETWORK, MADE),
            ("join", "cache", JOINED),
            ("join", "db", JOINED),
            ("join", "web", JOINED),
        ],
    ),
    "the network was removed under running containers -> make it again": (
        network_gone,
        [("create-network", NETWORK, MADE)],
    ),
    "a container with aliases joins under its name and its aliases": (
        with_aliases,
        [("join", "web", f"{JOINED} web, www, front")],
    ),
    "an exited container off the network -> joins, then restarts": (
        db_exited_off_the_network,
        [("join", "db", JOINED), ("restart", "db", "exited 1")],
    ),
    "a changed container off the network -> replaced, its successor made on it": (
        db_changed_off_the_network,
        [
            ("remove", "db", "image changed: postgres:16 -> postgres:17"),
            ("start", "db", "replaces a changed container"),
        ],
    ),
    "a container being removed does not join": (db_being_removed_off_the_network, []),
    "a listing that does not name networks -> nothing to join": (listing_without_networks, []),
    "nothing desired -> remove every container, then the network": (
        nothing_desired,
        [
            ("remove", "cache", "not in the manifest any more"),
            ("remove", "db", "not in the manifest any more"),
            ("remove", "web", "not in the manifest any more"),
            ("remove-network", NETWORK, "no container of the namespace is left"),
        ],
    ),
    "nothing desired and no network -> the removals only": (
        nothing_desired_and_no_network,
        [
            ("remove", "cache", "not in the manifest any more"),
            ("remove", "db", "not in the manifest any more"),
            ("remove", "web", "not in the manifest any more"),
        ],
    ),
    "nothing desired but removals not allowed -> nothing, the network stays": (
        nothing_desired_but_removals_not_allowed,
        [],
    ),
    "only host-network containers -> no network made, nothing joins": (host_network_only, []),
    "a host-network container beside others -> it alone does not join": (
        host_network_beside_others,
        [],
    ),
    "the network off, containers off it -> nothing joins": (network_off, []),
    "the network off and nothing desired -> the namespace's network goes all the same": (
        network_off_and_nothing_desired,
        [
            ("remove", "cache", "not in the manifest any more"),
            ("remove", "db", "not in the manifest any more"),
            ("remove", "web", "not in the manifest any more"),
            ("remove-network", NETWORK, "no container of the namespace is left"),
        ],
    ),
}


@pytest.mark.parametrize(
    ("mutate", "expected"), list(NETWORK_CASES.values()), ids=list(NETWORK_CASES)
)
def test_plan_with_the_network(mutate: Mutation, expected: Expected) -> None:
    world = World.networked()
    mutate(world)
    assert _shape(world.plan(), expected) == list(expected)


def test_the_network_is_no_part_of_the_hash() -> None:
    on, off = build_specs(CONTAINERS, NS, ROOT, NETWORK), build_specs(CONTAINERS, NS, ROOT)
    assert [s.hash for s in on] == [s.hash for s in off]
    assert [s.network for s in on] == [NETWORK] * 3
    assert [s.network for s in off] == [None] * 3


def test_aliases_are_hashed_only_when_given() -> None:
    plain = build_specs([CONTAINERS[0]], NS, ROOT)[0]
    aliased = build_specs([attrs.evolve(CONTAINERS[0], aliases=("www",))], NS, ROOT)[0]
    reordered = build_specs([attrs.evolve(CONTAINERS[0], aliases=("b", "a"))], NS, ROOT)[0]
    sorted_ = build_specs([attrs.evolve(CONTAINERS[0], aliases=("a", "b"))], NS, ROOT)[0]
    assert plain.hash == WEB.hash != aliased.hash
    assert reordered.hash == sorted_.hash
    assert aliased.network_aliases == ("web", "www")


def test_a_join_carries_the_network_and_every_name() -> None:
    world = World.networked()
    with_aliases(world)
    (join,) = world.plan()
    assert isinstance(join, Join)
    assert (join.network, join.aliases, join.container.id) == (
        NETWORK,
        ("web", "www", "front"),
        "id-web",
    )


@pytest.mark.parametrize(
    ("mutate", "kept", "removed"),
    [
        pytest.param(running_duplicate, None, "id-web-copy", id="the running one is kept"),
        pytest.param(
            both_exited_duplicate, "id-web-copy", "id-web", id="the last to finish is kept"
        ),
    ],
)
def test_duplicates_keep_the_right_container(
    mutate: Mutation, kept: str | None, removed: str
) -> None:
    world = World.base()
    mutate(world)
    actions = world.plan()
    assert [a.container.id for a in actions if isinstance(a, Remove)] == [removed]
    assert [a.container.id for a in actions if isinstance(a, Restart)] == ([kept] if kept else [])


def test_removal_targets_the_old_container_and_start_the_new_spec() -> None:
    world = World.base()
    env_edited(world)
    remove, start = world.plan()
    assert isinstance(remove, Remove)
    assert remove.container.id == "id-db"
    assert remove.engine_name == DB.engine_name
    assert start.engine_name == DB_ENV_EDITED.engine_name != DB.engine_name


def test_same_inputs_give_equal_plans_and_are_not_mutated() -> None:
    world = World.base()
    everything_at_once(world)
    desired, observed = tuple(world.desired), tuple(world.observed)
    before = copy.deepcopy((desired, observed))
    options = PlanOptions(NS)
    first = plan(desired, observed, NOW, options)
    second = plan(desired, observed, NOW, options)
    assert first == second
    assert (desired, observed) == before
    assert plan(list(desired), iter(observed), NOW + 3600, options) == first


def _imports(module: str) -> set[str]:
    """Every module named by an import statement in ``module``'s source, at any depth."""
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None
    with open(spec.origin, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
    return names


def test_planner_imports_no_backend_and_reads_no_clock_file_or_environment() -> None:
    assert _imports("agent.planning.planner") == {
        "__future__",
        "math",
        "collections.abc",
        "attrs",
        "agent.planning.actions",
        "agent.planning.backoff",
        "agent.planning.health",
        "agent.planning.network",
        "agent.planning.observed",
        "agent.planning.record",
        "agent.planning.rollout",
        "agent.manifest.reference",
        "agent.planning.spec",
    }
    source = inspect.getsource(agent.planning.planner)
    for forbidden in ("import backends", "time.", "datetime", "os.environ", "open(", "logging"):
        assert forbidden not in source


def test_nothing_the_planner_imports_imports_a_backend_clock_or_logger() -> None:
    seen: set[str] = set()
    todo = ["agent.planning.planner"]
    while todo:
        module = todo.pop()
        seen.add(module)
        todo += [m for m in _imports(module) if m.startswith("agent.") and m not in seen]
    closure = set().union(*(_imports(m) for m in seen))
    roots = {name.split(".")[0] for name in closure}
    assert not roots & {"backends", "time", "datetime", "os", "logging", "subprocess", "random"}
    assert seen == {
        "agent.planning.planner",
        "agent.planning.rollout",
        "agent.manifest.strategy",
        "agent.planning.actions",
        "agent.planning.backoff",
        "agent.manifest.reference",
        "agent.planning.record",
        "agent.planning.observed",
        "agent.planning.spec",
        "agent.manifest.models",
        "agent.manifest.schema",
        "agent.manifest.container_schema",
        "agent.manifest.volume_schema",
        "agent.manifest.fields",
        "agent.manifest.resources",
        "agent.manifest.quantity",
        "agent.manifest.ports",
        "agent.errors",
        "agent.planning.health",
        "agent.manifest.probes",
        "agent.manifest.probe_schema",
        "agent.manifest.declaration",
        "agent.planning.network",
    }


@pytest.mark.parametrize(("restarts", "attempt"), [(0, 1), (1, 2), (9, 10)])
def test_a_restart_carries_its_attempt_for_the_ledger(restarts: int, attempt: int) -> None:
    world = World.base()
    crashed(restarts, 1000)(world)
    (action,) = world.plan()
    assert isinstance(action, Restart)
    assert action.attempt == attempt


def test_an_unhealthy_container_is_stopped_before_it_is_started_again() -> None:
    world = World.base()
    unhealthy(0, restarts=2, watched=0)(world)
    world.health["id-web"] = attrs.evolve(world.health["id-web"], unhealthy_since=NOW - 20)
    (action,) = world.plan()
    assert isinstance(action, Restart)
    assert (action.stop_first, action.attempt) == (True, 3)
    crashed(0, 1)(world := World.base())
    (exit_restart,) = world.plan()
    assert isinstance(exit_restart, Restart) and not exit_restart.stop_first


def test_a_plan_of_waits_alone_is_no_change() -> None:
    world = World.base()
    crashed(2, 1)(world)
    the_plan = plan(world.desired, world.observed, NOW, PlanOptions(NS), restarts=world.restarts)
    assert [a.verb for a in the_plan.actions] == ["wait"]
    assert not the_plan.changes


def test_the_back_off_is_settable() -> None:
    world = World.base()
    crashed(3, 3)(world)
    options = PlanOptions(NS, backoff=Backoff(initial=1, max=2, reset=600))
    (action,) = plan(world.desired, world.observed, NOW, options, restarts=world.restarts).actions
    assert (action.verb, action.reason) == ("restart", "exited 1, back-off 2s elapsed")
