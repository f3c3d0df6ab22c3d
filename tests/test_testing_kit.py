"""agent.testing's plugin, as a backend of another package runs it: outside this project's
tests/ folder, naming its backend and engine on the command line (no engine reached here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
