"""The daemon's observability without an engine: metrics made from pass reports and read
back as Prometheus parses them, the health rules as a table, JSON log lines, systemd's
notifications on a real datagram socket, and the HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Sequence
from logging.handlers import SysLogHandler
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agent.cli import log_setup, main
from agent.cli.log_setup import setup_logging as _setup_logging
from agent.daemon.healthz import ServiceHealth
from agent.daemon.metrics import Metrics, MetricsError, MetricsServer, application
from agent.daemon.notify import Notifier
from agent.daemon.report import Outcome, PassReport, states_after
from agent.daemon.runloop import RunLoop
from agent.daemon.settings import Settings, listen_address
from agent.engine.executor import ActionResult, execute
from agent.manifest.models import Container, EnvVar
from agent.planning.actions import Action, Plan, Remove, Restart, Start, Wait
from agent.planning.observed import ObservedContainer
from agent.planning.spec import RunSpec, build_specs
from agent.sources.source_set import SourceStatus
from backends.errors import BackendError, EngineUnreachable
from tests.fakes import FakeBackend

NS = "ns"
SECRET = "hunter2-do-not-log"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def observed(name: str, state: str = "running") -> ObservedContainer:
    return ObservedContainer(f"id-{name}", f"ns-{name}-00000000", NS, name, "0" * 64, state)


def spec(name: str) -> RunSpec:
    container = Container(name, "nginx:1.25", env=(EnvVar("TOKEN", SECRET),))
    return build_specs([container], NS, "/volumes")[0]


def samples(metrics: Metrics) -> Samples:
    """Every sample of the exposition, as Prometheus's parser reads it."""
    text = generate_latest(metrics.registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: Samples, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def report(
    outcome: Outcome = "ok",
    actions: Sequence[tuple[Action, str | None]] = (),
    states: dict[str, int] | None = None,
    sources: tuple[SourceStatus, ...] = (),
    error: str | None = None,
    started: float = 1000.0,
    duration: float = 0.5,
) -> PassReport:
    results = tuple(ActionResult(a, error=e) for a, e in actions if not isinstance(a, Wait))
    plan = Plan(tuple(a for a, _ in actions)) if outcome != "failed" else None
    return PassReport(
        outcome,
        started,
        duration,
        plan,
        results,
        error,
        states,
        sources,
    )


CASES = [
    pytest.param(
        [
            report(
                actions=[(Start(spec("a"), "new"), None), (Start(spec("b"), "new"), None)],
                states={"running": 2},
            )
        ],
        {
            ("container_agent_passes_total", ("result", "ok")): 1,
            ("container_agent_passes_total", ("result", "failed")): 0,
            ("container_agent_actions_total", ("action", "start"), ("result", "ok")): 2,
            ("container_agent_actions_total", ("action", "restart"), ("result", "ok")): 0,
            ("container_agent_containers", ("state", "running")): 2,
            ("container_agent_containers", ("state", "exited")): 0,
            ("container_agent_engine_up",): 1,
            ("container_agent_pass_duration_seconds_count",): 1,
            ("container_agent_last_successful_pass_timestamp_seconds",): 1000.5,
        },
        id="a first pass starts two containers",
    ),
    pytest.param(
        [
            report(actions=[(Restart(observed("a", "exited"), "exited 1"), None)]),
            report(actions=[(Restart(observed("a", "exited"), "exited 1", 2), None)]),
            report(
                actions=[(Wait(observed("a", "exited"), "back-off", due=2000.0), None)],
                states={"exited": 1, "running": 3},
            ),
        ],
        {
            ("container_agent_restarts_total", ("container", "a")): 2,
            ("container_agent_actions_total", ("action", "restart"), ("result", "ok")): 2,
            ("container_agent_backoff_containers",): 1,
            ("container_agent_containers", ("state", "exited")): 1,
            ("container_agent_containers", ("state", "running")): 3,
            ("container_agent_passes_total", ("result", "ok")): 3,
        },
        id="a crash loop: restarts counted, then one waits in back-off",
    ),
    pytest.param(
        [
            report(actions=[(Restart(observed("a", "exited"), "exited 1"), None)]),
            report(
                actions=[(Remove(observed("a", "exited"), "not in the manifest any more"), None)]
            ),
        ],
        {
            ("container_agent_restarts_total", ("container", "a")): None,
            ("container_agent_actions_total", ("action", "remove"), ("result", "ok")): 1,
        },
        id="a container that leaves the manifest takes its restart series along",
    ),
    pytest.param(
        [
            report(actions=[(Start(spec("a"), "new"), "port is already allocated")]),
            report("unreachable", error="cannot reach the engine"),
            report("failed", error="500 Server Error"),
        ],
        {
            ("container_agent_actions_total", ("action", "start"), ("result", "failed")): 1,
            ("container_agent_passes_total", ("result", "ok")): 1,
            ("container_agent_passes_total", ("result", "unreachable")): 1,
            ("container_agent_passes_total", ("result", "failed")): 1,
            ("container_agent_engine_up",): 1,
            ("container_agent_pass_duration_seconds_count",): 3,
        },
        id="a failed action, an outage, a failed pass: the engine answers the last one",
    ),
    pytest.param(
        [report(states={"running": 1}), report("unreachable", error="gone")],
        {
            ("container_agent_engine_up",): 0,
            ("container_agent_containers", ("state", "running")): 1,
        },
        id="an outage keeps the last listing and says the engine is down",
    ),
    pytest.param(
        [
            report(
                sources=(
                    SourceStatus("/etc/a.yaml", None, 0, 900.0),
                    SourceStatus("/etc/b.yaml", "bad", 2, None),
                )
            ),
        ],
        {
            ("container_agent_manifest_load_errors_total", ("source", "/etc/a.yaml")): 0,
            ("container_agent_manifest_load_errors_total", ("source", "/etc/b.yaml")): 2,
            ("container_agent_manifest_last_load_success", ("source", "/etc/a.yaml")): 1,
            ("container_agent_manifest_last_load_success", ("source", "/etc/b.yaml")): 0,
            (
                "container_agent_manifest_last_load_timestamp_seconds",
                ("source", "/etc/a.yaml"),
            ): 900.0,
            (
                "container_agent_manifest_last_load_timestamp_seconds",
                ("source", "/etc/b.yaml"),
            ): None,
        },
        id="one manifest file valid, one that never was",
    ),
    pytest.param(
        [report(sources=(SourceStatus("https://h/m.yaml", "signature: bad", 4, 900.0, 2),))],
        {
            (
                "container_agent_manifest_signature_failures_total",
                ("source", "https://h/m.yaml"),
            ): 2,
            ("container_agent_manifest_load_errors_total", ("source", "https://h/m.yaml")): 4,
            ("container_agent_manifest_last_load_success", ("source", "https://h/m.yaml")): 0,
        },
        id="a signed URL whose bodies were refused twice for their signature",
    ),
]


@pytest.mark.parametrize(("reports", "expected"), CASES)
def test_metrics_made_from_pass_reports(
    reports: list[PassReport], expected: dict[tuple[object, ...], float | None]
) -> None:
    metrics = Metrics("docker-cli", version="9.9")
    for one in reports:
        metrics(one)
    found = samples(metrics)
    for key, wanted in expected.items():
        name, *labels = key
        assert value(found, str(name), **dict(labels)) == wanted, key  # type: ignore[arg-type]
    assert value(found, "container_agent_build_info", version="9.9", backend="docker-cli") == 1


def test_every_name_has_the_prefix_and_follows_the_conventions() -> None:
    metrics = Metrics("docker")
    metrics(report(actions=[(Restart(observed("a", "exited"), "x"), None)], states={}))
    text = generate_latest(metrics.registry).decode()
    families = list(text_string_to_metric_families(text))
    ours = [f for f in families if not f.name.startswith("process_")]
    assert ours and all(f.name.startswith("container_agent_") for f in ours)
    for family in ours:
        assert family.documentation, family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
    assert "container_agent_pass_duration_seconds" in {f.name for f in families}
    assert SECRET not in text


def test_states_after_a_pass_come_from_the_listing_and_the_results() -> None:
    listing = [observed("a", "exited"), observed("b"), observed("old", "exited")]
    results = [
        ActionResult(Restart(listing[0], "exited 1")),
        ActionResult(Remove(listing[2], "gone")),
        ActionResult(Start(spec("c"), "new"), container_id="id-c"),
        ActionResult(Start(spec("d"), "new"), error="no such image"),
    ]
    assert states_after(listing, results) == {"running": 3}


T0 = 10_000.0

HEALTH_CASES = [
    pytest.param([], 0, False, "no pass yet", id="before the first pass"),
    pytest.param([("ok", T0)], 5, True, "ok: last good pass ended 4.5s ago", id="a good pass"),
    pytest.param(
        [("ok", T0)], 70.2, False, "no pass succeeded for 70s", id="a good pass too long ago"
    ),
    pytest.param(
        [("ok", T0), ("unreachable", T0 + 10), ("unreachable", T0 + 20)],
        21,
        False,
        "engine unreachable since 1970-01-01T02:46:50Z: cannot reach the engine",
        id="the engine went away: at once, since its first failed pass",
    ),
    pytest.param(
        [("ok", T0), ("failed", T0 + 1), ("failed", T0 + 2)],
        3,
        True,
        "ok: last good pass ended 2.5s ago",
        id="two failed passes are tolerated",
    ),
    pytest.param(
        [("ok", T0), ("failed", T0 + 1), ("failed", T0 + 2), ("failed", T0 + 3)],
        4,
        False,
        "3 passes failed: 500 Server Error",
        id="three failed passes are not",
    ),
    pytest.param(
        [("failed", T0)], 1, False, "no pass succeeded yet: 500 Server Error", id="never good"
    ),
    pytest.param(
        [("unreachable", T0), ("ok", T0 + 5)],
        6,
        True,
        "ok: last good pass ended 0.5s ago",
        id="the engine is back",
    ),
]


@pytest.mark.parametrize(("passes", "later", "healthy", "reason"), HEALTH_CASES)
def test_health(
    passes: list[tuple[Outcome, float]], later: float, healthy: bool, reason: str
) -> None:
    now = [T0]
    health = ServiceHealth(window=60, clock=lambda: now[0])
    errors = {"unreachable": "cannot reach the engine", "failed": "500 Server Error\nmore"}
    for outcome, started in passes:
        health(report(outcome, error=errors.get(outcome), started=started))
    now[0] = T0 + later
    ok, why = health.check()
    assert (ok, why.split(" (since")[0]) == (healthy, reason)


def test_health_names_a_source_whose_signature_was_refused() -> None:
    """A refused signature keeps the last good content: the daemon stays healthy (200), and
    its line says which source runs on old content."""
    now = [T0]
    health = ServiceHealth(window=60, clock=lambda: now[0])
    signed = "https://config.example/web.yaml"
    refused = SourceStatus(signed, "signature refused", 1, T0 - 60, 1, True)
    health(report("ok", started=T0, sources=(refused, SourceStatus("a.yaml", None, 0, T0))))
    now[0] = T0 + 1
    assert health.check() == (
        True,
        "ok: last good pass ended 0.5s ago; signature refused, last good content in force: "
        + signed,
    )
    health(report("ok", started=T0 + 2, sources=(SourceStatus(signed, None, 1, T0 + 2, 1),)))
    now[0] = T0 + 3
    assert health.check() == (True, "ok: last good pass ended 0.5s ago")


def test_the_health_window_is_three_reloads_and_at_least_a_minute() -> None:
    assert ServiceHealth.for_reload(30).window == 90
    assert ServiceHealth.for_reload(2).window == 60


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9100", ("127.0.0.1", 9100)),
        (":9100", ("127.0.0.1", 9100)),
        ("0.0.0.0:9100", ("0.0.0.0", 9100)),
        ("[::1]:9100", ("::1", 9100)),
        ("localhost:0", ("localhost", 0)),
    ],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert listen_address(text) == expected
    assert Settings(metrics_addr=text).metrics_listen == expected


