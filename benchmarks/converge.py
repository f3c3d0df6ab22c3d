"""Converge N containers with container-agent and with its peers, on this machine's real engines.

    python benchmarks/converge.py [--containers N] [--repeat R]

Every tool brings up the same N containers from nothing: ``/bin/sleep 600`` from the locally
imported busybox image (``kube play`` does not give a container the image's PATH), each with its
own port published on 127.0.0.1 (container port 8080) and an env var. The rows are ``agent
apply`` with each backend (docker-cli and the Docker SDK on dockerd, podman-py and the podman CLI
on the Podman service), ``docker-compose up -d`` (Debian's 1.29) on dockerd, and ``podman kube
play`` on the Podman service. Then, with everything converged, the no-op pass of each tool is
timed. Each figure is the median of R repeats; between repeats everything is removed, so that
every cold run starts from nothing.

Peak memory is the largest resident size of the tool's own process (``VmHWM`` in
``/proc/PID/status``, sampled every 10 ms until it exits); for the agent's CLI backends the
peak of its ``docker``/``podman`` subprocesses (``ru_maxrss`` from ``wait4``) is given too.

Engines are started or reused with tests/engines.py and only the ones started here are stopped.
Missing Debian packages that a peer needs (``docker-compose``; ``catatonit``, without which
Podman cannot build the pause image of a pod) are installed with apt-get, and the script says
so. Everything created here (containers, pods, compose projects, the pause image and the
busybox image if this run made them, temporary files) is removed at the end. Only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests import engines  # noqa: E402
from tests.engines import Engine  # noqa: E402

MB = 1024 * 1024
CONTAINER_PORT = 8080
IDLE_RELOAD = 1.0  # agent run --reload
IDLE_SECONDS = 3.0  # passes at 0 s, ~1 s, ~2 s: three passes
COMMAND_TIMEOUT = 600.0
AGENT = [sys.executable, "-m", "agent"]
ACTION_VERBS = ("start", "restart", "remove")  # how agent.executor logs an action


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchError(RuntimeError):
    """A tool did not do what the benchmark needs; the message says what."""


# --------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Run:
    """One finished command: wall time, peak memory, exit code and output."""

    seconds: float
    own_mb: float  # peak resident size of the process itself (VmHWM)
    tree_mb: float  # ru_maxrss of wait4: the largest of it and its reaped subprocesses
    returncode: int
    output: str


def _vm_hwm(pid: int) -> int | None:
    """``VmHWM`` of a live process in bytes; None once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        return None
    return None


class _PeakSampler(threading.Thread):
    """Reads VmHWM of ``pid`` every 10 ms; VmHWM only grows, so the last read is the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            value = _vm_hwm(self.pid)
            if value is not None:
                self.peak = max(self.peak, value)
            self.done.wait(0.01)


def _reap(proc: subprocess.Popen[bytes]) -> int:
    """wait4 the process; returns ru_maxrss in bytes and leaves its exit code on ``proc``."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss * 1024


def measure(argv: Sequence[str], env: dict[str, str], cwd: Path) -> Run:
    """Run ``argv`` to its end: wall time, peak memory of it and of its subprocesses."""
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
            cwd=cwd,
        )  # fmt: skip
        sampler = _PeakSampler(proc.pid)
        sampler.start()
        tree = _reap(proc)
        seconds = time.perf_counter() - start
        sampler.done.set()
        sampler.join()
        out.seek(0)
        output = out.read().decode(errors="replace")
    return Run(seconds, sampler.peak / MB, tree / MB, proc.returncode or 0, output)


def checked(run: Run, what: str, expect: str | None = None) -> Run:
    if run.returncode != 0 or (expect is not None and expect not in run.output):
        tail = "\n".join(run.output.splitlines()[-15:])
        raise BenchError(f"{what}: exit {run.returncode}, expected {expect!r}; output:\n{tail}")
    return run


