"""The operator's commands on every target: ``status``, ``down``, and what ``apply`` prints.

Each test runs the ``agent`` command line against a real engine, as an operator would,
and checks what they would look at: the table, the JSON (against the tables of
docs/json-output.md), the containers left on the engine.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import time
from typing import Any

from agent.planning.network import network_name
from agent.testing import Workspace, wait_for
from agent.testing.contract.manifests import manifest
from tests.engines import BUSYBOX_TAG, free_port, http_get
from tests.json_docs import problems


def pair(port: int, worker_says: str = "one") -> str:
    """A web server on 127.0.0.1:port and a worker, replaced at once on an edit (Recreate):
    these tests read what apply and status say of a replacement; rollouts have their own."""
    return manifest(
        f"""
        updateStrategy: {{type: Recreate}}
        containers:
          - name: web
            image: IMAGE
            command: [httpd, -f, -p, "8080", -h, /]
            ports:
              - {{containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1}}
          - name: worker
            image: IMAGE
            command: [sh, -c, 'echo {worker_says}; exec sleep 600']
        """
    )


def status(ws: Workspace, *args: str, manifest: bool = True) -> dict[str, Any]:
    done = ws.agent("status", "--output=json", *args, manifest=manifest)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    assert problems(document, "status", every_field=False) == []
    return document


def rows(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in document["containers"]}


def ids(ws: Workspace) -> list[str]:
    return sorted(c["Id"] for c in ws.containers())


def test_status_before_and_after_an_apply_and_after_an_edit(ws: Workspace) -> None:
    port = free_port()
    ws.write(pair(port))
    before = rows(status(ws))
    assert {name: (r["state"], r["sync"]) for name, r in before.items()} == {
        "web": ("missing", "missing"),
        "worker": ("missing", "missing"),
    }
    assert ws.containers() == []  # status started nothing

    assert ws.agent("apply").returncode == 0
    applied = time.time()
    after = rows(status(ws))
    assert {name: (r["state"], r["sync"]) for name, r in after.items()} == {
        "web": ("running", "in sync"),
        "worker": ("running", "in sync"),
    }
    web = after["web"]
    assert web["ports"] == [
        {"host_ip": "127.0.0.1", "host_port": port, "container_port": 8080, "protocol": "tcp"}
    ]
    assert web["restarts"] == 0 and web["exit_code"] is None
    assert abs(web["started_at"] - applied) < 30
    assert 0 <= web["uptime_seconds"] < 30
    assert web["id"] == ws.container("web")["Id"]

    running = ids(ws)
    ws.write(pair(port, worker_says="two"))
    edited = rows(status(ws))
    assert edited["web"]["sync"] == "in sync"
    assert edited["worker"]["sync"] == "changed"
    assert "command" in edited["worker"]["reason"]
    table = ws.agent("status").stdout
    worker = next(line for line in table.splitlines() if line.startswith("worker "))
    assert worker.endswith("changed (spec changed: command)")
    assert f"127.0.0.1:{port}->8080/tcp" in table
    assert ids(ws) == running  # status never changes anything
    assert http_get(port, "/")[0] in (200, 403, 404)

    bare = rows(status(ws, manifest=False))
    assert {name: r["sync"] for name, r in bare.items()} == {"web": None, "worker": None}
    assert "SYNC" not in ws.agent("status", manifest=False).stdout.splitlines()[0]


def test_status_shows_a_crash_loop_waiting_in_back_off(ws: Workspace) -> None:
    ws.write(
        manifest(
            """
            containers:
              - name: crash
                image: IMAGE
                command: [sh, -c, 'exit 3']
            """
        )
    )
    slow = "--backoff-initial=120"

    def exited() -> bool:
        return not ws.container("crash")["State"]["Running"]

    assert ws.agent("apply", slow).returncode == 0
    wait_for(exited, what="the first exit")
    assert ws.agent("apply", slow).returncode == 0  # the first restart is at once
    wait_for(lambda: ws.container("crash")["RestartCount"] >= 0 and exited(), what="an exit")
    time.sleep(0.5)
    row = rows(status(ws, slow))["crash"]
    assert (row["state"], row["exit_code"], row["sync"], row["restarts"]) == (
        "exited", 3, "back-off", 1
    )  # fmt: skip
    assert 60 < row["restart_at"] - time.time() <= 120
    line = next(x for x in ws.agent("status", slow).stdout.splitlines() if x.startswith("crash"))
    assert "exited (3), restart in 1m" in line


def test_down_refuses_without_a_terminal_and_removes_everything_with_yes(
    ws: Workspace,
) -> None:
    port = free_port()
    ws.write(pair(port))
    assert ws.agent("apply").returncode == 0
    foreign = f"{ws.namespace}-web-1234abcd"
    ws.cli("run", "-d", "--name", foreign, BUSYBOX_TAG, "sleep", "600")
    try:
        refused = ws.agent("down", manifest=False)
        assert refused.returncode == 2
        assert "--yes" in refused.stderr
        assert "- web" in refused.stdout  # the plan is shown first
        assert ws.running_names() == ["web", "worker"]

        done = ws.agent("down", "--yes", manifest=False)
        assert done.returncode == 0, done.stderr
        assert "Apply complete: 0 started, 0 restarted, 2 removed, 0 failed." in done.stdout
        assert ws.containers() == []
        state = ws.cli("inspect", "--format", "{{.State.Running}}", foreign).stdout.strip()
        assert state == "true"
        again = ws.agent("down", "--yes", manifest=False)
        assert again.returncode == 0 and "nothing to do" in again.stdout
    finally:
        ws.cli("rm", "-f", foreign, check=False)


def on_a_terminal(ws: Workspace, args: list[str], answer: str | None, timeout: float = 90) -> str:
    """Run ``agent ARGS`` with a terminal for stdin and stdout; type ``answer`` when it
    asks. What it printed."""
    leader, follower = pty.openpty()
    agent = subprocess.Popen(
        args, stdin=follower, stdout=follower, stderr=follower, env=ws.env(), close_fds=True
    )
    os.close(follower)
    printed = b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:  # the terminal closed: the agent is done
                    break
                printed += chunk
                if answer is not None and b"accepted:" in printed:
                    os.write(leader, answer.encode() + b"\n")
                    answer = None
            elif agent.poll() is not None:
                break
        assert agent.wait(timeout=max(1, deadline - time.monotonic())) is not None
    finally:
        if agent.poll() is None:
            agent.kill()
        os.close(leader)
    return printed.decode(errors="replace")


def test_down_on_a_terminal_asks_and_only_yes_goes_ahead(ws: Workspace) -> None:
    ws.write(pair(free_port()))
    assert ws.agent("apply").returncode == 0
    argv = [a for a in ws.agent_argv("down") if a != str(ws.manifest)]

    printed = on_a_terminal(ws, argv, "no")
    assert "Only 'yes' will be accepted" in printed and "Down cancelled" in printed
    assert ws.running_names() == ["web", "worker"]

    printed = on_a_terminal(ws, argv, "yes")
    assert "2 removed" in printed
    assert ws.containers() == []


def test_apply_prints_each_action_with_its_time_and_a_live_display_on_a_terminal(
    ws: Workspace,
) -> None:
    port = free_port()
    ws.write(pair(port))
    done = ws.agent("apply")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    started = [line for line in lines if ": started in " in line]
    assert sorted(line.split()[1] for line in started) == ["web", "worker"]
    assert all(line.endswith("s") and line.startswith("+ ") for line in started)
    assert lines[-1].startswith("Apply complete: 2 started, 0 restarted, 0 removed, 0 failed.")
    assert "Took" in lines[-1]
    assert "\x1b" not in done.stdout  # no terminal: no escape codes

    ws.write(pair(port, worker_says="two"))
    printed = on_a_terminal(ws, ws.agent_argv("apply"), None)
    assert "Applying" in printed  # rich's live bar
    assert "worker" in printed and "started in" in printed and "removed in" in printed
    assert "Apply complete: 1 started, 0 restarted, 1 removed, 0 failed." in printed


def test_apply_json_has_the_plan_each_result_and_the_totals(ws: Workspace) -> None:
    ws.write(pair(free_port()))
    first = ws.agent("apply", "--output=json")
    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert problems(document, "apply", every_field=False) == []
    assert sorted((r["action"], r["name"], r["ok"]) for r in document["results"]) == [
        ("create-network", network_name(ws.namespace), True),
        ("start", "web", True),
        ("start", "worker", True),
    ]
    assert {r["id"] for r in document["results"] if r["action"] == "start"} == set(ids(ws))
    assert document["totals"]["started"] == 2 and document["totals"]["failed"] == 0
    assert document["totals"]["elapsed_seconds"] >= max(
        r["elapsed_seconds"] for r in document["results"]
    )

    ws.write(pair(free_port(), worker_says="two").replace(BUSYBOX_TAG, "localhost/none:1", 1))
    failed = ws.agent("apply", "--output=json")
    assert failed.returncode == 1
    document = json.loads(failed.stdout)
    assert problems(document, "apply", every_field=False) == []
    outcome = {(r["action"], r["name"]): r for r in document["results"]}
    assert outcome[("start", "web")]["ok"] is False and outcome[("start", "web")]["error"]
    assert document["plan"]["summary"]["start"] == 2
    assert document["totals"]["failed"] >= 1


def test_status_shows_the_id_of_the_image_each_container_runs(ws: Workspace) -> None:
    ws.write(pair(free_port()))
    assert ws.agent("apply").returncode == 0
    found = rows(status(ws))
    table = ws.agent("status").stdout.splitlines()
    assert "IMAGE ID" in table[0]
    for name in ("web", "worker"):
        runs = ws.container(name)["Image"]  # what the engine's inspect says it runs
        digits = runs.rpartition(":")[2]
        assert found[name]["image_id"].rpartition(":")[2] == digits
        line = next(line for line in table if line.startswith(f"{name} "))
        assert f"sha256:{digits[:12]}" in line.split()
