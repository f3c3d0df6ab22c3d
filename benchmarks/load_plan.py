"""How long container-agent takes to load, validate and plan N containers, and how much memory.

    python benchmarks/load_plan.py [--containers N] [--per-file M] [--repeat R] [--json PATH]

Writes the same N containers (10,000 by default) as YAML files and as JSON files into a
temporary directory: each container has an image, a command, two env vars, a port on
127.0.0.1 with a host port of its own and a volume mount. They are split into files of M
containers (1,000 by default): a file holds at most 250,000 values (agent.manifest.parse.MAX_VALUES)
and such a container is 38 of them, so that 10,000 cannot be one file. Then it times, in
this process:

- ``agent.sources.load.load_sources([directory])``: read, parse with the limits of
  agent/manifest/parse.py, validate with agent/manifest/schema.py and merge, from the YAML
  files and from the JSON files;
- ``agent.planning.spec.build_specs`` of the loaded containers;
- ``agent.planning.planner.plan`` against an empty engine (N starts) and against N matching running
  containers (no change);

and, as subprocesses, ``agent validate`` of each directory end to end (interpreter start
included) and ``python -c "import agent.cli"`` (the interpreter start and imports alone),
with the peak resident size of each (``ru_maxrss`` from ``wait4``). Each figure is the
median of R runs (3 by default). Touches no engine. ``--json PATH`` also writes the results
and a description of the machine (cores, Python, PyYAML and whether it uses libyaml).
"""

from __future__ import annotations

import argparse
import datetime
import functools
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import yaml  # noqa: E402

from agent.manifest.parse import MAX_VALUES  # noqa: E402
from agent.planning.observed import ObservedContainer  # noqa: E402
from agent.planning.planner import PlanOptions, plan  # noqa: E402
from agent.planning.spec import RunSpec, build_specs  # noqa: E402
from agent.sources.load import load_sources  # noqa: E402

_T = TypeVar("_T")
MB = 1024 * 1024
NAMESPACE = "bench"
VOLUMES_ROOT = "/var/lib/container-agent/volumes"
FIRST_HOST_PORT = 10000
COMMAND_TIMEOUT = 600.0


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A step did not do what the benchmark needs; the message says what."""


# --------------------------------------------------------------------------- the manifests


def container(i: int) -> dict[str, Any]:
    """Container ``i`` as manifest data (the JSON files are these, dumped)."""
    return {
        "name": f"app-{i}",
        "image": f"registry.example.com/team/app:1.{i}",
        "command": ["/usr/bin/app", "--port", "8080"],
        "env": [{"name": "MODE", "value": "production"}, {"name": "INDEX", "value": str(i)}],
        "ports": [{"containerPort": 8080, "hostPort": FIRST_HOST_PORT + i, "hostIp": "127.0.0.1"}],
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
    }


def values(data: Any) -> int:
    """How many values agent.manifest.parse counts in ``data``.

    Every scalar, list, mapping and key.
    """
    if isinstance(data, dict):
        return 1 + sum(1 + values(item) for item in data.values())
    if isinstance(data, list):
        return 1 + sum(values(item) for item in data)
    return 1


def yaml_lines(i: int) -> list[str]:
    """Container ``i`` in block style, as a person writes it."""
    return [
        f"  - name: app-{i}",
        f"    image: registry.example.com/team/app:1.{i}",
        '    command: [/usr/bin/app, --port, "8080"]',
        "    env:",
        "      - name: MODE",
        "        value: production",
        "      - name: INDEX",
        f'        value: "{i}"',
        "    ports:",
        "      - containerPort: 8080",
        f"        hostPort: {FIRST_HOST_PORT + i}",
        "        hostIp: 127.0.0.1",
        "    volumeMounts:",
        "      - name: data",
        "        mountPath: /data",
    ]


def write_manifests(root: Path, count: int, per_file: int) -> tuple[Path, Path, int]:
    """The YAML and the JSON directory, each with the same ``count`` containers, and the
    number of files in each."""
    yaml_dir, json_dir = root / "yaml", root / "json"
    yaml_dir.mkdir()
    json_dir.mkdir()
    files = 0
    for start in range(0, count, per_file):
        indexes = range(start, min(start + per_file, count))
        head = ["version: v1beta1", "volumes:", "  - name: data", "containers:"]
        body = [line for i in indexes for line in yaml_lines(i)]
        (yaml_dir / f"apps-{files:03d}.yaml").write_text("\n".join(head + body) + "\n")
        data = {
            "version": "v1beta1",
            "volumes": [{"name": "data"}],
            "containers": [container(i) for i in indexes],
        }
        (json_dir / f"apps-{files:03d}.json").write_text(json.dumps(data, indent=2) + "\n")
        files += 1
    return yaml_dir, json_dir, files


# --------------------------------------------------------------------------- measuring


@dataclass
class Row:
    """One measure: its runs, in seconds or MB."""

    name: str
    unit: str
    runs: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def once(function: Callable[[], _T]) -> tuple[float, _T]:
    """The wall time of one call, after a full collection, and its result."""
    gc.collect()
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def timed(function: Callable[[], _T], repeat: int) -> tuple[list[float], _T]:
    """Wall times of ``repeat`` calls, and the last result (the others are dropped at once,
    so that no run collects garbage under the results of the previous ones)."""
    runs = [once(function)[0] for _ in range(repeat - 1)]
    seconds, result = once(function)
    return [*runs, seconds], result


@dataclass(frozen=True)
class Run:
    """One finished subprocess: wall time, peak resident size, exit code and output."""

    seconds: float
    max_rss_mb: float
    returncode: int
    output: str


# Runs argv[2:] with its output to the file argv[1], and prints its wall time, exit status and
# ru_maxrss. Linux keeps the peak of the memory a process had before an exec as its own, and a
# child starts as a copy of this benchmark, with every container loaded: so the command is
# forked from this small process instead, whose size is below any Python's.
_LAUNCHER = """
import json, os, subprocess, sys, time
with open(sys.argv[1], "wb") as out:
    start = time.perf_counter()
    proc = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "status": status, "maxrss_kb": usage.ru_maxrss}))
