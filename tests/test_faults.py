"""The run loop under faults, on every backend and a real engine: crash loops, policies,
edits, kills, and a second agent. Back-off delays are compressed so that it runs in seconds."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import time

from agent.testing import Workspace, wait_for
from agent.testing.contract.manifests import manifest, sleeper
from backends.timestamps import parse_rfc3339

FAST_BACKOFF = ("--reload=0.2", "--backoff-initial=1", "--backoff-max=4", "--backoff-reset=600")


def exiting(*containers: tuple[str, int, str]) -> str:
    """Containers that print ``boot`` and exit with a code, under a restart policy."""
    items = "".join(
        f"""
          - name: {name}
            image: IMAGE
            restartPolicy: {policy}
            command: [sh, -c, 'echo boot; exit {code}']"""
        for name, code, policy in containers
    )
    return manifest(f"\ncontainers:{items}\n")


def boots(ws: Workspace, name: str) -> list[float]:
    """When each run of the container began, from the engine's timestamped logs."""
    found = [c for c in ws.containers() if c["Config"]["Labels"]["io.container-agent.name"] == name]
    if not found:
        return []
    cid = found[0]["Id"]
    lines = ws.cli("logs", "--timestamps", cid).stdout.splitlines()
    stamps = [parse_rfc3339(line.split()[0]) for line in lines if line.endswith("boot")]
    return [s for s in stamps if s is not None]


def test_a_crash_loop_backs_off_doubling_up_to_the_cap(ws: Workspace) -> None:
    ws.write(exiting(("crash", 1, "Always")))
    with ws.running(*FAST_BACKOFF):
        wait_for(lambda: len(boots(ws, "crash")) >= 6, timeout=40, what="six runs")
        waiting = ""
        for _ in range(20):
            waiting = ws.agent("plan").stdout
            if "# back-off: exited 1, restart in" in waiting:
                break
            time.sleep(0.3)
    starts = boots(ws, "crash")
    gaps = [round(b - a, 2) for a, b in itertools.pairwise(starts)]
    print("gaps between runs (s):", gaps)
    # 0 (the first restart is at once), then 1, 2, 4, 4: each plus a pass of latency (and,
    # on podman, up to a second of its clean-up of an exited container).
    assert gaps[0] < 1.5, gaps
    assert 1.0 <= gaps[1] < 2.5, gaps
    assert 2.0 <= gaps[2] < 3.5, gaps
    assert all(4.0 <= gap < 5.5 for gap in gaps[3:5]), gaps
    assert "  = crash" in waiting and "waiting in back-off." in waiting, waiting


def test_on_failure_and_never_are_honoured(ws: Workspace) -> None:
    ws.write(
        exiting(
            ("ok-once", 0, "OnFailure"),
            ("fail-again", 1, "OnFailure"),
            ("never", 1, "Never"),
            ("always", 0, "Always"),
        )
    )
    with ws.running(*FAST_BACKOFF):
        wait_for(lambda: len(boots(ws, "fail-again")) >= 3, timeout=30, what="fail-again restarts")
        wait_for(lambda: len(boots(ws, "always")) >= 3, timeout=30, what="always restarts")
    assert len(boots(ws, "ok-once")) == 1, "OnFailure leaves an exit 0 alone"
    assert len(boots(ws, "never")) == 1, "Never leaves any exit alone"


def test_an_edit_is_picked_up_without_waiting_for_the_next_pass(ws: Workspace) -> None:
    ws.write(sleeper("a"))
    with ws.running("--reload=60"):
        wait_for(lambda: ws.running_names() == ["a"], what="a running")
        time.sleep(0.5)
        edited = time.monotonic()
        ws.write(sleeper("a", "b"))
        wait_for(lambda: ws.running_names() == ["a", "b"], timeout=10, what="b after the edit")
        print(f"edit to running container: {time.monotonic() - edited:.2f}s")
        # An editor's save by rename is an edit too.
        temporary = ws.root / ".containers.yaml.swp"
        temporary.write_text(sleeper("a", "b", "c"))
        os.replace(temporary, ws.manifest)
        wait_for(lambda: ws.running_names() == ["a", "b", "c"], timeout=10, what="c after rename")


def test_sighup_rereads_every_file(ws: Workspace) -> None:
    ws.write(sleeper("a"))
    with ws.running("--reload=60") as (agent, _):
        wait_for(lambda: ws.running_names() == ["a"], what="a running")
        stamp = ws.manifest.stat()
        ws.write(sleeper("a", "hup"))
        os.utime(ws.manifest, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
        agent.send_signal(signal.SIGHUP)
        wait_for(lambda: ws.running_names() == ["a", "hup"], timeout=10, what="hup after SIGHUP")


def test_sigkill_in_the_middle_of_an_apply_then_again_converges_without_duplicates(
    ws: Workspace,
) -> None:
    names = [f"c{i:02d}" for i in range(30)]
    ws.write(sleeper(*names))
    # Four at a time, so that the kill lands in the middle of a parallel apply.
    first = subprocess.Popen(
        ws.agent_argv("apply", "--parallel=4"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=ws.env(),
    )
    wait_for(lambda: len(ws.containers()) >= 5, timeout=60, what="five containers")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(2)  # let the engine calls the killed agent had in flight finish
    before = {c["Id"]: c["State"]["StartedAt"] for c in ws.containers() if c["State"]["Running"]}
    assert 5 <= len(ws.containers()) < 30, "killed in the middle"

    done = subprocess.run(
        ws.agent_argv("apply"), capture_output=True, text=True, env=ws.env(), timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    after = ws.containers()
    assert sorted(c["Config"]["Labels"]["io.container-agent.name"] for c in after) == names
    assert all(c["State"]["Running"] for c in after)
    still = {c["Id"]: c["State"]["StartedAt"] for c in after}
    assert all(still.get(cid) == started for cid, started in before.items()), (
        "no healthy container was restarted or replaced"
    )


def test_a_second_agent_for_the_same_namespace_refuses_to_start(ws: Workspace) -> None:
    ws.write(sleeper("a"))
    with ws.running("--reload=0.5") as (first, _):
        wait_for(lambda: ws.running_names() == ["a"], what="a running")
        for command in ("run", "apply"):
            second = subprocess.run(
                ws.agent_argv(command), capture_output=True, text=True, env=ws.env(), timeout=60
            )
            assert second.returncode == 1
            assert f"(pid {first.pid}) already manages namespace '{ws.namespace}'" in second.stderr
        assert first.poll() is None


def test_sigterm_finishes_the_action_in_flight_and_leaves_nothing_half_made(
    ws: Workspace,
) -> None:
    ws.write(sleeper(*[f"c{i}" for i in range(8)]))
    with ws.running("--reload=0.5") as (agent, log):
        wait_for(lambda: len(ws.containers()) >= 2, timeout=60, what="two containers")
        agent.send_signal(signal.SIGTERM)
        assert agent.wait(timeout=60) == 0
    containers = ws.containers()
    assert containers and all(c["State"]["Running"] for c in containers), [
        (c["Name"], c["State"]["Status"]) for c in containers
    ]
    assert "agent stopped; containers keep running" in log.read_text()