@pytest.mark.parametrize("text", ["", "x:y", "::1:80", "70000", "host:-1", "a b:80"])
def test_bad_metrics_addr_is_a_usage_error_naming_the_option(
    text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["run", f"--metrics-addr={text}", str(tmp_path / "m.yaml")])
    assert exited.value.code == 2
    assert "--metrics-addr must be HOST:PORT, :PORT or PORT" in capsys.readouterr().err


@pytest.fixture
def server() -> Iterator[tuple[MetricsServer, Metrics, ServiceHealth]]:
    metrics, health = Metrics("fake"), ServiceHealth(window=60)
    made = MetricsServer(("127.0.0.1", 0), application(metrics, health), "--metrics-addr")
    made.start()
    yield made, metrics, health
    made.close()


def get(server: MetricsServer, path: str) -> tuple[int, str, str]:
    port = int(server.url.rsplit(":", 1)[1])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type") or "", response.read().decode()
    finally:
        conn.close()


def test_the_server_answers_metrics_and_health(
    server: tuple[MetricsServer, Metrics, ServiceHealth],
) -> None:
    made, metrics, health = server
    assert get(made, "/healthz")[::2] == (503, "no pass yet\n")
    one = report(states={"running": 1}, started=time.time())
    metrics(one)
    health(one)
    status, kind, body = get(made, "/metrics")
    assert status == 200 and kind.startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(body)}
    assert families["container_agent_passes"].type == "counter"
    assert families["container_agent_engine_up"].samples[0].value == 1
    status, _, body = get(made, "/healthz")
    assert status == 200 and body.startswith("ok")
    assert get(made, "/nothing")[0] == 404


