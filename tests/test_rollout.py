"""Rollouts, offline: the planner's table over one fixture (a running ``web`` whose spec
changed), the strategy's validation, and the executor's steps against the fake backend."""

from __future__ import annotations

from collections.abc import Callable

import attrs
import pytest

from agent.daemon.metrics import Metrics
from agent.engine.executor import execute
from agent.errors import ManifestError
from agent.manifest.models import Container, EnvVar, Manifest, Port, VolumeMount
from agent.manifest.probes import HttpCheck, Probe
from agent.manifest.strategy import UpdateStrategy
from agent.planning.actions import Plan, Rollback, Start
from agent.planning.health import Health
from agent.planning.observed import ObservedContainer
from agent.planning.planner import PlanOptions, plan
from agent.planning.record import encode
from agent.planning.rollout import (
    FailedRevision,
    RolloutInputs,
    RolloutRecord,
    group_revisions,
)
from agent.planning.spec import RunSpec, build_specs
from agent.state.rollouts import RolloutBook
from tests.fakes import FakeBackend
from tests.test_metrics import report, samples, value

NS = "ns"
NOW = 1_000_000.0
PROBE = Probe(HttpCheck(port=8080, path="/healthz"), period=1, failure_threshold=2)


@attrs.define
class World:
    """``web`` and ``api`` of one manifest, running at revision 1; the manifest asks for
    revision 2 of ``web`` (its env changed) and of ``api`` only when a case says so."""

    old: dict[str, RunSpec]
    new: dict[str, RunSpec]
    observed: list[ObservedContainer]
    strategy: UpdateStrategy = attrs.field(factory=lambda: UpdateStrategy(min_ready_seconds=10))
    records: dict[str, RolloutRecord] = attrs.field(factory=dict)
    failed: dict[str, FailedRevision] = attrs.field(factory=dict)
    images: dict[str, str] = attrs.field(factory=dict)
    health: dict[str, Health] = attrs.field(factory=dict)
    probing: bool = False
    changed: tuple[str, ...] = ("web",)
    pulled: dict[str, str] = attrs.field(factory=dict)

    @classmethod
    def base(cls, **web: object) -> World:
        kinds: dict[str, object] = {"ports": (Port(8080, 8080, host_ip="127.0.0.1"),)} | web
        old = cls._specs("1", kinds)
        new = cls._specs("2", kinds)
        observed = [cls.made(spec, "running") for spec in old.values()]
        return cls(old, new, observed)

    @staticmethod
    def _specs(value: str, web: dict[str, object]) -> dict[str, RunSpec]:
        made = build_specs(
            [
                Container("web", "web:1", env=(EnvVar("V", value),), **web),  # type: ignore[arg-type]
                Container("api", "api:1", env=(EnvVar("V", value),)),
            ],
            NS,
            "/export",
        )
        return {spec.name: spec for spec in made}

    @staticmethod
    def made(
        spec: RunSpec, state: str, code: int | None = None, ran: float = 60
    ) -> ObservedContainer:
        return ObservedContainer(
            f"id-{spec.name}-{spec.env[0][1]}", spec.engine_name, NS, spec.name, spec.hash,
            state, exit_code=code, image=spec.image, image_id=f"sha256:{spec.image}",
            started_at=NOW - ran, finished_at=NOW if state == "exited" else None,
            ports=spec.ports if state == "running" else (), record=encode(spec, "salt"),
        )  # fmt: skip

    def desired(self) -> list[RunSpec]:
        return [self.new[n] if n in self.changed else self.old[n] for n in ("web", "api")]

    def revision(self) -> str:
        return group_revisions(self.desired(), {"web": "m", "api": "m"})["m"]

    def under_way(self, ran: float, state: str = "running", code: int | None = None) -> None:
        """A rollout of ``web`` begun ``ran`` seconds ago: its new container is there."""
        self.records["web"] = RolloutRecord("id-web-1", self.new["web"].hash, NOW - ran)
        self.observed.append(self.made(self.new["web"], state, code, ran))

    def plan(self) -> Plan:
        inputs = RolloutInputs(
            {"web": self.strategy, "api": self.strategy},
            {"web": "m", "api": "m"},
            self.records,
            self.failed,
            self.images,
            self.probing,
        )
        return plan(
            self.desired(),
            self.observed,
            NOW,
            PlanOptions(NS),
            self.pulled,
            health=self.health,
            rollouts=inputs,
        )


