"""Settings and back-off as tables: one place for each default and each check, and the
command line takes both from there."""

from __future__ import annotations

import math
import os
from typing import Any

import attrs
import pytest

from agent import cli
from agent.daemon.settings import Settings
from agent.engine.images import PULL_BACKOFF
from agent.errors import SettingsError
from agent.planning.backoff import CRASH_LOOP, Backoff, BackoffError
from agent.planning.planner import PlanOptions

REFUSED = [
    pytest.param(
        {"namespace": "Shop_NS"},
        "namespace must be an RFC 1035 name of 40 characters at most: 'Shop_NS'",
        id="a namespace with upper case and '_'",
    ),
    pytest.param(
        {"namespace": "n" * 41},
        f"namespace must be an RFC 1035 name of 40 characters at most: {'n' * 41!r}",
        id="a namespace of 41 characters",
    ),
    pytest.param(
        {"volumes_root": "/srv/a,b"},
        "volumes_root must not hold a comma, a quote or a control character: '/srv/a,b'",
        id="a volumes root with a comma",
    ),
    pytest.param(
        {"volumes_root": "/srv/\n"},
        "volumes_root must not hold a comma, a quote or a control character: '/srv/\\n'",
        id="a volumes root with a line break",
    ),
    pytest.param(
        {"stop_timeout": -1}, "stop_timeout must be at least 0, got -1", id="a negative timeout"
    ),
    pytest.param(
        {"stop_timeout": 2.5},
        "stop_timeout must be a whole number of seconds, got 2.5",
        id="a stop timeout in fractions",
    ),
    pytest.param(
        {"volumes_root": 7}, "volumes_root must be a path, got 7", id="a volumes root of 7"
    ),
    pytest.param(
        {"backoff_initial": -1},
        "backoff_initial must be at least 0, got -1",
        id="a negative initial back-off",
    ),
    pytest.param(
        {"backoff_initial": 20, "backoff_max": 10},
        "backoff_max must not be less than the initial back-off (20), got 10",
        id="a longest back-off below the first",
    ),
    pytest.param(
        {"backoff_max": 0}, "backoff_max must be more than 0, got 0", id="no longest back-off"
    ),
    pytest.param(
        {"reload": 0}, "reload must be more than 0, got 0", id="a reload interval of nothing"
    ),
    pytest.param(
        {"log_max_size": -1},
        "log_max_size must be a whole number of MiB, 0 or more, got -1",
        id="a negative log size",
    ),
    pytest.param(
        {"log_max_files": 0},
        "log_max_files must be a whole number, 1 or more, got 0",
        id="no log file",
    ),
    pytest.param(
        {"pull_interval": "often"},
        "pull_interval must be a number of seconds, got 'often'",
        id="a pull interval that is no number",
    ),
]


@pytest.mark.parametrize(("changes", "message"), REFUSED)
def test_a_library_caller_gets_the_checks_of_the_command_line(
    changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings(**changes)
    assert str(caught.value) == message


def test_the_volumes_root_is_made_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/tmp")
    assert Settings(volumes_root="vols").volumes_root == os.path.join(os.getcwd(), "vols")


def test_the_command_line_takes_every_default_from_the_settings() -> None:
    parser = cli._parser()
    args = parser.parse_args(["run", "x.yaml"])
    defaults = Settings()
    for field in attrs.fields(Settings):
        if field.name != "state_dir":
            assert getattr(args, field.name) == getattr(defaults, field.name), field.name
    assert cli._settings(args).backoff == CRASH_LOOP


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--volumes-root", "/a,b"],
            "--volumes-root must not hold a comma, a quote or a control character: '/a,b'",
        ),
        (
            ["--backoff-initial", "20", "--backoff-max", "10"],
            "--backoff-max must not be less than the initial back-off (20), got 10",
        ),
    ],
)
def test_the_command_line_names_the_option_of_a_refused_setting(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["validate", *argv, "x.yaml"])
    assert caught.value.code == cli.EXIT_INVALID
    assert capsys.readouterr().err.splitlines()[-1].endswith(f": error: {message}")


def test_help_shows_each_settings_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for text in (
        "label value that marks this agent's containers (default: container-agent)",
        "the longest back-off (default: 300)",
        "engine events (default: 30)",
    ):
        assert text in out


# --- the one back-off, in its three uses -----------------------------------------------------

DELAYS = [
    pytest.param(CRASH_LOOP, [0, 10, 20, 40, 80, 160, 300, 300], id="crash loop: 10 s to 300 s"),
    pytest.param(PULL_BACKOFF, [0, 1, 2, 4], id="pull retries: 1 s, then 2 s"),
    pytest.param(Backoff(5, 60), [0, 5, 10, 20, 40, 60, 60], id="an outage at a reload of 5 s"),
    pytest.param(Backoff(90, 90), [0, 90, 90], id="a reload longer than the outage cap"),
]


@pytest.mark.parametrize(("backoff", "delays"), DELAYS)
def test_the_delay_doubles_up_to_its_cap(backoff: Backoff, delays: list[float]) -> None:
    assert [backoff.delay(n) for n in range(len(delays))] == delays


def test_a_very_long_run_of_failures_stays_at_the_cap() -> None:
    assert CRASH_LOOP.delay(10**6) == 300


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"initial": -1, "max": 1}, "initial must be at least 0, got -1"),
        ({"initial": 2, "max": 1}, "max must not be less than the initial back-off (2), got 1"),
        ({"initial": 1, "max": 1, "reset": -1}, "reset must be more than 0, got -1"),
    ],
)
def test_a_backoff_that_cannot_work_is_refused(fields: dict[str, float], message: str) -> None:
    with pytest.raises(BackoffError) as caught:
        Backoff(**fields)
    assert str(caught.value) == message


def test_an_initial_back_off_of_nothing_restarts_at_once_every_time() -> None:
    assert [Settings(backoff_initial=0).backoff.delay(n) for n in range(4)] == [0, 0, 0, 0]


def test_the_planner_and_the_settings_share_the_crash_loop_numbers() -> None:
    assert PlanOptions("ns").backoff == CRASH_LOOP == Settings().backoff
    assert CRASH_LOOP.reset == 600 and math.isinf(PULL_BACKOFF.reset)
