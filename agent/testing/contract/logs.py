"""``agent logs`` and the run times of ``list``, on the target the fixtures give.

Each test reads as what a user would check: the lines a container printed, through the
command line, by the container's name in the manifest.
"""

from __future__ import annotations

import queue
import signal
import subprocess
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import attrs
import pytest

from agent.planning.observed import ObservedContainer
from agent.testing import AGENT, Workspace, wait_for
from agent.testing.contract.manifests import manifest
from agent.testing.image import BUSYBOX_TAG
from backends.errors import NotFound

PRINTER = "echo one; echo two >&2; sleep 0.5; echo three; sleep 3; echo late; exec sleep 300"
TICKER = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done"


def containers(**commands: str) -> str:
    """A manifest of busybox containers, each running its shell command."""
    items = "".join(
        f"""
          - name: {name}
            image: IMAGE
            restartPolicy: Never
            command: [sh, -c, '{command}']"""
        for name, command in commands.items()
    )
    return manifest(f"\ncontainers:{items}\n")


def logs_argv(ws: Workspace, *args: str) -> list[str]:
    """``agent logs ARGS`` on this workspace's target and namespace."""
    return [*AGENT, "logs", *ws.target.cli_args(), f"--namespace={ws.namespace}", *args]


def agent_logs(ws: Workspace, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        logs_argv(ws, *args),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=ws.env(),
    )


def applied(ws: Workspace, **commands: str) -> None:
    ws.write(containers(**commands))
    done = ws.agent("apply")
    assert done.returncode == 0, done.stdout + done.stderr


def one(ws: Workspace, name: str, run_times: bool = False) -> ObservedContainer:
    [found] = [
        c for c in ws.target.backend().list(ws.namespace, run_times=run_times) if c.name == name
    ]
    return found