Case = tuple[Callable[[World], None], list[tuple[str, str, str]]]


def no_port(world: World) -> None:
    fresh = World.base(ports=())
    world.old, world.new, world.observed = fresh.old, fresh.new, fresh.observed


def writes_a_volume(world: World) -> None:
    fresh = World.base(ports=(), volume_mounts=(VolumeMount("data", "/data"),))
    world.old, world.new, world.observed = fresh.old, fresh.new, fresh.observed


def recreate(world: World) -> None:
    world.strategy = UpdateStrategy("Recreate")


def old_exited(world: World) -> None:
    world.observed[0] = World.made(world.old["web"], "exited", 1)


def failed_before(world: World) -> None:
    world.failed["web"] = FailedRevision(
        world.new["web"].hash, "sha256:web:1", world.revision(), "exited 1 after 0s", NOW - 5
    )


def probed(world: World) -> None:
    world.new["web"] = attrs.evolve(world.new["web"], liveness_probe=PROBE)
    world.probing = True


def both_changed(world: World) -> None:
    world.changed = ("web", "api")


def steps(*mutations: Callable[[World], object]) -> Callable[[World], None]:
    """The mutations one after another."""

    def mutate(world: World) -> None:
        for mutation in mutations:
            mutation(world)

    return mutate


def ran(seconds: float, state: str = "running", code: int | None = None) -> Callable[[World], None]:
    """A rollout of ``web`` begun ``seconds`` ago, its new container ``state``."""
    return lambda world: world.under_way(seconds, state, code)


def probe_found(failures: int, last: str, unhealthy: bool) -> Callable[[World], None]:
    since = NOW - 1 if unhealthy else None
    found = Health(PROBE.fingerprint, failures, last, since, NOW - 1, 3)
    return lambda world: world.health.update({"id-web-2": found})


def record_only(world: World) -> None:
    """Killed after the record was written, before the new container was made."""
    world.records["web"] = RolloutRecord("id-web-1", world.new["web"].hash, NOW)


def killed_after_a_long_stop(world: World) -> None:
    """Killed after the new one started (1s ago), before its record was renewed: the
    record dates from before the old one's stop, 9s long."""
    world.under_way(1)
    world.records["web"] = attrs.evolve(world.records["web"], since=NOW - 10)


def paused(world: World) -> None:
    world.strategy = UpdateStrategy(on_failure="Pause")


def went_back(world: World) -> None:
    world.changed = ()


def image_moved(world: World) -> None:
    world.images["web:1"] = "sha256:newer"


def always(world: World) -> None:
    """``web`` under imagePullPolicy: Always, unchanged: only its tag may move on."""
    fresh = World.base(image_pull_policy="Always")
    world.old, world.new, world.observed = fresh.old, fresh.new, fresh.observed
    world.changed = ()


def pushed(world: World) -> None:
    """A pull found web:1 naming a new image id."""
    world.pulled["web:1"] = "sha256:cd34"


def digest_under_way(
    seconds: float, state: str = "running", code: int | None = None
) -> Callable[[World], None]:
    """A rollout of web:1's new id begun ``seconds`` ago (this pass pulled nothing: the
    engine's id of the tag is looked up), its new container ``state``."""

    def mutate(world: World) -> None:
        spec = attrs.evolve(world.old["web"], pinned="sha256:cd34")
        world.records["web"] = RolloutRecord("id-web-1", spec.hash, NOW - seconds)
        world.images["web:1"] = "sha256:cd34"
        made = World.made(spec, state, code, seconds)
        world.observed.append(attrs.evolve(made, id="id-web-new", image_id="sha256:cd34"))

    return mutate


