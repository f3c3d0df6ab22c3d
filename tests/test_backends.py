"""The backends' shared parts without an engine: the row readers, the kinds of error,
``--backend auto`` over the registered entry points, and the read-only view of a dry run."""

from __future__ import annotations

import inspect
import re
import stat
import sys
import tempfile
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import ClassVar

import pytest
from mypy import api as mypy_api

import backends.auto
import backends.sockets
from agent.daemon.reconcile import plan_for
from agent.daemon.settings import Settings
from agent.manifest.models import Container, Manifest
from agent.planning.spec import build_specs
from agent.sources.load import DesiredSet
from backends.base import ENTRY_POINT_GROUP, BackendOptions, EngineReader, ReadOnly
from backends.docker_cli import DockerCLIBackend
from backends.docker_rows import cli_error_words, observed_from_docker, with_run_times
from backends.errors import (
    BackendError,
    Conflict,
    EngineUnreachable,
    ImageUnavailable,
    NotFound,
    kind_of,
)
from backends.libpod_rows import observed_from_libpod, podman_version
from tests.fakes import FakeBackend

REPO = Path(__file__).resolve().parents[1]
LABELS = {
    "io.container-agent.namespace": "ns",
    "io.container-agent.name": "web",
    "io.container-agent.hash": "ab" * 32,
    "io.container-agent.image-id": "sha256:1234",
}

# --- rows ------------------------------------------------------------------------------------


def test_a_docker_row_reads_the_same_from_the_api_and_the_cli() -> None:
    api = {
        "Id": "c0ffee",
        "Names": ["/ns-web-abababab", "/other/link"],
        "State": "exited",
        "Status": "Exited (137) 5 seconds ago",
        "Image": "localhost/web:1",
        "Labels": LABELS,
    }
    cli = {**api, "Names": ["ns-web-abababab"]}  # `docker ps` prints names without '/'
    seen = observed_from_docker(api)
    assert seen == observed_from_docker(cli)
    assert (seen.engine_name, seen.name, seen.hash, seen.state, seen.exit_code) == (
        "ns-web-abababab",
        "web",
        "ab" * 32,
        "exited",
        137,
    )
    assert seen.image_id == "sha256:1234"
    timed = with_run_times(
        seen,
        {"State": {"StartedAt": "2026-12-01T10:00:00Z", "FinishedAt": "2026-12-01T10:00:02.5Z"}},
    )
    assert timed.finished_at is not None and timed.started_at is not None
    assert timed.finished_at - timed.started_at == 2.5


def test_a_row_without_the_agents_labels_has_no_name_or_hash() -> None:
    seen = observed_from_docker({"Id": "x", "Names": [], "State": "running", "Status": "Up"})
    assert (seen.namespace, seen.name, seen.hash, seen.exit_code) == ("", "", "", None)


@pytest.mark.parametrize(
    ("libpod", "state"),
    [
        ("configured", "created"),
        ("stopped", "exited"),
        ("stopping", "running"),
        ("paused", "paused"),
    ],
)
def test_libpod_states_read_as_dockers(libpod: str, state: str) -> None:
    row = {"Id": "x", "Names": ["n"], "State": libpod, "Labels": LABELS, "ExitCode": 3}
    seen = observed_from_libpod(row)
    assert seen.state == state
    assert seen.exit_code == (3 if state == "exited" else None)


# --- kinds of error --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message", "kind"),
    [
        (404, "no such container", NotFound),
        (409, "name in use", Conflict),
        (500, "Internal Server Error", BackendError),
        (500, 'the container name "web" is already in use by 1f', Conflict),
        (None, "boom", BackendError),
    ],
    ids=["404", "409", "500", "podman 4.3's 500 for a name in use", "no status"],
)
def test_an_http_failure_is_of_the_kind_its_status_or_words_say(
    status: int | None, message: str, kind: type[BackendError]
) -> None:
    assert kind_of(message, status) is kind