"""


def run_process(argv: Sequence[str]) -> Run:
    """Run ``argv`` from the repository to its end: its wall time and ``ru_maxrss``."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    with tempfile.NamedTemporaryFile() as out:
        launched = subprocess.run(
            [sys.executable, "-c", _LAUNCHER, out.name, *argv],
            stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, cwd=REPO,
            timeout=COMMAND_TIMEOUT, check=True,
        )  # fmt: skip
        output = Path(out.name).read_bytes().decode(errors="replace")
    done = json.loads(launched.stdout)
    returncode = os.waitstatus_to_exitcode(done["status"])
    return Run(done["seconds"], done["maxrss_kb"] * 1024 / MB, returncode, output)


def processes(name: str, argv: Sequence[str], expect: str, repeat: int) -> list[Row]:
    """The time and the peak memory of ``repeat`` runs of ``argv``, each checked."""
    runs = [run_process(argv) for _ in range(repeat)]
    for run in runs:
        if run.returncode != 0 or expect not in run.output:
            tail = "\n".join(run.output.splitlines()[-10:])
            raise BenchError(f"{name}: exit {run.returncode}, expected {expect!r}:\n{tail}")
    return [
        Row(f"{name} (s)", "s", [run.seconds for run in runs]),
        Row(f"{name}: max RSS (MB)", "MB", [run.max_rss_mb for run in runs]),
    ]


def observed(specs: Sequence[RunSpec]) -> list[ObservedContainer]:
    """A running engine container for each spec, as the agent would have made it."""
    return [
        ObservedContainer(
            id=f"{index:064x}",
            engine_name=spec.engine_name,
            namespace=spec.namespace,
            name=spec.name,
            hash=spec.hash,
            state="running",
            image=spec.image,
        )
        for index, spec in enumerate(specs)
    ]