def test_a_port_in_use_is_a_clear_error(
    server: tuple[MetricsServer, Metrics, ServiceHealth],
) -> None:
    made, metrics, health = server
    port = int(made.url.rsplit(":", 1)[1])
    with pytest.raises(MetricsError, match=rf"--metrics-addr 127.0.0.1:{port}: cannot listen: "):
        MetricsServer(("127.0.0.1", port), application(metrics, health), "--metrics-addr")


def test_the_run_loop_reports_each_pass(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(
        "version: v1beta1\ncontainers:\n  - name: web\n    image: nginx:1.25\n"
    )
    fake = FakeBackend([observed("gone")])
    settings = Settings(namespace=NS, volumes_root=str(tmp_path / "volumes"), reload=2)
    loop = RunLoop([str(tmp_path / "web.yaml")], fake, settings)
    reports: list[PassReport] = []
    loop.observe(reports.append)

    def broken(report: PassReport) -> None:
        raise RuntimeError("an observer's bug")

    loop.observe(broken)  # changes nothing for the others
    try:
        loop.run_once()
        fake.fail("list", NS, "cannot reach the engine", EngineUnreachable)
        loop.run_once()
        fake.fail("list", NS, "500 Server Error", BackendError)
        loop.run_once()
    finally:
        loop.watcher.close()
    assert [r.outcome for r in reports] == ["ok", "unreachable", "failed"]
    first = reports[0]
    assert first.plan is not None
    assert sorted(r.action.verb for r in first.results) == ["create-network", "remove", "start"]
    assert first.states == {"running": 1}
    assert [(s.path, s.error, s.errors) for s in first.sources] == [
        (str(tmp_path / "web.yaml"), None, 0)
    ]
    assert first.sources[0].loaded is not None
    assert reports[1].states is None and "cannot reach the engine" in (reports[1].error or "")


@pytest.fixture
def stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], str]]:
    """What the agent's logging writes to stderr, as set up by the command line."""
    yield lambda: capsys.readouterr().err
    logging.basicConfig(handlers=[logging.NullHandler()], force=True)


