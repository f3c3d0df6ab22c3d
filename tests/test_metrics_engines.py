"""``agent run --metrics-addr`` on every backend and a real engine: the metrics say what
the manifest implies, ``/healthz`` follows the engine as it goes away and comes back
(through the socket proxy), and ``--log-format json`` lines name the container."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from agent.testing import AGENT, Target, Workspace, wait_for
from agent.testing.contract.manifests import manifest
from agent.testing.proxy import SocketProxy
from tests.engines import Engine, free_port, http_get

SECRET = "s3cret-value-never-logged"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def sleepers_with_a_secret(*names: str) -> str:
    items = "".join(
        f"""
          - name: {name}
            image: IMAGE
            command: [sh, -c, 'exec sleep 600']
            env:
              - name: TOKEN
                value: {SECRET}"""
        for name in names
    )
    return manifest(f"\ncontainers:{items}\n")


def scrape(port: int) -> Samples:
    status, body = http_get(port, "/metrics", timeout=10)
    assert status == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }


def metric(port: int, name: str, **labels: str) -> float | None:
    return scrape(port).get((f"container_agent_{name}", tuple(sorted(labels.items()))))


def health(port: int) -> tuple[int, str]:
    status, body = http_get(port, "/healthz", timeout=10)
    return status, body.decode().strip()


def test_metrics_and_health_follow_the_engine_away_and_back(ws: Workspace) -> None:
    proxy = SocketProxy(ws.root / "engine.sock", ws.target.engine.socket)
    proxy.start()
    through = ws.target.via(proxy.url)
    ws.write(sleepers_with_a_secret("a", "b"))
    port = free_port()
    log = ws.root / "agent.log"
    argv = [
        *AGENT,
        "run",
        *through.cli_args(),
        f"--namespace={ws.namespace}",
        f"--volumes-root={ws.volumes}",
        f"--state-dir={ws.state}",
        "--stop-timeout=1",
        "--reload=0.3",
        f"--metrics-addr=127.0.0.1:{port}",
        "--log-format=json",
        str(ws.manifest),
    ]
    with log.open("w") as out:
        agent = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=ws.env())
    try:
        wait_for(lambda: ws.running_names() == ["a", "b"], timeout=60, what="a and b running")
        wait_for(
            lambda: (metric(port, "passes_total", result="ok") or 0) >= 3,
            what="three good passes counted",
        )
        found = scrape(port)

        def at(name: str, **labels: str) -> float | None:
            return found.get((f"container_agent_{name}", tuple(sorted(labels.items()))))

        assert at("actions_total", action="start", result="ok") == 2
        assert at("actions_total", action="start", result="failed") == 0
        assert at("actions_total", action="remove", result="ok") == 0
        assert at("containers", state="running") == 2
        assert at("containers", state="exited") == 0
        assert at("backoff_containers") == 0
        assert at("engine_up") == 1
        assert at("passes_total", result="unreachable") == 0
        assert (at("pass_duration_seconds_count") or 0) >= 3
        assert at("manifest_load_errors_total", source=str(ws.manifest)) == 0
        assert at("manifest_last_load_success", source=str(ws.manifest)) == 1
        assert (at("manifest_last_load_timestamp_seconds", source=str(ws.manifest)) or 0) > 0
        assert any(
            name == "container_agent_build_info" and ("backend", ws.target.backend_name) in labels
            for name, labels in found
        ), [key for key in found if key[0] == "container_agent_build_info"]
        status, reason = health(port)
        assert status == 200 and reason.startswith("ok"), reason

        # A container that dies is restarted, and counted.
        ws.cli("kill", ws.container("a")["Id"])
        wait_for(
            lambda: metric(port, "restarts_total", container="a") == 1,
            timeout=60,
            what="a's restart counted",
        )
        wait_for(lambda: metric(port, "containers", state="running") == 2, what="two running")

        # The engine goes away: unhealthy at once, with the reason.
        proxy.stop()
        wait_for(lambda: health(port)[0] == 503, timeout=30, what="/healthz 503")
        status, reason = health(port)
        assert reason.startswith("engine unreachable since "), reason
        assert str(proxy.path) in reason
        assert metric(port, "engine_up") == 0
        assert (metric(port, "passes_total", result="unreachable") or 0) >= 1

        # A file that turns invalid is counted; its last content stays in force.
        ws.write("version: v1beta1\ncontainers:\n  - name: a\n    image: 12 not valid\n")
        wait_for(
            lambda: metric(port, "manifest_load_errors_total", source=str(ws.manifest)) == 1,
            what="the load error counted",
        )
        assert metric(port, "manifest_last_load_success", source=str(ws.manifest)) == 0

        # The engine comes back: healthy again.
        proxy.start()
        wait_for(lambda: health(port)[0] == 200, timeout=90, what="/healthz 200 again")
        assert metric(port, "engine_up") == 1
        assert ws.running_names() == ["a", "b"]
    finally:
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=60)
        proxy.stop()
    text = log.read_text()
    assert code == 0, text
    lines = [json.loads(line) for line in text.splitlines()]
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    starts = {line["container"] for line in lines if line.get("action") == "start"}
    assert starts == {"a", "b"}, lines
    assert any(line.get("action") == "restart" and line["container"] == "a" for line in lines)
    assert SECRET not in text
    assert "Traceback" not in text


def test_a_metrics_port_in_use_is_refused_without_a_traceback(
    ws: Workspace, tmp_path: Path
) -> None:
    ws.write(sleepers_with_a_secret("a"))
    port = free_port()
    with ws.running("--reload=5", f"--metrics-addr={port}") as (first, _):
        wait_for(lambda: health(port)[0] == 200, timeout=60, what="the first agent healthy")
        other = [*ws.agent_argv("run", f"--metrics-addr=127.0.0.1:{port}")]
        other[other.index(f"--namespace={ws.namespace}")] = f"--namespace={ws.namespace}-2"
        other[other.index(f"--state-dir={ws.state}")] = f"--state-dir={tmp_path / 'other'}"
        second = subprocess.run(other, capture_output=True, text=True, env=ws.env(), timeout=60)
        assert second.returncode == 1, second.stderr
        assert f"--metrics-addr 127.0.0.1:{port}: cannot listen: Address already in use" in (
            second.stderr
        )
        assert "Traceback" not in second.stderr
        assert first.poll() is None


@pytest.fixture
def podman_cli_ws(podman_engine: Engine, namespace: str, tmp_path: Path) -> Workspace:
    """On the podman CLI, which hands ``NOTIFY_SOCKET`` on to containers when it sees it."""
    return Workspace(Target("docker-cli", podman_engine, podman_engine.cli), namespace, tmp_path)


def test_systemd_hears_ready_after_the_first_pass_and_stopping_at_the_end(
    podman_cli_ws: Workspace, tmp_path: Path
) -> None:
    ws = podman_cli_ws
    ws.write(sleepers_with_a_secret("a"))
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(tmp_path / "notify"))
        notify.settimeout(60)
        env = {**ws.env(), "NOTIFY_SOCKET": str(tmp_path / "notify")}
        agent = subprocess.Popen(
            ws.agent_argv("run", "--reload=0.5"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        try:
            ready = notify.recv(4096).decode().split("\n")
            assert ready == ["READY=1", "STATUS=converged: 1 running"], ready
            assert ws.running_names() == ["a"], "ready once the first pass is done"
        finally:
            agent.send_signal(signal.SIGTERM)
            _, stderr = agent.communicate(timeout=60)
        assert agent.returncode == 0, stderr
        notify.settimeout(0.5)
        rest = []
        with contextlib.suppress(TimeoutError):
            while True:
                rest.append(notify.recv(4096).decode())
    assert rest[-1].startswith("STOPPING=1\n"), rest
    assert all(m.startswith(("STATUS=", "STOPPING=")) for m in rest), (
        "only the agent's own notifications"
    )
