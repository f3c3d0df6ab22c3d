"""Engine events on every target, against real engines: the stream reports what happens to
the namespace's containers and nothing else, and the daemon acts on a dying container at
once, however long ``--reload`` is, and through an engine that goes away and comes back."""

from __future__ import annotations

import queue
import secrets
import subprocess
import threading
import time
from typing import Any

from agent.planning.observed import ContainerEvent
from agent.testing import AGENT, Workspace, wait_for
from agent.testing.contract.manifests import sleeper
from agent.testing.proxy import SocketProxy
from backends.base import EventStream
from tests.engines import BUSYBOX_TAG

# A generous bound for a test; benchmarks/ measures the real figure.
AT_ONCE = 15.0


def _collect(ws: Workspace) -> tuple[queue.Queue[ContainerEvent], threading.Thread, EventStream]:
    stream = ws.target.backend().events(ws.namespace)
    seen: queue.Queue[ContainerEvent] = queue.Queue()

    def read() -> None:
        for event in stream:
            seen.put(event)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return seen, reader, stream


def _wait_restarted(ws: Workspace, before: dict[str, Any], what: str) -> None:
    """Wait, AT_ONCE at most, for container ``a`` to run again after its run ``before``."""

    def again() -> bool:
        now = ws.container("a")["State"]
        return bool(now["Running"]) and now["StartedAt"] != before["State"]["StartedAt"]

    wait_for(again, timeout=AT_ONCE, what=what)


def test_the_event_stream_tells_a_kill_in_the_namespace_and_nothing_else(ws: Workspace) -> None:
    ws.write(sleeper("a"))
    ws.apply()
    a = ws.container("a")["Id"]
    foreign = f"foreign-{secrets.token_hex(4)}"
    ws.cli("run", "-d", "--name", foreign, BUSYBOX_TAG, "sleep", "600")
    try:
        seen, reader, stream = _collect(ws)
        time.sleep(1)  # the stream is open before anything happens
        ws.cli("kill", foreign)
        ws.cli("kill", a)
        deadline = time.monotonic() + AT_ONCE
        events: list[ContainerEvent] = []
        while not any(e.action == "die" for e in events) and time.monotonic() < deadline:
            events.append(seen.get(timeout=max(0.1, deadline - time.monotonic())))
        died = [e for e in events if e.action == "die"]
        assert [(e.id, e.name) for e in died] == [(a, "a")], events
        assert all(e.id == a for e in events), "nothing of the foreign container"
        assert abs(died[0].time - time.time()) < 60

        stream.close()
        reader.join(timeout=10)
        assert not reader.is_alive(), "close ends a stream that is waiting"
    finally:
        ws.cli("rm", "-f", foreign, check=False)


def test_a_killed_container_runs_again_at_once_under_a_long_reload(ws: Workspace) -> None:
    ws.write(sleeper("a", "b"))
    with ws.running("--reload=600"):
        wait_for(lambda: ws.running_names() == ["a", "b"], what="a and b running")
        before = ws.container("a")
        time.sleep(1)  # the first pass is over and the event stream open
        ws.cli("kill", before["Id"])
        _wait_restarted(ws, before, "a running again long before the next periodic pass")
        assert ws.container("a")["Id"] == before["Id"], "restarted, not replaced"


def test_the_event_stream_comes_back_after_the_engine_went_away(ws: Workspace) -> None:
    proxy = SocketProxy(ws.root / "engine.sock", ws.target.engine.socket)
    proxy.start()
    through = ws.target.via(proxy.url)
    ws.write(sleeper("a"))
    log = ws.root / "agent.log"
    argv = [
        *AGENT,
        "run",
        *through.cli_args(),
        f"--namespace={ws.namespace}",
        f"--state-dir={ws.state}",
        "--reload=600",
        "-v",
        str(ws.manifest),
    ]
    with log.open("w") as out:
        agent = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=ws.env())
    try:
        wait_for(lambda: ws.running_names() == ["a"], what="a running")
        wait_for(lambda: "following engine events" in log.read_text(), what="the stream open")
        proxy.stop()
        wait_for(lambda: "engine events lost" in log.read_text(), what="the break in the log")
        time.sleep(4)  # a few reconnect attempts, none of which may pass for a stream
        assert "engine events followed again" not in log.read_text()
        proxy.start()
        wait_for(
            lambda: "engine events followed again" in log.read_text(),
            timeout=60,
            what="the stream back",
        )
        before = ws.container("a")
        ws.cli("kill", before["Id"])
        _wait_restarted(ws, before, "a running again through the new stream")
        assert agent.poll() is None
    finally:
        agent.terminate()
        code = agent.wait(timeout=60)
        proxy.stop()
    assert code == 0
    text = log.read_text()
    assert text.count("engine events lost") == 1, "logged once"
    assert "Traceback" not in text
