"""How long a command of container-agent takes from a cold start, and how many modules it loads.

    python benchmarks/cold_start.py [--repeat R]

Each row runs a fresh ``python -m agent ...`` R times (10 by default) from this repository,
interpreter start included, and gives the median, the fastest and the slowest wall time,
with the number of modules the command had loaded when it returned (one more run). The
rows: the interpreter alone (``python -c pass``, the floor), ``agent --version``, ``agent
validate`` of a one-container manifest, and ``agent plan`` of it on each target whose
engine the environment names (``DOCKER_HOST`` for dockerd, ``CONTAINER_HOST`` for Podman,
as ``contrib/setup-engines.sh`` exports them). Each command runs once unmeasured first, with
bytecode writes on, as an installed package has its modules compiled. A plan only lists the
namespace's containers (``bench-cold-start``, which holds none): nothing is made on the
engine. The issue's target is 0.2 s for a cold ``agent plan``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.load_plan import Row, processes, run_process, table  # noqa: E402

MANIFEST = """\
version: v1beta1
containers:
  - name: web
    image: localhost/bench/web:1
    command: [sleep, "3600"]
    ports:
      - containerPort: 80
        hostPort: 18080
        hostIP: 127.0.0.1
"""
NAMESPACE = "bench-cold-start"
# (row name, backend, --docker-cmd, the environment variable naming the engine)
TARGETS = (
    ("docker-cli@dockerd", "docker-cli", "docker", "DOCKER_HOST"),
    ("docker SDK@dockerd", "docker", "docker", "DOCKER_HOST"),
    ("podman-py@podman", "podman", "docker", "CONTAINER_HOST"),
    ("podman CLI@podman", "docker-cli", "podman", "CONTAINER_HOST"),
)
# Runs the command line in-process, then prints how many modules it had loaded.
_COUNT = """
import contextlib, sys
from agent import cli
with contextlib.suppress(SystemExit):  # --version exits
    cli.main(sys.argv[1:])
print(len(sys.modules))
"""


def modules(args: Sequence[str]) -> int:
    """How many modules ``agent ARGS`` has loaded when it returns."""
    done = subprocess.run(
        [sys.executable, "-c", _COUNT, *args],
        capture_output=True, text=True, cwd=REPO, check=True, timeout=120,
    )  # fmt: skip
    return int(done.stdout.split()[-1])


def measure(manifest: str, repeat: int) -> tuple[list[Row], dict[str, int]]:
    agent = [sys.executable, "-m", "agent"]
    commands = [
        ("python -c pass", [sys.executable, "-c", "print('ok')"], "ok", None),
        ("agent --version", [*agent, "--version"], "container-agent", ["--version"]),
        ("agent validate", [*agent, "validate", manifest], "OK: 1", ["validate", manifest]),
    ]
    for name, backend, docker_cmd, variable in TARGETS:
        if not os.environ.get(variable):
            print(f"skipped: agent plan, {name} ({variable} is not set)", file=sys.stderr)
            continue
        args = ["plan", "--backend", backend, "--docker-cmd", docker_cmd]
        args += ["--namespace", NAMESPACE, manifest]
        commands.append((f"agent plan, {name}", [*agent, *args], "Plan: 1 to start", args))
    rows: list[Row] = []
    loaded: dict[str, int] = {}
    for name, argv, expect, args in commands:
        run_process(argv)  # once unmeasured: it writes the bytecode an install has
        rows += [row for row in processes(name, argv, expect, repeat) if row.unit == "s"]
        loaded[name] = modules(args) if args is not None else 0
    return rows, loaded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=10, help="runs of each command")
    args = parser.parse_args()
    # An installed package has its bytecode (pip compiles it at install). With bytecode
    # writes turned off, as some environments set, every run compiles every module again
    # (some 50 ms of a cold plan on 2 cores): the runs measure with it on.
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory() as root:
        manifest = os.path.join(root, "web.yaml")
        Path(manifest).write_text(MANIFEST)
        rows, loaded = measure(manifest, args.repeat)
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores, {args.repeat} runs")
    print(table(rows), end="")
    print("\n| command | modules loaded |\n| --- | ---: |")
    for name, count in loaded.items():
        if count:
            print(f"| {name} | {count} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
