"""The prober against checks of its own machine: commands given as functions, and HTTP
and TCP servers on 127.0.0.1. No engine: the exec of each engine is in the contract suite."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from agent.daemon.checks import run_check
from agent.daemon.prober import Prober, Target
from agent.manifest.probes import ExecCheck, HttpCheck, Probe, TcpCheck
from agent.planning.spec import PortBinding
from agent.state.health_file import HealthFile
from agent.testing import wait_for

EXEC = ExecCheck(("check",))


def quick(check: ExecCheck | HttpCheck | TcpCheck, **timing: float) -> Probe:
    return Probe(check, **{"period": 0.1, "timeout": 1, "failure_threshold": 3, **timing})  # type: ignore[arg-type]


class Answers:
    """An exec that answers from a script of exit codes, counting calls and overlap."""

    def __init__(self, codes: Sequence[int] = (0,), delay: float = 0.0) -> None:
        self.codes = list(codes)
        self.delay = delay
        self.calls = 0
        self.busy = 0
        self.most = 0
        self.release = threading.Event()
        self.hang = False
        self._lock = threading.Lock()

    def __call__(self, command: Sequence[str], timeout: float) -> tuple[int, bytes]:
        with self._lock:
            self.calls += 1
            self.busy += 1
            self.most = max(self.most, self.busy)
            code = self.codes[min(self.calls, len(self.codes)) - 1]
        try:
            if self.hang:
                self.release.wait(30)
            time.sleep(self.delay)
            return code, b"line one\nnot ok\n" if code else b""
        finally:
            with self._lock:
                self.busy -= 1


@pytest.fixture
def woken() -> list[float]:
    return []


def prober_for(
    answers: Answers | Callable[[str], Answers], woken: list[float], path: Path | None = None
) -> Prober:
    def exec_in(container_id: str) -> Answers:
        return answers(container_id) if not isinstance(answers, Answers) else answers

    health_file = HealthFile(str(path)) if path else None
    prober = Prober(exec_in, lambda: woken.append(time.monotonic()), health_file, slots=4)
    prober.start()
    return prober


def test_three_failures_in_a_row_make_a_container_unhealthy_once(
    woken: list[float], tmp_path: Path
) -> None:
    answers = Answers([0, 1, 0, 1, 1, 1, 1, 1])
    prober = prober_for(answers, woken, tmp_path / "health.json")
    try:
        prober.watch([Target("c1", "web", quick(EXEC))])

        def checked(times: int) -> bool:
            health = prober.health().get("c1")
            return health is not None and health.checks >= times

        wait_for(lambda: checked(7), timeout=10, what="seven checks")
        health = prober.health()["c1"]
        assert health.unhealthy and health.failures >= 4
        assert health.last == 'exec ["check"] exited 1: not ok'
        assert len(woken) == 1  # woken when it turned unhealthy, not at each failure
    finally:
        prober.close()
    saved = HealthFile(str(tmp_path / "health.json")).read()
    assert saved["c1"].unhealthy and saved["c1"].probe == quick(EXEC).fingerprint


def test_the_first_check_waits_for_the_initial_delay(woken: list[float]) -> None:
    answers = Answers([1])
    prober = prober_for(answers, woken)
    try:
        prober.watch([Target("c1", "web", quick(EXEC, initial_delay=0.8))])
        time.sleep(0.5)
        assert answers.calls == 0
        wait_for(lambda: answers.calls >= 1, timeout=5, what="the first check")
    finally:
        prober.close()


def test_a_hung_exec_is_abandoned_and_never_holds_up_the_others(woken: list[float]) -> None:
    hung, fine = Answers([0]), Answers([0])
    hung.hang = True
    prober = prober_for(lambda cid: hung if cid == "stuck" else fine, woken)
    try:
        prober.watch(
            [
                Target("stuck", "stuck", quick(EXEC, timeout=0.3, period=0.2)),
                Target("ok", "ok", quick(EXEC)),
            ]
        )

        def stuck() -> bool:
            health = prober.health().get("stuck")
            return health is not None and health.unhealthy

        wait_for(stuck, timeout=10, what="the stuck container unhealthy")
        assert hung.calls == 1  # one hung exec, never a second on top of it
        assert "abandoned" in prober.health()["stuck"].last or "still hung" in (
            prober.health()["stuck"].last
        )
        before = fine.calls
        time.sleep(0.6)
        assert fine.calls >= before + 3  # the other container is checked on schedule
        assert not prober.health()["ok"].unhealthy
    finally:
        hung.release.set()
        prober.close()


def test_checks_run_at_most_slots_at_once(woken: list[float]) -> None:
    answers = Answers([0], delay=0.2)
    prober = prober_for(answers, woken)
    try:
        prober.watch([Target(f"c{i}", f"c{i}", quick(EXEC)) for i in range(20)])
        wait_for(lambda: answers.calls >= 30, timeout=20, what="thirty checks")
        assert answers.most <= 4
    finally:
        prober.close()


def test_a_target_dropped_or_given_a_new_probe_starts_afresh(woken: list[float]) -> None:
    answers = Answers([1])
    prober = prober_for(answers, woken)
    try:
        prober.watch([Target("c1", "web", quick(EXEC))])
        wait_for(lambda: "c1" in prober.health(), timeout=5, what="a check")
        prober.watch([Target("c1", "web", quick(EXEC, initial_delay=5))])
        assert "c1" not in prober.health()
        prober.watch([])
        assert prober.health() == {}
    finally:
        prober.close()


# --- the checks themselves, against servers on 127.0.0.1 ----------------------------------


class _Pages(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 200 if self.path == "/ok" else 500
        if self.path == "/redirect":
            status = 302
        agent = self.headers.get("X-Probe", "")
        self.send_response(status)
        self.send_header("Content-Length", str(len(agent)))
        self.end_headers()
        self.wfile.write(agent.encode())

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def published(port: int, inside: int = 80, ip: str = "") -> list[PortBinding]:
    return [PortBinding(inside, port, "tcp", ip)]


def no_exec(command: Sequence[str], timeout: float) -> tuple[int, bytes]:
    raise AssertionError("no exec expected")


@pytest.mark.parametrize(
    ("path", "passed", "said"),
    [("/ok", True, "HTTP 200"), ("/healthz", False, "HTTP 500"), ("/redirect", True, "HTTP 302")],
)
def test_an_http_check_passes_on_2xx_and_3xx(web: int, path: str, passed: bool, said: str) -> None:
    check = HttpCheck(80, path, (("X-Probe", "yes"),))
    assert run_check(check, published(web), 1, no_exec) == (
        passed, f"{said} from 127.0.0.1:{web}{path}"
    )  # fmt: skip


def test_an_http_check_of_a_closed_port_is_refused() -> None:
    port = _closed_port()
    passed, said = run_check(HttpCheck(80, "/"), published(port, ip="127.0.0.1"), 1, no_exec)
    assert not passed and said == f"connection refused: GET 127.0.0.1:{port}/"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_tcp_check_tells_a_listener_from_a_proxy_that_hangs_up() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    closing = threading.Event()

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            if closing.is_set():
                connection.close()  # what Docker's proxy does when nothing listens inside
            else:
                threading.Timer(1.0, connection.close).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        assert run_check(TcpCheck(80), published(port), 1, no_exec) == (
            True, f"connected to 127.0.0.1:{port}"
        )  # fmt: skip
        closing.set()
        assert run_check(TcpCheck(80), published(port), 1, no_exec) == (
            False, f"connection closed at once by 127.0.0.1:{port}"
        )  # fmt: skip
    finally:
        listener.shutdown(socket.SHUT_RDWR)  # wakes the accept, so the port closes
        listener.close()
    passed, said = run_check(TcpCheck(80), published(port), 1, no_exec)
    assert not passed and said == f"connection refused by 127.0.0.1:{port}"


def test_a_port_published_on_every_address_is_probed_on_loopback() -> None:
    port = _closed_port()
    for ip, shown in (("", "127.0.0.1"), ("0.0.0.0", "127.0.0.1"), ("::", "[::1]")):
        _, said = run_check(TcpCheck(80), published(port, ip=ip), 1, no_exec)
        assert f"{shown}:{port}" in said
    passed, said = run_check(TcpCheck(81), published(port), 1, no_exec)
    assert (passed, said) == (False, "port 81 is not published")