CLI_FAILURES = [
    pytest.param(
        "Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?",
        EngineUnreachable,
        id="docker: no daemon",
    ),
    pytest.param(
        "Cannot connect to Podman. Please verify your connection to the Linux system",
        EngineUnreachable,
        id="podman: no service",
    ),
    pytest.param("Error: No such container: c0ffee", NotFound, id="docker: no such container"),
    pytest.param(
        'Error: no container with name or ID "c0ffee" found: no such container',
        NotFound,
        id="podman: no such container",
    ),
    pytest.param(
        "Error: inspecting object: web:1: image not known", NotFound, id="podman: no image"
    ),
    pytest.param(
        'Error response from daemon: Conflict. The container name "/web" is already in use',
        Conflict,
        id="docker: name in use",
    ),
    pytest.param(
        'Error: creating container storage: the container name "web" is already in use by 1f',
        Conflict,
        id="podman: name in use",
    ),
    pytest.param(
        "Error: rootlessport listen tcp 127.0.0.1:8080: bind: address already in use",
        BackendError,
        id="a port another process holds is no name conflict",
    ),
    pytest.param(
        "Error: initializing source docker://nowhere.example/x:1: pinging container registry "
        "nowhere.example: Get https://nowhere.example/v2/: dial tcp: lookup nowhere.example: "
        "Name or service not known",
        BackendError,
        id="a registry host not known is no missing image",
    ),
    pytest.param(
        "permission denied while trying to connect to the Docker daemon socket at "
        "unix:///var/run/docker.sock",
        EngineUnreachable,
        id="docker: a socket it may not use",
    ),
    pytest.param("Error: port is already allocated", BackendError, id="anything else"),
]


def _stand_in(tmp_path: Path, stderr: str) -> str:
    """A ``docker`` that answers ``--version`` and fails everything else with ``stderr``."""
    fake = tmp_path / "docker"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "if sys.argv[1:] == ['--version']:\n    print('Docker version 28.2.2'); sys.exit(0)\n"
        f"sys.stderr.write({stderr!r})\nsys.exit(1)\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return str(fake)


@pytest.mark.parametrize(("stderr", "kind"), CLI_FAILURES)
def test_a_cli_failure_is_of_the_kind_its_words_say(
    tmp_path: Path, stderr: str, kind: type[BackendError]
) -> None:
    backend = DockerCLIBackend(_stand_in(tmp_path, stderr))
    with pytest.raises(BackendError) as caught:
        backend.start("c0ffee")
    assert type(caught.value) is kind
    assert caught.value.message == stderr