def digest_failed(world: World) -> None:
    """The rollout of web:1's new id failed and was rolled back; the tag still names it."""
    world.failed["web"] = FailedRevision(
        world.old["web"].hash, "sha256:cd34", world.revision(), "exited 1 after 0s", NOW - 5
    )
    world.images["web:1"] = "sha256:cd34"


DIGESTS = "image changed: sha256:web:1 -> sha256:cd34"
NEW = "ns-web-REV1-cd34"
STOP_FIRST = "spec changed: env; stop-first: host port 8080/TCP in common"
HELD = (
    "held back: ns-web-REV2 failed its rollout (exited 1 after 0s); "
    "the manifest or the image must change, or --retry-failed"
)
WATCHED = "rolling out: ns-web-REV1 is kept until this one has run 10s"
CASES: dict[str, Case] = {
    "no claim in common -> the new one starts beside the old one": (
        no_port, [("start", "web", "spec changed: env; start-first")],
    ),
    "the same host port -> the old one is stopped first, and kept": (
        steps(), [("start", "web", STOP_FIRST)],
    ),
    "a volume it writes -> stop first": (
        writes_a_volume,
        [("start", "web", "spec changed: env; stop-first: volume /export/data in common")],
    ),
    "Recreate -> remove, then start, as always": (
        recreate,
        [("remove", "web", "spec changed: env"), ("start", "web", "replaces a changed container")],
    ),
    "the old one does not run -> nothing to fall back to: remove, then start": (
        old_exited,
        [("remove", "web", "spec changed: env"), ("start", "web", "replaces a changed container")],
    ),
    "the new one ran 3s of 10 -> watch it, the old one kept": (
        ran(3), [("watch", "web", WATCHED)],
    ),
    "the new one ran 10s -> the old one is removed": (
        ran(10), [("remove", "web", "rollout done: ns-web-REV2 ran 10s")],
    ),
    "the new one exited 1 -> roll back, saying how": (
        ran(2, "exited", 1),
        [("rollback", "web", "ns-web-REV2 exited 1 after 2s; back to ns-web-REV1")],
    ),
    "the new one is unhealthy under agent run -> roll back, saying why": (
        steps(probed, ran(3), probe_found(2, "HTTP 500", unhealthy=True)),
        [("rollback", "web", "ns-web-REV2 liveness probe failed 2 times: HTTP 500; "
          "back to ns-web-REV1")],
    ),
    "ran 10s but no probe result yet under agent run -> watch it": (
        steps(probed, ran(10)),
        [("watch", "web", "rolling out: ns-web-REV1 is kept until its first probe")],
    ),
    "ran 10s with a probe that passes -> the old one is removed": (
        steps(probed, ran(10), probe_found(0, "HTTP 200", unhealthy=False)),
        [("remove", "web", "rollout done: ns-web-REV2 ran 10s, its probe passes")],
    ),
    "a revision that failed -> held back, the old one left running": (
        failed_before, [("held", "web", HELD)],
    ),
    "a revision that failed, the manifest changed since -> tried again": (
        steps(failed_before, both_changed),
        [("start", "web", STOP_FIRST), ("watch", "api", "waits its turn: 1 replaced at once")],
    ),
    "a revision that failed, its image moved since -> tried again": (
        steps(failed_before, image_moved), [("start", "web", STOP_FIRST)],
    ),
    "two changed, one at once -> the second waits its turn": (
        steps(no_port, both_changed),
        [
            ("start", "web", "spec changed: env; start-first"),
            ("watch", "api", "waits its turn: 1 replaced at once"),
        ],
    ),
    "two changed, one being rolled out -> the other waits": (
        steps(both_changed, ran(3)),
        [("watch", "api", "waits its turn: 1 replaced at once"), ("watch", "web", WATCHED)],
    ),
    "a failure in the manifest -> no further container of it is replaced": (
        steps(both_changed, failed_before),
        [
            ("held", "api", "rollout of its manifest stopped: web failed: exited 1 after 0s"),
            ("held", "web", HELD),
        ],
    ),
    "killed before the new one started -> the rollout resumes": (
        record_only,
        [("start", "web", "rollout resumed: replaces ns-web-REV1; "
          "stop-first: host port 8080/TCP in common")],
    ),
    "killed in a rollback after the new one went -> the old one is started again": (
        steps(failed_before, record_only),
        [("rollback", "web", "ns-web-REV2 exited 1 after 0s; back to ns-web-REV1")],
    ),
    "killed before the record was renewed, the stop long -> its own start counts": (
        killed_after_a_long_stop, [("watch", "web", WATCHED)],
    ),
    "Always, the tag names a new id -> rolled out like a change of spec": (
        steps(always, pushed),
        [("start", "web", f"{DIGESTS}; stop-first: host port 8080/TCP in common")],
    ),
    "Always, the same id -> nothing": (steps(always), []),
    "Always, the new id ran 3s of 10 -> watched, the old one kept": (
        steps(always, digest_under_way(3)),
        [("watch", "web", "rolling out: ns-web-REV1 is kept until this one has run 10s")],
    ),
    "Always, the new id ran 10s -> the old one is removed": (
        steps(always, digest_under_way(10)),
        [("remove", "web", f"rollout done: {NEW} ran 10s")],
    ),
    "Always, the new id exited -> rolled back": (
        steps(always, digest_under_way(2, "exited", 1)),
        [("rollback", "web", f"{NEW} exited 1 after 2s; back to ns-web-REV1")],
    ),
    "Always, the new id failed, the tag still names it -> held back": (
        steps(always, digest_failed),
        [("held", "web", f"held back: {NEW} failed its rollout (exited 1 after 0s); "
          "the manifest or the image must change, or --retry-failed")],
    ),
    "Always, the new id failed, and a newer one is pulled -> rolled out": (
        steps(always, digest_failed, lambda w: w.pulled.update({"web:1": "sha256:ef56"})),
        [("start", "web", "image changed: sha256:web:1 -> sha256:ef56; "
          "stop-first: host port 8080/TCP in common")],
    ),
    "Always under Recreate -> removed, then started, as always": (
        steps(always, pushed, recreate),
        [("remove", "web", "image changed: web:1 is now sha256:cd34"),
         ("start", "web", DIGESTS)],
    ),
    "Pause -> the failed one is left, and so is the old one": (
        steps(paused, ran(2, "exited", 1)),
        [("rollback", "web", "ns-web-REV2 exited 1 after 2s; rollout paused")],
    ),
    "the manifest went back during a rollout -> the new one goes": (
        steps(ran(3), went_back), [("remove", "web", "spec changed: env")],
    ),
}  # fmt: skip


