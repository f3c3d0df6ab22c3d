"""``agent run`` as a daemon on a real engine: it converges, survives bad files, stops cleanly."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import pytest

from agent.testing import AGENT, Target, Workspace, wait_for
from agent.testing.contract.manifests import sleeper
from tests.engines import Engine


@pytest.fixture
def ws(docker_engine: Engine, namespace: str, tmp_path: Path) -> Workspace:
    return Workspace(Target("docker-cli", docker_engine, docker_engine.cli), namespace, tmp_path)


def _names(ws: Workspace) -> list[str]:
    return sorted(
        c["Config"]["Labels"]["io.container-agent.name"]
        for c in ws.containers()
        if c["State"]["Running"]
    )


def test_run_converges_keeps_last_good_content_and_exits_0_on_sigterm(ws: Workspace) -> None:
    ws.write(sleeper("a", "b"))
    log = ws.root / "agent.log"
    argv = [
        *AGENT,
        *ws.target.cli_args(),
        f"--namespace={ws.namespace}",
        f"--volumes-root={ws.volumes}",
        "--stop-timeout=1",
        "--reload=0.3",
        str(ws.manifest),
    ]
    with log.open("w") as out:
        agent = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=ws.env())
    try:
        wait_for(lambda: _names(ws) == ["a", "b"], what="a and b running")

        # An edit is picked up by a later pass.
        ws.write(sleeper("a", "c"))
        wait_for(lambda: _names(ws) == ["a", "c"], what="b replaced by c")
        # b's removal runs beside c's start: its container may still be listed a moment.
        wait_for(lambda: len(ws.containers()) == 2, what="b removed")
        ids = sorted(c["Id"] for c in ws.containers())

        # A file that turns invalid keeps its last valid content in force; nothing is stopped.
        ws.write("version: v1beta1\ncontainers:\n  - name: a\n    image: 12 not valid\n")
        wait_for(lambda: "containers[a].image" in log.read_text(), what="the error in the log")
        ws.cli("kill", ws.container("c")["Id"])
        wait_for(lambda: _names(ws) == ["a", "c"], what="c restarted under the last good content")
        assert sorted(c["Id"] for c in ws.containers()) == ids
        assert log.read_text().count("containers[a].image") == 1, "logged once per change"
    finally:
        agent.send_signal(signal.SIGTERM)
        code = agent.wait(timeout=30)
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text()
    assert _names(ws) == ["a", "c"], "containers keep running after the agent stops"


def test_bare_agent_command_means_run(ws: Workspace) -> None:
    ws.write(sleeper("solo"))
    argv = [*AGENT, *ws.target.cli_args(), f"--namespace={ws.namespace}", "--reload=0.3"]
    agent = subprocess.Popen(
        [*argv, str(ws.manifest)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ws.env()
    )
    try:
        wait_for(lambda: _names(ws) == ["solo"], what="solo running")
    finally:
        agent.send_signal(signal.SIGINT)
        assert agent.wait(timeout=30) == 0