def test_json_log_lines_carry_the_container_and_the_action_and_no_env_value(
    stderr: Callable[[], str],
) -> None:
    _setup_logging(0, False, logging.INFO, log_format="json")
    backend = FakeBackend()
    backend.fail("start", "new-b", "port is already allocated")
    execute(Plan((Start(spec("a"), "new"), Start(spec("b"), "new"))), backend)
    text = stderr()
    lines = [json.loads(line) for line in text.splitlines()]
    about = {(line.get("container"), line.get("action"), line["level"]) for line in lines}
    assert ("a", "start", "INFO") in about
    assert ("b", "start", "ERROR") in about
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    assert SECRET not in text


def test_text_log_lines_stay_as_they_were(stderr: Callable[[], str]) -> None:
    _setup_logging(0, False, logging.INFO)
    logging.getLogger("agent.run").info("hello")
    assert stderr().rstrip().endswith(" INFO hello")


@pytest.mark.parametrize(
    ("syslog", "facility", "code"),
    [(True, None, SysLogHandler.LOG_DAEMON), (False, "local3", SysLogHandler.LOG_LOCAL3)],
)
def test_syslog_takes_the_facility_asked_for(
    stderr: Callable[[], str], syslog: bool, facility: str | None, code: int
) -> None:
    _setup_logging(0, syslog, logging.INFO, facility=facility)
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, SysLogHandler)]
    assert [h.facility for h in handlers] == [code]
    for handler in handlers:
        handler.close()


