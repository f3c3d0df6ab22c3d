"""Liveness probes on every target: the agent restarts what hangs, and only that.

Each test runs ``agent run`` against a real engine with containers built from the
local busybox image, breaks one in the way the probe checks (a page deleted, a
flag file removed, a listener killed) and watches the agent restart that same
container, which repairs itself as it starts. Probes knock on ports published on
127.0.0.1, and the test itself reaches the containers only there or through exec.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from agent.testing import Workspace, wait_for
from agent.testing.contract.manifests import manifest
from agent.testing.ports import free_port, http_get

PERIOD = "periodSeconds: 1"


def web(port: int) -> str:
    """httpd serving /healthz from a page it writes as it starts."""
    return f"""
          - name: web
            image: IMAGE
            command: [sh, -c, 'mkdir -p /www && echo ok > /www/healthz && exec httpd -f -p 8080 -h /www']
            ports: [{{containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1, name: http}}]
            livenessProbe:
              httpGet: {{path: /healthz, port: http}}
              {PERIOD}
    """  # noqa: E501


def flag() -> str:
    """A sleeper whose probe reads a flag file it touches as it starts."""
    return f"""
          - name: flag
            image: IMAGE
            command: [sh, -c, 'touch /tmp/ok; exec sleep 600']
            livenessProbe:
              exec: {{command: [cat, /tmp/ok]}}
              {PERIOD}
    """


def listener(port: int) -> str:
    """A TCP listener (httpd in the background, its pid in a file) under a sleeper."""
    return f"""
          - name: tcp
            image: IMAGE
            command: [sh, -c, 'httpd -f -p 9000 -h / & echo $! > /tmp/pid; exec sleep 600']
            ports: [{{containerPort: 9000, hostPort: {port}, hostIp: 127.0.0.1}}]
            livenessProbe:
              tcpSocket: {{port: 9000}}
              {PERIOD}
    """


def containers(*items: str) -> str:
    return manifest("\ncontainers:" + "".join(items))


def status(ws: Workspace) -> dict[str, dict[str, Any]]:
    done = ws.agent("status", "--output=json")
    assert done.returncode == 0, done.stderr
    return {row["name"]: row for row in json.loads(done.stdout)["containers"]}


def started(ws: Workspace, name: str) -> tuple[str, str]:
    info = ws.container(name)
    return info["Id"], info["State"]["StartedAt"]


def healthy(ws: Workspace, *names: str) -> bool:
    rows = status(ws)
    return all(rows.get(name, {}).get("health") == "healthy" for name in names)


def restarted_by_its_probe(ws: Workspace, log: Path, name: str, said: str) -> None:
    """Wait for the agent to restart ``name`` in place (same id, a new start), and check
    the reason it logged and the restart ``agent status`` counts."""
    before = started(ws, name)
    wait_for(lambda: started(ws, name)[1] != before[1], timeout=45, what=f"{name} restarted")
    assert started(ws, name)[0] == before[0], "restarted in place, not replaced"
    text = log.read_text()
    assert f"liveness probe failed 3 times: {said}" in text, text[-2000:]
    wait_for(lambda: healthy(ws, name), timeout=30, what=f"{name} healthy again")
    assert status(ws)[name]["restarts"] == 1


def test_a_page_deleted_an_exec_flag_removed_and_a_closed_port_each_restart_theirs(
    ws: Workspace,
) -> None:
    port, tcp_port = free_port(), free_port()
    ws.write(containers(web(port), flag(), listener(tcp_port)))
    with ws.running("--reload=30") as (_, log):
        wait_for(lambda: healthy(ws, "web", "flag", "tcp"), timeout=60, what="all healthy")
        untouched = started(ws, "flag")

        ws.cli("exec", ws.container("web")["Id"], "busybox", "rm", "/www/healthz")
        restarted_by_its_probe(ws, log, "web", f"HTTP 404 from 127.0.0.1:{port}/healthz")
        assert http_get(port, "/healthz")[0] == 200
        assert started(ws, "flag") == untouched  # one container's failure is its own

        ws.cli("exec", ws.container("flag")["Id"], "busybox", "rm", "/tmp/ok")
        restarted_by_its_probe(ws, log, "flag", 'exec ["cat", "/tmp/ok"] exited 1')

        ws.cli("exec", ws.container("tcp")["Id"], "sh", "-c", "kill $(cat /tmp/pid)")
        restarted_by_its_probe(ws, log, "tcp", "")
        reason = log.read_text().split("tcp is unhealthy: ", 1)[1].splitlines()[0]
        assert f"127.0.0.1:{tcp_port}" in reason
        assert "connection closed at once" in reason or "connection refused" in reason


def test_a_container_that_stays_unhealthy_backs_off(ws: Workspace) -> None:
    """A probe that can never pass: restarted at once, then after the back-off."""
    ws.write(
        manifest(
            """
            containers:
              - name: sick
                image: IMAGE
                command: [sleep, "600"]
                livenessProbe:
                  exec: {command: [cat, /nowhere]}
                  periodSeconds: 1
                  failureThreshold: 2
            """
        )
    )
    with ws.running("--reload=30", "--backoff-initial=60") as (_, log):
        wait_for(lambda: "restart sick" in log.read_text(), timeout=30, what="the first restart")
        wait_for(lambda: status(ws)["sick"]["health"] == "unhealthy", timeout=30, what="again")
        time.sleep(3)
        row = status(ws)["sick"]
        assert row["restarts"] == 1  # the second restart waits out the back-off
        assert log.read_text().count("restart sick") == 1
        plan = ws.agent("plan", "--backoff-initial=60").stdout
        assert "= sick" in plan and "back-off: liveness probe failed" in plan, plan
        assert 'exec ["cat", "/nowhere"] exited 1' in plan and "restart in" in plan