def _shape(world: World) -> list[tuple[str, str, str]]:
    hashes = {world.old["web"].hash[:8]: "REV1", world.new["web"].hash[:8]: "REV2"}
    shown = []
    for action in world.plan().actions:
        reason = action.reason
        for short, word in hashes.items():
            reason = reason.replace(short, word)
        shown.append((action.verb, action.name, reason))
    return shown


@pytest.mark.parametrize(("mutate", "expected"), list(CASES.values()), ids=list(CASES))
def test_rollout(mutate: Callable[[World], None], expected: list[tuple[str, str, str]]) -> None:
    world = World.base()
    mutate(world)
    assert _shape(world) == expected


def test_a_moot_record_is_settled() -> None:
    world = World.base()
    world.under_way(3)
    world.changed = ()
    assert world.plan().settled == {"web"}


def test_a_rollback_carries_the_revision_to_hold_back() -> None:
    world = World.base()
    world.under_way(2, "exited", 1)
    (rollback,) = world.plan().actions
    assert isinstance(rollback, Rollback)
    assert rollback.revision == FailedRevision(
        world.new["web"].hash, "sha256:web:1", world.revision(), "exited 1 after 2s", NOW
    )


STRATEGY_ERRORS = {
    "a word it does not know": (
        {"type": "BlueGreen"},
        "updateStrategy.type: must be one of RollingUpdate, Recreate, got 'BlueGreen'",
    ),
    "none at once": (
        {"rollingUpdate": {"maxUnavailable": 0}},
        "updateStrategy.rollingUpdate.maxUnavailable: must be between 1 and 1000, got 0",
    ),
    "a healthy time of a string": (
        {"minReadySeconds": "10s"},
        "updateStrategy.minReadySeconds: must be an integer, got '10s' (a string)",
    ),
    "an unknown field": (
        {"minReady": 3},
        'updateStrategy.minReady: unknown field, did you mean "minReadySeconds"?',
    ),
    "a failure action it does not know": (
        {"onFailure": "retry"},
        "updateStrategy.onFailure: must be one of Rollback, Pause, got 'retry'",
    ),
}


