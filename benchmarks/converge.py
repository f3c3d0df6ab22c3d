"""Bring N containers up, change them and watch the idle daemon, with container-agent and with
its peers, on this machine's real engines: rows 1, 2, 3 and 6 of ``benchmarks/run.py``, and the
measuring and set-up helpers that its other rows use too.

    python benchmarks/run.py [--containers N] [--repeat R]       # the documented command
    python benchmarks/converge.py [--containers N] [--repeat R]  # the same, rows 1, 2, 3, 6 only

The workload: N containers of ``/bin/sleep 600`` from the locally imported busybox image (as
PID 1, busybox's sleep ignores SIGTERM, so a stop waits the whole stop timeout; ``kube play``
does not give a container the image's PATH, hence the absolute path), each with its own port
published on 127.0.0.1 (container port 8080) and two env vars, ``BENCH_INDEX`` and
``BENCH_GEN`` (the generation: raising it is the change that replaces a container).

The subjects, each with its own names and ports:

- ``agent apply`` with each backend (docker-cli and the Docker SDK on dockerd, podman-py and
  the podman CLI on the Podman service), with the defaults of ``agent`` (``--parallel``,
  ``--stop-timeout``);
- the parallel floor of each engine: one ``network create``, then the same N ``run -d`` on
  that network (create and start, with the same port and env, the name as an alias), issued
  directly and all at once, one thread and one CLI process each, as the agent's containers
  share their namespace's network;
- Compose's ``up -d`` on dockerd, on the network Compose makes for its project: Compose v2
  where it is installed (a ``docker-compose`` 2.x, as Debian 13's, or the ``docker compose``
  plugin), else v1 (Debian 12's ``docker-compose`` 1.29); the report names the one that ran
  and its version;
- ``podman kube play`` of N pods of one container each (each keeps its own network namespace and
  port, published by the pod with hostPort on hostIP 127.0.0.1).

A repeat of a subject, from nothing: the cold converge (row 1); the no-op pass, ``agent plan``
and ``agent run --reload 0.5`` over the converged set for a few seconds (row 6); a change of one
container's env, applied with the stop timeout at 0 (``--stop-timeout 0``, ``up -d -t 0``: the
tool's own work, not the 10 s the process ignores SIGTERM for; row 3); a change of every
container's env, applied with the default stop timeout (row 2); then everything is removed.

Peak memory is the largest resident size of the tool's own process (``VmHWM`` in
``/proc/PID/status``, sampled every 10 ms until it exits); for the CLI backends the peak of the
``docker``/``podman`` subprocesses (``ru_maxrss`` from ``wait4``) is kept too. The idle daemon's
CPU time comes from ``/proc/PID/stat`` (utime+stime, and cutime+cstime of the subprocesses it
reaped), divided by the passes counted in the window.

Engines are started or reused with tests/engines.py; only the ones started here are stopped.
Missing Debian packages that a peer needs (``docker-compose``; ``catatonit``, without which
Podman cannot build the pause image of a pod) are installed with apt-get, and the run says so.
Everything created here is removed at the end: containers, pods and compose projects (all
under names made of this run's id), temporary files, and the busybox and pause images if this
run made them on an engine it started itself (on a reused engine they are shared with whoever
runs it, and left). Only 127.0.0.1 is ever addressed.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from agent.daemon.settings import Settings  # noqa: E402
from agent.planning.spec import LABEL_NAME, LABEL_NAMESPACE  # noqa: E402
from agent.testing import EngineFailed  # noqa: E402
from agent.testing.image import image_exists  # noqa: E402
from tests import engines  # noqa: E402
from tests.engines import Engine  # noqa: E402

MB = 1024 * 1024
CONTAINER_PORT = 8080
COMMAND_TIMEOUT = 600.0
AGENT = [sys.executable, "-m", "agent"]
ACTION_VERBS = ("start", "restart", "remove")  # how agent.engine.executor logs an action
BENCH_LABEL = "io.container-agent.benchmark"  # on the containers the agent does not make
STOP_TIMEOUT = Settings().stop_timeout  # the defaults of `agent`
PARALLEL = Settings().parallel
SLEEP = ("/bin/sleep", "600")  # busybox sleep as PID 1: SIGTERM is ignored
TRAP = ("/bin/sh", "-c", 'trap "exit 0" TERM; sleep 600 & wait')  # honours SIGTERM
IDLE_RELOAD = 0.5  # agent run --reload, for the idle figures
IDLE_WARMUP = 1.5  # after "agent running": the first pass and the event stream
IDLE_WINDOW = 6.0  # seconds of passes counted
POLL = 0.02  # engine polling interval of the latency measurements
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# One list of the namespace's containers per pass, as urllib3 logs it at -vv (SDK backends).
LIST_REQUEST = re.compile(r'"GET \S*/containers/json\?')

# (label, backend, engine kind, --docker-cmd ("cli": the engine's own CLI), short name)
BACKENDS = (
    ("docker-cli @dockerd", "docker-cli", "docker", "cli", "dcli"),
    ("docker SDK @dockerd", "docker", "docker", "docker", "dsdk"),
    ("podman-py @podman", "podman", "podman", "docker", "ppy"),
    ("podman CLI @podman", "docker-cli", "podman", "cli", "pcli"),
)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A tool did not do what the benchmark needs; the message says what."""


FAILURES = (BenchError, engines.EngineError, EngineFailed, subprocess.TimeoutExpired)
"""What one subject or session may fail with: the run records it and goes on."""


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Run:
    """One finished command: wall time, peak memory, exit code and output."""

    seconds: float
    own_mb: float  # peak resident size of the process itself (VmHWM)
    tree_mb: float  # ru_maxrss of wait4: the largest of it and its reaped subprocesses
    returncode: int
    output: str


