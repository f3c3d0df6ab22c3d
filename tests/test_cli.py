"""The ``agent`` command line, in-process, on the paths that need no engine.

``validate`` and every usage error are run for real; the daemon (``run``) is
replaced by a recorder, so the bare form can be checked without an engine.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import agent
from agent import cli
from agent.cli import commands
from agent.daemon.settings import default_state_dir

GOOD = "version: v1beta1\ncontainers:\n  - name: web\n    image: nginx:1.25\n"
OTHER = "version: v1beta1\ncontainers:\n  - name: api\n    image: shop/api:2\n"
BAD = "version: v1beta1\ncontainers:\n  - name: web\n    imag: nginx:1.25\n"
BAD_ERRORS = (
    'conf/bad.yaml: containers[web].imag: unknown field, did you mean "image"?\n'
    "conf/bad.yaml: containers[web].image: is required\n"
)


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A current directory with conf/{good,other,bad}.yaml; root logging restored after."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "good.yaml").write_text(GOOD)
    (tmp_path / "conf" / "other.yaml").write_text(OTHER)
    (tmp_path / "conf" / "bad.yaml").write_text(BAD)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[argparse.Namespace]:
    """The arguments ``agent run`` was called with, instead of running the daemon."""
    calls: list[argparse.Namespace] = []

    def record(args: argparse.Namespace) -> int:
        calls.append(args)
        return cli.EXIT_OK

    monkeypatch.setattr(commands, "cmd_run", record)
    return calls


# --- validate: exit code, stdout and stderr in full ----------------------------------------

VALIDATE = [
    pytest.param(
        ["conf/good.yaml"],
        cli.EXIT_OK,
        "OK: 1 container(s) in 1 manifest(s).\n",
        "",
        id="a good file -> OK, exit 0",
    ),
    pytest.param(
        ["conf/good.yaml", "conf/other.yaml"],
        cli.EXIT_OK,
        "OK: 2 container(s) in 2 manifest(s).\n",
        "",
        id="two good files -> OK with both counted",
    ),
    pytest.param(
        ["conf/bad.yaml"],
        cli.EXIT_INVALID,
        "",
        BAD_ERRORS,
        id="a bad file -> every error on stderr, exit 2",
    ),
    pytest.param(
        ["conf"],
        cli.EXIT_INVALID,
        "",
        BAD_ERRORS,
        id="a directory with a bad file -> its errors, exit 2",
    ),
    pytest.param(
        ["conf/missing.yaml"],
        cli.EXIT_INVALID,
        "",
        "conf/missing.yaml: cannot read: No such file or directory\n",
        id="a missing file -> named on stderr, exit 2",
    ),
    pytest.param(
        ["conf/*.yml"],
        cli.EXIT_INVALID,
        "",
        "conf/*.yml: pattern matches no manifest\n",
        id="a glob matching nothing -> exit 2",
    ),
    pytest.param(
        ["conf/good.yaml", "conf/good.yaml"],
        cli.EXIT_OK,
        "OK: 1 container(s) in 1 manifest(s).\n",
        "",
        id="a file given twice -> counted once",
    ),
]


@pytest.mark.parametrize(("manifests", "code", "stdout", "stderr"), VALIDATE)
def test_validate(
    capsys: pytest.CaptureFixture[str],
    manifests: list[str],
    code: int,
    stdout: str,
    stderr: str,
) -> None:
    assert cli.main(["validate", *manifests]) == code
    out, err = capsys.readouterr()
    assert (out, err) == (stdout, stderr)


def test_validate_conflicting_files(capsys: pytest.CaptureFixture[str]) -> None:
    Path("conf/bad.yaml").write_text(GOOD.replace("nginx:1.25", "redis"))
    assert cli.main(["validate", "conf/good.yaml", "conf/bad.yaml"]) == cli.EXIT_INVALID
    assert capsys.readouterr().err == (
        "conf/good.yaml: containers[web].name: 'web' is also defined in conf/bad.yaml\n"
        "conf/bad.yaml: containers[web].name: 'web' is also defined in conf/good.yaml\n"
    )


@pytest.mark.parametrize(
    ("text", "code", "stdout", "stderr"),
    [
        pytest.param(
            GOOD,
            cli.EXIT_OK,
            "OK: 1 container(s) in 1 manifest(s).\n",
            "",
            id="a good manifest on stdin",
        ),
        pytest.param("", cli.EXIT_INVALID, "", "<stdin>: file is empty\n", id="empty stdin"),
    ],
)
def test_validate_stdin(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    code: int,
    stdout: str,
    stderr: str,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    assert cli.main(["validate", "-"]) == code
    assert capsys.readouterr() == (stdout, stderr)


# --- usage errors: SystemExit 2 with argparse's message ------------------------------------

USAGE_ERRORS = [
    pytest.param([], "the following arguments are required: COMMAND", id="no arguments"),
    pytest.param(
        ["validate", "--bogus", "conf/good.yaml"],
        "unrecognized arguments: --bogus",
        id="an unknown option",
    ),
    pytest.param(
        ["validate"], "the following arguments are required: MANIFEST", id="validate of nothing"
    ),
    pytest.param(
        ["plan", "--output", "xml", "conf/good.yaml"],
        "argument --output: invalid choice: 'xml'",
        id="an unknown plan output",
    ),
    pytest.param(
        ["validate", "--stop-timeout", "soon", "conf/good.yaml"],
        "argument --stop-timeout: invalid int value: 'soon'",
        id="a stop timeout that is not a number",
    ),
    pytest.param(
        ["validate", "--namespace", "Shop_NS", "conf/good.yaml"],
        "--namespace must be an RFC 1035 name of 40 characters at most: 'Shop_NS'",
        id="a namespace with upper case and '_'",
    ),
    pytest.param(
        ["validate", "--namespace", "n" * 41, "conf/good.yaml"],
        f"--namespace must be an RFC 1035 name of 40 characters at most: {'n' * 41!r}",
        id="a namespace of 41 characters",
    ),
    pytest.param(
        ["--namespace", "1shop", "conf/good.yaml"],
        "--namespace must be an RFC 1035 name of 40 characters at most: '1shop'",
        id="an invalid namespace in the bare form",
    ),
    pytest.param(
        ["down", "--yes", "conf/good.yaml"],
        "down takes no manifest (conf/good.yaml): it removes every container the agent made in "
        "the namespace, and its network; choose it with --namespace",
        id="down given a manifest",
    ),
]


@pytest.mark.parametrize(("argv", "message"), USAGE_ERRORS)
def test_usage_error_exits_2(
    capsys: pytest.CaptureFixture[str],
    runs: list[argparse.Namespace],
    argv: list[str],
    message: str,
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == cli.EXIT_INVALID
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("usage: ")
    assert f": error: {message}" in err.splitlines()[-1]
    assert "Traceback" not in err
    assert runs == []


def test_a_bad_option_value_shows_the_usage_of_its_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["validate", "--stop-timeout", "soon", "conf/good.yaml"])
    assert capsys.readouterr().err.startswith("usage: agent validate ")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--version"])
    assert caught.value.code == 0
    assert capsys.readouterr() == (f"container-agent {agent.__version__}\n", "")


def test_help_names_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(["--help"])
    assert caught.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: agent [-h] [--version] COMMAND ...")
    assert all(command in out for command in cli.COMMANDS)


# --- the bare form means run; options may come before the command -------------------------

ARGV = [
    pytest.param(
        ["--namespace", "x", "file.yaml"],
        ["run", "--namespace", "x", "file.yaml"],
        id="namespace and a file -> run",
    ),
    pytest.param(["file.yaml"], ["run", "file.yaml"], id="a file alone -> run"),
    pytest.param(["-"], ["run", "-"], id="stdin alone -> run"),
    pytest.param(
        ["-v", "--stop-timeout", "5", "a.yaml", "conf"],
        ["run", "-v", "--stop-timeout", "5", "a.yaml", "conf"],
        id="options and two sources -> run",
    ),
    pytest.param(["validate", "file.yaml"], ["validate", "file.yaml"], id="validate stays"),
    pytest.param(
        ["plan", "--output", "json", "file.yaml"],
        ["plan", "--output", "json", "file.yaml"],
        id="plan stays",
    ),
    pytest.param(
        ["--namespace", "x", "run", "file.yaml"],
        ["run", "--namespace", "x", "file.yaml"],
        id="options then run -> run first",
    ),
    pytest.param(["-v", "validate", "f.yaml"], ["validate", "-v", "f.yaml"], id="-v then validate"),
    pytest.param(["--version"], ["--version"], id="--version stays"),
    pytest.param(["-h"], ["-h"], id="-h stays"),
    pytest.param([], [], id="nothing stays"),
]


@pytest.mark.parametrize(("argv", "expected"), ARGV)
def test_the_command_comes_first(argv: list[str], expected: list[str]) -> None:
    assert cli._with_command_first(argv) == expected


def test_bare_form_runs_with_its_options(runs: list[argparse.Namespace]) -> None:
    assert cli.main(["--namespace", "x", "file.yaml"]) == cli.EXIT_OK
    [args] = runs
    assert (args.command, args.namespace, args.manifests) == ("run", "x", ["file.yaml"])
    assert (args.reload, args.stop_timeout, args.backend) == (30.0, 10, "auto")


def test_namespace_of_40_characters_is_accepted(runs: list[argparse.Namespace]) -> None:
    assert cli.main(["run", "--namespace", "n" * 40, "file.yaml"]) == cli.EXIT_OK
    assert [args.namespace for args in runs] == ["n" * 40]


@pytest.mark.parametrize(
    ("euid", "xdg", "expected"),
    [
        (0, "/x/state", "/var/lib/container-agent"),
        (1000, "/x/state", "/x/state/container-agent"),
        (1000, "", "HOME/.local/state/container-agent"),
    ],
    ids=["root keeps its state in /var/lib", "a user in XDG_STATE_HOME", "a user in ~/.local"],
)
def test_default_state_dir(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, euid: int, xdg: str, expected: str
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: euid)
    monkeypatch.setenv("XDG_STATE_HOME", xdg)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_state_dir() == expected.replace("HOME", str(tmp_path))


DAEMON_ONLY = (
    "urllib3",  # URL sources
    "prometheus_client",  # agent run --metrics-addr
    "pythonjsonlogger",  # --log-format json
    "agent.convert.compose",  # agent convert
    "agent.convert.kube",
    "agent.daemon.runloop",  # agent run
    "agent.daemon.notify",
    "agent.sources.url_source",
    "docker",  # the SDK backends, when chosen
    "podman",
)


def test_validate_loads_nothing_that_only_other_commands_need() -> None:
    """A fresh ``agent validate`` of files (as plan, apply and status read them) imports
    none of what only URLs, the daemon, the converters or the SDKs need: each costs
    start-up time that every plan would pay."""
    code = (
        "import sys\nfrom agent import cli\nrc = cli.main(['validate', 'conf/good.yaml'])\n"
        "print(rc, ' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rc, modules = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert rc == "0"
    loaded = set(modules.split())
    assert {m for m in loaded if m.split(".")[0] in DAEMON_ONLY or m in DAEMON_ONLY} == set()
    assert "agent.sources.load" in loaded and "yaml" in loaded


# --- a mistyped command is no manifest -----------------------------------------------------

MISTYPED = [
    pytest.param(["dwon"], "unknown command 'dwon'", "did you mean 'down'?", id="dwon -> down?"),
    pytest.param(
        ["--namespace", "x", "valdiate", "conf/good.yaml"],
        "unknown command 'valdiate'",
        "did you mean 'validate'?",
        id="after options: valdiate -> validate?",
    ),
    pytest.param(
        ["xyzzy"],
        "unknown command 'xyzzy'",
        "the commands are plan, apply, run, validate, status, down, logs, convert",
        id="no close command -> the commands listed",
    ),
]


@pytest.mark.parametrize(("argv", "error", "hint"), MISTYPED)
def test_a_mistyped_command_is_a_usage_error_with_a_suggestion(
    argv: list[str],
    error: str,
    hint: str,
    runs: list[argparse.Namespace],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == cli.EXIT_INVALID
    err = capsys.readouterr().err
    assert err.startswith("usage: agent ")
    assert f"{error}, and no file or directory of that name: {hint}" in err
    assert runs == []


@pytest.mark.parametrize(
    "argv",
    [["conf"], ["conf/good.yaml"], ["missing.yaml"], ["https://example.invalid/m.yaml"]],
    ids=["an existing directory", "a file", "a path that does not exist", "a URL"],
)
def test_a_source_that_is_no_command_word_runs(
    argv: list[str], runs: list[argparse.Namespace]
) -> None:
    assert cli.main(argv) == cli.EXIT_OK
    assert [(args.command, args.manifests) for args in runs] == [("run", argv)]


ENGINE_CODE = (
    "backends.base",  # the contract, and the entry points' look-up (importlib.metadata)
    "importlib.metadata",
    "agent.daemon.reconcile",  # a pass
    "agent.planning.planner",
    "agent.engine.executor",
    "agent.output",  # the renderers
    "logging.handlers",  # --syslog
)


def test_validate_loads_no_engine_code_and_no_renderer() -> None:
    """``agent validate`` touches no engine: it loads neither the backends' contract nor a
    pass, the planner, the executor or the renderers."""
    code = (
        "import sys\nfrom agent import cli\nrc = cli.main(['validate', 'conf/good.yaml'])\n"
        "print(rc, ' '.join(sorted(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    rc, modules = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert rc == "0"
    loaded = set(modules.split())
    assert {m for m in loaded if m in ENGINE_CODE or m.rpartition(".")[0] in ENGINE_CODE} == set()


def test_a_dry_run_loads_no_executor() -> None:
    """``agent plan`` (a pass's module, as it imports it) loads neither the executor nor the
    pulls: only ``converge`` needs them."""
    code = "import sys, agent.daemon.reconcile\nprint(' '.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert {"agent.engine.executor", "agent.engine.images"} & set(done.stdout.split()) == set()
