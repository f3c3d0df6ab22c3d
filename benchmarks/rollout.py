"""What an update costs a service that is being used: requests that fail during a rollout, and
how long a failing image takes to be rolled back.

    PYTHONPATH=. python benchmarks/rollout.py [--repeat R]

On each of the four targets (docker-cli and the Docker SDK on dockerd, podman-py and the podman
CLI on Podman; the engines started or reused with tests/engines.py, as the other benchmarks),
``agent run --reload 1`` keeps one web container (busybox httpd, a liveness probe on its page,
its port published on 127.0.0.1 only, a TERM trap so it stops at once). Rows:

- **update, RollingUpdate** (the default; ``minReadySeconds: 3``): the manifest's env is
  edited, and a bounded loop of GETs from the host to 127.0.0.1 (one every 20 ms, 0.5 s
  timeout, for at most 90 s) counts the requests that failed and the longest outage until
  the new container serves and its predecessor is gone. A container with a host port shares
  the port with its predecessor, so the rollout stops first: the outage is one stop and one
  start, and the predecessor is kept to fall back to.
- **update, Recreate**: the same edit under ``updateStrategy: {type: Recreate}`` (remove,
  then start: what the agent always did, and what ``docker compose up -d`` does).
- **rollback**: the edit is a command that exits at once; the time from the edit to the
  predecessor serving again, the requests that failed meanwhile, and the time until the
  agent logged the rollback.

Only 127.0.0.1; every container is named after a random namespace and removed at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.converge import RunningAgent  # noqa: E402
from tests.engines import (  # noqa: E402
    BUSYBOX_TAG,
    Engine,
    free_port,
    remove_namespace,
    run_cli,
    start_engine,
    stop,
)

TARGETS = (
    ("docker-cli@dockerd", "docker-cli", "docker"),
    ("docker SDK@dockerd", "docker", "docker"),
    ("podman-py@podman", "podman", "podman"),
    ("podman CLI@podman", "docker-cli", "podman"),
)
SERVE = "trap 'exit 0' TERM; mkdir -p /www; echo $GEN > /www/g.txt; httpd -f -p 8080 -h /www & wait"
GET_EVERY = 0.02
GET_TIMEOUT = 0.5
LIMIT = 90.0


def manifest(port: int, generation: str, strategy: str, command: str = SERVE) -> str:
    kind = f"type: {strategy}, " if strategy != "RollingUpdate" else ""
    return (
        "version: v1beta1\n"
        f"updateStrategy: {{{kind}minReadySeconds: 3}}\n"
        "containers:\n"
        "  - name: web\n"
        f"    image: {BUSYBOX_TAG}\n"
        f"    command: [sh, -c, {command!r}]\n"
        f"    env: [{{key: GEN, value: '{generation}'}}]\n"
        f"    ports: [{{containerPort: 8080, hostPort: {port}, hostIp: 127.0.0.1}}]\n"
        "    livenessProbe: {httpGet: {path: /g.txt, port: 8080}, periodSeconds: 1,"
        " failureThreshold: 2}\n"
    )


def get(port: int) -> str | None:
    """The page's text, or None when the request failed."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/g.txt", timeout=GET_TIMEOUT) as r:
            return str(r.read().decode().strip())
    except OSError:
        return None


