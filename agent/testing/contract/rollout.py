"""Rollouts on every target: a changed container is replaced only once its successor has
run its minimum healthy time; one that exits or never passes its probe is rolled back,
the previous container serving again, and its revision held back."""

from __future__ import annotations

import json
import signal
import subprocess
import textwrap
import time

from agent.testing import Workspace, wait_for
from agent.testing.image import BUSYBOX_TAG
from agent.testing.ports import free_port, http_get


def web(port: int, greeting: str, run: str = "", probe: str = "") -> str:
    """A web container on 127.0.0.1:port serving its GREETING at /g.txt; ``run`` replaces
    its start (a crash), ``probe`` adds a liveness probe."""
    start = run or f"echo {greeting} > /tmp/g.txt; exec httpd -f -p 8080 -h /tmp"
    return (
        "version: v1beta1\n"
        + textwrap.dedent(
            f"""
        updateStrategy: {{minReadySeconds: 2}}
        containers:
          - name: web
            image: {BUSYBOX_TAG}
            command: [sh, -c, "{start}"]
            ports:
              - {{containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1}}
            env:
              - {{key: GREETING, value: "{greeting}"}}
        """
        )
        + textwrap.indent(probe, "    ")
    )


def ids(ws: Workspace) -> list[str]:
    """The namespace's container ids (one removed between list and inspect is left out)."""
    return [c["Id"] for c in ws.containers()]


def serving(port: int) -> str:
    return http_get(port, "/g.txt")[1].decode().strip()


