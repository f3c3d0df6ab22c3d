"""``agent logs`` without an engine: ``--since`` and ``--tail`` as written, which container a
name means, and what reaches standard output (the engine is the recording fake)."""

from __future__ import annotations

import io
import logging
import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime

import pytest

from agent import cli
from agent.cli import commands
from agent.engine.logs import UnknownContainer, choose, parse_since, parse_tail, write_logs
from agent.planning.observed import ObservedContainer
from backends.base import Backend
from tests.fakes import FakeBackend

NOW = 1_767_322_800.0  # 2026-01-02T03:00:00Z


def local(*fields: int) -> float:
    """A wall-clock time of this machine's zone, as docker reads a timestamp without one."""
    return datetime(*fields).timestamp()  # type: ignore[arg-type]


SINCE = [
    ("10m", NOW - 600),
    ("90s", NOW - 90),
    ("2h", NOW - 7200),
    ("1h30m", NOW - 5400),
    ("1.5h", NOW - 5400),
    ("500ms", NOW - 0.5),
    (" 10m ", NOW - 600),
    ("1767322800", 1_767_322_800.0),
    ("1767322800.25", 1_767_322_800.25),
    ("0", 0.0),
    ("10", 10.0),
    ("2026-01-02T03:04:05Z", NOW + 245),
    ("2026-01-02t03:04:05z", NOW + 245),
    ("2026-01-02T03:04:05.5Z", NOW + 245.5),
    ("2026-01-02T03:04:05.123456789Z", NOW + 245.123456789),
    ("2026-01-02T04:04:05+01:00", NOW + 245),
    ("2026-01-02T01:34:05-01:30", NOW + 245),
    ("2026-01-02 03:04:05Z", NOW + 245),
    ("2026-01-02T03:04:05", local(2026, 1, 2, 3, 4, 5)),
    ("2026-01-02", local(2026, 1, 2)),
]


