"""Following engine events without an engine: which events wake the run loop, how a broken
stream is retried, and how the engines' event rows are read."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator

import pytest

from agent.engine.events import EventFollower
from agent.planning.backoff import Backoff
from agent.planning.observed import ContainerEvent
from backends.base import EventStream
from backends.docker_rows import event_from_docker
from backends.errors import EngineUnreachable, Unsupported
from backends.libpod_rows import event_from_podman_cli
from tests.fakes import FakeBackend

END = ContainerEvent("", "", "<end of stream>", 0)


class QueuedStream(EventStream):
    """Events put on a queue by the test; END (or close) ends the stream, or ``error`` breaks it."""

    def __init__(self, error: Exception | None = None) -> None:
        self.queue: queue.Queue[ContainerEvent] = queue.Queue()
        self.error = error
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[ContainerEvent]:
        while True:
            event = self.queue.get(timeout=10)
            if event is END or self.closed.is_set():
                if self.error is not None and not self.closed.is_set():
                    raise self.error
                return
            yield event

    def close(self) -> None:
        self.closed.set()
        self.queue.put(END)


class EventfulBackend(FakeBackend):
    """Hands out the streams of :attr:`streams` in turn (then streams that fail at once)."""

    def __init__(self, *streams: QueuedStream | Exception) -> None:
        super().__init__()
        self.streams = list(streams)
        self.opened: list[QueuedStream] = []
        self.asked = threading.Semaphore(0)

    def events(self, namespace: str) -> EventStream:
        self.asked.release()
        item = self.streams.pop(0) if self.streams else EngineUnreachable("gone", self.address)
        if isinstance(item, Exception):
            raise item
        self.opened.append(item)
        return item


def die(name: str, action: str = "die") -> ContainerEvent:
    return ContainerEvent(f"id-{name}", name, action, 1.0)


@pytest.fixture
def wakes() -> queue.Queue[str]:
    return queue.Queue()


def _follower(
    backend: EventfulBackend, wakes: queue.Queue[str], rechecks: tuple[float, ...] = ()
) -> EventFollower:
    follower = EventFollower(
        backend, "ns", lambda: wakes.put("wake"), reconnect=Backoff(0.01, 0.02), rechecks=rechecks
    )
    follower.start()
    return follower


def test_a_container_that_dies_wakes_the_loop_and_a_start_does_not(
    wakes: queue.Queue[str],
) -> None:
    stream = QueuedStream()
    follower = _follower(EventfulBackend(stream), wakes)
    try:
        for event in (die("web", "start"), die("web", "create"), die("web"), die("db", "oom")):
            stream.queue.put(event)
        assert [wakes.get(timeout=5), wakes.get(timeout=5)] == ["wake", "wake"]
        assert wakes.empty()
        assert follower.events == 2
    finally:
        follower.close()
    assert stream.closed.is_set()


def test_a_burst_of_deaths_wakes_the_loop_again_once_at_each_recheck(
    wakes: queue.Queue[str],
) -> None:
    stream = QueuedStream()
    follower = _follower(EventfulBackend(stream), wakes, rechecks=(0.2, 0.4))
    try:
        for name in ("a", "b", "c"):
            stream.queue.put(die(name))
        for _ in range(3):
            assert wakes.get(timeout=5) == "wake", "at once, for each"
        assert wakes.get(timeout=5) == "wake", "the first recheck"
        assert wakes.get(timeout=5) == "wake", "the second recheck"
        with pytest.raises(queue.Empty):
            wakes.get(timeout=0.6)
    finally:
        follower.close()


def test_a_recheck_asked_after_a_long_pass_wakes_the_loop_again_from_then(
    wakes: queue.Queue[str],
) -> None:
    """Events during a long pass used their rechecks up while it ran: the run loop asks
    for them again once the pass is done, and they come RECHECKS from then."""
    follower = _follower(EventfulBackend(QueuedStream()), wakes, rechecks=(0.2, 0.4))
    try:
        asked = time.monotonic()
        follower.recheck()
        assert wakes.get(timeout=5) == "wake"
        assert time.monotonic() - asked >= 0.2, "RECHECKS from the moment it is asked"
        assert wakes.get(timeout=5) == "wake"
        with pytest.raises(queue.Empty):
            wakes.get(timeout=0.6)
    finally:
        follower.close()


@pytest.mark.parametrize("action", ["die", "oom", "stop", "kill", "destroy"])
def test_what_ends_or_removes_a_container_wakes_the_loop(
    action: str, wakes: queue.Queue[str]
) -> None:
    stream = QueuedStream()
    follower = _follower(EventfulBackend(stream), wakes)
    try:
        stream.queue.put(die("web", action))
        assert wakes.get(timeout=5) == "wake"
    finally:
        follower.close()


def test_a_broken_stream_is_logged_once_and_a_reconnect_wakes_a_pass(
    wakes: queue.Queue[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agent.events")
    first = QueuedStream(error=EngineUnreachable("socket closed", "fake://memory"))
    second = QueuedStream()
    backend = EventfulBackend(
        first, EngineUnreachable("refused", "fake://memory"), EngineUnreachable("refused"), second
    )
    follower = _follower(backend, wakes)
    try:
        first.queue.put(END)  # the engine goes away
        assert wakes.get(timeout=5) == "wake", "the reconnect wakes a pass"
        second.queue.put(die("web"))
        assert wakes.get(timeout=5) == "wake"
        assert follower.connected
    finally:
        follower.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "engine events lost (socket closed); the periodic pass carries on, reconnecting"
    ]
    assert "engine events followed again" in caplog.messages


def test_a_backend_without_events_is_said_once_and_not_asked_again(
    wakes: queue.Queue[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="agent.events")
    backend = EventfulBackend(Unsupported("the fake backend follows no events"))
    follower = _follower(backend, wakes)
    follower._thread.join(timeout=5)
    assert not follower._thread.is_alive()
    assert caplog.messages == [
        "the fake backend follows no events; the periodic pass notices changes"
    ]
    assert wakes.empty()
    follower.close()


def test_close_ends_a_quiet_stream_at_once(wakes: queue.Queue[str]) -> None:
    stream = QueuedStream()
    follower = _follower(EventfulBackend(stream), wakes)
    assert stream is not None
    follower.close()
    assert not follower._thread.is_alive()


# --- the engines' event rows ------------------------------------------------------------------

LABELS = {"io.container-agent.namespace": "ns", "io.container-agent.name": "web"}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(
            {
                "Type": "container",
                "Action": "die",
                "Actor": {"ID": "c0ffee", "Attributes": {**LABELS, "exitCode": "1"}},
                "time": 1700000000,
                "timeNano": 1700000000500000000,
            },
            ContainerEvent("c0ffee", "web", "die", 1700000000.5),
            id="dockerd",
        ),
        pytest.param(
            {
                "status": "died",
                "Type": "container",
                "Action": "died",
                "Actor": {"ID": "c0ffee", "Attributes": LABELS},
                "time": 1700000000,
            },
            ContainerEvent("c0ffee", "web", "die", 1700000000.0),
            id="libpod's API, in Docker's format with its own word",
        ),
        pytest.param(
            {
                "Type": "container",
                "Action": "exec_start: sh -c true",
                "Actor": {"ID": "c0ffee", "Attributes": LABELS},
                "timeNano": 1,
            },
            ContainerEvent("c0ffee", "web", "exec_start", 1e-9),
            id="an action with details",
        ),
        pytest.param(
            {"Type": "image", "Action": "pull", "Actor": {"ID": "busybox"}}, None, id="an image"
        ),
    ],
)
def test_a_docker_format_event_reads_as_a_container_event(
    row: dict[str, object], expected: ContainerEvent | None
) -> None:
    assert event_from_docker(row) == expected


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(
            {
                "ID": "c0ffee",
                "Image": "localhost/busybox:latest",
                "Name": "container-agent-web-5e1f0c2a",
                "Status": "remove",
                "Time": "2026-12-01T20:03:19.5Z",
                "Type": "container",
                "Attributes": LABELS,
            },
            ContainerEvent("c0ffee", "web", "destroy", 1796155399.5),
            id="podman 4: Time in RFC 3339 only",
        ),
        pytest.param(
            {
                "ID": "c0ffee",
                "Image": "localhost/busybox:latest",
                "Name": "container-agent-web-5e1f0c2a",
                "Status": "died",
                "ContainerExitCode": 1,
                "time": 1796155399,
                "timeNano": 1796155399500000000,
                "Type": "container",
                "Attributes": LABELS,
            },
            ContainerEvent("c0ffee", "web", "die", 1796155399.5),
            id="podman 5: time and timeNano, no Time",
        ),
        pytest.param(
            {"ID": "c0ffee", "Status": "start", "Type": "container", "time": 1796155399},
            ContainerEvent("c0ffee", "", "start", 1796155399.0),
            id="seconds only",
        ),
        pytest.param(
            {"ID": "c0ffee", "Status": "start", "Type": "container", "Time": "yesterday"},
            ContainerEvent("c0ffee", "", "start", 0.0),
            id="no readable time",
        ),
        pytest.param({"Type": "image", "ID": "x", "Status": "pull"}, None, id="an image"),
    ],
)
def test_a_podman_cli_event_reads_as_a_container_event(
    row: dict[str, object], expected: ContainerEvent | None
) -> None:
    assert event_from_podman_cli(row) == expected