class Traffic(threading.Thread):
    """GETs one after another, GET_EVERY apart, until stopped or LIMIT seconds passed."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.answers: list[tuple[float, str | None]] = []
        self.done = threading.Event()

    def run(self) -> None:
        began = time.monotonic()
        while not self.done.is_set() and time.monotonic() - began < LIMIT:
            self.answers.append((time.monotonic(), get(self.port)))
            time.sleep(GET_EVERY)

    def failed(self) -> int:
        return sum(1 for _, answer in self.answers if answer is None)

    def longest_outage(self) -> float:
        longest, since = 0.0, None
        for at, answer in self.answers:
            if answer is None and since is None:
                since = at
            elif answer is not None and since is not None:
                longest, since = max(longest, at - since), None
        return longest

    def first(self, text: str) -> float | None:
        return next((at for at, answer in self.answers if answer == text), None)


def wait(what: str, ready: object, limit: float = LIMIT) -> None:
    deadline = time.monotonic() + limit
    while not ready():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def containers(engine: Engine, namespace: str) -> list[str]:
    label = f"label=io.container-agent.namespace={namespace}"
    return run_cli(engine, "ps", "-aq", "--filter", label).stdout.split()


def one_row(
    engine: Engine, backend: str, cli: str, root: Path, strategy: str, failing: bool
) -> dict[str, float]:
    namespace = f"br-{secrets.token_hex(3)}"
    port = free_port()
    path = root / f"{namespace}.yaml"
    path.write_text(manifest(port, "one", strategy))
    argv = [
        sys.executable, "-m", "agent", "run", f"--backend={backend}", f"--host={engine.host}",
        f"--docker-cmd={cli}", f"--namespace={namespace}", f"--state-dir={root / namespace}",
        "--reload=1", f"--volumes-root={root / 'v'}", str(path),
    ]  # fmt: skip
    env = {**engine.environ(), "PYTHONPATH": str(REPO)}
    try:
        with RunningAgent(argv, env, root, root / f"{namespace}.log") as agent:
            wait("the first container", lambda: get(port) == "one")
            time.sleep(4)  # its probe has passed
            traffic = Traffic(port)
            traffic.start()
            time.sleep(0.5)
            edited = time.monotonic()
            command = "exit 1" if failing else SERVE
            path.write_text(manifest(port, "two", strategy, command))
            if failing:
                wait("the rollback", lambda: "rollback web" in agent.text())
                logged = time.monotonic() - edited
                wait("the old one serving", lambda: get(port) == "one")
                wait("one container", lambda: len(containers(engine, namespace)) == 1)
            else:
                wait("the new one serving", lambda: traffic.first("two") is not None)
                wait("one container", lambda: len(containers(engine, namespace)) == 1)
            took = time.monotonic() - edited
            time.sleep(0.5)
            traffic.done.set()
            traffic.join()
        row = {
            "seconds": took,
            "requests": float(len(traffic.answers)),
            "failed": float(traffic.failed()),
            "outage": traffic.longest_outage(),
        }
        if failing:
            row["logged"] = logged
        return row
    finally:
        remove_namespace(engine, namespace)


def medians(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(row[key] for row in rows) for key in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    cases = (
        ("update, RollingUpdate (stop-first)", "RollingUpdate", False),
        ("update, Recreate", "Recreate", False),
        ("rollback of an image that exits at once", "RollingUpdate", True),
    )
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores, {args.repeat} runs")
    print(
        "| target | row | took (s) | requests | failed | longest outage (s) "
        "| rollback logged after (s) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory(prefix="ca-rollout-") as temporary:
        root = Path(temporary)
        started: dict[str, Engine] = {}
        try:
            for label, backend, kind in TARGETS:
                if kind not in started:
                    started[kind] = start_engine(kind, root / "engines")  # type: ignore[arg-type]
                engine = started[kind]
                cli = engine.cli if backend == "docker-cli" else "docker"
                for name, strategy, failing in cases:
                    runs = [
                        one_row(engine, backend, cli, root, strategy, failing)
                        for _ in range(args.repeat)
                    ]
                    row = medians(runs)
                    logged = f"{row['logged']:.2f}" if "logged" in row else "-"
                    print(
                        f"| {label} | {name} | {row['seconds']:.2f} | {row['requests']:.0f} "
                        f"| {row['failed']:.0f} | {row['outage']:.2f} | {logged} |",
                        flush=True,
                    )
        finally:
            for engine in started.values():
                if engine.owned:
                    stop(engine)


if __name__ == "__main__":
    main()
