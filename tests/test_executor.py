"""The executor against an in-memory backend that records its calls."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from agent.actions import Plan, Remove, Restart, Start
from agent.executor import ActionResult, execute
from agent.images import Images
from agent.manifest import Container, Port, VolumeMount
from agent.observed import ObservedContainer
from agent.spec import RunSpec, build_specs
from backends.errors import EngineUnreachable, NotFound
from tests.fakes import FakeBackend

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
