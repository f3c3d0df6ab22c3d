"""The executor against an in-memory backend that records its calls."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from itertools import pairwise
from pathlib import Path

import attrs
import pytest

from agent.actions import CreateNetwork, Join, Plan, Remove, RemoveNetwork, Restart, Start
from agent.executor import ActionResult, execute
from agent.images import Images
from agent.manifest import Container, HostDir, Port, VolumeMount
from agent.network import ObservedNetwork
from agent.observed import ObservedContainer
from agent.restarts import RestartLedger
from agent.spec import PortBinding, RunSpec, build_specs
from backends.errors import BackendError, EngineUnreachable, NotFound
from tests.fakes import Call, FakeBackend

NS = "ns"
PORT_IN_USE = "Bind for 0.0.0.0:8080 failed: port is already allocated"


def specs(volumes_root: Path) -> dict[str, RunSpec]:
    containers = [
        Container(
            "web",
            "nginx:1.25",
            ports=(Port(80, 8080),),
            volume_mounts=(VolumeMount("html", "/usr/share/nginx/html", read_only=True),),
        ),
        Container(
            "api", "api:1", volume_mounts=(VolumeMount("data", "/data"), VolumeMount("logs", "/l"))
        ),
    ]
    return {s.name: s for s in build_specs(containers, NS, str(volumes_root))}


def observed(name: str, state: str = "running") -> ObservedContainer:
    return ObservedContainer(f"id-{name}", f"ns-{name}-00000000", NS, name, "0" * 64, state)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "volumes"


@pytest.fixture
def web(root: Path) -> RunSpec:
    return specs(root)["web"]


@pytest.fixture
def api(root: Path) -> RunSpec:
    return specs(root)["api"]


def test_an_empty_plan_calls_nothing() -> None:
    backend = FakeBackend()
    assert execute(Plan(), backend) == ()
    assert backend.calls == []


def test_remove_restart_start_call_the_engine_in_plan_order(web: RunSpec) -> None:
    the_plan = Plan(
        (
            Remove(observed("cache"), "not in the manifest any more"),
            Restart(observed("db", "exited"), "exited 1"),
            Start(web, "missing"),
        )
    )
    backend = FakeBackend()
    results = execute(the_plan, backend, stop_timeout=7)
    assert backend.calls == [
        ("stop", "id-cache", "7"),
        ("remove", "id-cache"),
        ("start", "id-db"),
        ("create", web.engine_name),
        ("start", "new-web"),
    ]
    assert results == (
        ActionResult(the_plan.actions[0], container_id="id-cache"),
        ActionResult(the_plan.actions[1], container_id="id-db"),
        ActionResult(the_plan.actions[2], container_id="new-web"),
    )
    assert all(result.ok for result in results)


def test_stop_timeout_defaults_to_ten_seconds() -> None:
    backend = FakeBackend()
    execute(Plan((Remove(observed("cache"), "dead"),)), backend)
    assert backend.calls == [("stop", "id-cache", "10"), ("remove", "id-cache")]


def test_a_failed_start_is_reported_cleaned_up_and_the_next_action_goes_on(
    web: RunSpec, api: RunSpec
) -> None:
    backend = FakeBackend()
    backend.fail("start", "new-web", f"  {PORT_IN_USE}\n")
    the_plan = Plan((Start(web, "missing"), Start(api, "missing")))
    first, second = execute(the_plan, backend)
    assert first == ActionResult(the_plan.actions[0], error=PORT_IN_USE)
    assert not first.ok
    assert second == ActionResult(the_plan.actions[1], container_id="new-api")
    assert backend.calls == [
        ("create", web.engine_name),
        ("start", "new-web"),
        ("remove", "new-web"),
        ("create", api.engine_name),
        ("start", "new-api"),
    ]


def test_a_failed_cleanup_after_a_failed_start_still_reports_the_start_error(
    web: RunSpec, caplog: pytest.LogCaptureFixture
) -> None:
    backend = FakeBackend()
    backend.fail("start", "new-web", PORT_IN_USE)
    backend.fail("remove", "new-web", "container is busy")
    caplog.set_level(logging.INFO, logger="agent.executor")
    (result,) = execute(Plan((Start(web, "missing"),)), backend)
    assert result.error == PORT_IN_USE
    assert backend.calls[-1] == ("remove", "new-web")
    assert ("WARNING", "could not remove new-web after a failed start: container is busy") in [
        (r.levelname, r.getMessage()) for r in caplog.records
    ]


def test_a_failed_create_starts_and_removes_nothing(web: RunSpec) -> None:
    backend = FakeBackend()
    backend.fail("create", web.engine_name, "No such image: nginx:1.25")
    (result,) = execute(Plan((Start(web, "missing"),)), backend)
    assert result.error == "No such image: nginx:1.25"
    assert result.container_id is None
    assert backend.calls == [("create", web.engine_name)]


def test_failed_stop_and_restart_are_reported_and_the_rest_goes_on(web: RunSpec) -> None:
    backend = FakeBackend()
    backend.fail("stop", "id-cache", "cannot stop")
    backend.fail("start", "id-db", "cannot start")
    the_plan = Plan(
        (
            Remove(observed("cache"), "dead"),
            Restart(observed("db", "exited"), "exited 1"),
            Start(web, "missing"),
        )
    )
    results = execute(the_plan, backend)
    assert [(r.ok, r.error) for r in results] == [
        (False, "cannot stop"),
        (False, "cannot start"),
        (True, None),
    ]
    assert backend.calls == [
        ("stop", "id-cache", "10"),
        ("start", "id-db"),
        ("create", web.engine_name),
        ("start", "new-web"),
    ]


def test_mount_sources_are_created_under_the_volumes_root(root: Path, api: RunSpec) -> None:
    (root / "data").mkdir(parents=True)
    (result,) = execute(Plan((Start(api, "missing"),)), FakeBackend())
    assert result.ok
    assert sorted(p.name for p in root.iterdir()) == ["data", "logs"]
    assert all((root / name).is_dir() for name in ("data", "logs"))
    assert [m.source for m in api.mounts] == [str(root / "data"), str(root / "logs")]


def test_a_mount_source_that_cannot_be_made_is_reported_and_nothing_created(
    root: Path, web: RunSpec, api: RunSpec
) -> None:
    root.parent.mkdir(parents=True, exist_ok=True)
    root.write_text("a file where the volumes root should be")
    backend = FakeBackend()
    first, second = execute(Plan((Start(web, "missing"), Start(api, "missing"))), backend)
    assert first.error == f"Not a directory: {root / 'html'}"
    assert second.error == f"Not a directory: {root / 'data'}"
    assert backend.calls == []


def test_cancelled_stops_before_the_next_action(
    web: RunSpec, caplog: pytest.LogCaptureFixture
) -> None:
    answers = iter([False, True])
    backend = FakeBackend()
    the_plan = Plan(
        (
            Remove(observed("cache"), "dead"),
            Restart(observed("db", "exited"), "exited 1"),
            Start(web, "missing"),
        )
    )
    caplog.set_level(logging.INFO, logger="agent.executor")
    results = execute(the_plan, backend, cancelled=lambda: next(answers))
    assert results == (ActionResult(the_plan.actions[0], container_id="id-cache"),)
    assert backend.calls == [("stop", "id-cache", "10"), ("remove", "id-cache")]
    assert caplog.messages[-1] == "stopping: 2 action(s) left for later"


def test_cancelled_from_the_start_does_nothing(web: RunSpec) -> None:
    backend = FakeBackend()
    assert execute(Plan((Start(web, "missing"),)), backend, cancelled=lambda: True) == ()
    assert backend.calls == []


def test_each_action_is_logged_with_its_reason_and_each_failure_with_the_message(
    web: RunSpec, caplog: pytest.LogCaptureFixture
) -> None:
    backend = FakeBackend()
    backend.fail("start", "new-web", PORT_IN_USE)
    the_plan = Plan(
        (
            Remove(observed("cache"), "not in the manifest any more"),
            Restart(observed("db", "exited"), "exited 1"),
            Start(web, "missing"),
        )
    )
    caplog.set_level(logging.INFO, logger="agent.executor")
    execute(the_plan, backend)
    assert {r.name for r in caplog.records} == {"agent.executor"}
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("INFO", "remove cache (ns-cache-00000000): not in the manifest any more"),
        ("INFO", "restart db (ns-db-00000000): exited 1"),
        ("INFO", f"start web ({web.engine_name}): missing"),
        ("ERROR", f"start web failed: {PORT_IN_USE}"),
    ]


def test_a_volume_directory_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "volumes"
    root.mkdir()
    (root / "data").symlink_to("/etc")
    spec = build_specs(
        [Container("web", "nginx", volume_mounts=(VolumeMount("data", "/data"),))], "ns", str(root)
    )[0]
    fake = FakeBackend()
    (result,) = execute(Plan((Start(spec, "missing"),)), fake)
    assert result.error == f"volume directory {root}/data is a symbolic link; refused"
    assert fake.calls == []


def host_dir_spec(path: Path) -> RunSpec:
    mount = VolumeMount("conf", "/etc/app/conf", True, HostDir(str(path)))
    return build_specs([Container("web", "nginx", volume_mounts=(mount,))], "ns", "/unused")[0]


def test_a_missing_host_dir_under_an_allowed_prefix_is_made_a_directory(tmp_path: Path) -> None:
    missing = tmp_path / "allowed" / "app" / "conf"
    (tmp_path / "allowed").mkdir()
    fake = FakeBackend()
    (result,) = execute(
        Plan((Start(host_dir_spec(missing), "missing"),)),
        fake,
        allow_host_path=(str(tmp_path / "allowed"),),
    )
    assert result.ok, result.error
    assert missing.is_dir() and not missing.is_symlink()
    assert [call[0] for call in fake.calls] == ["create", "start"]


def test_a_host_file_is_bound_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "nginx.conf").write_text("worker_processes 1;\n")
    fake = FakeBackend()
    (result,) = execute(
        Plan((Start(host_dir_spec(tmp_path / "nginx.conf"), "missing"),)),
        fake,
        allow_host_path=(str(tmp_path),),
    )
    assert result.ok, result.error
    assert (tmp_path / "nginx.conf").read_text() == "worker_processes 1;\n"


@pytest.mark.parametrize("allowed", [(), ("/nowhere",)])
def test_a_missing_host_dir_outside_the_allowed_prefixes_is_not_made(
    tmp_path: Path, allowed: tuple[str, ...]
) -> None:
    missing = tmp_path / "conf"
    fake = FakeBackend()
    (result,) = execute(
        Plan((Start(host_dir_spec(missing), "missing"),)), fake, allow_host_path=allowed
    )
    assert result.error == (
        f"host directory {missing} is missing and not under an allowed host path "
        "(--allow-host-path): not created"
    )
    assert not missing.exists() and fake.calls == []


def test_a_symbolic_link_put_in_the_way_of_a_missing_host_dir_is_refused(tmp_path: Path) -> None:
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "app").symlink_to(outside)  # after the plan checked allowed/app/conf
    fake = FakeBackend()
    (result,) = execute(
        Plan((Start(host_dir_spec(allowed / "app" / "conf"), "missing"),)),
        fake,
        allow_host_path=(str(allowed),),
    )
    assert result.error is not None and "not under an allowed host path" in result.error
    assert list(outside.iterdir()) == [] and fake.calls == []


def test_a_container_is_not_removed_while_its_replacements_image_is_not_at_hand(
    web: RunSpec,
) -> None:
    fake = FakeBackend()
    fake.local = {}
    old = observed("web")
    the_plan = Plan((Remove(old, "spec changed"), Start(web, "replaces a changed container")))
    removed, started = execute(the_plan, fake, images=Images(fake, sleep=lambda _: None))
    assert removed.error is not None and removed.error.startswith(
        f"kept: the image of its replacement is not at hand (pull of {web.image} failed"
    )
    assert started.error is not None and started.error.startswith(f"pull of {web.image} failed")
    assert [call[0] for call in fake.calls] == ["pull", "pull", "pull"], "no stop, no remove"


def test_an_action_the_engine_did_not_answer_says_so_and_the_rest_go_on(web: RunSpec) -> None:
    backend = FakeBackend()
    backend.fail("start", "id-db", "cannot reach the engine", EngineUnreachable)
    the_plan = Plan(
        (
            Remove(observed("cache"), "dead"),
            Restart(observed("db", "exited"), "exited 1"),
            Restart(observed("api", "exited"), "exited 1"),
            Start(web, "missing"),
        )
    )
    removed, failed, restarted, started = execute(the_plan, backend)
    assert removed.ok and not removed.unreachable
    assert (failed.error, failed.unreachable) == ("cannot reach the engine", True)
    assert restarted.ok and started.ok


def test_any_other_failure_lets_the_rest_go_on(web: RunSpec) -> None:
    backend = FakeBackend()
    backend.fail("start", "id-db", "no such container", NotFound)
    the_plan = Plan((Restart(observed("db", "exited"), "exited 1"), Start(web, "missing")))
    failed, started = execute(the_plan, backend)
    assert isinstance(failed.failure, NotFound) and not failed.unreachable
    assert started.ok


# --- in parallel --------------------------------------------------------------------------
# A slow fake makes overlaps observable; orderings are asserted on the recorded start and end
# of each call, never on how long anything took.

DELAY = 0.02
"""Seconds each call of a slow fake takes."""


def slow() -> FakeBackend:
    fake = FakeBackend()
    fake.delay = DELAY
    return fake


def holding(name: str, *host_ports: int, ports_known: bool = True) -> ObservedContainer:
    """A running container of the agent's that holds ``host_ports`` (unknown ones unless
    ``ports_known``)."""
    ports = tuple(PortBinding(80, port) for port in host_ports) if ports_known else None
    return attrs.evolve(observed(name), ports=ports)


def start(root: Path, name: str, *host_ports: int, image: str = "", policy: str = "") -> Start:
    container = Container(
        name,
        image or f"{name}:1",
        ports=tuple(Port(80, port) for port in host_ports),
        image_pull_policy=policy or "IfNotPresent",
    )
    return Start(build_specs([container], NS, str(root))[0], "missing")


def began(fake: FakeBackend, call: Call) -> float:
    return next(started for made, started, _ in fake.spans if made == call)


def ended(fake: FakeBackend, call: Call) -> float:
    return next(finished for made, _, finished in fake.spans if made == call)


def overlap(fake: FakeBackend, first: Call, second: Call) -> bool:
    return began(fake, first) < ended(fake, second) and began(fake, second) < ended(fake, first)


def verbs(results: Iterable[ActionResult]) -> list[tuple[str, str, bool]]:
    return [(r.action.verb, r.action.name, r.ok) for r in results]


def test_a_start_never_overlaps_the_removals_it_waits_for(root: Path, web: RunSpec) -> None:
    fake = slow()
    queue = start(root, "queue", 9000)
    the_plan = Plan(
        (
            Remove(holding("web", 8080), "spec changed"),
            Remove(holding("cache", 9000), "not in the manifest any more"),
            Start(web, "replaces a changed container"),
            queue,
            start(root, "api"),
        )
    )
    results = execute(the_plan, fake, parallel=4)
    assert all(r.ok for r in results)
    assert ended(fake, ("remove", "id-web")) <= began(fake, ("create", web.engine_name))
    assert ended(fake, ("remove", "id-cache")) <= began(fake, ("create", queue.engine_name))


def test_independent_actions_overlap(root: Path) -> None:
    fake = slow()
    api = start(root, "api")
    execute(Plan((Remove(observed("cache"), "dead"), api)), fake, parallel=2)
    assert overlap(fake, ("stop", "id-cache", "10"), ("create", api.engine_name))


def test_at_most_parallel_actions_are_in_flight() -> None:
    fake = slow()
    the_plan = Plan(tuple(Restart(observed(f"c{n}", "exited"), "exited 1") for n in range(8)))
    results = execute(the_plan, fake, parallel=3)
    assert len(results) == 8 and all(r.ok for r in results)
    assert 1 < fake.most_busy <= 3


def test_with_one_worker_the_plan_runs_in_order_one_call_at_a_time(
    root: Path, web: RunSpec
) -> None:
    fake = slow()
    api = start(root, "api")
    the_plan = Plan(
        (
            Remove(observed("cache"), "dead"),
            Remove(observed("old"), "dead"),
            Restart(observed("db", "exited"), "exited 1"),
            Start(web, "missing"),
            api,
        )
    )
    execute(the_plan, fake, parallel=1)
    assert fake.calls == [
        ("stop", "id-cache", "10"),
        ("remove", "id-cache"),
        ("stop", "id-old", "10"),
        ("remove", "id-old"),
        ("start", "id-db"),
        ("create", web.engine_name),
        ("start", "new-web"),
        ("create", api.engine_name),
        ("start", "new-api"),
    ]
    assert [call for call, _, _ in fake.spans] == fake.calls
    assert all(before[2] <= after[1] for before, after in pairwise(fake.spans)), (
        "one call at a time"
    )
    assert fake.most_busy == 1


def test_a_failure_does_not_stop_the_others_in_parallel(root: Path, web: RunSpec) -> None:
    fake = slow()
    fake.fail("stop", "id-web", "cannot stop")
    fake.fail("start", "id-db", "cannot start")
    the_plan = Plan(
        (
            Remove(holding("web", 8080), "spec changed"),
            Restart(observed("db", "exited"), "exited 1"),
            Start(web, "replaces a changed container"),
            start(root, "api"),
        )
    )
    results = execute(the_plan, fake, parallel=4)
    assert verbs(results) == [
        ("remove", "web", False),
        ("restart", "db", False),
        ("start", "web", True),
        ("start", "api", True),
    ]
    assert ended(fake, ("stop", "id-web", "10")) <= began(fake, ("create", web.engine_name))


def test_results_come_back_in_plan_order_whatever_finishes_first() -> None:
    fake = FakeBackend()
    first = fake.hold("id-a")
    asked: list[bool] = []

    def release_the_first_once_the_second_is_done() -> bool:
        # Asked before each action is started: the third action starts after the second.
        asked.append(False)
        if len(asked) == 3:
            first.set()
        return False

    the_plan = Plan(tuple(Restart(observed(name, "exited"), "exited 1") for name in "abc"))
    results = execute(
        the_plan, fake, cancelled=release_the_first_once_the_second_is_done, parallel=2
    )
    assert ended(fake, ("start", "id-b")) < ended(fake, ("start", "id-a"))
    assert [r.action for r in results] == list(the_plan.actions)


def test_cancelled_midway_starts_no_more_and_lets_those_in_flight_finish(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = slow()
    in_flight = fake.hold("id-b")
    asked: list[bool] = []

    def sigterm_on_the_third_question() -> bool:
        asked.append(len(asked) >= 2)
        if asked[-1]:
            in_flight.set()
        return asked[-1]

    the_plan = Plan(tuple(Remove(observed(name, "exited"), "dead") for name in "abcd"))
    caplog.set_level(logging.INFO, logger="agent.executor")
    results = execute(the_plan, fake, cancelled=sigterm_on_the_third_question, parallel=2)
    assert verbs(results) == [("remove", "a", True), ("remove", "b", True)]
    assert {call[1] for call in fake.calls} == {"id-a", "id-b"}
    assert ("remove", "id-b") in fake.calls, "the action in flight finished"
    assert "stopping: 2 action(s) left for later" in caplog.messages
    assert asked == [False, False, True], "not asked again once it said yes"


def test_an_unreachable_engine_fails_its_action_and_the_others_still_run(
    root: Path, web: RunSpec
) -> None:
    fake = slow()
    fake.fail("stop", "id-cache", "cannot reach the engine", EngineUnreachable)
    the_plan = Plan(
        (
            Remove(holding("cache", ports_known=False), "not in the manifest any more"),
            start(root, "api"),
            Restart(observed("db", "exited"), "exited 1"),
            Start(web, "missing"),
        )
    )
    removed, started, restarted, web_started = execute(the_plan, fake, parallel=4)
    assert removed.unreachable and started.ok and restarted.ok and web_started.ok
    assert ("start", "id-db") in fake.calls
    assert ("create", web.engine_name) in fake.calls


def test_each_image_is_pulled_once_however_many_starts_want_it(root: Path) -> None:
    fake = slow()
    fake.local = {}
    fake.remote = {"shared:1": "sha256:shared", "other:1": "sha256:other"}
    starts = [
        start(root, f"s{n}", image="shared:1", policy=policy)
        for n, policy in enumerate(["IfNotPresent", "Always", "IfNotPresent", "Always"])
    ]
    starts += [start(root, f"o{n}", image="other:1") for n in range(2)]
    results = execute(Plan(tuple(starts)), fake, parallel=4)
    assert all(r.ok for r in results)
    assert sorted(call for call in fake.calls if call[0] == "pull") == [
        ("pull", "other:1"),
        ("pull", "shared:1"),
    ]
    assert overlap(fake, ("pull", "shared:1"), ("pull", "other:1")), "side by side"


def test_a_container_is_kept_in_parallel_while_its_replacements_image_is_not_at_hand(
    root: Path, web: RunSpec
) -> None:
    fake = FakeBackend()
    fake.local = {"api:1": "sha256:api"}
    the_plan = Plan(
        (
            Remove(holding("web", 8080), "spec changed"),
            Start(web, "replaces a changed container"),
            start(root, "api"),
        )
    )
    results = execute(the_plan, fake, images=Images(fake, sleep=lambda _: None), parallel=4)
    assert verbs(results) == [
        ("remove", "web", False),
        ("start", "web", False),
        ("start", "api", True),
    ]
    assert not [call for call in fake.calls if call[1] == "id-web"], "no stop, no remove"


def test_the_ledger_records_each_restart_on_the_calling_thread() -> None:
    threads: list[threading.Thread] = []

    class Ledger(RestartLedger):
        def record(self, container_id: str, attempt: int) -> None:
            threads.append(threading.current_thread())
            super().record(container_id, attempt)

    fake = slow()
    fake.fail("start", "id-b", "cannot start")
    ledger = Ledger()
    the_plan = Plan(
        tuple(
            Restart(observed(name, "exited"), "exited 1", attempt=attempt)
            for name, attempt in [("a", 2), ("b", 1), ("c", 3)]
        )
    )
    execute(the_plan, fake, ledger=ledger, parallel=3)
    assert ledger.counts() == {"id-a": 2, "id-c": 3}
    assert threads == [threading.current_thread()] * 2


def test_each_result_is_reported_as_it_comes_in_with_the_time_it_took(
    web: RunSpec, api: RunSpec
) -> None:
    """What a progress display sees: the quick action first, every action once, on the
    calling thread, each with its own elapsed time."""
    backend = FakeBackend()
    slow = backend.hold("id-db")
    seen: list[tuple[str, str]] = []
    caller = threading.current_thread()

    def on_result(result: ActionResult) -> None:
        assert threading.current_thread() is caller
        seen.append((result.action.name, "ok" if result.ok else "failed"))
        if result.action.name == "web":
            threading.Timer(0.2, slow.set).start()

    backend.fail("start", "new-api", "no such image")
    the_plan = Plan(
        (Restart(observed("db", "exited"), "exited 1"), Start(web, "missing"), Start(api, "x"))
    )
    results = execute(the_plan, backend, parallel=4, on_result=on_result)
    assert seen[-1] == ("db", "ok")
    assert sorted(seen) == [("api", "failed"), ("db", "ok"), ("web", "ok")]
    assert [r.action.name for r in results] == ["db", "web", "api"]
    by_name = {r.action.name: r.elapsed for r in results}
    assert by_name["db"] >= 0.2 > by_name["web"]


# --- the namespace's network -------------------------------------------------------------

NET = "ns-net"


def networked(root: Path) -> dict[str, RunSpec]:
    return {name: attrs.evolve(s, network=NET) for name, s in specs(root).items()}


def test_the_network_is_made_once_before_every_start_and_join(root: Path) -> None:
    on = networked(root)
    the_plan = Plan(
        (
            CreateNetwork(NET, NS, "missing"),
            Join(observed("db"), NET, ("db", "store"), "not on network ns-net"),
            Start(on["web"], "missing"),
            Start(on["api"], "missing"),
        )
    )
    backend = FakeBackend()
    backend.delay = 0.02
    results = execute(the_plan, backend, parallel=8)
    assert all(r.ok for r in results)
    assert [c for c in backend.calls if c[0] == "create_network"] == [("create_network", NET)]
    made = next(end for call, _, end in backend.spans if call[0] == "create_network")
    after = [start for call, start, _ in backend.spans if call[0] in ("create", "connect")]
    assert len(after) == 3 and all(start >= made for start in after)
    assert ("connect", "id-db", NET, "db", "store") in backend.calls
    assert backend.networks[NET].namespace == NS
    assert results[0].container_id == f"net-{NET}"


def test_the_network_is_made_while_the_images_are_fetched(root: Path) -> None:
    """The network waits for no image: it is made while a pull is still under way, and
    the start waits for both."""
    web = attrs.evolve(networked(root)["web"], image_pull_policy="Always")
    backend = FakeBackend()
    backend.remote = {web.image: "sha256:new"}
    pulling = backend.hold(web.image)
    outcome: list[tuple[ActionResult, ...]] = []
    the_plan = Plan((CreateNetwork(NET, NS, "missing"), Start(web, "missing")))
    worker = threading.Thread(target=lambda: outcome.append(execute(the_plan, backend, parallel=4)))
    worker.start()
    try:
        # The pull is handed to a worker after the network: either may be seen first.
        both = {("create_network", NET), ("pull", web.image)}
        deadline = time.monotonic() + 5
        while not both <= set(backend.calls) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ("create_network", NET) in backend.calls, "the network waited for the pull"
        assert ("pull", web.image) in backend.calls and not any(
            c[0] == "create" for c in backend.calls
        )
    finally:
        pulling.set()
        worker.join(10)
    (results,) = outcome
    assert all(r.ok for r in results)
    create = next(start for call, start, _ in backend.spans if call[0] == "create")
    assert all(
        end <= create for call, _, end in backend.spans if call[0] in ("pull", "create_network")
    )


def test_the_network_is_removed_after_the_last_container(root: Path) -> None:
    gone = ObservedNetwork(NET, "net-1", NS)
    the_plan = Plan(
        (
            Remove(observed("web"), "not in the manifest any more"),
            Remove(observed("api"), "not in the manifest any more"),
            RemoveNetwork(gone, "no container of the namespace is left"),
        )
    )
    backend = FakeBackend()
    backend.delay = 0.02
    execute(the_plan, backend, parallel=8)
    removed = max(end for call, _, end in backend.spans if call[0] == "remove")
    (network_start,) = [start for call, start, _ in backend.spans if call[0] == "remove_network"]
    assert network_start >= removed
    assert backend.calls[-1] == ("remove_network", NET)


def test_a_restart_waits_for_the_join_of_its_container(root: Path) -> None:
    the_plan = Plan(
        (
            Join(observed("db", "exited"), NET, ("db",), "not on network ns-net"),
            Restart(observed("db", "exited"), "exited 1"),
        )
    )
    backend = FakeBackend()
    execute(the_plan, backend, parallel=8)
    assert backend.calls == [("connect", "id-db", NET, "db"), ("start", "id-db")]


def test_when_the_network_cannot_be_made_nothing_that_needs_it_is_tried(root: Path) -> None:
    on = networked(root)
    plain = specs(root)["api"]
    the_plan = Plan(
        (
            CreateNetwork(NET, NS, "missing"),
            Join(observed("db"), NET, ("db",), "not on network ns-net"),
            Start(on["web"], "missing"),
            Start(plain, "missing"),
        )
    )
    backend = FakeBackend()
    backend.fail("create_network", NET, "network with name ns-net already exists")
    made, joined, web, api = execute(the_plan, backend)
    assert made.error == "network with name ns-net already exists"
    expected = (
        "not tried: network ns-net could not be made: network with name ns-net already exists"
    )
    assert joined.error == web.error == expected
    assert api.ok  # a container off the network does not need it
    assert [c[0] for c in backend.calls] == ["create_network"] * 3 + ["create", "start"]


class _FlakyNetworks(FakeBackend):
    """A backend whose first network creations fail as Podman 4.3's may."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures

    def create_network(self, name: str, labels: Mapping[str, str]) -> str:
        if self.failures:
            self.failures -= 1
            self._record("create_network", name, "failed")
            raise BackendError("route ip+net: no such network interface", self.address)
        return super().create_network(name, labels)


@pytest.mark.parametrize(("failures", "ok"), [(1, True), (2, True), (3, False)])
def test_a_network_creation_that_fails_is_tried_three_times(failures: int, ok: bool) -> None:
    backend = _FlakyNetworks(failures)
    (result,) = execute(Plan((CreateNetwork(NET, NS, "missing"),)), backend)
    assert result.ok is ok
    assert [c[0] for c in backend.calls] == ["create_network"] * min(failures + 1, 3)
