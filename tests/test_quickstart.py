"""The README's two commands on a machine that lacks a Debian package.

``apt-get`` and ``dpkg-query`` are replaced, on PATH, by stand-ins: ``dpkg-query`` says that
no package is installed, so ``contrib/setup-engines.sh`` runs ``apt-get update`` and ``apt-get
install``, and the stand-in ``apt-get`` prints apt's progress on standard output, as the real
one does. What the set-up prints on standard output must then still be the ``export`` lines
alone (``contrib/quickstart.sh`` evaluates them), and the quickstart must still serve its two
pages. Removing a real package and installing it again would take minutes; the stand-ins show
the same output without it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.engines import DOCKER_SOCK, PODMAN_SOCK, Engine

pytestmark = pytest.mark.engine  # reaches engines without the engine fixtures

ROOT = Path(__file__).resolve().parent.parent
CONTRIB = ROOT / "contrib"
EXPORT = re.compile(r"export [A-Z_][A-Z0-9_]*=\S+")
APT_PROGRESS = "Get:1 http://deb.debian.org/debian bookworm InRelease [151 kB]"

STAND_INS = {
    "dpkg-query": "#!/bin/sh\n# a machine with none of the packages installed\nexit 1\n",
    "apt-get": f"""#!/bin/sh
# apt's progress, on standard output as the real apt-get writes it
echo "{APT_PROGRESS}"
echo "Reading package lists... Done"
echo "Setting up docker.io (20.10.24+dfsg1-1+b3) ..."
echo "debconf: unable to initialize frontend: Dialog"
exit 0
""",
}


@pytest.fixture
def missing_packages(tmp_path: Path) -> dict[str, str]:
    """The environment of a machine on which every package is still to be installed."""
    bin_dir = tmp_path / "stand-ins"
    bin_dir.mkdir()
    for name, text in STAND_INS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in {"DOCKER_HOST", "CONTAINER_HOST"}}
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    return env


def _run(
    argv: list[str], env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=ROOT
    )


def test_install_only_prints_nothing_on_stdout(missing_packages: dict[str, str]) -> None:
    done = _run(["bash", str(CONTRIB / "setup-engines.sh"), "--install-only"], missing_packages)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert APT_PROGRESS in done.stderr, "the stand-in apt-get did not run"
    assert "debconf: unable to initialize frontend" in done.stderr


def test_setup_prints_only_the_exports(
    docker_engine: Engine, podman_engine: Engine, missing_packages: dict[str, str]
) -> None:
    done = _run(["bash", str(CONTRIB / "setup-engines.sh"), "--podman"], missing_packages)
    assert done.returncode == 0, done.stderr
    assert APT_PROGRESS in done.stderr, "the stand-in apt-get did not run"
    lines = done.stdout.splitlines()
    assert all(EXPORT.fullmatch(line) for line in lines), done.stdout
    assert lines[:2] == [
        f"export DOCKER_HOST=unix://{DOCKER_SOCK}",
        f"export CONTAINER_HOST=unix://{PODMAN_SOCK}",
    ]
    assert {line.split("=")[0] for line in lines} == {
        "export DOCKER_HOST",
        "export CONTAINER_HOST",
        "export CONTAINERS_CONF",
        "export CONTAINERS_REGISTRIES_CONF",
    }


def test_quickstart_refuses_to_evaluate_what_is_not_an_export(tmp_path: Path) -> None:
    """A set-up that prints anything else on stdout stops the quickstart before it runs it."""
    contrib = tmp_path / "contrib"
    contrib.mkdir()
    shutil.copy(CONTRIB / "quickstart.sh", contrib)
    marker = tmp_path / "evaluated"
    (contrib / "setup-engines.sh").write_text(
        f'echo "export DOCKER_HOST=unix:///run/x.sock"\necho "touch {marker}"\n'
    )
    (contrib / "install.sh").write_text(f"touch {tmp_path / 'installed'}\n")
    done = _run(["bash", str(contrib / "quickstart.sh")], dict(os.environ), timeout=60)
    assert done.returncode == 1
    assert "printed lines that are not exports" in done.stderr
    assert f"2:touch {marker}" in done.stderr
    assert not marker.exists()
    assert not (tmp_path / "installed").exists()


def test_quickstart_serves_its_pages_on_a_machine_missing_packages(
    docker_engine: Engine, namespace: str, tmp_path: Path, missing_packages: dict[str, str]
) -> None:
    pidfile = tmp_path / "demo.pid"
    env = {
        **missing_packages,
        "CA_DEMO_PIDFILE": str(pidfile),
        "CA_DEMO_LOG": str(tmp_path / "demo.log"),
        "CA_DEMO_VOLUMES": str(tmp_path / "volumes"),
        "CA_DEMO_NAMESPACE": namespace,
    }
    try:
        done = _run(["bash", str(CONTRIB / "quickstart.sh")], env, timeout=600)
    finally:
        _stop(pidfile)
    log = (tmp_path / "demo.log").read_text() if (tmp_path / "demo.log").exists() else ""
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\nagent log:\n{log}"
    assert APT_PROGRESS in done.stderr
    assert APT_PROGRESS not in done.stdout
    assert "http://127.0.0.1:8080/ -> It works: served by container-agent" in done.stdout
    assert re.search(r"http://127\.0\.0\.1:8081/ -> Hello from \S+", done.stdout), done.stdout
    assert "No changes." in done.stdout.split("== agent plan again")[1]


def _stop(pidfile: Path) -> None:
    """Stop the demo's agent (a process the quickstart started for this test)."""
    try:
        pid = int(pidfile.read_text())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