def log_readers(container_id: str) -> list[str]:
    """The command lines of the processes that read this container's logs (a CLI's)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"logs" in words and container_id.encode() in words:
            found.append(b" ".join(words).decode(errors="replace"))
    return found


def test_logs_prints_what_the_container_printed_by_its_manifest_name(ws: Workspace) -> None:
    applied(ws, printer=PRINTER)
    wait_for(lambda: "late" in agent_logs(ws, "printer").stdout, timeout=30, what="the late line")

    everything = agent_logs(ws, "printer")
    assert everything.returncode == 0, everything.stderr
    lines = everything.stdout.splitlines()
    assert sorted(lines) == ["late", "one", "three", "two"], lines  # stderr's line too
    assert lines.index("one") < lines.index("three") < lines.index("late")

    by_engine_name = agent_logs(ws, one(ws, "printer").engine_name)
    assert by_engine_name.returncode == 0 and sorted(by_engine_name.stdout.splitlines()) == sorted(
        lines
    )

    assert agent_logs(ws, "printer", "--tail", "1").stdout == "late\n"
    assert agent_logs(ws, "printer", "--tail=0").stdout == ""

    started = one(ws, "printer", run_times=True).started_at
    assert started is not None
    # "three" came 0.5 s after the start, "late" 3 s after that; libpod's listing gives
    # whole seconds, so the start may be up to 1 s earlier than the one read here.
    assert agent_logs(ws, "printer", f"--since={started + 2.5:.3f}").stdout == "late\n"
    assert sorted(agent_logs(ws, "printer", "--since=1h").stdout.splitlines()) == sorted(lines)
    future = datetime.fromtimestamp(time.time() + 3600, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    later = agent_logs(ws, "printer", f"--since={future}")
    assert later.returncode == 0 and later.stdout == ""


def test_a_follow_shows_later_lines_and_ends_quietly_on_ctrl_c_or_sigterm(ws: Workspace) -> None:
    applied(ws, ticker=TICKER)
    ticker = one(ws, "ticker")
    for sent in (signal.SIGINT, signal.SIGTERM):
        follow = subprocess.Popen(
            logs_argv(ws, "ticker", "--follow", "--tail=1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ws.env(),
        )
        try:
            lines = _lines_of(follow, count=4, timeout=30)
            ticks = [int(line.split()[1]) for line in lines]
            assert ticks == list(range(ticks[0], ticks[0] + 4)), lines  # the tail, then new ones
            follow.send_signal(sent)
            follow.wait(timeout=15)
        finally:
            if follow.poll() is None:
                follow.kill()
                follow.wait()
        assert follow.returncode == 0, (sent, follow.stderr.read() if follow.stderr else "")
        assert follow.stderr is not None and follow.stderr.read() == ""
        wait_for(lambda: not log_readers(ticker.id), timeout=10, what="no CLI reading the logs")


def test_a_follow_ends_when_the_container_stops(ws: Workspace) -> None:
    applied(ws, brief="echo first; sleep 2; echo last")
    done = agent_logs(ws, "brief", "--follow", timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["first", "last"]


def test_closing_a_followed_log_releases_the_engine_and_a_gone_container_is_not_found(
    ws: Workspace,
) -> None:
    applied(ws, ticker=TICKER)
    backend = ws.target.backend()
    ticker = one(ws, "ticker")
    chunks = backend.reader().logs(ticker.id, follow=True, tail=1)
    first = next(chunks)
    assert first.startswith(b"tick ")
    second = next(chunks)
    assert second != first
    chunks.close()  # type: ignore[attr-defined]
    wait_for(lambda: not log_readers(ticker.id), timeout=10, what="no CLI reading the logs")
    assert b"tick" in b"".join(backend.logs(ticker.id, tail=1))  # the client still works

    with pytest.raises(NotFound):
        b"".join(backend.logs("0" * 64))


def test_an_unknown_name_fails_and_a_foreign_container_of_the_name_is_never_read(
    ws: Workspace,
) -> None:
    applied(ws, web="exec sleep 300")
    foreign = f"{ws.namespace}-solo"
    ws.cli("run", "-d", f"--name={foreign}", BUSYBOX_TAG, "sh", "-c", "echo secret; exec sleep 300")
    try:
        for name in (foreign, "solo", "db"):
            done = agent_logs(ws, name)
            assert done.returncode == 1, done
            assert done.stdout == ""
            assert done.stderr == (
                f"agent: no container named {name!r} in namespace {ws.namespace!r}; known: web\n"
            )
    finally:
        ws.cli("rm", "-f", foreign, check=False)


def test_run_times_give_running_containers_their_start_and_the_plain_list_is_unchanged(
    ws: Workspace,
) -> None:
    applied(ws, sleeper="exec sleep 300", quitter="exit 3")
    wait_for(lambda: one(ws, "quitter").state == "exited", timeout=30, what="the exit")
    backend = ws.target.backend()
    plain = {c.name: c for c in backend.list(ws.namespace)}
    timed = {c.name: c for c in backend.reader().list(ws.namespace, run_times=True)}

    assert plain["sleeper"].state == "running"
    assert plain["sleeper"].started_at is None and plain["sleeper"].finished_at is None
    started = timed["sleeper"].started_at
    assert started is not None and time.time() - 120 < started <= time.time() + 2
    assert timed["sleeper"].finished_at is None
    assert attrs.evolve(timed["sleeper"], started_at=None) == plain["sleeper"]

    # An exited container has its run times either way.
    assert timed["quitter"] == plain["quitter"]
    quitter = plain["quitter"]
    assert quitter.started_at is not None and quitter.finished_at is not None
    # (dockerd may stamp an instant exit's finish a millisecond before its start)
    for stamp in (quitter.started_at, quitter.finished_at):
        assert time.time() - 120 < stamp <= time.time() + 2


def _lines_of(process: subprocess.Popen[str], count: int, timeout: float) -> list[str]:
    """The first ``count`` lines a process prints, within ``timeout`` seconds."""
    assert process.stdout is not None
    stdout = process.stdout
    got: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stdout:
            got.put(line)

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while len(lines) < count:
        try:
            lines.append(got.get(timeout=max(0.0, deadline - time.monotonic())).rstrip("\n"))
        except queue.Empty:
            raise AssertionError(f"{count} lines not printed in {timeout}s: {lines}") from None
    return lines


def log_bounds(ws: Workspace, name: str) -> tuple[str, ...]:
    """The bounds the engine keeps a container's logs within, as its inspect shows them:
    dockerd's json-file max-size and max-file, Podman's one k8s-file's size."""
    config = ws.container(name)["HostConfig"]["LogConfig"]
    if ws.target.engine.kind == "docker":
        assert config["Type"] == "json-file"
        options = config.get("Config") or {}
        return tuple(options[key] for key in ("max-size", "max-file") if key in options)
    assert config["Type"] in ("json-file", "k8s-file")
    return (config["Size"],) if config.get("Size") not in (None, "", "0B") else ()


def test_every_container_gets_bounded_logs_that_agent_logs_still_reads(ws: Workspace) -> None:
    applied(ws, printer="echo one; echo two; exec sleep 300")
    # 10 MiB x 3 files by default; Podman keeps one file, cut back at 10 MiB (10.49 MB).
    docker = ws.target.engine.kind == "docker"
    assert log_bounds(ws, "printer") == (("10m", "3") if docker else ("10.49MB",))
    wait_for(lambda: agent_logs(ws, "printer").stdout == "one\ntwo\n", what="the two lines")

    # Agent-wide: a new container (a changed command) gets the bounds the agent is given.
    ws.write(containers(printer="echo three; exec sleep 300"))
    done = ws.agent("apply", "--log-max-size=2", "--log-max-files=5")
    assert done.returncode == 0, done.stdout + done.stderr
    assert log_bounds(ws, "printer") == (("2m", "5") if docker else ("2.097MB",))
    wait_for(lambda: agent_logs(ws, "printer").stdout == "three\n", what="the new line")


def test_a_new_default_replaces_no_container_and_0_leaves_logs_unbounded(ws: Workspace) -> None:
    applied(ws, printer="exec sleep 300")
    before = ws.container("printer")["Id"]
    again = ws.agent("apply", "--log-max-size=0")
    assert again.returncode == 0, again.stdout + again.stderr
    assert ws.container("printer")["Id"] == before

    ws.write(containers(printer="echo free; exec sleep 300"))
    done = ws.agent("apply", "--log-max-size=0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert log_bounds(ws, "printer") == ()
    wait_for(lambda: agent_logs(ws, "printer").stdout == "free\n", what="the line")