@pytest.mark.parametrize(("text", "expected"), SINCE, ids=[t for t, _ in SINCE])
def test_since_as_seconds_since_the_epoch(text: str, expected: float) -> None:
    assert parse_since(text, NOW) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "-10m", "10d", "10 m", "m", "1e9", "2026-13-01", "2026-02-30", "12:00"],
)
def test_since_refuses_what_docker_would_not_read(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|not a date"):
        parse_since(text, NOW)


@pytest.mark.parametrize(("text", "expected"), [("0", 0), ("5", 5), ("all", None), ("ALL", None)])
def test_tail(text: str, expected: int | None) -> None:
    assert parse_tail(text) == expected


@pytest.mark.parametrize("text", ["-1", "x", "1.5", ""])
def test_tail_refuses_anything_but_a_count(text: str) -> None:
    with pytest.raises(ValueError, match="number of lines"):
        parse_tail(text)


def listed(
    cid: str, name: str, state: str = "running", started: float | None = None
) -> ObservedContainer:
    engine_name = f"ns-{name}-{cid[:8]}" if name else cid
    return ObservedContainer(cid, engine_name, "ns", name, cid[:8], state, started_at=started)


def test_a_name_is_the_manifest_name_or_the_engine_name() -> None:
    web, api = listed("aaaaaaaa1", "web"), listed("bbbbbbbb1", "api")
    assert choose([web, api], "web", "ns") == web
    assert choose([web, api], "ns-api-bbbbbbbb", "ns") == api


def test_of_two_containers_of_a_name_the_running_one_then_the_newest() -> None:
    old = listed("aaaaaaaa1", "web", "exited", started=100.0)
    older = listed("cccccccc1", "web", "exited", started=50.0)
    new = listed("bbbbbbbb1", "web", "running")
    created = listed("dddddddd1", "web", "created")
    assert choose([old, new, older], "web", "ns") == new
    assert choose([older, old], "web", "ns") == old
    assert choose([old, created], "web", "ns") == created


def test_an_unknown_name_lists_the_known_ones_and_never_an_unlabelled_container() -> None:
    unlabelled = listed("ffffffff1", "")
    with pytest.raises(UnknownContainer) as unknown:
        choose([listed("bbbbbbbb1", "web"), listed("aaaaaaaa1", "api"), unlabelled], "db", "ns")
    assert str(unknown.value) == "no container named 'db' in namespace 'ns'; known: api, web"
    with pytest.raises(UnknownContainer, match="known: none"):
        choose([unlabelled], unlabelled.engine_name, "ns")
    with pytest.raises(UnknownContainer):
        choose([unlabelled], "", "ns")


def test_the_chunks_are_written_as_they_come_with_the_options_passed_on() -> None:
    fake = FakeBackend([listed("aaaaaaaa1", "web")])
    fake.output["aaaaaaaa1"] = [b"one\n", b"two\n", b"three\n"]
    out = io.BytesIO()
    write_logs(fake.reader(), "ns", "web", out, tail=2, since=5.0)
    assert out.getvalue() == b"two\nthree\n"
    assert fake.calls == [
        ("list", "ns"),
        ("logs", "aaaaaaaa1", "follow=False", "tail=2", "since=5.0"),
    ]


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_follow_ends_on_ctrl_c_or_sigterm_even_with_sigint_ignored_from_the_start(
    sent: signal.Signals,
) -> None:
    """As under ``nohup`` or a shell's background job, which start it with SIGINT ignored."""
    fake = FakeBackend([listed("aaaaaaaa1", "web")])
    fake.output["aaaaaaaa1"] = [b"one\n", b"two\n"]

    class SignalledOnWrite(io.BytesIO):
        def write(self, data: bytes) -> int:  # type: ignore[override]
            written = super().write(data)
            os.kill(os.getpid(), sent)
            return written

    out = SignalledOnWrite()
    before = signal.signal(signal.SIGINT, signal.SIG_IGN)
    terminate = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(KeyboardInterrupt):
            write_logs(fake.reader(), "ns", "web", out, follow=True)
        assert out.getvalue() == b"one\n"
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN, "the caller's handler is back"
        assert signal.getsignal(signal.SIGTERM) == terminate
    finally:
        signal.signal(signal.SIGINT, before)


@pytest.fixture
def root_logging() -> Iterator[None]:
    """The root logger's handlers as they were: ``main`` points one at the captured stderr."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _run_cli(monkeypatch: pytest.MonkeyPatch, fake: Backend, *argv: str) -> int:
    monkeypatch.setattr(commands, "backend_of", lambda args: fake)
    return cli.main(["logs", "--namespace=ns", *argv])


@pytest.mark.usefixtures("root_logging")
def test_an_unknown_name_exits_1_naming_the_known_ones(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = FakeBackend([listed("aaaaaaaa1", "web")])
    assert _run_cli(monkeypatch, fake, "db") == cli.EXIT_FAILURE
    captured = capsys.readouterr()
    assert captured.err == "agent: no container named 'db' in namespace 'ns'; known: web\n"
    assert [call[0] for call in fake.calls] == ["list"]


@pytest.mark.parametrize(
    ("argv", "option"),
    [(["--since=yesterday", "web"], "--since"), (["--tail=-1", "web"], "--tail")],
)
@pytest.mark.usefixtures("root_logging")
def test_a_bad_since_or_tail_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    option: str,
) -> None:
    fake = FakeBackend()
    with pytest.raises(SystemExit) as exited:
        _run_cli(monkeypatch, fake, *argv)
    assert exited.value.code == cli.EXIT_INVALID
    err = capsys.readouterr().err
    assert f"argument {option}:" in err and "usage: agent logs" in err
    assert fake.calls == []


def test_logs_is_a_command_wherever_it_is_written() -> None:
    assert cli._with_command_first(["-v", "logs", "web"]) == ["logs", "-v", "web"]
    assert cli._with_command_first(["logs", "--tail", "1", "web"])[0] == "logs"


def test_since_a_duration_is_back_from_now() -> None:
    assert parse_since("1h", time.time()) == pytest.approx(time.time() - 3600, abs=5)