def _runner(tmp_path: Path, creates: bool, fails: str | None) -> str:
    """A ``docker run`` that writes its --cidfile (when it ``creates``), then prints the id
    or fails with ``fails`` as docker's CLI words it."""
    fake = tmp_path / "docker"
    fake.write_text(
        f"#!{sys.executable}\nimport sys\n"
        "args = sys.argv[1:]\n"
        "if args == ['--version']:\n    print('Docker version 28.2.2'); sys.exit(0)\n"
        "assert args[:2] == ['run', '--detach'], args\n"
        "cidfile = next(a for a in args if a.startswith('--cidfile='))[10:]\n"
        f"if {creates!r}:\n    open(cidfile, 'w').write('c0ffee')\n"
        f"fails = {fails!r}\n"
        "if fails is not None:\n    sys.stderr.write(fails); sys.exit(125)\n"
        "print('c0ffee')\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return str(fake)


RUN_FAILED = (
    "docker: Error response from daemon: driver failed programming external connectivity: "
    "Bind for 127.0.0.1:8080 failed: port is already allocated\n\n"
    "Run 'docker run --help' for more information\n"
)


@pytest.mark.parametrize(
    ("creates", "fails", "created"),
    [
        pytest.param(True, None, None, id="started"),
        pytest.param(True, RUN_FAILED, "c0ffee", id="created, not started"),
        pytest.param(
            False, "docker: Error response from daemon: No such image", None, id="not created"
        ),
    ],
)
def test_the_cli_runs_a_container_in_one_call_and_names_one_it_left_behind(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    creates: bool,
    fails: str | None,
    created: str | None,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where its --cidfile goes
    backend = DockerCLIBackend(_runner(tmp_path, creates, fails))
    spec = build_specs([Container(name="web", image="busybox:1")], "ns", "/volumes")[0]
    if fails is None:
        assert backend.run(spec) == "c0ffee"
        return
    with pytest.raises(BackendError) as caught:
        backend.run(spec)
    assert caught.value.created == created
    assert not list(tmp_path.glob("container-agent-*"))  # its --cidfile directory is gone
    assert "--help" not in caught.value.message and not caught.value.message.startswith("docker:")


def test_a_cli_image_that_is_missing_is_none_and_a_failed_pull_is_unavailable(
    tmp_path: Path,
) -> None:
    assert DockerCLIBackend(_stand_in(tmp_path, "Error: No such image: x")).image_id("x") is None
    refused = DockerCLIBackend(_stand_in(tmp_path, "Error response from daemon: denied"))
    with pytest.raises(ImageUnavailable):
        refused.pull("x", None)


def test_a_missing_binary_is_an_unreachable_engine(tmp_path: Path) -> None:
    with pytest.raises(EngineUnreachable, match="not found; is it installed"):
        DockerCLIBackend(str(tmp_path / "no-docker")).version()


def test_a_binary_that_cannot_run_is_an_engine_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(BackendError) as caught:
        DockerCLIBackend(str(tmp_path)).start("c0ffee")  # a directory: EACCES
    assert caught.value.message == f"Permission denied: {tmp_path}"


def test_a_pull_slower_than_the_timeout_is_an_image_not_had_not_an_outage(tmp_path: Path) -> None:
    slow = tmp_path / "docker"
    slow.write_text(
        f"#!{sys.executable}\nimport sys, time\n"
        "if sys.argv[1:] == ['--version']:\n    print('Docker version 28.2.2'); sys.exit(0)\n"
        "time.sleep(5)\n"
    )
    slow.chmod(slow.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ImageUnavailable, match=re.escape("'pull' took longer than 0.3s")):
        DockerCLIBackend(str(slow), timeout=0.3).pull("busybox", None)


# --- what each podman version says -------------------------------------------------------------

CGROUPS_V1_WARNING = (
    'time="2026-12-04T20:17:11Z" level=warning msg="Using cgroups-v1 which is deprecated in '
    "favor of cgroups-v2 with Podman v5 and will be removed in a future version. Set "
    'environment variable `PODMAN_IGNORE_CGROUPSV1_WARNING` to hide this warning."\n'
)
PULL_REFUSED = (
    "Error: initializing source docker://127.0.0.1:1/x:latest: pinging container registry "
    '127.0.0.1:1: Get "https://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused'
)
PULL_RETRIED = (
    'time="2026-12-04T20:17:12Z" level=warning msg="Failed, retrying in 1s ... (1/3). '
    f'{PULL_REFUSED.removeprefix("Error: ")}"\n'
)


@pytest.mark.parametrize(
    ("output", "words"),
    [
        pytest.param(RUN_FAILED, RUN_FAILED[8:].split("\n")[0], id="docker: prefix and hint"),
        pytest.param(
            f"{CGROUPS_V1_WARNING}Trying to pull 127.0.0.1:1/x:latest...\n{PULL_RETRIED}"
            f"{PULL_RETRIED}{PULL_REFUSED}\n",
            f"Trying to pull 127.0.0.1:1/x:latest...\n{PULL_REFUSED}",
            id="podman 5: warnings of cgroups v1 and of retries",
        ),
        pytest.param(
            f"Trying to pull 127.0.0.1:1/x:latest...\n{PULL_REFUSED}\n",
            f"Trying to pull 127.0.0.1:1/x:latest...\n{PULL_REFUSED}",
            id="podman 4",
        ),
        pytest.param(
            CGROUPS_V1_WARNING, CGROUPS_V1_WARNING.strip(), id="nothing but a warning is kept"
        ),
    ],
)
def test_a_cli_error_reads_as_the_engines_words(output: str, words: str) -> None:
    assert cli_error_words(output) == words


@pytest.mark.parametrize(
    ("said", "version"),
    [
        ("podman version 5.4.2", (5, 4, 2)),
        ("podman version 4.3.1", (4, 3, 1)),
        ("podman version 5.0.0-dev", (5, 0, 0)),
        ("podman version 6.1", (6, 1, 0)),
        ("podman version unknown", (0,)),
    ],
)
def test_podmans_version_reads_from_what_it_says(said: str, version: tuple[int, ...]) -> None:
    assert podman_version(said) == version


def _podman(tmp_path: Path, version: str) -> Path:
    """A ``podman`` of ``version`` as it behaves on cgroups v1: podman 5 warns on stderr at
    every call unless PODMAN_IGNORE_CGROUPSV1_WARNING is set. ``pull`` fails (retrying
    three times, as podman 5 does, without ``--retry=0``) and ``logs`` prints ``hello``;
    every call's argv goes to calls.log."""
    fake = tmp_path / "podman"
    fake.write_text(
        f"#!{sys.executable}\nimport os, sys\n"
        "args = sys.argv[1:]\n"
        f"five = {version.startswith('5.')!r}\n"
        f"with open({str(tmp_path / 'calls.log')!r}, 'a') as log:\n"
        "    log.write(' '.join(args) + '\\n')\n"
        "if five and not os.environ.get('PODMAN_IGNORE_CGROUPSV1_WARNING'):\n"
        f"    sys.stderr.write({CGROUPS_V1_WARNING!r}); sys.stderr.flush()\n"
        f"if args == ['--version']:\n    print('podman version {version}'); sys.exit(0)\n"
        "if args[0] == 'logs':\n    print('hello'); sys.exit(0)\n"
        "if args[0] == 'container':\n    print('c0ffee'); sys.exit(0)\n"
        "assert args[0] == 'pull', args\n"
        "sys.stderr.write('Trying to pull 127.0.0.1:1/x:latest...\\n')\n"
        "if five and '--retry=0' not in args:\n"
        f"    sys.stderr.write(3 * {PULL_RETRIED!r})\n"
        f"sys.stderr.write({PULL_REFUSED!r} + '\\n'); sys.exit(125)\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake


@pytest.mark.parametrize("version", ["5.4.2", "4.3.1"])
def test_a_podman_pull_that_fails_says_the_engines_error_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.delenv("PODMAN_IGNORE_CGROUPSV1_WARNING", raising=False)
    backend = DockerCLIBackend(str(_podman(tmp_path, version)))
    with pytest.raises(ImageUnavailable) as caught:
        backend.pull("127.0.0.1:1/x:latest", None)
    assert caught.value.message == f"Trying to pull 127.0.0.1:1/x:latest...\n{PULL_REFUSED}"
    pulls = [line for line in (tmp_path / "calls.log").read_text().splitlines() if "pull" in line]
    assert pulls == [
        f"pull --quiet{' --retry=0' if version.startswith('5.') else ''} -- 127.0.0.1:1/x:latest"
    ]


def test_podman_5s_logs_carry_no_warning_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PODMAN_IGNORE_CGROUPSV1_WARNING", raising=False)
    backend = DockerCLIBackend(str(_podman(tmp_path, "5.4.2")))
    assert b"".join(backend.logs("c0ffee")) == b"hello\n"


# --- auto over the entry points --------------------------------------------------------------


class _Recording(FakeBackend):
    tried: ClassVar[list[str]] = []
    answers: ClassVar[bool] = True

    @classmethod
    def from_options(cls, options: BackendOptions) -> FakeBackend:
        cls.tried.append(cls.name)
        return cls()

    def version(self) -> str:
        if not self.answers:
            raise EngineUnreachable(f"{self.name} does not answer")
        return "1"


class Early(_Recording):
    name = "early"
    auto_order = 5
    answers = False


class ThirdParty(_Recording):
    name = "third-party"
    auto_order = 15


class Never(_Recording):
    name = "never"
    auto_order = None


def _entry_points(*names: str) -> list[EntryPoint]:
    module = __name__
    values = {"early": "Early", "third-party": "ThirdParty", "never": "Never"}
    points = [EntryPoint("auto", "backends.auto:AutoBackend", ENTRY_POINT_GROUP)]
    points += [
        EntryPoint(n, f"{module}:{values.get(n, 'Missing')}", ENTRY_POINT_GROUP) for n in names
    ]
    return points


def _registered(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    monkeypatch.setattr(backends.auto, "entry_points", lambda group: _entry_points(*names))
    monkeypatch.setattr(_Recording, "tried", [])


def test_auto_tries_every_registered_backend_in_its_order(monkeypatch: pytest.MonkeyPatch) -> None:
    _registered(monkeypatch, "third-party", "never", "early")
    chosen = backends.auto.AutoBackend.from_options(BackendOptions())
    assert isinstance(chosen, ThirdParty)
    assert _Recording.tried == ["early", "third-party"], "never is not for auto"


def test_auto_lists_every_attempt_and_a_backend_that_cannot_be_loaded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _registered(monkeypatch, "early", "broken")
    with pytest.raises(EngineUnreachable) as caught:
        backends.auto.AutoBackend.from_options(BackendOptions())
    lines = str(caught.value).splitlines()
    assert lines[0] == "no container engine answered; tried:"
    assert lines[1] == "  early at its default address: early does not answer"
    assert lines[2].startswith("  backend 'broken': cannot be loaded: ")


def test_without_an_address_auto_tries_the_default_sockets_and_both_binaries(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for variable in ("DOCKER_HOST", "CONTAINER_HOST"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    (tmp_path / "podman").mkdir()
    (tmp_path / "podman" / "podman.sock").touch()  # only sockets that exist are tried
    monkeypatch.setattr(backends.sockets, "PODMAN_ROOT_SOCKET", f"unix://{tmp_path}/none.sock")
    found = backends.auto.candidates(BackendOptions())
    assert [c.description for c in found] == [
        "Docker SDK at unix:///var/run/docker.sock",
        f"podman-py at unix://{tmp_path}/podman/podman.sock",
        "the docker binary",
        "the podman binary",
    ]
    assert [c.options.docker_cmd for c in found[2:]] == ["docker", "podman"]


def test_the_built_in_backends_are_tried_in_the_documented_order() -> None:
    host = "unix:///nowhere/engine.sock"
    found = backends.auto.candidates(BackendOptions(host=host))
    assert [c.description for c in found] == [
        f"Docker SDK at {host}",
        f"podman-py at {host}",
        f"docker CLI at {host}",
    ]


# --- a dry run cannot change anything ---------------------------------------------------------

MUTATING = (
    "pull", "create", "start", "stop", "remove", "create_network", "connect", "remove_network",
)  # fmt: skip


def test_the_read_only_view_has_no_method_that_changes_the_engine() -> None:
    view = FakeBackend().reader()
    assert isinstance(view, ReadOnly)
    assert not any(hasattr(view, name) for name in MUTATING)
    assert not any(hasattr(EngineReader, name) for name in MUTATING)


def test_a_dry_run_through_the_view_only_lists() -> None:
    fake = FakeBackend()
    desired = DesiredSet((Manifest("v1beta1", (Container("web", "nginx:1"),)),))
    through_view = plan_for(desired, fake.reader(), Settings(namespace="ns"), 0.0)
    assert fake.calls == [("list", "ns")]
    assert (fake.network_lookups, fake.networks) == (1, {})
    assert through_view == plan_for(desired, fake, Settings(namespace="ns"), 0.0)
    assert [a.verb for a in through_view.actions] == ["create-network", "start"]


def test_the_planning_path_takes_a_reader() -> None:
    assert inspect.signature(plan_for).parameters["engine"].annotation == "EngineReader"


def test_the_type_checker_refuses_a_change_on_the_planning_path(tmp_path: Path) -> None:
    snippet = tmp_path / "dry_run.py"
    snippet.write_text(
        textwrap.dedent(
            """
            from backends.base import EngineReader


            def dry_run(engine: EngineReader) -> None:
                engine.list("ns")
                engine.remove("c0ffee")
            """
        )
    )
    out, _, status = mypy_api.run(
        [str(snippet), "--strict", "--no-error-summary", f"--cache-dir={tmp_path / 'cache'}"]
    )
    assert status == 1
    assert out.strip().splitlines() == [
        f'{snippet}:7: error: "EngineReader" has no attribute "remove"  [attr-defined]'
    ]