def vm_hwm(pid: int) -> int | None:
    """``VmHWM`` of a live process in bytes; None once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


def cpu_times(pid: int) -> tuple[float, float] | None:
    """CPU seconds of a live process: (utime+stime, cutime+cstime of the children it reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()  # fields 3.. of proc(5); utime is field 14
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS


class _PeakSampler(threading.Thread):
    """Reads VmHWM of ``pid`` every 10 ms; VmHWM only grows, so the last read is the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            value = vm_hwm(self.pid)
            if value is not None:
                self.peak = max(self.peak, value)
            self.done.wait(0.01)


class _ChildCounter(threading.Thread):
    """Counts the subprocesses of ``pid`` whose command is ``word`` (``docker ... ps``; every
    one with None), by reading /proc/PID/task/*/children every 5 ms: the passes of a CLI
    backend, or all the engine calls it makes."""

    def __init__(self, pid: int, word: str | None) -> None:
        super().__init__(daemon=True)
        self.pid, self.word = pid, word
        self.seen: set[int] = set()
        self.count = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            for children in Path(f"/proc/{self.pid}/task").glob("*/children"):
                with contextlib.suppress(OSError, ValueError):
                    for child in map(int, children.read_text().split()):
                        if child not in self.seen:
                            self.seen.add(child)
                            self.count += self._is_list(child)
            self.done.wait(0.005)

    def _is_list(self, pid: int) -> bool:
        if self.word is None:
            return True
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return False
        return self.word in argv[1:4]


def _reap(pid: int, block: bool = True) -> tuple[int, float] | None:
    """wait4 the process: (exit code, ru_maxrss in MB), or None if it still runs."""
    done, status, usage = os.wait4(pid, 0 if block else os.WNOHANG)
    if done == 0:
        return None
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024 / MB


def measure(
    argv: Sequence[str], env: dict[str, str], cwd: Path, timeout: float = COMMAND_TIMEOUT
) -> Run:
    """Run ``argv`` to its end (killed after ``timeout``): wall time, peak memory of it and of
    its subprocesses."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
            cwd=cwd,
        )  # fmt: skip
        sampler = _PeakSampler(proc.pid)
        sampler.start()
        watchdog = threading.Timer(timeout, os.kill, (proc.pid, signal.SIGKILL))
        watchdog.start()
        reaped = _reap(proc.pid)
        seconds = time.perf_counter() - start
        watchdog.cancel()
        sampler.done.set()
        sampler.join()
        assert reaped is not None
        proc.returncode, tree = reaped
        out.seek(0)
        output = out.read().decode(errors="replace")
    if seconds >= timeout:
        raise BenchError(f"{argv[0]} {argv[1:3]}: killed after {timeout:g} s")
    return Run(seconds, sampler.peak / MB, tree, proc.returncode, output)


def checked(run: Run, what: str, expect: str | None = None) -> Run:
    if run.returncode != 0 or (expect is not None and expect not in run.output):
        tail = "\n".join(run.output.splitlines()[-15:])
        raise BenchError(f"{what}: exit {run.returncode}, expected {expect!r}; output:\n{tail}")
    return run


def in_parallel(jobs: Sequence[Sequence[Sequence[str]]], env: dict[str, str]) -> float:
    """Run every job at once, each in its own thread (a job: commands run one after another);
    the wall time until the last has ended."""

    def one(job: Sequence[Sequence[str]]) -> str | None:
        for argv in job:
            done = subprocess.run(
                list(argv), env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                check=False,
            )  # fmt: skip
            if done.returncode != 0:
                return f"{' '.join(argv[:3])}...: exit {done.returncode}: {done.stderr.strip()}"
        return None

    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        start = time.perf_counter()
        errors = list(pool.map(one, jobs))
        seconds = time.perf_counter() - start
    failed = [e for e in errors if e is not None]
    if failed:
        raise BenchError(f"{len(failed)} of {len(jobs)} commands failed, e.g. {failed[0]}")
    return seconds


def cli(engine: Engine, *args: str) -> str:
    return engines.run_cli(engine, *args, timeout=COMMAND_TIMEOUT).stdout


# --------------------------------------------------------------------------- engine API


def api(engine: Engine, method: str, path: str, timeout: float = 30.0) -> tuple[int, Any]:
    """One request to the engine's Docker-compatible API (dockerd, Podman's compat API) on its
    unix socket: (status, decoded JSON body or None). For the measurements: a CLI process would
    add its own start to every poll."""
    conn = engines.UnixHTTPConnection(engine.socket, timeout)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise BenchError(f"{engine.kind} API {method} {path}: {exc}") from exc
    finally:
        conn.close()
    try:
        data = json.loads(body) if body.strip() else None
    except ValueError:
        data = body.decode(errors="replace")
    return response.status, data


def inspect(engine: Engine, container: str) -> dict[str, Any] | None:
    status, data = api(engine, "GET", f"/containers/{container}/json")
    if status == 404:
        return None
    if status != 200 or not isinstance(data, dict):
        raise BenchError(f"{engine.kind}: inspect {container}: {status} {data}")
    return data


def state(info: dict[str, Any] | None) -> tuple[bool, str]:
    """(running, StartedAt) of an inspected container; (False, "") for a missing one."""
    if info is None:
        return False, ""
    current = info.get("State") or {}
    return bool(current.get("Running")), str(current.get("StartedAt") or "")


def kill(engine: Engine, container: str) -> None:
    status, data = api(engine, "POST", f"/containers/{container}/kill?signal=KILL")
    if status not in (200, 204):
        raise BenchError(f"{engine.kind}: kill {container}: {status} {data}")


class Kill(threading.Thread):
    """A kill through the API in a thread of its own: Podman's compat API answers it only once
    it has seen the container stopped, which may be 10 or 20 s later when the agent has
    started the container again in the meantime."""

    def __init__(self, engine: Engine, container: str) -> None:
        super().__init__(daemon=True)
        self.engine, self.container = engine, container
        self.error: BenchError | None = None

    def run(self) -> None:
        try:
            kill(self.engine, self.container)
        except BenchError as exc:
            self.error = exc

    def finish(self, timeout: float = 30.0) -> None:
        self.join(timeout)
        if self.is_alive():
            raise BenchError(f"{self.engine.kind}: kill {self.container} unanswered {timeout:g} s")
        if self.error is not None:
            raise self.error


def start(engine: Engine, container: str) -> None:
    status, data = api(engine, "POST", f"/containers/{container}/start")
    if status not in (200, 204, 304):
        raise BenchError(f"{engine.kind}: start {container}: {status} {data}")


def running_with_label(engine: Engine, label: str) -> list[dict[str, Any]]:
    """The running containers labelled ``label`` (``key=value``), as the API lists them."""
    filters = urllib.parse.quote(json.dumps({"label": [label]}))
    status, data = api(engine, "GET", f"/containers/json?filters={filters}")
    if status != 200 or not isinstance(data, list):
        raise BenchError(f"{engine.kind}: list {label}: {status} {data}")
    return [row for row in data if str(row.get("State", "running")) == "running"]


def wait_running(engine: Engine, container: str, old_start: str, timeout: float) -> float | None:
    """Poll inspect every POLL s until ``container`` runs with a StartedAt other than
    ``old_start``: the perf_counter time it was seen, or None after ``timeout``."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        running, started = state(inspect(engine, container))
        if running and started != old_start:
            return time.perf_counter()
        time.sleep(POLL)
    return None