def _cli(engine: Engine, *args: str) -> str:
    return engines.run_cli(engine, *args, timeout=COMMAND_TIMEOUT).stdout


# --------------------------------------------------------------------------- subjects


@dataclass
class Figures:
    """What one repeat measured for one row; None where the tool has no such thing."""

    cold: float
    cold_mb: float
    cold_tree_mb: float
    noop: float | None = None
    plan: float | None = None
    idle_mb: float | None = None
    idle_tree_mb: float | None = None


class Subject:
    """One row of the table: a tool driving one engine, with its own names and ports."""

    label = ""

    def __init__(self, engine: Engine, image: str, ports: Sequence[int], root: Path) -> None:
        self.engine = engine
        self.image = image
        self.ports = list(ports)
        self.root = root
        root.mkdir(parents=True)

    @property
    def count(self) -> int:
        return len(self.ports)

    def cold(self) -> Run:
        raise NotImplementedError

    def noop(self) -> Run | None:
        return None

    def plan(self) -> Run | None:
        return None

    def idle(self) -> tuple[float, float] | None:
        return None

    def running_ids(self) -> list[str]:
        """Ids of this row's running workload containers (infra containers excluded)."""
        raise NotImplementedError

    def cleanup(self) -> None:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return self.engine.environ()

    def expect_converged(self) -> list[str]:
        ids = self.running_ids()
        if len(ids) != self.count:
            raise BenchError(f"{self.label}: {len(ids)} of {self.count} containers running")
        return ids

    def repeat(self) -> Figures:
        """Cold converge, check, no-op pass(es), idle run; then remove everything."""
        self.cleanup()
        if self.running_ids():
            raise BenchError(f"{self.label}: containers left before a cold run")
        try:
            cold = self.cold()
            before = self.expect_converged()
            figures = Figures(cold.seconds, cold.own_mb, cold.tree_mb)
            noop = self.noop()
            if noop is not None:
                figures.noop = noop.seconds
            plan = self.plan()
            if plan is not None:
                figures.plan = plan.seconds
            if sorted(self.expect_converged()) != sorted(before):
                raise BenchError(f"{self.label}: the no-op pass replaced containers")
            idle = self.idle()
            if idle is not None:
                figures.idle_mb, figures.idle_tree_mb = idle
        finally:
            self.cleanup()
        return figures


