"""The run loop against the in-memory backend: an outage is told from a failed pass by its
kind, logged once while it lasts, and backed off from; a good pass ends the back-off."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.daemon.runloop import RunLoop
from agent.daemon.settings import Settings
from backends.errors import BackendError, EngineUnreachable
from tests.fakes import FakeBackend

MANIFEST = "version: v1beta1\ncontainers:\n  - name: web\n    image: nginx:1.25\n"


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[tuple[RunLoop, FakeBackend]]:
    (tmp_path / "web.yaml").write_text(MANIFEST)
    fake = FakeBackend()
    settings = Settings(namespace="ns", volumes_root=str(tmp_path / "volumes"), reload=2)
    made = RunLoop([str(tmp_path / "web.yaml")], fake, settings)
    yield made, fake
    made.watcher.close()


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_an_engine_that_does_not_answer_is_logged_once_and_backed_off_from(
    loop: tuple[RunLoop, FakeBackend], caplog: pytest.LogCaptureFixture
) -> None:
    run, fake = loop
    fake.fail("list", "ns", "cannot reach the engine at fake://memory", EngineUnreachable)
    delays = []
    for _ in range(4):
        run.run_once()
        delays.append(run._delay())
    assert _errors(caplog) == [
        "pass skipped, the engine does not answer: fake://memory: cannot reach the engine at "
        "fake://memory (retrying in 2s)"
    ]
    assert delays == [2, 4, 8, 16]


def test_a_pass_that_fails_otherwise_says_so(
    loop: tuple[RunLoop, FakeBackend], caplog: pytest.LogCaptureFixture
) -> None:
    run, fake = loop
    fake.fail("list", "ns", "500 Server Error", BackendError)
    run.run_once()
    assert _errors(caplog) == ["pass failed: fake://memory: 500 Server Error (retrying in 2s)"]


def test_an_outage_in_the_middle_of_a_pass_backs_off_and_a_good_pass_ends_it(
    loop: tuple[RunLoop, FakeBackend], caplog: pytest.LogCaptureFixture
) -> None:
    run, fake = loop
    fake.fail("start", "new-web", "cannot reach the engine", EngineUnreachable)
    run.run_once()
    assert _errors(caplog)[-1] == (
        "pass cut short, the engine does not answer: fake://memory: cannot reach the engine "
        "(retrying in 2s)"
    )
    assert run._delay() == 2
    fake.recover()
    caplog.set_level(logging.INFO, logger="agent.run")
    run.run_once()
    assert run._delay() == 2 and run._failures == 0
    assert "the engine answers again after 1 failed pass(es)" in caplog.messages


def test_a_source_that_does_not_exist_is_said_loudly_once_and_removes_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeBackend()
    settings = Settings(namespace="ns", volumes_root=str(tmp_path / "volumes"), reload=2)
    missing = str(tmp_path / "nosuch.yaml")
    run = RunLoop([str(tmp_path / "web.yaml"), missing], fake, settings)
    try:
        (tmp_path / "web.yaml").write_text(MANIFEST)
        run.run_once()
        run.run_once()
    finally:
        run.watcher.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"{missing}: no such file or directory: waiting for it to appear; until it does, "
        "no container is removed"
    ]
    assert run.sources.refresh().complete is False