def wait_stopped(engine: Engine, container: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while state(inspect(engine, container))[0]:
        if time.monotonic() > deadline:
            raise BenchError(f"{engine.kind}: {container} still runs {timeout:g} s after a kill")
        time.sleep(POLL)


# --------------------------------------------------------------------------- subjects


@dataclass
class Idle:
    """``agent run`` over the converged set: CPU per pass, and its peak memory."""

    cpu_own: float  # CPU seconds per pass of the agent's own process
    cpu_tree: float  # ... and of the subprocesses it reaped (the CLI backends' docker/podman)
    passes: int
    counted_by: str  # "log" (-vv request lines), "ps subprocesses", or "time"
    window: float
    rss_mb: float  # VmHWM of the agent's process at the end of the window
    rss_tree_mb: float  # ru_maxrss of wait4 once it stopped: it or its largest subprocess


@dataclass
class Figures:
    """What one repeat measured for one subject; None where the tool has no such thing."""

    cold: float
    cold_mb: float | None = None
    cold_tree_mb: float | None = None
    noop: float | None = None
    plan: float | None = None
    one: float | None = None
    all: float | None = None
    idle: Idle | None = None


class Subject:
    """One tool driving one engine, with its own names and ports."""

    label = ""
    tool = ""
    measures_memory = True

    def __init__(
        self, engine: Engine, image: str, ports: Sequence[int], root: Path,
        command: Sequence[str] = SLEEP,
    ) -> None:  # fmt: skip
        self.engine = engine
        self.image = image
        self.ports = list(ports)
        self.root = root
        self.command = tuple(command)
        self.gens = [0] * len(self.ports)
        root.mkdir(parents=True, exist_ok=True)

    @property
    def count(self) -> int:
        return len(self.ports)

    def write(self) -> None:
        """Write the tool's file(s) for the current generations."""

    def cold(self) -> Run:
        raise NotImplementedError

    def noop(self) -> Run | None:
        return None

    def plan(self) -> Run | None:
        return None

    def idle(self) -> Idle | None:
        return None

    def change_one(self) -> Run | None:
        return None

    def change_all(self) -> Run | None:
        return None

    def running_ids(self) -> list[str]:
        """Ids of this subject's running workload containers (infra containers excluded)."""
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    def expect_converged(self) -> list[str]:
        ids = self.running_ids()
        if len(ids) != self.count:
            raise BenchError(f"{self.label}: {len(ids)} of {self.count} containers running")
        return ids

    def repeat(self, rows: set[int]) -> Figures:
        """From nothing: cold converge; no-op, plan and idle (row 6); one change (row 3);
        every container changed (row 2); then everything is removed."""
        self.cleanup()
        if self.running_ids():
            raise BenchError(f"{self.label}: containers left before a cold run")
        self.gens = [0] * self.count
        self.write()
        try:
            cold = self.cold()
            before = self.expect_converged()
            figures = Figures(cold.seconds)
            if self.measures_memory:
                figures.cold_mb, figures.cold_tree_mb = cold.own_mb, cold.tree_mb
            if 6 in rows:
                figures.noop = _seconds(self.noop())
                figures.plan = _seconds(self.plan())
                figures.idle = self.idle()
                if sorted(self.expect_converged()) != sorted(before):
                    raise BenchError(f"{self.label}: the no-op pass replaced containers")
            if 3 in rows:
                figures.one = _seconds(self.change_one())
                self.expect_converged()
            if 2 in rows:
                figures.all = _seconds(self.change_all())
                after = self.expect_converged()
                if figures.all is not None and set(after) & set(before):
                    raise BenchError(f"{self.label}: not every container was replaced")
        finally:
            self.cleanup()
        return figures


def _seconds(run: Run | None) -> float | None:
    return None if run is None else run.seconds


def _ids_with_label(engine: Engine, label: str, running: bool) -> list[str]:
    args = ["ps", "-q", "--no-trunc", "--filter", f"label={label}"]
    if running:
        args += ["--filter", "status=running"]
    else:
        args.insert(1, "-a")
    return cli(engine, *args).split()


def remove_labelled(engine: Engine, label: str) -> None:
    """Force-remove every container labelled ``label`` (``key=value``: this run's own)."""
    ids = _ids_with_label(engine, label, running=False)
    if ids:
        wait = ["-t", "0"] if engine.kind == "podman" else []  # podman rm -f waits 10 s otherwise
        engines.run_cli(engine, "rm", "-f", "-v", *wait, *ids, check=False)
    left = _ids_with_label(engine, label, running=False)
    if left:
        raise BenchError(f"{engine.kind}: containers labelled {label} not removed: {left}")


def remove_network(engine: Engine, name: str) -> None:
    """Remove the network ``name`` (this run's own) if it is there, once its containers are
    gone; an engine may still be taking their endpoints off it for a moment ("has active
    endpoints"), so the removal is tried again, for at most 30 s."""
    deadline = time.monotonic() + 30.0
    while engines.run_cli(engine, "network", "inspect", "--", name, check=False).returncode == 0:
        done = engines.run_cli(engine, "network", "rm", "--", name, check=False)
        if done.returncode != 0 and time.monotonic() > deadline:
            raise BenchError(f"{engine.kind}: network {name} not removed: {done.stderr.strip()}")
        time.sleep(0 if done.returncode == 0 else 0.5)


class RunningAgent:
    """``agent run`` in the background, its output in ``logfile``; a context manager that
    leaves it stopped. Reaped with wait4 only, so that its peak memory is not lost."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path, logfile: Path) -> None:
        self.logfile = logfile
        with logfile.open("wb") as out:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                cwd=cwd,
            )  # fmt: skip
        self.pid = self.proc.pid
        self.returncode: int | None = None
        self.tree_mb = 0.0

    def __enter__(self) -> RunningAgent:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def text(self, offset: int = 0) -> str:
        with self.logfile.open("rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def size(self) -> int:
        return self.logfile.stat().st_size

    def running(self) -> bool:
        """True while it runs; reaps it once it has exited."""
        if self.returncode is not None:
            return False
        reaped = _reap(self.pid, block=False)
        if reaped is None:
            return True
        self.returncode, self.tree_mb = reaped
        self.proc.returncode = self.returncode
        return False

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.text().splitlines()[-lines:])

    def wait_for(self, needle: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            if not self.running():
                raise BenchError(f"agent run exited {self.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise BenchError(f"agent run: no {needle!r} within {timeout:g} s:\n{self.tail()}")
            time.sleep(POLL)

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
        if self.running():
            os.kill(self.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.running():
                if time.monotonic() > deadline:
                    log(f"agent run (pid {self.pid}) ignored SIGTERM for {timeout:g} s: killed")
                    os.kill(self.pid, signal.SIGKILL)
                    reaped = _reap(self.pid)
                    assert reaped is not None
                    self.returncode, self.tree_mb = reaped
                    self.proc.returncode = self.returncode
                    break
                time.sleep(POLL)
        assert self.returncode is not None
        return self.returncode


# The replacement rows compare with Compose and the engine's floor, which replace at once: the
# agent's default, a rolling update (one at a time, each kept 10 s), is measured by
# benchmarks/rollout.py. Converging from nothing goes through no rollout.
RECREATE = ("--update-strategy=Recreate",)


def manifest_text(
    namespace: str, image: str, ports: Sequence[int], command: Sequence[str], gens: Sequence[int]
) -> str:
    lines = ["version: v1beta1", f"id: {namespace}", "containers:"]
    for i, (port, gen) in enumerate(zip(ports, gens, strict=True)):
        lines += [
            f"  - name: c{i}",
            f"    image: {image}",
            "    imagePullPolicy: IfNotPresent",
            f"    command: {json.dumps(list(command))}",
            "    env:",
            f'      - {{key: BENCH_INDEX, value: "{i}"}}',
            f'      - {{key: BENCH_GEN, value: "{gen}"}}',
            "    ports:",
            f"      - {{containerPort: {CONTAINER_PORT}, hostPort: {port}, hostIp: 127.0.0.1}}",
        ]
    return "\n".join(lines) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write a file as editors and configuration tools do: a new file renamed over the old."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


class AgentSubject(Subject):
    """container-agent with one backend, with the command line's defaults."""

    tool = "agent"

    def __init__(
        self,
        label: str,
        backend: str,
        docker_cmd: str,
        namespace: str,
        engine: Engine,
        image: str,
        ports: Sequence[int],
        root: Path,
        command: Sequence[str] = SLEEP,
    ) -> None:
        super().__init__(engine, image, ports, root, command)
        self.label, self.backend, self.docker_cmd, self.namespace = (
            label, backend, docker_cmd, namespace,
        )  # fmt: skip
        self.manifest = root / "containers.yaml"

    def write(self) -> None:
        text = manifest_text(self.namespace, self.image, self.ports, self.command, self.gens)
        write_atomically(self.manifest, text)

    def env(self) -> dict[str, str]:
        """The engine's environment, and this tree's code for ``python -m agent``."""
        env = self.engine.environ()
        paths = [str(REPO), *(p for p in env.get("PYTHONPATH", "").split(":") if p)]
        env["PYTHONPATH"] = ":".join(dict.fromkeys(paths))
        return env

    def argv(self, command: str, *extra: str) -> list[str]:
        return [
            *AGENT,
            command,
            f"--backend={self.backend}",
            f"--host={self.engine.host}",
            f"--docker-cmd={self.docker_cmd}",
            f"--namespace={self.namespace}",
            f"--state-dir={self.root / 'state'}",
            f"--volumes-root={self.root / 'volumes'}",
            *extra,
            str(self.manifest),
        ]

    def apply(self, what: str, expect: str, *extra: str) -> Run:
        run = measure(self.argv("apply", *extra), self.env(), self.root)
        return checked(run, f"{self.label}: {what}", expect)

    @staticmethod
    def applied(started: int, removed: int) -> str:
        """How ``agent apply`` sums up a clean apply (agent.output.render.render_results)."""
        return f"Apply complete: {started} started, 0 restarted, {removed} removed, 0 failed."

    def cold(self) -> Run:
        return self.apply("agent apply", self.applied(self.count, 0))

    def noop(self) -> Run:
        return self.apply("agent apply (no-op)", "No changes.")

    def plan(self) -> Run:
        run = measure(self.argv("plan"), self.env(), self.root)
        return checked(run, f"{self.label}: agent plan (no-op)", "No changes.")

    def change_one(self) -> Run:
        self.gens[0] += 1
        self.write()
        return self.apply(
            "agent apply (one changed)", self.applied(1, 1), "--stop-timeout=0", *RECREATE
        )

    def change_all(self) -> Run:
        self.gens = [gen + 1 for gen in self.gens]
        self.write()
        return self.apply(
            "agent apply (all changed)", self.applied(self.count, self.count), *RECREATE
        )

    def spawn(self, reload: float, *extra: str, name: str = "run.log") -> RunningAgent:
        argv = self.argv("run", f"--reload={reload:g}", *extra)
        return RunningAgent(argv, self.env(), self.root, self.root / name)

    def idle(self) -> Idle:
        """``agent run --reload 0.5 -vv`` over the converged set: CPU time over IDLE_WINDOW s
        of passes, divided by the passes counted: the list requests in its log (SDK
        backends), else its ``ps`` subprocesses (CLI backends), else the window / reload."""
        with self.spawn(IDLE_RELOAD, "-vv", name="idle.log") as agent:
            agent.wait_for("agent running", 60)
            time.sleep(IDLE_WARMUP)
            counter = _ChildCounter(agent.pid, "ps")
            counter.start()
            offset = agent.size()
            first = cpu_times(agent.pid)
            began = time.monotonic()
            time.sleep(IDLE_WINDOW)
            last = cpu_times(agent.pid)
            window = time.monotonic() - began
            counter.done.set()
            listed = len(LIST_REQUEST.findall(agent.text(offset)))
            rss = vm_hwm(agent.pid)
            counter.join()
            if first is None or last is None or rss is None:
                raise BenchError(f"{self.label}: agent run exited:\n{agent.tail()}")
            code = agent.stop()
            text = agent.text()
            tree = agent.tree_mb
        acted = [v for v in ACTION_VERBS if f" INFO {v} " in text]
        if code != 0 or acted or "Traceback" in text:
            raise BenchError(
                f"{self.label}: agent run: exit {code}, acted {acted}: {agent.logfile}"
            )
        if listed:
            passes, by = listed, "log"
        elif counter.count:
            passes, by = counter.count, "ps subprocesses"
        else:
            passes, by = max(1, round(window / IDLE_RELOAD)), "time"
        own = (last[0] - first[0]) / passes
        tree_cpu = own + (last[1] - first[1]) / passes
        return Idle(own, tree_cpu, passes, by, window, rss / MB, tree)

    def running_ids(self) -> list[str]:
        return _ids_with_label(self.engine, f"{LABEL_NAMESPACE}={self.namespace}", running=True)

    def running_by_name(self) -> dict[str, list[str]]:
        """The ids of the running containers by the agent's name label, through the API."""
        found: dict[str, list[str]] = {}
        for row in running_with_label(self.engine, f"{LABEL_NAMESPACE}={self.namespace}"):
            name = str((row.get("Labels") or {}).get(LABEL_NAME, ""))
            found.setdefault(name, []).append(str(row["Id"]))
        return found

    def cleanup(self) -> None:
        engines.remove_namespace(self.engine, self.namespace)


class FloorSubject(Subject):
    """The parallel floor: the same N containers by ``run -d``, all at once, one thread and one
    CLI process each; the replacement by ``stop -t 10``, ``rm`` and ``run -d``, all at once.

    As the agent's containers share their namespace's network, the floor's share one
    user-defined network (``PREFIX-net``, a bridge with the engine's DNS), made first by one
    ``network create`` that the cold converge's time includes; each container joins it at its
    ``run -d`` with its name as an alias, as the agent's do. With ``network=False`` they run on
    the engine's default bridge instead, as before the agent made networks."""

    tool = "floor"
    measures_memory = False

    def __init__(
        self, prefix: str, engine: Engine, image: str, ports: Sequence[int], root: Path,
        network: bool = True,
    ) -> None:  # fmt: skip
        super().__init__(engine, image, ports, root)
        name = Path(engine.cli).name
        self.label = (
            f"parallel floor: {len(ports)} x {name} run -d --network @{_engine_name(engine)}"
            if network
            else f"parallel floor, default bridge: {len(ports)} x {name} run -d "
            f"@{_engine_name(engine)}"
        )
        self.prefix = prefix
        self.network = f"{prefix}-net" if network else None

    def _name(self, i: int) -> str:
        return f"{self.prefix}-c{i}"

    def _run(self, i: int) -> list[str]:
        network = [f"--network={self.network}", f"--network-alias=c{i}"] if self.network else []
        return [
            self.engine.cli, "run", "-d", f"--name={self._name(i)}",
            f"--label={BENCH_LABEL}={self.prefix}",
            f"--publish=127.0.0.1:{self.ports[i]}:{CONTAINER_PORT}",
            f"--env=BENCH_INDEX={i}", f"--env=BENCH_GEN={self.gens[i]}", *network,
            "--", self.image, *self.command,
        ]  # fmt: skip

    def cold(self) -> Run:
        start = time.perf_counter()
        if self.network is not None:
            cli(self.engine, "network", "create", f"--label={BENCH_LABEL}={self.prefix}",
                "--", self.network)  # fmt: skip
        in_parallel([[self._run(i)] for i in range(self.count)], self.engine.environ())
        return Run(time.perf_counter() - start, 0.0, 0.0, 0, "")

    def change_all(self) -> Run:
        self.gens = [gen + 1 for gen in self.gens]
        jobs = [
            [
                [self.engine.cli, "stop", f"--time={STOP_TIMEOUT}", self._name(i)],
                [self.engine.cli, "rm", self._name(i)],
                self._run(i),
            ]
            for i in range(self.count)
        ]
        return Run(in_parallel(jobs, self.engine.environ()), 0.0, 0.0, 0, "")

    def running_ids(self) -> list[str]:
        return _ids_with_label(self.engine, f"{BENCH_LABEL}={self.prefix}", running=True)

    def cleanup(self) -> None:
        remove_labelled(self.engine, f"{BENCH_LABEL}={self.prefix}")
        if self.network is not None:
            remove_network(self.engine, self.network)


def _engine_name(engine: Engine) -> str:
    return "dockerd" if engine.kind == "docker" else "podman"


@dataclass(frozen=True)
class ComposePeer:
    """The Compose that the compose rows run, and the words of its output that tell how an
    ``up -d`` went (v1, the Python one, and v2, the Go one, print differently)."""

    argv: tuple[str, ...]  # ("docker-compose",) or (the docker CLI, "compose")
    version: str  # "2.26.1", "1.29.2"

    @property
    def v2(self) -> bool:
        return not self.version.startswith("1.")

    @property
    def label(self) -> str:
        name = "docker compose" if self.argv[1:] == ("compose",) else "docker-compose"
        return f"{name} {self.version}"

    @property
    def no_colours(self) -> tuple[str, ...]:
        return ("--ansi", "never") if self.v2 else ("--no-ansi",)

    @property
    def created(self) -> str:
        return "Started" if self.v2 else "done"

    @property
    def unchanged(self) -> str:
        return "Running" if self.v2 else "is up-to-date"

    @property
    def recreated(self) -> str:
        return "Recreate" if self.v2 else "Recreating"


def _compose_version(argv: Sequence[str]) -> str | None:
    """``ARGV version --short`` ("2.26.1", "v2.29.1", "1.29.2"), or None if it does not answer."""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            [*argv, "version", "--short"], capture_output=True, text=True, timeout=60, check=False
        )
        version = done.stdout.strip().removeprefix("v")
        if done.returncode == 0 and re.fullmatch(r"\d+\.\d+\S*", version):
            return version
    return None