class AgentSubject(Subject):
    """``agent apply`` (then ``apply`` and ``plan`` again, and ``agent run``) with one backend."""

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
    ) -> None:
        super().__init__(engine, image, ports, root)
        self.label, self.backend, self.docker_cmd, self.namespace = (
            label, backend, docker_cmd, namespace,
        )  # fmt: skip
        self.manifest = root / "containers.yaml"
        lines = ["version: v1beta1", f"id: {namespace}", "containers:"]
        for i, port in enumerate(self.ports):
            lines += [
                f"  - name: c{i}",
                f"    image: {image}",
                "    imagePullPolicy: IfNotPresent",
                '    command: [/bin/sleep, "600"]',
                "    env:",
                f'      - {{key: BENCH_INDEX, value: "{i}"}}',
                "    ports:",
                f"      - {{containerPort: {CONTAINER_PORT}, hostPort: {port}, hostIp: 127.0.0.1}}",
            ]
        self.manifest.write_text("\n".join(lines) + "\n")

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
            "--stop-timeout=1",
            *extra,
            str(self.manifest),
        ]

    def cold(self) -> Run:
        run = measure(self.argv("apply"), self.env(), self.root)
        return checked(run, f"{self.label}: agent apply", f"{self.count} started, 0 restarted")

    def noop(self) -> Run:
        run = measure(self.argv("apply"), self.env(), self.root)
        return checked(run, f"{self.label}: agent apply (no-op)", "No changes.")

    def plan(self) -> Run:
        run = measure(self.argv("plan"), self.env(), self.root)
        return checked(run, f"{self.label}: agent plan (no-op)", "No changes.")

    def idle(self) -> tuple[float, float]:
        """``agent run`` over the converged set: its own peak after three passes, and the peak
        of it and its subprocesses once it has stopped."""
        logfile = self.root / "run.log"
        with logfile.open("wb") as out:
            proc = subprocess.Popen(
                self.argv("run", f"--reload={IDLE_RELOAD:g}"), stdin=subprocess.DEVNULL,
                stdout=out, stderr=subprocess.STDOUT, env=self.env(), cwd=self.root,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "agent running" not in logfile.read_text(errors="replace"):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"{self.label}: agent run did not start: {logfile}")
                time.sleep(0.02)
            time.sleep(IDLE_SECONDS)
            own = _vm_hwm(proc.pid)
            if own is None:
                raise BenchError(f"{self.label}: agent run exited: {logfile.read_text()}")
            proc.send_signal(signal.SIGTERM)
            tree = _reap(proc)
        finally:
            if proc.returncode is None:
                proc.kill()
                _reap(proc)
        acted = any(f" INFO {verb} " in logfile.read_text() for verb in ACTION_VERBS)
        if proc.returncode != 0 or acted:
            raise BenchError(f"{self.label}: agent run: exit {proc.returncode}: {logfile}")
        return own / MB, tree / MB

    def running_ids(self) -> list[str]:
        label = f"label={engines.NAMESPACE_LABEL}={self.namespace}"
        return _cli(self.engine, "ps", "-q", "--no-trunc", "--filter", label,
                    "--filter", "status=running").split()  # fmt: skip

    def cleanup(self) -> None:
        engines.remove_namespace(self.engine, self.namespace)


class ComposeSubject(Subject):
    """docker-compose 1.29 with one service per container, on the default bridge network
    (``network_mode: bridge``, as the agent's containers; compose would otherwise create a
    network per project)."""

    def __init__(
        self, compose: str, project: str, engine: Engine, image: str, ports: Sequence[int],
        root: Path,
    ) -> None:  # fmt: skip
        super().__init__(engine, image, ports, root)
        self.label = "docker-compose 1.29 up -d @dockerd"
        self.compose, self.project = compose, project
        self.file = root / "docker-compose.yml"
        lines = ['version: "2.4"', "services:"]
        for i, port in enumerate(self.ports):
            lines += [
                f"  c{i}:",
                f"    image: {image}",
                '    command: [/bin/sleep, "600"]',
                "    network_mode: bridge",
                f'    environment: {{BENCH_INDEX: "{i}"}}',
                f'    ports: ["127.0.0.1:{port}:{CONTAINER_PORT}"]',
            ]
        self.file.write_text("\n".join(lines) + "\n")

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.engine.host}

    def argv(self, *args: str) -> list[str]:
        return [self.compose, "--no-ansi", "-f", str(self.file), "-p", self.project, *args]

    def cold(self) -> Run:
        run = measure(self.argv("up", "-d"), self.env(), self.root)
        return checked(run, f"{self.label}: up -d", "done")

    def noop(self) -> Run:
        run = measure(self.argv("up", "-d"), self.env(), self.root)
        return checked(run, f"{self.label}: up -d (no-op)", "is up-to-date")

    def _filter(self) -> str:
        return f"label=com.docker.compose.project={self.project}"

    def running_ids(self) -> list[str]:
        return _cli(self.engine, "ps", "-q", "--no-trunc", "--filter", self._filter(),
                    "--filter", "status=running").split()  # fmt: skip

    def cleanup(self) -> None:
        done = subprocess.run(
            self.argv("down", "-t", "0", "--remove-orphans"), env=self.env(), capture_output=True,
            text=True, timeout=COMMAND_TIMEOUT, check=False,
        )  # fmt: skip
        left = _cli(self.engine, "ps", "-aq", "--filter", self._filter()).split()
        if left:
            _cli(self.engine, "rm", "-f", "-v", *left)
        if done.returncode != 0:
            log(f"{self.label}: compose down: {done.stderr.strip()[-300:]}")