@pytest.mark.parametrize(
    ("given", "error"), list(STRATEGY_ERRORS.values()), ids=list(STRATEGY_ERRORS)
)
def test_a_bad_strategy_names_the_file_and_field(given: object, error: str) -> None:
    data = {"version": "v1beta1", "containers": [], "updateStrategy": given}
    with pytest.raises(ManifestError) as caught:
        Manifest.from_dict(data, "containers.yaml")
    assert str(caught.value).startswith(f"containers.yaml: {error}")


def test_a_strategy_takes_the_defaults_for_what_it_leaves_out() -> None:
    data = {"version": "v1beta1", "containers": [], "updateStrategy": {"minReadySeconds": 2}}
    assert Manifest.from_dict(data).update_strategy == UpdateStrategy(min_ready_seconds=2)


def _started(world: World, backend: FakeBackend, book: RolloutBook) -> None:
    (start,) = [a for a in world.plan().actions if isinstance(a, Start)]
    execute(Plan((start,)), backend, book=book)


def test_a_stop_first_rollout_stops_the_old_one_and_keeps_it() -> None:
    world, backend, book = World.base(), FakeBackend(), RolloutBook()
    _started(world, backend, book)
    assert [call[0] for call in backend.calls] == ["stop", "create", "start"]
    assert backend.calls[0][1] == "id-web-1"
    assert book.records()["web"].previous == "id-web-1"


def test_a_new_one_that_cannot_start_fails_the_rollout_and_the_old_one_runs_again() -> None:
    world, backend, book = World.base(), FakeBackend(), RolloutBook()
    backend.fail("start", "new-web", "port is already allocated")
    _started(world, backend, book)
    assert backend.calls[-1] == ("start", "id-web-1")
    assert "web" not in book.records()
    assert book.failed()["web"].reason == "failed to start: port is already allocated"


def test_a_rollback_removes_the_new_one_and_starts_the_old_one() -> None:
    world, backend, book = World.base(), FakeBackend(), RolloutBook()
    world.observed[0] = World.made(world.old["web"], "exited", 143)
    world.under_way(2, "exited", 1)
    book.begin("web", world.records["web"])
    execute(world.plan(), backend, book=book)
    assert backend.calls == [
        ("stop", "id-web-2", "10"),
        ("remove", "id-web-2"),
        ("start", "id-web-1"),
    ]
    assert "web" not in book.records() and "web" in book.failed()


def test_the_metrics_count_rollouts_and_show_those_under_way_and_held_back() -> None:
    world = World.base()
    world.under_way(2, "exited", 1)
    (rollback,) = world.plan().actions
    begin = World.base().plan().actions[0]
    watched, held = World.base(), World.base()
    watched.under_way(3)
    failed_before(held)
    metrics = Metrics("fake")
    metrics(report(actions=[(begin, None), (rollback, None)]))
    metrics(report(actions=[(watched.plan().actions[0], None), (held.plan().actions[0], None)]))
    found = samples(metrics)
    assert value(found, "container_agent_rollouts_total", result="started") == 1
    assert value(found, "container_agent_rollouts_total", result="rolled_back") == 1
    assert value(found, "container_agent_rollouts_total", result="completed") == 0
    assert value(found, "container_agent_rollouts_in_progress") == 1
    assert value(found, "container_agent_held_back_containers") == 1