def find_compose(docker_cli: str | None) -> ComposePeer | None:
    """Compose v2 if installed (the ``docker-compose`` binary, then the ``docker compose``
    plugin of ``docker_cli``), else v1, else None."""
    candidates: list[tuple[str, ...]] = []
    if shutil.which("docker-compose"):
        candidates.append(("docker-compose",))
    if docker_cli:
        candidates.append((docker_cli, "compose"))
    found = [
        ComposePeer(argv, version)
        for argv in candidates
        if (version := _compose_version(argv)) is not None
    ]
    return next((peer for peer in found if peer.v2), found[0] if found else None)


class ComposeSubject(Subject):
    """Compose (v2 or v1, see :class:`ComposePeer`) with one service per container, on the
    project's own network (``PROJECT_default``, which Compose makes), as the agent's
    containers share their namespace's."""

    tool = "compose"

    def __init__(
        self, compose: ComposePeer, project: str, engine: Engine, image: str,
        ports: Sequence[int], root: Path,
    ) -> None:  # fmt: skip
        super().__init__(engine, image, ports, root)
        self.label = f"{compose.label} up -d @dockerd"
        self.compose, self.project = compose, project
        self.file = root / "docker-compose.yml"

    def write(self) -> None:
        # Compose v2 needs no version and warns that it is obsolete; v1 needs one.
        lines = [*([] if self.compose.v2 else ['version: "2.4"']), "services:"]
        for i, port in enumerate(self.ports):
            lines += [
                f"  c{i}:",
                f"    image: {self.image}",
                f"    command: {json.dumps(list(self.command))}",
                f'    environment: {{BENCH_INDEX: "{i}", BENCH_GEN: "{self.gens[i]}"}}',
                f'    ports: ["127.0.0.1:{port}:{CONTAINER_PORT}"]',
            ]
        write_atomically(self.file, "\n".join(lines) + "\n")

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.engine.host}

    def argv(self, *args: str) -> list[str]:
        return [
            *self.compose.argv, *self.compose.no_colours, "-f", str(self.file), "-p", self.project,
            *args,
        ]  # fmt: skip

    def up(self, what: str, expect: str, *extra: str) -> Run:
        run = measure(self.argv("up", "-d", *extra), self.env(), self.root)
        return checked(run, f"{self.label}: {what}", expect)

    def cold(self) -> Run:
        return self.up("up -d", self.compose.created)

    def noop(self) -> Run:
        return self.up("up -d (no-op)", self.compose.unchanged)

    def change_one(self) -> Run:
        self.gens[0] += 1
        self.write()
        return self.up("up -d -t 0 (one changed)", self.compose.recreated, "-t", "0")

    def change_all(self) -> Run:
        self.gens = [gen + 1 for gen in self.gens]
        self.write()
        return self.up("up -d (all changed)", self.compose.recreated)

    def _label(self) -> str:
        return f"com.docker.compose.project={self.project}"

    def running_ids(self) -> list[str]:
        return _ids_with_label(self.engine, self._label(), running=True)

    def cleanup(self) -> None:
        if self.file.exists():
            done = subprocess.run(
                self.argv("down", "-t", "0", "--remove-orphans"), env=self.env(),
                capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                log(f"{self.label}: compose down: {done.stderr.strip()[-300:]}")
        remove_labelled(self.engine, self._label())
        remove_network(self.engine, f"{self.project}_default")


class KubeSubject(Subject):
    """``podman kube play`` of N pods with one container each: every container keeps its own
    network namespace and its port, which the pod publishes with hostPort on hostIP 127.0.0.1
    (one pod with N containers would share one network namespace and its container port)."""

    tool = "kube"

    def __init__(
        self, prefix: str, engine: Engine, image: str, ports: Sequence[int], root: Path
    ) -> None:
        super().__init__(engine, image, ports, root)
        self.label = "podman kube play @podman"
        self.prefix = prefix
        self.file = root / "pods.yaml"

    def write(self) -> None:
        docs = []
        for i, port in enumerate(self.ports):
            docs.append(
                "\n".join([
                    "apiVersion: v1",
                    "kind: Pod",
                    f"metadata: {{name: {self.prefix}{i}}}",
                    "spec:",
                    "  restartPolicy: Always",
                    "  containers:",
                    "    - name: c",
                    f"      image: {self.image}",
                    "      imagePullPolicy: IfNotPresent",
                    f"      command: {json.dumps(list(self.command))}",
                    f'      env: [{{name: BENCH_INDEX, value: "{i}"}}, '
                    f'{{name: BENCH_GEN, value: "{self.gens[i]}"}}]',
                    f"      ports: [{{containerPort: {CONTAINER_PORT}, hostPort: {port}, "
                    "hostIP: 127.0.0.1}]",
                ])
            )  # fmt: skip
        write_atomically(self.file, "\n---\n".join(docs) + "\n")

    def cold(self) -> Run:
        argv = [self.engine.cli, "kube", "play", str(self.file)]
        return checked(measure(argv, self.engine.environ(), self.root), f"{self.label}: kube play")

    def _containers(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = json.loads(
            cli(self.engine, "ps", "-a", "--format", "json") or "[]"
        )
        return [r for r in rows if str(r.get("PodName", "")).startswith(self.prefix)]

    def running_ids(self) -> list[str]:
        return [
            str(r["Id"])
            for r in self._containers()
            if not r.get("IsInfra") and r.get("State") == "running"
        ]

    def pods(self) -> list[str]:
        out = cli(self.engine, "pod", "ps", "-q", "--filter", f"name=^{self.prefix}")
        return out.split()

    def cleanup(self) -> None:
        pods = self.pods()
        if pods:  # as `kube down`, without its 10 s stop timeout (sleep ignores SIGTERM)
            cli(self.engine, "pod", "rm", "-f", "-t", "0", *pods)
        if self.pods():
            raise BenchError(f"{self.label}: pods left after cleanup: {self.pods()}")


# --------------------------------------------------------------------------- set-up


def ensure_package(binary: str, package: str, why: str) -> bool:
    """Install the Debian ``package`` with apt-get if ``binary`` is missing; True if installed."""
    if shutil.which(binary):
        return False
    log(f"{binary} not found: installing Debian's {package} with apt-get ({why})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]

    def apt(argv: list[str], check: bool) -> int:  # its output to stderr: stdout is the table
        done = subprocess.run(
            argv, env=env, timeout=COMMAND_TIMEOUT, stdout=sys.stderr, check=check
        )
        return done.returncode

    if apt(install, check=False) != 0:
        apt(["apt-get", "update"], check=True)
        apt(install, check=True)
    if not shutil.which(binary):
        raise BenchError(f"apt-get installed {package} but {binary} is still not on PATH")
    return True


def _pause_images(podman: Engine) -> set[str]:
    out = cli(podman, "images", "--format", "{{.Repository}}:{{.Tag}}")
    return {line for line in out.split() if "podman-pause" in line}


class Lab:
    """What every row shares: this run's id and temporary directory, the engines, the busybox
    image, the peers' tools, distinct ports, and the cleanup of everything made here.

    A context manager: on leaving, every registered cleanup runs (the rows' containers), the
    images made here on engines started here are removed, those engines are stopped, and the
    temporary directory goes."""

    def __init__(self, use_engines: bool, use_compose: bool, use_kube: bool) -> None:
        self.run_id = secrets.token_hex(3)
        self.root = Path(tempfile.mkdtemp(prefix=f"ca-bench-{self.run_id}-"))
        self.use_engines, self.use_compose, self.use_kube = use_engines, use_compose, use_kube
        self.notes: list[str] = []
        self.image = engines.BUSYBOX_TAG
        self.compose: ComposePeer | None = None
        self._engines: dict[str, Engine] = {}
        self._images: list[tuple[Engine, str]] = []  # made here, on an engine started here
        self._cleanups: list[tuple[str, Callable[[], None]]] = []
        self._taken: set[int] = set()

    def __enter__(self) -> Lab:
        try:
            self._setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def docker(self) -> Engine:
        return self._engines["docker"]

    @property
    def podman(self) -> Engine:
        return self._engines["podman"]

    def engine(self, kind: str) -> Engine:
        return self._engines[kind]

    def name(self, suffix: str) -> str:
        """A name of this run's own: ``cab-<run id>-<suffix>``."""
        return f"cab-{self.run_id}-{suffix}"

    def ports(self, count: int) -> list[int]:
        """``count`` ports free on 127.0.0.1 now, none given out before in this run."""
        ports: list[int] = []
        for _ in range(100 * count + 100):
            if len(ports) == count:
                return ports
            port = engines.free_port()
            if port not in self._taken:
                self._taken.add(port)
                ports.append(port)
        raise BenchError(f"no {count} distinct free ports on 127.0.0.1")

    def register(self, what: str, cleanup: Callable[[], None]) -> None:
        self._cleanups.append((what, cleanup))

    def _setup(self) -> None:
        if self.use_compose:
            self.compose = self._compose()
        if self.use_kube and ensure_package(
            "catatonit", "catatonit", "podman kube play cannot build a pod's pause image without it"
        ):
            self.notes.append("catatonit was missing: installed Debian's with apt-get")
        if not self.use_engines:
            return
        for kind in ("docker", "podman"):
            engine = engines.start_dockerd(self.root) if kind == "docker" else (
                engines.start_podman(self.root)
            )  # fmt: skip
            self._engines[kind] = engine  # stop() only stops it if it was started here
            if engine.owned and not image_exists(engine, self.image):
                self._images.append((engine, self.image))
            engines.run_cli(engine, "run", "--rm", engines.build_busybox_image(engine), "true")
            how = "started here" if engine.owned else "reused: left running at the end"
            log(f"{kind}: {engine.host} ({how})")
            self.notes.append(f"{_engine_name(engine)} on {engine.host}: {how}")
        if self.use_kube:
            podman = self.podman
            before = _pause_images(podman)
            warm = self.name("warm")  # builds the pause image once, outside the timings
            cli(podman, "pod", "create", "--name", warm)
            cli(podman, "pod", "rm", "-f", "-t", "0", warm)
            if podman.owned:
                self._images += [(podman, ref) for ref in sorted(_pause_images(podman) - before)]

    def _compose(self) -> ComposePeer:
        """Compose v2 where installed, else v1 (Debian's docker-compose, installed if missing)."""
        docker_cli = shutil.which(os.environ.get("CA_TEST_DOCKER_CLI") or "docker")
        peer = find_compose(docker_cli)
        if peer is None:
            ensure_package("docker-compose", "docker-compose", "the compose rows")
            self.notes.append("Compose was missing: installed Debian's docker-compose with apt-get")
            peer = find_compose(docker_cli)
            if peer is None:
                raise BenchError("docker-compose installed, but `docker-compose version` fails")
        which = "v2" if peer.v2 else "v1 (no Compose v2 installed)"
        self.notes.append(f"compose peer: {peer.label}, Compose {which}")
        log(f"compose peer: {peer.label}")
        return peer

    def close(self) -> None:
        for what, cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except FAILURES as exc:
                log(f"cleanup of {what} failed: {exc}")
        self._cleanups.clear()
        for engine, ref in self._images:
            engines.run_cli(engine, "rmi", ref, check=False)
        self._images.clear()
        for engine in self._engines.values():
            engines.stop(engine)
        shutil.rmtree(self.root, ignore_errors=True)

    def versions(self) -> dict[str, str]:
        """The versions of the engines and of the tools compared."""
        found: dict[str, str] = {}

        def first_line(argv: Sequence[str], env: dict[str, str] | None = None) -> str:
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                done = subprocess.run(
                    list(argv), capture_output=True, text=True, timeout=60, check=False, env=env
                )
                return (done.stdout.strip() or done.stderr.strip()).splitlines()[0]
            return "n/a"

        if "docker" in self._engines:
            docker = self.docker
            found["dockerd"] = first_line(
                [docker.cli, "version", "--format", "{{.Server.Version}}"], docker.environ()
            )
            found["docker CLI"] = first_line(
                [docker.cli, "version", "--format", "{{.Client.Version}}"], docker.environ()
            )
        if "podman" in self._engines:
            podman = self.podman
            found["podman service"] = first_line(
                [podman.cli, "version", "--format", "{{.Server.Version}}"], podman.environ()
            )
            found["podman CLI"] = first_line(
                [podman.cli, "version", "--format", "{{.Client.Version}}"], podman.environ()
            )
        found["runc"] = first_line(["runc", "--version"]).removeprefix("runc version ")
        if self.compose is not None:
            found["compose"] = self.compose.label
        for module, name in (("docker", "Docker SDK"), ("podman", "podman-py")):
            found[name] = first_line([sys.executable, "-c", f"import {module}; "
                                      f"print({module}.__version__)"])  # fmt: skip
        return found


def converge_subjects(lab: Lab, count: int, rows: set[int]) -> list[Subject]:
    """The subjects of rows 1, 2, 3 and 6, each registered for cleanup with ``lab``."""
    subjects: list[Subject] = []
    for label, backend, kind, cmd, short in BACKENDS:
        engine = lab.engine(kind)
        docker_cmd = engine.cli if cmd == "cli" else cmd
        namespace = lab.name(short)
        subjects.append(
            AgentSubject(f"agent, {label}", backend, docker_cmd, namespace, engine, lab.image,
                         lab.ports(count), lab.root / namespace)
        )  # fmt: skip
    if rows & {1, 2}:
        for kind in ("docker", "podman"):
            prefix = lab.name(f"floor{kind[0]}")
            subjects.append(
                FloorSubject(prefix, lab.engine(kind), lab.image, lab.ports(count),
                             lab.root / prefix)
            )  # fmt: skip
    if lab.compose is not None:
        subjects.append(
            ComposeSubject(lab.compose, f"cab{lab.run_id}", lab.docker, lab.image,
                           lab.ports(count), lab.root / "compose")
        )  # fmt: skip
    if 1 in rows:
        subjects.append(
            KubeSubject(lab.name("p"), lab.podman, lab.image, lab.ports(count), lab.root / "kube")
        )
    for subject in subjects:
        lab.register(subject.label, subject.cleanup)
    return subjects


def run_repeats(
    subjects: Sequence[Subject], rows: set[int], repeat: int
) -> tuple[dict[str, list[Figures]], dict[str, str]]:
    """``repeat`` repeats of every subject, interleaved so that drift hits every one alike:
    the figures by label, and the error that ended a subject's repeats, by label."""
    results: dict[str, list[Figures]] = {s.label: [] for s in subjects}
    errors: dict[str, str] = {}
    for r in range(repeat):
        for subject in subjects:
            if subject.label in errors:
                continue
            try:
                figures = subject.repeat(rows)
            except FAILURES as exc:
                errors[subject.label] = str(exc)
                log(f"repeat {r + 1}/{repeat} {subject.label} FAILED: {exc}")
                continue
            results[subject.label].append(figures)
            log(f"repeat {r + 1}/{repeat} {subject.label}: {_brief(figures)}")
    return results, errors


def _brief(figures: Figures) -> str:
    parts = [
        f"{name} {value:.2f}s"
        for name, value in (
            ("cold", figures.cold), ("no-op", figures.noop), ("plan", figures.plan),
            ("one", figures.one), ("all", figures.all),
        )
        if value is not None
    ]  # fmt: skip
    if figures.idle is not None:
        idle = figures.idle
        parts.append(
            f"idle {idle.cpu_own * 1000:.1f}/{idle.cpu_tree * 1000:.1f} ms a pass over "
            f"{idle.passes} ({idle.counted_by}), {idle.rss_mb:.1f} MB"
        )
    return ", ".join(parts)


def main() -> int:
    """``benchmarks/run.py --rows 1,2,3,6`` (this script's rows), with the options given."""
    from benchmarks import run

    return run.main(["--rows", "1,2,3,6", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