class KubeSubject(Subject):
    """``podman kube play`` of N pods with one container each: every container keeps its own
    network namespace and its port, which the pod publishes with hostPort on hostIP 127.0.0.1
    (one pod with N containers would share one network namespace and its container port)."""

    def __init__(
        self, prefix: str, engine: Engine, image: str, ports: Sequence[int], root: Path
    ) -> None:
        super().__init__(engine, image, ports, root)
        self.label = "podman kube play @podman"
        self.prefix = prefix
        self.file = root / "pods.yaml"
        docs = []
        for i, port in enumerate(self.ports):
            docs.append(
                "\n".join([
                    "apiVersion: v1",
                    "kind: Pod",
                    f"metadata: {{name: {prefix}{i}}}",
                    "spec:",
                    "  restartPolicy: Always",
                    "  containers:",
                    "    - name: c",
                    f"      image: {image}",
                    "      imagePullPolicy: IfNotPresent",
                    '      command: [/bin/sleep, "600"]',
                    f'      env: [{{name: BENCH_INDEX, value: "{i}"}}]',
                    f"      ports: [{{containerPort: {CONTAINER_PORT}, hostPort: {port}, "
                    "hostIP: 127.0.0.1}]",
                ])
            )  # fmt: skip
        self.file.write_text("\n---\n".join(docs) + "\n")
        self.replace_is_noop = False  # set by check_replace

    def argv(self, *args: str) -> list[str]:
        return [self.engine.cli, "kube", "play", *args, str(self.file)]

    def cold(self) -> Run:
        return checked(measure(self.argv(), self.env(), self.root), f"{self.label}: kube play")

    def noop(self) -> Run | None:
        if not self.replace_is_noop:
            return None
        run = measure(self.argv("--replace"), self.env(), self.root)
        return checked(run, f"{self.label}: kube play --replace")

    def check_replace(self) -> str:
        """Whether ``kube play --replace`` over the converged pods is a no-op (it is not if it
        recreates the containers); converges first, cleans up after."""
        self.cleanup()
        try:
            checked(self.cold(), f"{self.label}: kube play")
            before = set(self.expect_converged())
            run = checked(measure(self.argv("--replace"), self.env(), self.root), "--replace")
            after = set(self.expect_converged())
        finally:
            self.cleanup()
        self.replace_is_noop = before == after
        if self.replace_is_noop:
            return "`kube play --replace` over the converged pods changed no container"
        return (
            f"n/a: `kube play --replace` is not a no-op, it recreated {len(after - before)} of "
            f"{self.count} containers (and their pods) in {run.seconds:.2f} s; without "
            "`--replace` a second `kube play` fails because the pods exist"
        )

    def _containers(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = json.loads(
            _cli(self.engine, "ps", "-a", "--format", "json") or "[]"
        )
        return [r for r in rows if str(r.get("PodName", "")).startswith(self.prefix)]

    def running_ids(self) -> list[str]:
        return [
            str(r["Id"])
            for r in self._containers()
            if not r.get("IsInfra") and r.get("State") == "running"
        ]

    def pods(self) -> list[str]:
        out = _cli(self.engine, "pod", "ps", "-q", "--filter", f"name=^{self.prefix}")
        return out.split()

    def cleanup(self) -> None:
        pods = self.pods()
        if pods:  # as `kube down`, without its 10 s stop timeout (sleep ignores SIGTERM)
            _cli(self.engine, "pod", "rm", "-f", "-t", "0", *pods)
        if self.pods():
            raise BenchError(f"{self.label}: pods left after cleanup: {self.pods()}")


# --------------------------------------------------------------------------- setup


def ensure_package(binary: str, package: str, why: str) -> bool:
    """Install the Debian ``package`` with apt-get if ``binary`` is missing; True if installed."""
    if shutil.which(binary):
        return False
    log(f"{binary} not found: installing Debian's {package} with apt-get ({why})")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    if subprocess.run(install, env=env, check=False, timeout=COMMAND_TIMEOUT).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, check=True, timeout=COMMAND_TIMEOUT)
        subprocess.run(install, env=env, check=True, timeout=COMMAND_TIMEOUT)
    if not shutil.which(binary):
        raise BenchError(f"apt-get installed {package} but {binary} is still not on PATH")
    return True