def measure(count: int, per_file: int, repeat: int, root: Path) -> tuple[list[Row], int]:
    log(f"writing {count} containers as YAML and as JSON, {per_file} a file, into {root}")
    yaml_dir, json_dir, files = write_manifests(root, count, per_file)
    rows: list[Row] = []
    for kind, directory in (("YAML", yaml_dir), ("JSON", json_dir)):
        log(f"load_sources from {kind}")
        runs, desired = timed(functools.partial(load_sources, [str(directory)]), repeat)
        loaded = len(desired.containers)
        if loaded != count:
            raise BenchError(f"load_sources from {kind}: {loaded} containers, not {count}")
        rows.append(Row(f"load and validate from {kind}: load_sources (s)", "s", runs))
    containers = load_sources([str(json_dir)]).containers
    log("build_specs")
    runs, specs = timed(lambda: build_specs(containers, NAMESPACE, VOLUMES_ROOT), repeat)
    rows.append(Row("build_specs (s)", "s", runs))
    options = PlanOptions(NAMESPACE)
    log("plan")
    runs, starts = timed(lambda: plan(specs, [], 0.0, options), repeat)
    if len(starts.actions) != count:
        raise BenchError("plan against an empty engine: not one start a container")
    rows.append(Row(f"plan against an empty engine ({count} starts) (s)", "s", runs))
    running = observed(specs)
    runs, nothing = timed(lambda: plan(specs, running, 0.0, options), repeat)
    if nothing.actions:
        raise BenchError("plan against matching containers: not a no-op")
    rows.append(Row(f"plan against {count} matching containers (no change) (s)", "s", runs))
    expect = f"OK: {count} container(s) in {files} manifest(s)."
    for kind, directory in (("YAML", yaml_dir), ("JSON", json_dir)):
        log(f"agent validate, {kind}")
        argv = [sys.executable, "-m", "agent", "validate", str(directory)]
        rows += processes(f"agent validate, {kind}, end to end", argv, expect, repeat)
    log("interpreter start and imports")
    argv = [sys.executable, "-c", "import agent.cli; print('imported')"]
    rows += processes("python -c 'import agent.cli'", argv, "imported", repeat)
    return rows, files


# --------------------------------------------------------------------------- reporting


def machine() -> dict[str, Any]:
    libyaml = getattr(yaml, "__with_libyaml__", False)
    version = None
    if libyaml:
        from yaml import _yaml

        version = _yaml.get_version_string()
    return {
        "date": datetime.date.today().isoformat(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "pyyaml": yaml.__version__,
        "libyaml": libyaml,
        "libyaml_version": version,
        "load_average": list(os.getloadavg()),
    }


def table(rows: Sequence[Row]) -> str:
    header = ["measure", "median", "min", "max"]
    lines = [header]
    for row in rows:
        digits = 3 if row.unit == "s" else 1
        lines.append(
            [
                row.name,
                *(f"{value:.{digits}f}" for value in (row.median, min(row.runs), max(row.runs))),
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def cells(line: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(line, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "| "
        + " | ".join("-" * w if i == 0 else "-" * (w - 1) + ":" for i, w in enumerate(widths))
        + " |"
    )
    return "\n".join([cells(lines[0]), rule, *(cells(line) for line in lines[1:])]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=10_000, metavar="N")
    parser.add_argument("--per-file", type=int, default=1_000, metavar="M")
    parser.add_argument("--repeat", type=int, default=3, metavar="R")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON here")
    args = parser.parse_args()
    if args.repeat < 1 or args.containers < 1 or args.per_file < 1:
        parser.error("--containers, --per-file and --repeat must be at least 1")
    most = (MAX_VALUES - 10) // values(container(0))
    if args.per_file > most:
        parser.error(f"--per-file is at most {most}: a file holds at most {MAX_VALUES} values")
    if args.containers > 65535 - FIRST_HOST_PORT + 1:
        parser.error(f"--containers is at most {65535 - FIRST_HOST_PORT + 1} (a host port each)")
    root = Path(tempfile.mkdtemp(prefix="ca-load-plan-"))
    try:
        rows, files = measure(args.containers, args.per_file, args.repeat, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    about = machine()
    libyaml = f"libyaml {about['libyaml_version']}" if about["libyaml"] else "without libyaml"
    print(
        f"{args.containers} containers in {files} files of each kind, median of {args.repeat}; "
        f"{about['date']}, {about['cores']} cores, {about['platform']}, "
        f"{about['implementation']} {about['python']}, PyYAML {about['pyyaml']} "
        f"({libyaml}); "
        "load average after the run " + "/".join(f"{x:.2f}" for x in about["load_average"]) + "\n"
    )
    print(table(rows))
    if args.json:
        report = {
            "machine": about,
            "containers": args.containers,
            "files": files,
            "per_file": args.per_file,
            "repeat": args.repeat,
            "results": [{**asdict(row), "median": row.median} for row in rows],
        }
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        log(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