def test_syslog_without_a_local_socket_says_where_its_lines_go(
    stderr: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(log_setup, "SYSLOG_SOCKET", str(tmp_path / "no-log"))
    _setup_logging(0, True, logging.INFO)
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, SysLogHandler)]
    assert [h.address for h in handlers] == [("localhost", 514)]
    assert f"no {tmp_path / 'no-log'} here: syslog lines go to UDP localhost:514" in stderr()
    for handler in handlers:
        handler.close()


def test_syslog_with_a_local_socket_logs_to_it_and_says_nothing(
    stderr: Callable[[], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(5)
        monkeypatch.setattr(log_setup, "SYSLOG_SOCKET", str(path))
        _setup_logging(0, True, logging.INFO)
        logging.getLogger("agent.run").info("hello")
        assert server.recv(4096) == b"<30>container-agent[%d]: hello\x00" % os.getpid()
    handlers = [h for h in logging.getLogger().handlers if isinstance(h, SysLogHandler)]
    assert [h.address for h in handlers] == [str(path)]
    assert "syslog lines go to" not in stderr()
    for handler in handlers:
        handler.close()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(5)
    yield sock
    sock.close()


def test_systemd_is_told_ready_after_the_first_pass_then_the_status_then_stopping(
    notify_socket: socket.socket, tmp_path: Path
) -> None:
    environ = {"NOTIFY_SOCKET": str(tmp_path / "notify"), "OTHER": "x"}
    notifier = Notifier.from_environment(environ)
    assert notifier is not None and environ == {"OTHER": "x"}, "taken out for the engine CLIs"
    notifier(report(states={"running": 2}))
    assert notify_socket.recv(4096).decode().split("\n") == [
        "READY=1",
        "STATUS=converged: 2 running",
    ]
    notifier(report(states={"running": 2}))  # the same status: nothing sent
    notifier(report("unreachable", error="cannot reach the engine\nat all"))
    assert notify_socket.recv(4096) == b"STATUS=engine unreachable: cannot reach the engine"
    notifier.stopping()
    assert notify_socket.recv(4096).startswith(b"STOPPING=1\n")


def test_an_abstract_notify_socket() -> None:
    name = f"container-agent-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        notifier = Notifier.from_environment({"NOTIFY_SOCKET": "@" + name})
        assert notifier is not None and notifier.send("READY=1")
        assert sock.recv(4096) == b"READY=1"


def test_no_notify_socket_no_notifier_and_a_dead_one_is_only_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert Notifier.from_environment({}) is None
    nobody = Notifier(str(tmp_path / "nobody"))
    assert nobody.send("READY=1") is False
    nobody(report())
    nobody(report("failed", error="500"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "cannot notify systemd" in warnings[0], "said once"