def pause_images(podman: Engine) -> set[str]:
    out = _cli(podman, "images", "--format", "{{.Repository}}:{{.Tag}}")
    return {line for line in out.split() if "podman-pause" in line}


def distinct_ports(count: int, taken: set[int]) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = engines.free_port()
        if port not in taken:
            taken.add(port)
            ports.append(port)
    return ports


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _rss(own: float | None, tree: float | None) -> str:
    if own is None:
        return "n/a"
    if tree is not None and tree > own + 1:
        return f"{own:.1f} ({tree:.1f})"
    return f"{own:.1f}"


def table(rows: list[tuple[Subject, list[Figures]]], kube_noop: str) -> str:
    header = [
        "tool / backend",
        "cold converge s",
        "no-op s",
        "no-op plan s",
        "max RSS apply MB",
        "max RSS run (3 passes) MB",
    ]
    lines = [header]
    for subject, figures in rows:
        noop = median([f.noop for f in figures])
        lines.append([
            subject.label,
            _fmt(median([f.cold for f in figures])),
            "n/a ¹" if noop is None and isinstance(subject, KubeSubject) else _fmt(noop),
            _fmt(median([f.plan for f in figures])),
            _rss(median([f.cold_mb for f in figures]), median([f.cold_tree_mb for f in figures])),
            _rss(median([f.idle_mb for f in figures]), median([f.idle_tree_mb for f in figures])),
        ])  # fmt: skip
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]

    def row(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "| "
        + " | ".join("-" * w if i == 0 else "-" * (w - 1) + ":" for i, w in enumerate(widths))
        + " |"
    )
    body = [row(lines[0]), rule, *(row(cells) for cells in lines[1:])]
    return "\n".join(body) + f"\n\n¹ {kube_noop}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=20, metavar="N")
    parser.add_argument("--repeat", type=int, default=3, metavar="R")
    args = parser.parse_args()
    if args.containers < 1 or args.repeat < 1:
        parser.error("--containers and --repeat must be at least 1")
    started = time.monotonic()
    run_id = secrets.token_hex(3)
    root = Path(tempfile.mkdtemp(prefix=f"ca-bench-{run_id}-"))
    compose_installed = ensure_package("docker-compose", "docker-compose", "the compose row")
    catatonit_installed = ensure_package(
        "catatonit", "catatonit", "podman kube play cannot build a pod's pause image without it"
    )
    compose = shutil.which("docker-compose") or "docker-compose"
    started_engines: list[Engine] = []
    subjects: list[Subject] = []
    imported: list[Engine] = []
    new_pause: set[str] = set()
    podman: Engine | None = None
    try:
        for kind in ("docker", "podman"):
            engine = engines.start_dockerd(root) if kind == "docker" else engines.start_podman(root)
            started_engines.append(engine)  # stop() only stops it if it was started here
            if not engines.image_exists(engine, engines.BUSYBOX_TAG):
                imported.append(engine)
            engines.run_cli(engine, "run", "--rm", engines.build_busybox_image(engine), "true")
            log(f"{kind}: {engine.host} ({'started here' if engine.owned else 'reused'})")
        docker, podman = started_engines
        image = engines.BUSYBOX_TAG
        pause_before = pause_images(podman)
        warm = f"cab-{run_id}-warm"  # builds the pause image once, outside the timings
        _cli(podman, "pod", "create", "--name", warm)
        _cli(podman, "pod", "rm", "-f", "-t", "0", warm)
        new_pause = pause_images(podman) - pause_before

        n, taken = args.containers, set[int]()
        for label, backend, engine, cmd, short in (
            ("agent apply, docker-cli @dockerd", "docker-cli", docker, docker.cli, "dcli"),
            ("agent apply, docker SDK @dockerd", "docker", docker, "docker", "dsdk"),
            ("agent apply, podman-py @podman", "podman", podman, "docker", "ppy"),
            ("agent apply, podman CLI @podman", "docker-cli", podman, podman.cli, "pcli"),
        ):
            namespace = f"cab-{run_id}-{short}"
            subjects.append(
                AgentSubject(label, backend, cmd, namespace, engine, image,
                             distinct_ports(n, taken), root / namespace)
            )  # fmt: skip
        subjects.append(
            ComposeSubject(compose, f"cab{run_id}", docker, image, distinct_ports(n, taken),
                           root / "compose")
        )  # fmt: skip
        kube = KubeSubject(
            f"cab-{run_id}-p", podman, image, distinct_ports(n, taken), root / "kube"
        )
        subjects.append(kube)

        log("podman kube play --replace: is it a no-op?")
        kube_noop = kube.check_replace()
        log(kube_noop)
        results: dict[str, list[Figures]] = {s.label: [] for s in subjects}
        for r in range(args.repeat):
            for subject in subjects:  # interleaved, so drift hits every row alike
                figures = subject.repeat()
                results[subject.label].append(figures)
                log(f"repeat {r + 1}/{args.repeat} {subject.label}: {figures}")
        load = os.getloadavg()
        versions = ", ".join([
            f"dockerd {_cli(docker, 'version', '--format', '{{.Server.Version}}').strip()}",
            f"docker CLI {_cli(docker, 'version', '--format', '{{.Client.Version}}').strip()}",
            _cli(podman, "--version").strip(),
            subprocess.run([compose, "version", "--short"], capture_output=True, text=True,
                           check=False).stdout.strip().join(("docker-compose ", "")),
        ])  # fmt: skip
    finally:
        for subject in subjects:
            try:
                subject.cleanup()
            except (BenchError, engines.EngineError) as exc:
                log(f"cleanup of {subject.label} failed: {exc}")
        if podman is not None:
            for ref in sorted(new_pause):
                engines.run_cli(podman, "rmi", ref, check=False)
        for engine in imported:
            engines.run_cli(engine, "rmi", engines.BUSYBOX_TAG, check=False)
        for engine in started_engines:
            engines.stop(engine)
        shutil.rmtree(root, ignore_errors=True)

    elapsed = time.monotonic() - started
    rows = [(s, results[s.label]) for s in subjects]
    print(
        f"{args.containers} containers, median of {args.repeat}; "
        f"{datetime.date.today().isoformat()}, {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}; {versions}; load average after the run "
        f"{load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f}\n"
    )
    print(table(rows, kube_noop))
    print(
        "no-op: the same command again (`agent apply`, `docker-compose up -d`); max RSS apply: "
        "of the cold run; max RSS run: `agent run --reload 1` over the converged containers, "
        "read after 3 s (passes at 0, ~1 and ~2 s).\n"
        "max RSS is the peak resident size of the tool's own process; in parentheses the peak "
        "of its subprocesses (the docker/podman CLI the agent's CLI backends run) where larger.\n"
        "podman kube play: N pods of one container each (plus the N infra containers that "
        "publish their ports); docker-compose: network_mode bridge, as the agent."
    )
    notes = []
    if compose_installed:
        notes.append("installed docker-compose with apt-get")
    if catatonit_installed:
        notes.append("installed catatonit with apt-get")
    notes.append(f"whole run {elapsed:.0f} s")
    print("\n" + "; ".join(notes) + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
