"""agent.testing's plugin and shipped checks, as a backend of another package runs them:
outside this project's tests/ folder, naming its backend and engine on the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.engines import Engine

PROBE = """
from agent.testing import Target


def test_target(target: Target) -> None:
    print("ARGS", " ".join(target.cli_args()), target.engine.env)
"""


def _pytest(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_probe.py").write_text(PROBE)
    argv = [sys.executable, "-m", "pytest", "-s", "-p", "agent.testing.plugin", "-p"]
    argv += ["no:cacheprovider", f"--rootdir={folder}", *options, str(folder)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_the_plugin_hands_out_the_backend_and_engine_named(tmp_path: Path) -> None:
    done = _pytest(
        tmp_path,
        "--contract-backend=mine",
        "--contract-host=unix:///run/mine.sock",
        "--contract-engine=podman",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ARGS --backend=mine --host=unix:///run/mine.sock --docker-cmd=docker" in done.stdout
    assert "'CONTAINER_HOST': 'unix:///run/mine.sock'" in done.stdout


def test_without_a_backend_the_plugin_says_which_option_is_missing(tmp_path: Path) -> None:
    done = _pytest(tmp_path, "--contract-host=unix:///run/mine.sock")
    assert done.returncode != 0
    assert "the contract fixtures need --contract-backend" in done.stdout + done.stderr


SHIPPED = """
from agent.testing.contract.basics import *  # noqa: F403
from agent.testing.contract.rollout import *  # noqa: F403
"""


def test_a_folder_of_another_package_collects_the_shipped_checks(tmp_path: Path) -> None:
    (tmp_path / "test_contract_mine.py").write_text(SHIPPED)
    argv = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "agent.testing.plugin"]
    argv += ["-p", "no:cacheprovider", f"--rootdir={tmp_path}", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    collected = {line.split("::")[-1] for line in done.stdout.splitlines() if "::" in line}
    assert "test_apply_starts_the_container_as_the_manifest_says" in collected
    assert "test_a_second_apply_does_nothing" in collected
    assert "test_an_image_that_exits_at_once_is_rolled_back_and_held_back" in collected
    assert "test_every_backend_gives_the_same_plan_for_the_same_state" not in collected  # ours


def test_the_shipped_checks_pass_through_the_plugin_on_a_real_engine(
    engine: Engine, tmp_path: Path
) -> None:
    """As another package's backend would run them: outside this project's tests/ folder
    (none of its fixtures), on the backend and engine named on the command line."""
    backend = "docker-cli" if engine.kind == "docker" else "podman"
    (tmp_path / "test_contract_mine.py").write_text(SHIPPED)
    checks = "a_second_apply_does_nothing or a_dropped_container_is_removed_not_only_stopped"
    done = _pytest_shipped(tmp_path, engine, backend, "-k", checks)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 passed" in done.stdout, done.stdout[-3000:]


def _pytest_shipped(
    folder: Path, engine: Engine, backend: str, *options: str
) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "agent.testing.plugin"]
    argv += ["-p", "no:cacheprovider", f"--rootdir={folder}", f"--contract-backend={backend}"]
    argv += [f"--contract-host={engine.host}", f"--contract-engine={engine.kind}"]
    argv += [f"--contract-docker-cmd={engine.cli}", *options, str(folder)]
    env = {**os.environ, "PATH": f"{Path(engine.cli).parent}:{os.environ['PATH']}"}
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, env=env, check=False)