def test_a_good_update_rolls_out_after_its_healthy_time(ws: Workspace) -> None:
    port = free_port()
    ws.write(web(port, "one"))
    assert ws.agent("apply").returncode == 0
    old = ws.container("web")["Id"]
    ws.write(web(port, "two"))
    done = ws.agent("apply", "--output", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    start = document["plan"]["actions"][0]
    assert (start["action"], start["rollout"]) == ("start", "stop-first")
    verbs = [r["action"] for r in document["results"]]
    assert verbs == ["start", "remove"]
    assert document["results"][1]["id"] == old
    assert serving(port) == "two"
    assert [c["Id"] != old for c in ws.containers()] == [True]


def test_an_image_that_exits_at_once_is_rolled_back_and_held_back(ws: Workspace) -> None:
    port = free_port()
    ws.write(web(port, "one"))
    assert ws.agent("apply").returncode == 0
    old = ws.container("web")["Id"]
    ws.write(web(port, "two", run="exit 1"))
    failed = ws.agent("apply")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "rolled back" in failed.stdout
    assert "exited 1 after" in failed.stdout
    assert ws.container("web")["Id"] == old
    assert serving(port) == "one"
    again = ws.agent("apply")
    assert again.returncode == 0
    assert "held back" in again.stdout and "exited 1 after" in again.stdout
    assert ws.container("web")["Id"] == old
    planned = ws.agent("plan", "--output", "json")
    assert json.loads(planned.stdout)["rollouts"]["held"] == 1
    retried = ws.agent("apply", "--retry-failed")
    assert retried.returncode == 1 and "rolled back" in retried.stdout
    assert serving(port) == "one"


def test_a_probe_that_never_passes_is_rolled_back_by_the_daemon(ws: Workspace) -> None:
    port = free_port()
    ws.write(web(port, "one"))
    assert ws.agent("apply").returncode == 0
    old = ws.container("web")["Id"]
    probe = (
        "livenessProbe:\n  httpGet: {path: /missing, port: 8080}\n"
        "  periodSeconds: 1\n  failureThreshold: 2\n"
    )
    with ws.running() as (_, log):
        ws.write(web(port, "two", probe=probe))
        wait_for(lambda: "liveness probe failed" in log.read_text(), 60, "a rollback")
        wait_for(lambda: ids(ws) == [old], 30, "the old one alone")
        assert serving(port) == "one"
    status = ws.agent("status", "--output", "json")
    assert "held back" in json.loads(status.stdout)["containers"][0]["reason"]


def apply_killed_once_both_run(ws: Workspace) -> None:
    """``agent apply`` SIGKILLed once the new container runs beside the old: mid-rollout."""
    agent = subprocess.Popen(ws.agent_argv("apply"), env=ws.env(), stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(ids(ws)) == 2, 60, "the new container beside the old")
    finally:
        agent.send_signal(signal.SIGKILL)
        agent.wait()


def test_an_agent_killed_mid_rollout_is_followed_by_one_that_finishes_it(ws: Workspace) -> None:
    port = free_port()
    ws.write(web(port, "one"))
    assert ws.agent("apply").returncode == 0
    ws.write(web(port, "two"))
    apply_killed_once_both_run(ws)
    assert len(ws.containers()) == 2
    time.sleep(0.5)
    assert ws.agent("apply").returncode == 0
    names = [c["Config"]["Labels"]["io.container-agent.name"] for c in ws.containers()]
    assert names == ["web"]
    assert serving(port) == "two"


def test_an_agent_killed_mid_rollout_is_followed_by_one_that_rolls_it_back(ws: Workspace) -> None:
    port = free_port()
    ws.write(web(port, "one"))
    assert ws.agent("apply").returncode == 0
    old = ws.container("web")["Id"]
    ws.write(web(port, "two", run="sleep 1; exit 3"))
    apply_killed_once_both_run(ws)
    after = ws.agent("apply")
    assert after.returncode == 1
    assert "exited 3 after" in after.stdout
    assert ids(ws) == [old]
    assert serving(port) == "one"


def workers(strategy: str, generation: str, run: str = "exec sleep 600") -> str:
    """Two containers without host ports (so each rollout starts first) under ``strategy``."""
    items = "".join(
        f"  - name: {name}\n    image: {BUSYBOX_TAG}\n    command: [sh, -c, '{run}']\n"
        f"    env: [{{key: GEN, value: '{generation}'}}]\n"
        for name in ("a", "b")
    )
    return f"version: v1beta1\nupdateStrategy: {strategy}\ncontainers:\n{items}"


def test_max_unavailable_2_replaces_two_at_once_and_1_one_after_the_other(ws: Workspace) -> None:
    for at_once, generation in ((2, "two"), (1, "three")):
        strategy = f"{{rollingUpdate: {{maxUnavailable: {at_once}}}, minReadySeconds: 1}}"
        ws.write(workers(strategy, "one" if generation == "two" else "two"))
        assert ws.agent("apply").returncode == 0
        ws.write(workers(strategy, generation))
        done = ws.agent("apply", "--output", "json")
        assert done.returncode == 0, done.stdout + done.stderr
        first = [(a["action"], a["name"]) for a in json.loads(done.stdout)["plan"]["actions"]]
        if at_once == 2:
            assert sorted(first) == [("start", "a"), ("start", "b")], first
        else:
            assert sorted(first) == [("start", "a"), ("watch", "b")], first
        names = sorted(c["Config"]["Labels"]["io.container-agent.name"] for c in ws.containers())
        assert names == ["a", "b"]
        assert all(f"GEN={generation}" in c["Config"]["Env"] for c in ws.containers())


def test_on_failure_pause_leaves_both_and_holds_the_revision_back(ws: Workspace) -> None:
    strategy = "{minReadySeconds: 2, onFailure: Pause}"
    ws.write(workers(strategy, "one"))
    assert ws.agent("apply").returncode == 0
    old = {c["Config"]["Labels"]["io.container-agent.name"]: c["Id"] for c in ws.containers()}
    ws.write(workers(strategy, "two", run="exit 3"))
    paused = ws.agent("apply")
    assert paused.returncode == 1, paused.stdout + paused.stderr
    assert "rollout paused" in paused.stdout and "exited 3 after" in paused.stdout
    states = {c["Id"]: c["State"]["Running"] for c in ws.containers()}
    assert all(states[old[name]] for name in ("a", "b"))  # the old ones run on
    assert len(states) == 3 and list(states.values()).count(False) == 1  # the failed one stays
    again = ws.agent("apply")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "rollout paused" in again.stdout or "held back" in again.stdout, again.stdout
    assert len(ws.containers()) == 3
