"""Every benchmark of container-agent in one command, on this machine's real engines.

    python benchmarks/run.py [--containers 30] [--repeat 3] [--samples 10]
                             [--rows 1,2,3,4,5,6,7] [--out benchmarks/results] [--name latest]

Run it as root on Debian 12 with the engines of ENGINES.md installed (contrib/setup-engines.sh).
The agent's processes run this tree's code (its directory goes first on their PYTHONPATH). The
engines are started or reused with tests/engines.py (dockerd and the Podman service on sockets
under /run/ca-test). The compose peer is Compose v2 where it is installed (a docker-compose 2.x,
or the docker compose plugin), else v1, and the report names it with its version; Debian's
docker-compose and catatonit are installed with apt-get if missing, and the run says so. Every
container, pod and project it makes is named after a random run id and removed at the end;
engines started here are stopped, reused ones left running. Only 127.0.0.1.

Rows (the targets, in brackets, are printed beside the figures, never asserted):

1. Converge N containers from nothing: ``agent apply`` with each backend (docker-cli and the
   Docker SDK on dockerd, podman-py and the podman CLI on the Podman service; default
   ``--parallel``) beside the parallel floor of each engine (one ``network create``, then the
   same N ``run -d`` on that network issued at once, one thread and one CLI process each),
   ``compose up -d`` and ``podman kube play``; ratios to the floor of the same engine and to
   compose [agent <= 1.15x the floor, so <= 0.7x compose].
2. Replace N changed containers whose process ignores SIGTERM (busybox sleep as PID 1): the env
   of every container changes, then ``agent apply`` / ``compose up -d`` with the default
   stop timeout (10 s); beside them the parallel floor of a replacement (``stop -t 10``, ``rm``,
   ``run -d``, all at once) [<= one stop timeout + 1.3x the row-1 floor].
3. One changed container among N: ``agent apply`` vs ``compose up -d``, both told to stop
   at once (``--stop-timeout 0``, ``-t 0``), so that the figure is the tool's own work.
4. A container killed -> running again under ``agent run --reload 60``: from the kill (SIGKILL
   through the engine's API) to the moment inspect (polled every 20 ms) shows it running with a
   new StartedAt; median of ``--samples``; beside it the engine's own start of an exited
   container, through the API and the CLI [< 0.5 s on top of the engine's own start].
5. A manifest edit -> the replacement running, under the same ``agent run``: the env of one
   container changes (the file replaced by rename, as editors save), timed until the engine
   lists a new container of that name running; the process honours SIGTERM (``sh -c 'trap
   "exit 0" TERM; sleep 600 & wait'``); median of ``--samples``; beside it the engine's own
   ``run -d`` (CLI) [< 1 s on top of the engine's run -d].
6. Idle: ``agent run --reload 0.5 -vv`` over N running containers, CPU seconds per pass
   (utime+stime from /proc/PID/stat over 6 s, and with the subprocesses it reaped, divided by
   the passes counted) and peak RSS [< 20 ms, < 40 MB]; the no-op ``agent apply`` vs the no-op
   ``compose up -d`` [< 0.5x]; a cold ``agent plan`` [< 200 ms].
7. Load, validate and plan 10,000 containers, no engine: ``benchmarks/load_plan.py --json``
   run as a subprocess; its table and its JSON are taken in.

Rows 1, 2, 3 and 6 are medians of ``--repeat`` repeats, each from nothing and interleaved across
the subjects (see benchmarks/converge.py); rows 4 and 5 run one ``agent run`` per backend over N
containers. The Markdown goes to stdout and to OUT/NAME.md, every sample and a description of
the machine (cores, memory, kernel, Python, engine and tool versions, load average, date) to
OUT/NAME.json. A subject that fails is reported as such; the others go on.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks import converge  # noqa: E402
from benchmarks.converge import (  # noqa: E402
    BACKENDS,
    BENCH_LABEL,
    CONTAINER_PORT,
    FAILURES,
    PARALLEL,
    POLL,
    STOP_TIMEOUT,
    TRAP,
    AgentSubject,
    BenchError,
    Figures,
    Lab,
    Subject,
    log,
    median,
)
from tests.engines import Engine  # noqa: E402

ALL_ROWS = (1, 2, 3, 4, 5, 6, 7)
LATENCY_RELOAD = 60.0  # agent run --reload of rows 4 and 5: only events and the watcher act
BACKOFF_RESET = 1.0  # so that a container killed again is a fresh crash, not a back-off
KILL_TIMEOUT = 20.0
EDIT_TIMEOUT = 30.0
GAP = 0.5  # after each sample: the pass it caused ends
LOAD_PLAN = REPO / "benchmarks" / "load_plan.py"
LOAD_PLAN_TIMEOUT = 3600.0
DEFAULT_OUT = REPO / "benchmarks" / "results"


# --------------------------------------------------------------------------- rows 4 and 5


@dataclass
class Samples:
    """Latencies in seconds; None for a sample that did not complete within its bound."""

    values: list[float | None] = field(default_factory=list)

    @property
    def median(self) -> float | None:
        return median(self.values)

    @property
    def failed(self) -> int:
        return sum(v is None for v in self.values)


class AgentLatency:
    """Rows 4 and 5 for one backend: ``agent run --reload 60`` over N containers that honour
    SIGTERM; kills, then edits, one container at a time, in turn."""

    def __init__(
        self,
        lab: Lab,
        label: str,
        backend: str,
        docker_cmd: str,
        engine: Engine,
        short: str,
        count: int,
    ) -> None:
        namespace = lab.name(f"l{short}")
        self.label = f"agent run, {label}"
        self.engine = engine
        self.subject = AgentSubject(
            self.label,
            backend,
            docker_cmd,
            namespace,
            engine,
            lab.image,
            lab.ports(count),
            lab.root / namespace,
            command=TRAP,
        )
        lab.register(self.label, self.subject.cleanup)
        self.kills = Samples()
        self.edits = Samples()
        self.error: str | None = None
        self.notes: list[str] = []
        self._up: dict[int, float] = {}  # when a killed container was seen running again
        self._turn = 0
        self._killing: list[converge.Kill] = []

    def run(self, rows: set[int], samples: int) -> None:
        subject = self.subject
        subject.cleanup()
        subject.gens = [0] * subject.count
        subject.write()
        try:
            subject.cold()
            # Recreate: the edit row measures a replacement, as Compose and the engine make
            # one; a rolling update's watch would make each edit wait for the one before.
            extra = ("-vv", f"--backoff-reset={BACKOFF_RESET:g}", *converge.RECREATE)
            with subject.spawn(LATENCY_RELOAD, *extra) as agent:
                agent.wait_for("agent running", 60)
                agent.wait_for("following engine events", 30)
                if "watching files: yes" not in agent.text():
                    self.notes.append("the agent did not watch the manifest (no inotify)")
                time.sleep(1.0)  # the first pass
                if 4 in rows:
                    for _ in range(samples):
                        self.kills.values.append(self.kill_once())
                if 5 in rows:
                    self._turn = 0
                    for _ in range(samples):
                        self.edits.values.append(self.edit_once())
                code = agent.stop()
                text = agent.text()
            for killing in self._killing:
                killing.finish()
            if code != 0 or "Traceback" in text:
                raise BenchError(f"{self.label}: exit {code}:\n{agent.tail()}")
            errors = [line for line in text.splitlines() if " ERROR " in line]
            if errors:
                self.notes.append(f"{len(errors)} ERROR line(s) in its log, e.g. {errors[0]}")
        finally:
            subject.cleanup()

    def _next(self, rested: bool) -> tuple[int, str]:
        """The next container in turn that runs (one container of its name), and, if
        ``rested``, has run BACKOFF_RESET s since it was started again: (index, id)."""
        count = self.subject.count
        deadline = time.monotonic() + KILL_TIMEOUT
        while True:
            running = self.subject.running_by_name()
            now = time.monotonic()
            for step in range(count):
                index = (self._turn + step) % count
                ids = running.get(f"c{index}", [])
                ready = not rested or now >= self._up.get(index, 0.0) + BACKOFF_RESET + 0.2
                if len(ids) == 1 and ready:
                    self._turn = index + 1
                    return index, ids[0]
            if now > deadline:
                raise BenchError(f"{self.label}: none of the {count} containers runs")
            time.sleep(0.1)

    def kill_once(self) -> float | None:
        """Kill the next container: the seconds until it runs again, None if it does not
        within KILL_TIMEOUT s."""
        index, container = self._next(rested=True)
        _, old = converge.state(converge.inspect(self.engine, container))
        began = time.perf_counter()
        killing = converge.Kill(self.engine, container)
        killing.start()
        self._killing.append(killing)  # Podman may answer only after 20 s: not waited for here
        seen = converge.wait_running(self.engine, container, old, KILL_TIMEOUT)
        if seen is None:
            log(f"{self.label}: c{index} not running again {KILL_TIMEOUT:g} s after a kill")
            return None
        self._up[index] = time.monotonic()
        time.sleep(GAP)
        return seen - began

    def edit_once(self) -> float | None:
        """Change the env of the next container: the seconds until its replacement runs,
        None if it does not within EDIT_TIMEOUT s."""
        index, old = self._next(rested=False)
        self.subject.gens[index] += 1
        began = time.perf_counter()
        self.subject.write()
        deadline = began + EDIT_TIMEOUT
        while time.perf_counter() < deadline:
            ids = self.subject.running_by_name().get(f"c{index}", [])
            if any(cid != old for cid in ids):
                seen = time.perf_counter()
                time.sleep(GAP)
                return seen - began
            time.sleep(POLL)
        log(f"{self.label}: no replacement of c{index} running {EDIT_TIMEOUT:g} s after an edit")
        return None


class EngineLatency:
    """The engine's own figures beside rows 4 and 5: the start of an exited container
    (through the API, as the SDK backends do it, and through the CLI), and ``run -d``."""

    def __init__(self, lab: Lab, engine: Engine) -> None:
        self.engine = engine
        self.image = lab.image
        self.prefix = lab.name(f"{engine.kind}-lat")
        self.label = f"{BENCH_LABEL}={self.prefix}"
        self.ports = lab.ports(2)
        self.start_api = Samples()
        self.start_cli = Samples()
        self.run_d = Samples()
        self.error: str | None = None
        lab.register(self.prefix, self.cleanup)

    def cleanup(self) -> None:
        converge.remove_labelled(self.engine, self.label)

    def _run_args(self, name: str, port: int) -> list[str]:
        return [
            "run",
            "-d",
            f"--name={name}",
            f"--label={self.label}",
            f"--publish=127.0.0.1:{port}:{CONTAINER_PORT}",
            "--env=BENCH_INDEX=0",
            "--",
            self.image,
            *TRAP,
        ]

    def run(self, rows: set[int], samples: int) -> None:
        engine = self.engine
        self.cleanup()
        try:
            if 4 in rows:
                container = converge.cli(
                    engine, *self._run_args(f"{self.prefix}-start", self.ports[0])
                ).strip()
                if converge.wait_running(engine, container, "", 30) is None:
                    raise BenchError(f"{engine.kind}: {container} did not start")
                for _ in range(samples):
                    self.start_api.values.append(self._restart(container, through_api=True))
                    self.start_cli.values.append(self._restart(container, through_api=False))
            if 5 in rows:
                for k in range(samples):
                    argv = self._run_args(f"{self.prefix}-run{k}", self.ports[1])
                    began = time.perf_counter()
                    container = converge.cli(engine, *argv).strip()
                    seen = converge.wait_running(engine, container, "", 30)
                    self.run_d.values.append(None if seen is None else seen - began)
                    wait = ["-t", "0"] if engine.kind == "podman" else []
                    converge.cli(engine, "rm", "-f", *wait, container)
        finally:
            self.cleanup()

    def _restart(self, container: str, through_api: bool) -> float | None:
        converge.kill(self.engine, container)
        converge.wait_stopped(self.engine, container)
        _, old = converge.state(converge.inspect(self.engine, container))
        began = time.perf_counter()
        if through_api:
            converge.start(self.engine, container)
        else:
            converge.cli(self.engine, "start", container)
        seen = converge.wait_running(self.engine, container, old, 30)
        return None if seen is None else seen - began


def run_latency(
    lab: Lab, count: int, rows: set[int], samples: int
) -> tuple[list[AgentLatency], dict[str, EngineLatency]]:
    floors = {kind: EngineLatency(lab, lab.engine(kind)) for kind in ("docker", "podman")}
    sessions = [
        AgentLatency(
            lab,
            label,
            backend,
            lab.engine(kind).cli if cmd == "cli" else cmd,
            lab.engine(kind),
            short,
            count,
        )
        for label, backend, kind, cmd, short in BACKENDS
    ]
    for kind, floor in floors.items():
        log(f"rows 4/5: the engine's own start and run -d, {kind}")
        try:
            floor.run(rows, samples)
        except FAILURES as exc:
            floor.error = str(exc)
            log(f"rows 4/5 {kind} FAILED: {exc}")
    for session in sessions:
        log(f"rows 4/5: {session.label}")
        try:
            session.run(rows, samples)
        except FAILURES as exc:
            session.error = str(exc)
            log(f"rows 4/5 {session.label} FAILED: {exc}")
            continue
        log(
            f"rows 4/5 {session.label}: kill -> running {_s(session.kills.median)} s, "
            f"edit -> running {_s(session.edits.median)} s"
        )
    return sessions, floors


# --------------------------------------------------------------------------- row 7


def load_plan(repeat: int, root: Path) -> tuple[dict[str, Any] | None, str]:
    """Run benchmarks/load_plan.py: (its JSON, its Markdown), or (None, why not)."""
    if not LOAD_PLAN.exists():
        return None, f"skipped: {LOAD_PLAN.relative_to(REPO)} does not exist (yet)"
    out = root / "load_plan.json"
    argv = [sys.executable, str(LOAD_PLAN), "--repeat", str(repeat), "--json", str(out)]
    env = {**os.environ, "PYTHONPATH": _pythonpath()}
    log(f"row 7: {' '.join(argv[1:])}")
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=LOAD_PLAN_TIMEOUT,
            check=False,
            env=env,
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        return None, f"failed: load_plan.py did not finish within {LOAD_PLAN_TIMEOUT:g} s"
    if done.returncode != 0 or not out.exists():
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        return None, f"failed: load_plan.py exited {done.returncode}:\n```\n{tail}\n```"
    try:
        data = json.loads(out.read_text())
    except ValueError as exc:
        return None, f"failed: load_plan.py wrote no valid JSON: {exc}"
    return data, done.stdout.strip()


def _pythonpath() -> str:
    paths = [str(REPO), *(p for p in os.environ.get("PYTHONPATH", "").split(":") if p)]
    return ":".join(dict.fromkeys(paths))


# --------------------------------------------------------------------------- the machine


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _output(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def describe_machine(
    versions: dict[str, str], before: Sequence[float], after: Sequence[float]
) -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        "",
    )
    memory = next(
        (
            int(line.split()[1]) // 1024
            for line in _read("/proc/meminfo").splitlines()
            if line.startswith("MemTotal:")
        ),
        0,
    )
    os_name = next(
        (
            line.split("=", 1)[1].strip('"')
            for line in _read("/etc/os-release").splitlines()
            if line.startswith("PRETTY_NAME=")
        ),
        platform.system(),
    )
    cgroup = "v2" if Path("/sys/fs/cgroup/cgroup.controllers").exists() else "v1 (hybrid)"
    git = ["git", "--no-optional-locks", "-C", str(REPO)]  # reads only, takes no lock
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": memory,
        "os": os_name,
        "kernel": platform.release(),
        "cgroups": cgroup,
        "python": platform.python_version(),
        "versions": versions,
        "load_average_before": [round(v, 2) for v in before],
        "load_average_after": [round(v, 2) for v in after],
        "commit": _output([*git, "rev-parse", "HEAD"]),
        "tree_modified": bool(_output([*git, "status", "--porcelain", "--untracked-files=no"])),
    }


# --------------------------------------------------------------------------- tables


def _x(value: float | None, base: float | None) -> float | None:
    """``value`` as a multiple of ``base``."""
    if value is None or base is None or base <= 0:
        return None
    return round(value / base, 3)


def _s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 2)


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A Markdown table: the first column left-aligned, the others right-aligned; a column
    with nothing in it is left out."""
    lines = [list(header), *map(list, rows)]
    keep = [i for i in range(len(header)) if any(line[i] for line in lines)]
    lines = [[line[i] for i in keep] for line in lines]
    widths = [max(3, *(len(line[i]) for line in lines)) for i in range(len(keep))]

    def row(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = " | ".join("-" * w if i == 0 else "-" * (w - 1) + ":" for i, w in enumerate(widths))
    return "\n".join([row(lines[0]), f"| {rule} |", *(row(cells) for cells in lines[1:])])


Entry = dict[str, Any]
"""One line of a section, as the JSON has it: a key left out does not apply to the subject
(an empty cell), a key that is None was not measured (n/a)."""


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    kind: str = "s"  # s: seconds, x: a ratio, ms, mb, n: a count, text

    def cell(self, entry: Entry) -> str:
        if self.key not in entry:
            return ""
        value = entry[self.key]
        if value is None:
            return "n/a"
        if self.kind == "x":
            return f"{value:.2f}x"
        if self.kind in ("ms", "mb"):
            return f"{value:.1f}"
        if self.kind == "s":
            return f"{value:.2f}"
        return str(value)


@dataclass
class Section:
    number: int
    title: str
    target: str
    columns: list[Column] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    table: str = ""  # a table of its own (row 7), instead of columns and entries
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        parts = [f"## {self.number}. {self.title}", ""]
        if self.target:
            parts += [f"Target: {self.target}", ""]
        table = self.table or markdown(
            [c.header for c in self.columns],
            [[c.cell(e) for c in self.columns] for e in self.entries],
        )
        if self.entries or self.table:
            parts += [table, ""]
        parts += [f"- {note}" for note in self.notes]
        return "\n".join(parts).rstrip() + "\n"

    def json(self) -> dict[str, Any]:
        return {"title": self.title, "target": self.target, "entries": self.entries}


SUBJECT = Column("tool / backend", "subject", "text")
STATUS = Column("", "status", "text")


class ConvergeFigures:
    """The medians of rows 1, 2, 3 and 6, by subject."""

    def __init__(
        self, subjects: Sequence[Subject], results: dict[str, list[Figures]],
        errors: dict[str, str],
    ) -> None:  # fmt: skip
        self.subjects = list(subjects)
        self.results = results
        self.errors = errors

    def median(self, subject: Subject, pick: Callable[[Figures], float | None]) -> float | None:
        return median([pick(f) for f in self.results.get(subject.label, [])])

    def _first(self, tool: str, engine: str | None = None) -> Subject | None:
        found = [s for s in self.subjects if s.tool == tool and engine in (None, s.engine.kind)]
        return found[0] if found else None

    def floor(self, engine: str, pick: Callable[[Figures], float | None]) -> float | None:
        floor = self._first("floor", engine)
        return None if floor is None else self.median(floor, pick)

    def compose(self, pick: Callable[[Figures], float | None]) -> float | None:
        compose = self._first("compose")
        return None if compose is None else self.median(compose, pick)

    def entry(self, subject: Subject) -> Entry:
        """The start of a subject's line: its name, and how its repeats went."""
        entry: Entry = {"subject": subject.label, "tool": subject.tool}
        entry["engine"] = subject.engine.kind
        entry["repeats"] = len(self.results.get(subject.label, []))
        error = self.errors.get(subject.label)
        if error is not None:
            entry["error"] = error
            entry["status"] = f"FAILED after {entry['repeats']} repeat(s)"
        return entry


def _runs_cli(subject: Subject) -> bool:
    """Whether the subject is the agent with a CLI backend, which runs docker/podman."""
    return isinstance(subject, AgentSubject) and subject.backend == "docker-cli"


def section_1(data: ConvergeFigures, count: int, repeat: int) -> Section:
    section = Section(
        1,
        f"Converge {count} containers from nothing (median of {repeat})",
        "agent <= 1.15x the parallel floor of the same engine, so <= 0.7x compose",
        [
            SUBJECT,
            Column("converge s", "seconds"),
            Column("x floor (same engine)", "x_floor", "x"),
            Column("x compose", "x_compose", "x"),
            Column("max RSS MB", "max_rss_mb", "mb"),
            Column("CLI subprocesses MB", "max_rss_subprocesses_mb", "mb"),
            Column("target", "target", "text"),
            STATUS,
        ],
    )
    compose = data.compose(lambda f: f.cold)
    for subject in data.subjects:
        entry = data.entry(subject)
        entry["seconds"] = value = data.median(subject, lambda f: f.cold)
        entry["x_floor"] = _x(value, data.floor(subject.engine.kind, lambda f: f.cold))
        entry["x_compose"] = _x(value, compose)
        if subject.measures_memory:
            entry["max_rss_mb"] = data.median(subject, lambda f: f.cold_mb)
        if _runs_cli(subject):
            entry["max_rss_subprocesses_mb"] = data.median(subject, lambda f: f.cold_tree_mb)
        if subject.tool == "agent":
            entry["target"] = "<= 1.15x floor, <= 0.7x compose"
        section.entries.append(entry)
    section.notes = [
        "floor: one `network create`, then the same containers by `run -d --network` "
        "(create and start, each with its 127.0.0.1 port, env vars and its name as an alias "
        "on that network, as the agent's share their namespace's), issued all at once, one "
        f"thread and one CLI process each; the agent runs its actions {PARALLEL} at a time "
        "(the `--parallel` default).",
        "x compose: compose runs on dockerd; for the Podman rows the ratio is across engines.",
        "max RSS: the peak resident size of the tool's own process (`VmHWM`); CLI "
        "subprocesses: the peak of it and the `docker`/`podman` processes the CLI backends "
        "run (`ru_maxrss` of `wait4`). The engines' own memory is not counted.",
        "podman kube play: N pods of one container each (plus N infra containers, which "
        "publish the ports); compose: on the network it makes for its project, as the "
        "agent's containers are on their namespace's.",
    ]
    return section


def section_2(data: ConvergeFigures, count: int, repeat: int) -> Section:
    section = Section(
        2,
        f"Replace {count} changed containers that ignore SIGTERM (median of {repeat})",
        f"<= one stop timeout ({STOP_TIMEOUT} s) + 1.3x the parallel floor of row 1",
        [
            SUBJECT,
            Column("replace all s", "seconds"),
            Column("target s", "target_seconds"),
            Column("x target", "x_target", "x"),
            Column("x replace floor (same engine)", "x_replace_floor", "x"),
            Column("x compose", "x_compose", "x"),
            STATUS,
        ],
    )
    compose = data.compose(lambda f: f.all)
    for subject in data.subjects:
        if subject.tool not in ("agent", "compose", "floor"):
            continue
        entry = data.entry(subject)
        if subject.tool == "floor":
            cli = Path(subject.engine.cli).name
            entry["subject"] = (
                f"parallel replace floor: {subject.count} x {cli} stop, rm, run -d "
                f"@{subject.label.rsplit('@', 1)[1]}"
            )
        entry["seconds"] = value = data.median(subject, lambda f: f.all)
        if subject.tool != "floor":
            floor = data.floor(subject.engine.kind, lambda f: f.cold)
            entry["target_seconds"] = target = None if floor is None else STOP_TIMEOUT + 1.3 * floor
            entry["x_target"] = _x(value, target)
        entry["x_replace_floor"] = _x(value, data.floor(subject.engine.kind, lambda f: f.all))
        entry["x_compose"] = _x(value, compose)
        section.entries.append(entry)
    section.notes = [
        "The env of every container changes, then `agent apply` / `compose up -d` with "
        f"the default stop timeout ({STOP_TIMEOUT} s): busybox `sleep` as PID 1 ignores "
        "SIGTERM, so each stop waits it out, and only stopping them at the same time keeps "
        "the whole near one timeout.",
        "target s: the stop timeout + 1.3x the row-1 floor of the same engine. The replace "
        f"floor: `stop -t {STOP_TIMEOUT}`, `rm` and `run -d` of each container, all at once.",
    ]
    return section


def section_3(data: ConvergeFigures, count: int, repeat: int) -> Section:
    section = Section(
        3,
        f"One changed container among {count} (median of {repeat})",
        "",
        [SUBJECT, Column("one changed s", "seconds"), Column("x compose", "x_compose", "x"),
         STATUS],
    )  # fmt: skip
    compose = data.compose(lambda f: f.one)
    for subject in data.subjects:
        if subject.tool in ("agent", "compose"):
            entry = data.entry(subject)
            entry["seconds"] = value = data.median(subject, lambda f: f.one)
            entry["x_compose"] = _x(value, compose)
            section.entries.append(entry)
    section.notes = [
        "The env of one container changes; both tools are told to stop at once "
        "(`agent apply --stop-timeout 0`, `compose up -d -t 0`), so that the figure is "
        f"the tool's own work, not the {STOP_TIMEOUT} s the process ignores SIGTERM for.",
    ]
    return section


def section_6(data: ConvergeFigures, count: int, repeat: int) -> Section:
    section = Section(
        6,
        f"Idle and no-op, over {count} running containers (median of {repeat})",
        "idle `agent run` < 20 ms CPU a pass and < 40 MB; no-op `agent apply` < 0.5x the "
        "no-op `compose up -d`; cold `agent plan` < 200 ms",
        [
            SUBJECT,
            Column("idle CPU ms/pass", "idle_cpu_ms", "ms"),
            Column("with subprocesses", "idle_cpu_with_subprocesses_ms", "ms"),
            Column("passes", "idle_passes", "text"),
            Column("idle max RSS MB", "idle_max_rss_mb", "mb"),
            Column("CLI subprocesses MB", "idle_max_rss_subprocesses_mb", "mb"),
            Column("no-op s", "noop_seconds"),
            Column("x compose no-op", "noop_x_compose", "x"),
            Column("plan s", "plan_seconds"),
            STATUS,
        ],
    )
    compose = data.compose(lambda f: f.noop)
    for subject in data.subjects:
        if subject.tool not in ("agent", "compose"):
            continue
        entry = data.entry(subject)
        if subject.tool == "agent":
            idles = [f.idle for f in data.results.get(subject.label, []) if f.idle is not None]
            entry["idle_cpu_ms"] = _ms(median([i.cpu_own for i in idles]))
            entry["idle_cpu_with_subprocesses_ms"] = _ms(median([i.cpu_tree for i in idles]))
            passes = median([float(i.passes) for i in idles])
            by = ", ".join(sorted({i.counted_by for i in idles}))
            entry["idle_passes"] = None if passes is None else f"{passes:.0f} ({by})"
            entry["idle_max_rss_mb"] = median([i.rss_mb for i in idles])
            if _runs_cli(subject):
                entry["idle_max_rss_subprocesses_mb"] = median([i.rss_tree_mb for i in idles])
        entry["noop_seconds"] = noop = data.median(subject, lambda f: f.noop)
        entry["noop_x_compose"] = _x(noop, compose)
        if subject.tool == "agent":
            entry["plan_seconds"] = data.median(subject, lambda f: f.plan)
        section.entries.append(entry)
    section.notes = [
        f"idle: `agent run --reload {converge.IDLE_RELOAD:g} -vv` over the converged set: its "
        f"CPU time (utime+stime of /proc/PID/stat) over {converge.IDLE_WINDOW:g} s, from "
        f"{converge.IDLE_WARMUP:g} s after it logged `agent running`, divided by the passes "
        "counted: the list requests in its -vv log (SDK backends: urllib3 logs each), else "
        "its `ps` subprocesses (CLI backends), else the window over the reload interval. "
        "'with subprocesses' adds the CPU time of the `docker`/`podman` processes it ran "
        "and reaped (cutime+cstime).",
        "idle max RSS: `VmHWM` of the agent at the end of the window; CLI subprocesses: the "
        "peak of it and the `docker`/`podman` processes it ran, the `events` follower "
        "included (`ru_maxrss` once it stopped).",
        "no-op: the same `agent apply` / `compose up -d` again over the converged set; "
        "plan: `agent plan` over the same. Every figure is of a fresh process: the "
        "interpreter's start and the imports are included.",
    ]
    return section


def section_latency(
    number: int, sessions: Sequence[AgentLatency], floors: dict[str, EngineLatency],
    samples: int,
) -> Section:  # fmt: skip
    kill = number == 4
    section = Section(
        number,
        f"A killed container running again (median of {samples})"
        if kill
        else f"A manifest edit -> its replacement running (median of {samples})",
        "< 0.5 s on top of the engine's own start of an exited container"
        if kill
        else "< 1 s on top of the engine's own `run -d`",
        [
            Column("subject", "subject", "text"),
            Column("s", "seconds"),
            Column("samples", "done", "text"),
            Column("engine's own s", "engine_seconds"),
            Column("on top s", "on_top_seconds"),
            Column("target on top s", "target_on_top", "text"),
            STATUS,
        ],
    )
    for session in sessions:
        found = session.kills if kill else session.edits
        base = (floors[session.engine.kind].start_api if kill else
                floors[session.engine.kind].run_d).median  # fmt: skip
        value = found.median
        entry: Entry = {
            "subject": f"{session.label}: {'kill' if kill else 'edit'} -> running",
            "tool": "agent", "engine": session.engine.kind, "seconds": value,
            "done": _done(found), "samples": found.values, "engine_seconds": base,
            "on_top_seconds": None if value is None or base is None else value - base,
            "target_on_top": "< 0.5" if kill else "< 1",
        }  # fmt: skip
        if session.error is not None:
            entry.update(error=session.error, status="FAILED")
        section.entries.append(entry)
    for kind, floor in floors.items():
        name = "dockerd" if kind == "docker" else "podman"
        cli = Path(floor.engine.cli).name
        own = [(f"{name}: start of an exited container (API)", floor.start_api),
               (f"{name}: `{cli} start` of an exited container", floor.start_cli)] if kill else [
               (f"{name}: `{cli} run -d`", floor.run_d)]  # fmt: skip
        for label, found in own:
            entry = {
                "subject": label,
                "tool": "engine",
                "engine": kind,
                "seconds": found.median,
                "done": _done(found),
                "samples": found.values,
            }
            if floor.error is not None:
                entry.update(error=floor.error, status="FAILED")
            section.entries.append(entry)
    if kill:
        section.notes = [
            f"`agent run --reload {LATENCY_RELOAD:g} --backoff-reset {BACKOFF_RESET:g}` over "
            "the N containers (their process honours SIGTERM), so that only the engine's "
            "events bring a container back; they are killed in turn, one again only after it "
            f"ran {BACKOFF_RESET:g} s (a fresh crash, not a crash-loop back-off). A sample not "
            f"running again within {KILL_TIMEOUT:g} s is counted as timed out and left out of "
            f"the median (the periodic pass, {LATENCY_RELOAD:g} s, brings it back later).",
            "Timed from the kill (SIGKILL through the engine's API, from a thread of its own: "
            "Podman's compat API answers a kill only once it saw the container stopped) to the "
            "moment inspect, polled every 20 ms through the API, shows the container running "
            "with a new StartedAt. The engine's own: a container of ours killed and started "
            "again through the API (as the SDK backends do) and with the CLI (as the CLI "
            "backends do), timed from the start request to the same inspect; on top: over "
            "the API start.",
        ]
    else:
        section.notes = [
            "Under the same `agent run`: the env of one container changes (in turn), the "
            "manifest is written to a new file renamed over the old one; timed from the rename "
            "to the moment the engine's API lists a new container of that name running "
            '(polled every 20 ms). The old one honours SIGTERM: `sh -c \'trap "exit 0" TERM; '
            "sleep 600 & wait'`.",
            "The engine's own: `run -d` of the same kind of container with the CLI, timed until "
            "inspect shows it running.",
        ]
    for session in sessions:
        section.notes += [f"{session.label}: {note}" for note in session.notes]
        if session.error:
            section.notes.append(f"{session.label} failed: {_one_line(session.error)}")
    for kind, floor in floors.items():
        if floor.error:
            section.notes.append(f"{kind}, the engine's own: failed: {_one_line(floor.error)}")
    return section


def _done(found: Samples) -> str:
    done = len(found.values) - found.failed
    return f"{done}" if not found.failed else f"{done} ({found.failed} timed out)"


def _one_line(text: str) -> str:
    return " / ".join(line.strip() for line in text.strip().splitlines() if line.strip())[:400]


def section_7(data: dict[str, Any] | None, text: str) -> Section:
    section = Section(7, "Load, validate and plan 10,000 containers (no engine)", "")
    if data is None:
        section.notes = [text]
        return section
    section.table = text
    section.notes = [
        "From `benchmarks/load_plan.py`, run as a subprocess; its JSON is under `load_plan` in "
        "the JSON file."
    ]
    return section


def header_text(machine: dict[str, Any], args: argparse.Namespace, elapsed: float) -> str:
    versions = machine["versions"]
    tools = ", ".join(f"{name} {value}" for name, value in versions.items())
    before = "/".join(f"{v:.2f}" for v in machine["load_average_before"])
    after = "/".join(f"{v:.2f}" for v in machine["load_average_after"])
    return (
        "# container-agent benchmarks\n\n"
        f"{machine['date']}; {machine['cores']} cores ({machine['cpu']}), "
        f"{machine['memory_mb'] / 1024:.1f} GB; {machine['os']}, Linux {machine['kernel']}, "
        f"cgroups {machine['cgroups']}; Python {machine['python']}; {tools}. "
        f"Load average {before} before the run, {after} after the engine rows. "
        f"{args.containers} containers; rows 1, 2, 3 and 6: median of {args.repeat} "
        f"repeat(s); rows 4 and 5: median of {args.samples} sample(s). Whole run "
        f"{elapsed:.0f} s. Commit {machine['commit'][:12] or 'n/a'}"
        f"{' (with local changes)' if machine['tree_modified'] else ''}.\n\n"
        f"    {shlex.join(['python', 'benchmarks/run.py', *args.argv])}\n"
    )


# --------------------------------------------------------------------------- main


def _rows(text: str) -> list[int]:
    try:
        rows = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a list of row numbers: {text!r}") from exc
    if not rows or not set(rows) <= set(ALL_ROWS):
        raise argparse.ArgumentTypeError(f"rows are 1 to 7, got {text!r}")
    return rows


def _jsonable(value: Any) -> Any:
    """The report as plain JSON values: dataclasses as objects, seconds to 0.1 ms."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _jsonable(dataclasses.asdict(value))
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--containers",
        type=int,
        default=30,
        metavar="N",
        help="containers of every set (default: 30)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        metavar="R",
        help="repeats of rows 1, 2, 3, 6 and of load_plan.py (default: 3)",
    )
    parser.add_argument(
        "--samples",
        type=int,
        default=10,
        metavar="K",
        help="samples of the latency rows 4 and 5 (default: 10)",
    )
    parser.add_argument(
        "--rows",
        type=_rows,
        default=list(ALL_ROWS),
        metavar="1,2,...",
        help="the rows to run (default: all, 1 to 7)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="where NAME.md and NAME.json go (default: benchmarks/results)",
    )
    parser.add_argument("--name", default="latest", help="of the result files (default: latest)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if min(args.containers, args.repeat, args.samples) < 1:
        parser.error("--containers, --repeat and --samples must be at least 1")
    rows = set(args.rows)
    started = time.monotonic()
    load_before = os.getloadavg()
    notes: list[str] = []
    errors: dict[str, str] = {}
    versions: dict[str, str] = {}
    converged: ConvergeFigures | None = None
    latency: tuple[list[AgentLatency], dict[str, EngineLatency]] | None = None
    converge_rows = rows & {1, 2, 3, 6}
    if rows - {7}:
        try:
            with Lab(use_engines=True, use_compose=bool(converge_rows), use_kube=1 in rows) as lab:
                notes += lab.notes
                versions = lab.versions()
                if converge_rows:
                    subjects = converge.converge_subjects(lab, args.containers, rows)
                    results, failed = converge.run_repeats(subjects, rows, args.repeat)
                    converged = ConvergeFigures(subjects, results, failed)
                if rows & {4, 5}:
                    latency = run_latency(lab, args.containers, rows, args.samples)
        except FAILURES as exc:
            errors["engines"] = str(exc)
            log(f"the engine rows stopped: {exc}")
            notes.append(f"The engine rows stopped: {_one_line(str(exc))}")
    load_after = os.getloadavg()
    plan_data: dict[str, Any] | None = None
    plan_text = ""
    if 7 in rows:
        scratch = Path(os.environ.get("TMPDIR", "/tmp"))
        out_json = scratch / f"ca-bench-load-plan-{os.getpid()}"
        out_json.mkdir(exist_ok=True)
        try:
            plan_data, plan_text = load_plan(args.repeat, out_json)
        finally:
            for leftover in out_json.iterdir():
                leftover.unlink()
            out_json.rmdir()
        if plan_data is None:
            errors["load_plan"] = plan_text
            log(f"row 7: {plan_text}")
    elapsed = time.monotonic() - started

    sections: list[Section] = []
    if converged is not None:
        for number, build in ((1, section_1), (2, section_2), (3, section_3)):
            if number in rows:
                sections.append(build(converged, args.containers, args.repeat))
    if latency is not None:
        for number in (4, 5):
            if number in rows:
                sections.append(section_latency(number, *latency, args.samples))
    if converged is not None and 6 in rows:
        sections.append(section_6(converged, args.containers, args.repeat))
    if 7 in rows:
        sections.append(section_7(plan_data, plan_text))
    if converged is not None:
        for label, error in converged.errors.items():
            notes.append(f"{label} failed: {_one_line(error)}")

    machine = describe_machine(versions, load_before, load_after)
    text = header_text(machine, args, elapsed) + "\n" + "\n".join(s.text() for s in sections)
    if notes:
        text += "\n## Notes\n\n" + "\n".join(f"- {note}" for note in notes) + "\n"
    report = {
        "format_version": 1,
        "command": ["python", "benchmarks/run.py", *args.argv],
        "parameters": {
            "containers": args.containers,
            "repeat": args.repeat,
            "samples": args.samples,
            "rows": sorted(rows),
            "agent_parallel": PARALLEL,
            "agent_stop_timeout": STOP_TIMEOUT,
            "idle_reload": converge.IDLE_RELOAD,
            "idle_window": converge.IDLE_WINDOW,
            "latency_reload": LATENCY_RELOAD,
            "latency_backoff_reset": BACKOFF_RESET,
            "poll_interval": POLL,
        },
        "machine": machine,
        "elapsed_seconds": round(elapsed, 1),
        "rows": {str(s.number): s.json() for s in sections},
        "samples": _samples(converged, latency),
        "load_plan": plan_data,
        "notes": notes,
        "errors": errors,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.md").write_text(text)
    (args.out / f"{args.name}.json").write_text(json.dumps(_jsonable(report), indent=2) + "\n")
    print(text)
    log(f"written: {args.out / args.name}.md and .json ({elapsed:.0f} s)")
    return 0


def _samples(
    converged: ConvergeFigures | None,
    latency: tuple[list[AgentLatency], dict[str, EngineLatency]] | None,
) -> dict[str, Any]:
    """Every figure measured, by subject, for the JSON."""
    found: dict[str, Any] = {}
    if converged is not None:
        for subject in converged.subjects:
            found[subject.label] = {
                "tool": subject.tool,
                "engine": subject.engine.kind,
                "repeats": converged.results.get(subject.label, []),
                "error": converged.errors.get(subject.label),
            }
    if latency is not None:
        sessions, floors = latency
        for session in sessions:
            found[session.label] = {
                "engine": session.engine.kind,
                "kill_to_running": session.kills.values,
                "edit_to_running": session.edits.values,
                "error": session.error,
                "notes": session.notes,
            }
        for kind, floor in floors.items():
            found[f"{kind}: the engine's own"] = {
                "start_api": floor.start_api.values,
                "start_cli": floor.start_cli.values,
                "run_d_cli": floor.run_d.values,
                "error": floor.error,
            }
    return found


if __name__ == "__main__":
    sys.exit(main())
